/**
 * The encrypted workspace store: `.tessera/store.age` in the workspace (the nearest directory, from the
 * current one upwards, that has a `.tessera/` directory; a first write creates it in the current one).
 *
 * The file is an age file (ASCII-armored, so it can be committed and mailed) of a JSON document
 * `{"tessera": "workspace-store", "version": 1, "values": {NAME: value}}`, encrypted to the user's
 * identity and to every recipient listed in `.tessera/recipients` (teammates, CI). `age -d -i KEY` opens it.
 * Values are templates, as in .env files: `$OTHER` is an alias, `$$` a literal `$`.
 *
 * Reads decrypt natively (./age-decrypt.ts, a few ms, part of the hot path) and fall back to
 * age-encryption for recipient types the native reader does not know. Writes are in ./write.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgeError, decryptAge, parseRecipient } from "../crypto/age-decrypt.js";
import { type Identities, loadIdentities } from "../crypto/identity.js";
import { type Diagnostic, TesseraError } from "../errors.js";
import { displayPath } from "../files.js";
import { ENV_NAME } from "../model/spec.js";
import { RECIPIENTS_FILE, type Workspace } from "./workspace.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface StoreContents {
  /** Name → stored value (a template), in name order. */
  values: Map<string, string>;
}

export const EMPTY = (): StoreContents => ({ values: new Map() });

function storeError(workspace: Workspace, cwd: string, message: string, hint?: string): TesseraError {
  return new TesseraError("E_STORE_INVALID", `${displayPath(cwd, workspace.file)}: ${message}`, { hint });
}

/** Parse the decrypted document; anything unexpected is an error naming the file (never a value). */
function parseDocument(text: string, workspace: Workspace, cwd: string): StoreContents {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw storeError(workspace, cwd, "decrypts, but not to a workspace store document");
  }
  const record = doc as { tessera?: unknown; version?: unknown; values?: unknown };
  if (
    !record ||
    typeof record !== "object" ||
    record.tessera !== "workspace-store" ||
    typeof record.values !== "object" ||
    record.values === null ||
    Array.isArray(record.values)
  ) {
    throw storeError(workspace, cwd, "decrypts, but not to a workspace store document");
  }
  if (record.version !== 1) {
    throw storeError(
      workspace,
      cwd,
      `is a version ${String(record.version)} store; this Tessera reads version 1`,
      "upgrade Tessera",
    );
  }
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(record.values as Record<string, unknown>)) {
    if (!ENV_NAME.test(name) || typeof value !== "string") {
      throw storeError(workspace, cwd, "holds an entry that is not NAME: string");
    }
    values.set(name, value);
  }
  return { values };
}

export function serialize(contents: StoreContents): string {
  const values: Record<string, string> = {};
  for (const name of [...contents.values.keys()].sort()) values[name] = contents.values.get(name)!;
  return `${JSON.stringify({ tessera: "workspace-store", version: 1, values }, null, 2)}\n`;
}

export function noIdentity(workspace: Workspace, cwd: string): TesseraError {
  return new TesseraError(
    "E_STORE_LOCKED",
    `${displayPath(cwd, workspace.file)} exists, but you have no age identity to open it`,
    {
      hint: "set TESSERA_AGE_KEY (or TESSERA_AGE_KEY_FILE); or run `tessera var recipient` to create your key, ask someone who can open the store to add that public key to .tessera/recipients and run `tessera var rekey`",
    },
  );
}

async function decrypt(
  data: Buffer,
  identities: Identities,
  workspace: Workspace,
  cwd: string,
): Promise<string> {
  const shown = displayPath(cwd, workspace.file);
  try {
    const plain = decryptAge(data, identities.x25519);
    if (plain !== "unsupported") return plain.toString("utf8");
  } catch (error) {
    if (!(error instanceof AgeError)) throw error;
    if (error.kind === "no-match") {
      throw new TesseraError(
        "E_STORE_LOCKED",
        `${shown} is not encrypted to your age identity (${identities.from})`,
        {
          hint: "ask someone who can open the store to add your public key (`tessera var recipient`) to .tessera/recipients and run `tessera var rekey`",
        },
      );
    }
    throw storeError(
      workspace,
      cwd,
      error.kind === "tampered"
        ? "failed authentication: the file is damaged or was changed by someone without the key"
        : `is not a valid age file (${error.message})`,
      "restore it from version control or a backup",
    );
  }
  // Recipient types the native reader does not handle (post-quantum, passphrase, …): the reference library.
  const { ageBinary, decryptWithLibrary } = await import("../crypto/age.js");
  try {
    return Buffer.from(await decryptWithLibrary(await ageBinary(data), identities)).toString("utf8");
  } catch {
    throw new TesseraError(
      "E_STORE_LOCKED",
      `${shown} cannot be opened with your age identity (${identities.from})`,
      {
        hint: "ask someone who can open the store to add your public key (`tessera var recipient`) to .tessera/recipients and run `tessera var rekey`",
      },
    );
  }
}

/** The store's contents (empty when there is no store). Needs the user's identity only when there is one. */
export async function readStore(
  workspace: Workspace,
  env: Env,
  cwd: string,
  warnings?: Diagnostic[],
): Promise<StoreContents> {
  let data: Buffer;
  try {
    data = readFileSync(workspace.file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return EMPTY();
    throw storeError(workspace, cwd, `cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  const identities = loadIdentities(env, warnings);
  if (!identities) throw noIdentity(workspace, cwd);
  return parseDocument(await decrypt(data, identities, workspace, cwd), workspace, cwd);
}

/**
 * The recipients of `.tessera/recipients`: one per line, `#` comments and blank lines skipped. A comment
 * after a key is read too (an older Tessera wrote one), though `age -R` rejects it: writes move it to a
 * line of its own ({@link normalizeForAge}).
 */
export function readRecipients(workspace: Workspace, cwd: string): string[] {
  const path = join(workspace.dir, RECIPIENTS_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new TesseraError("E_STORE_INVALID", `${displayPath(cwd, path)} cannot be read`);
  }
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    const refuse = (why: string, hint: string) =>
      new TesseraError("E_STORE_INVALID", `${displayPath(cwd, path)}:${index + 1}: ${why}`, { hint });
    if (/^AGE-SECRET-KEY-/i.test(line)) {
      throw refuse(
        "this line is a secret key, not a public one",
        "remove it now (and replace that key if the file was ever committed or shared); list public keys, as `tessera var recipient` prints them",
      );
    }
    if (/^ssh-/.test(line)) {
      throw refuse(
        "SSH keys are not supported as recipients",
        "use an age key: `tessera var recipient` prints yours",
      );
    }
    if (/^age1pq1/.test(line)) {
      out.push(line); // post-quantum hybrid: checked by age-encryption when it encrypts
      return;
    }
    if (/^age1[a-z0-9]+1/.test(line) && !/^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/.test(line)) {
      throw refuse("a plugin recipient, which Tessera cannot encrypt to", "use an X25519 age key (age1…)");
    }
    try {
      parseRecipient(line);
    } catch {
      throw refuse(
        "not a valid age recipient",
        "each line is a public key as `age-keygen -y` prints it (age1…)",
      );
    }
    out.push(line);
  });
  return out;
}

/**
 * The text with every line as `age -R` reads it: a comment after a key moved to a line of its own above
 * it, comments and keys without surrounding blanks, blank lines empty. Keys and their order are kept.
 */
export function normalizeForAge(text: string): string {
  return text
    .split("\n")
    .map((raw) => {
      const cr = raw.endsWith("\r") ? "\r" : "";
      const line = cr ? raw.slice(0, -1) : raw;
      const trimmed = line.trim();
      if (trimmed === "" || trimmed.startsWith("#")) return `${trimmed}${cr}`;
      const hash = line.indexOf("#");
      if (hash < 0) return `${trimmed}${cr}`;
      const key = line.slice(0, hash).trim();
      return `${line.slice(hash).trim()}${cr}\n${key}${cr}`;
    })
    .join("\n");
}
