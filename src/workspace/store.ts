/**
 * The encrypted workspace store: `.tessera/store.age` in the workspace (the nearest directory, from the
 * current one upwards, that has a `.tessera/` directory; a first write creates it in the current one).
 *
 * The file is an age file (ASCII-armored, so it can be committed and mailed) of a JSON document, encrypted
 * to every recipient listed in `.tessera/recipients` (teammates, CI); `age -d -i KEY` opens it:
 *
 *   {"tessera": "workspace-store", "version": 2, "values": {NAME: value},
 *    "recipients": ["age1…"], "writers": ["ed25519:…"], "writer": "ed25519:…", "signature": "…"}
 *
 * Values are templates, as in .env files: `$OTHER` is an alias, `$$` a literal `$`.
 *
 * age authenticates bytes, not writers: anyone with the public keys can encrypt a store. So every write is
 * signed (Ed25519, ../crypto/sign.ts) by its writer, over the values, the recipients the file is encrypted
 * to, the writers listed when it was written and the writer's own key ({@link signedMessage}), and a store
 * is read only when its signer is listed as a writer in `.tessera/recipients` (`# tessera-writer: ed25519:…`
 * lines, which age ignores as comments) and the signature holds: else E_STORE_UNTRUSTED. A version 1 store
 * (written before stores were signed) is refused the same way until `tessera var rekey` signs it.
 *
 * Reads decrypt natively (../crypto/age-decrypt.ts, a few ms, part of the hot path) and fall back to
 * age-encryption for recipient types the native reader does not know. Writes are in ./write.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgeError, decryptAge, parseRecipient } from "../crypto/age-decrypt.js";
import { type Identities, loadIdentities } from "../crypto/identity.js";
import { isWriterId, verifySignature, type WriterKey, writerKeyOf } from "../crypto/sign.js";
import { type Diagnostic, TesseraError } from "../errors.js";
import { displayPath } from "../files.js";
import { ENV_NAME } from "../model/spec.js";
import { RECIPIENTS_FILE, type Workspace } from "./workspace.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface StoreContents {
  /** Name → stored value (a template), in name order. */
  values: Map<string, string>;
}

/** Who a store is for: the age recipients it is encrypted to and the writers whose signature counts (sorted). */
export interface Audience {
  recipients: string[];
  writers: string[];
}

/** A store as read: its values and, when it is signed, the audience it was written for and its signer. */
export interface OpenedStore {
  contents: StoreContents;
  /** Undefined for a version 1 store (not signed), which only `tessera var rekey` opens. */
  signed?: { audience: Audience; writer: string };
  /** `.tessera/recipients` as it was read to check the signer. */
  file: RecipientsFile;
}

export const EMPTY = (): StoreContents => ({ values: new Map() });

/** The prefix of a writer line in `.tessera/recipients` (a comment to age). */
export const WRITER_LINE = "# tessera-writer:";

function storeError(workspace: Workspace, cwd: string, message: string, hint?: string): TesseraError {
  return new TesseraError("E_STORE_INVALID", `${displayPath(cwd, workspace.file)}: ${message}`, { hint });
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((entry) => typeof entry === "string");

interface Document {
  values: Map<string, string>;
  signed?: { audience: Audience; writer: string; signature: string };
}

/** Parse the decrypted document; anything unexpected is an error naming the file (never a value). */
function parseDocument(text: string, workspace: Workspace, cwd: string): Document {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw storeError(workspace, cwd, "decrypts, but not to a workspace store document");
  }
  const record = doc as {
    tessera?: unknown;
    version?: unknown;
    values?: unknown;
    recipients?: unknown;
    writers?: unknown;
    writer?: unknown;
    signature?: unknown;
  };
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
  if (record.version !== 1 && record.version !== 2) {
    throw storeError(
      workspace,
      cwd,
      `is a version ${String(record.version)} store; this Tessera reads versions 1 and 2`,
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
  if (record.version === 1) return { values };
  if (
    !isStringArray(record.recipients) ||
    !isStringArray(record.writers) ||
    typeof record.writer !== "string" ||
    typeof record.signature !== "string"
  ) {
    throw storeError(workspace, cwd, "decrypts, but its signature block is not complete");
  }
  return {
    values,
    signed: {
      audience: { recipients: record.recipients, writers: record.writers },
      writer: record.writer,
      signature: record.signature,
    },
  };
}

/**
 * The bytes a writer signs: a label, then a JSON array of the writer's key, the recipients and the writers
 * (each sorted, as the document holds them) and the [name, value] pairs in name order. Built from the
 * parsed document on reading, so what is verified is exactly what is used.
 */
export function signedMessage(
  values: ReadonlyMap<string, string>,
  audience: Audience,
  writer: string,
): Buffer {
  const pairs = [...values.keys()].sort().map((name) => [name, values.get(name)!]);
  return Buffer.from(
    `tessera workspace store v2\n${JSON.stringify([writer, audience.recipients, audience.writers, pairs])}`,
    "utf8",
  );
}

/** The signed document (version 2) for `contents`, encrypted by ./write.ts to `audience.recipients`. */
export function serializeSigned(contents: StoreContents, audience: Audience, writer: WriterKey): string {
  // A null prototype: a variable named __proto__ is a property like any other.
  const values: Record<string, string> = Object.create(null);
  for (const name of [...contents.values.keys()].sort()) values[name] = contents.values.get(name)!;
  const signature = writer.sign(signedMessage(contents.values, audience, writer.id));
  const doc = {
    tessera: "workspace-store",
    version: 2,
    values,
    recipients: audience.recipients,
    writers: audience.writers,
    writer: writer.id,
    signature,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
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

function untrusted(workspace: Workspace, cwd: string, message: string, hint: string): TesseraError {
  return new TesseraError("E_STORE_UNTRUSTED", `${displayPath(cwd, workspace.file)} ${message}`, { hint });
}

/**
 * Decrypt the store's bytes and check who wrote them: its signer must be a writer listed in
 * `.tessera/recipients` and the signature must hold (E_STORE_UNTRUSTED otherwise). An unsigned (version 1)
 * store is refused unless `allowUnsigned` (`tessera var rekey`, which signs it).
 */
export async function openStore(
  workspace: Workspace,
  cwd: string,
  data: Buffer,
  identities: Identities,
  options: { allowUnsigned?: boolean } = {},
): Promise<OpenedStore> {
  const doc = parseDocument(await decrypt(data, identities, workspace, cwd), workspace, cwd);
  const file = readRecipientsFile(workspace, cwd);
  const contents = { values: doc.values };
  if (!doc.signed) {
    if (options.allowUnsigned) return { contents, file };
    throw untrusted(
      workspace,
      cwd,
      "is not signed: it was written by a Tessera from before stores were signed, or by someone with age alone",
      "if you or your team wrote it, check its history (`git log -p -- .tessera`), then run `tessera var rekey` to sign it; until then it is not read",
    );
  }
  const { audience, writer, signature } = doc.signed;
  if (!file.writers.includes(writer)) {
    if (writerKeyOf(identities.lines)?.id === writer) {
      throw untrusted(
        workspace,
        cwd,
        `is signed by your own writer key ${writer}, which ${displayPath(cwd, file.path)} does not list`,
        "put your lines back: `tessera var recipient --lines >> .tessera/recipients`",
      );
    }
    throw untrusted(
      workspace,
      cwd,
      `is signed by ${isWriterId(writer) ? writer : "a malformed key"}, which ${displayPath(cwd, file.path)} does not list as a writer`,
      "anyone who can write the repository can replace the store: restore it from version control (`git log -p -- .tessera`). If the key is a teammate's, list it with their `# tessera-writer:` line (a change a reviewer sees); if you have just removed that writer, put the line back, run `tessera var rekey`, then remove it and rekey again",
    );
  }
  if (!verifySignature(writer, signedMessage(doc.values, audience, writer), signature)) {
    throw untrusted(
      workspace,
      cwd,
      `has a signature by ${writer} that does not match its contents: it was changed after it was signed`,
      "restore it from version control (`git log -p -- .tessera`)",
    );
  }
  return { contents, signed: { audience, writer }, file };
}

/** The store's contents (empty when there is none), once its signer is trusted. Needs the user's identity only when there is a store. */
export async function readStore(
  workspace: Workspace,
  env: Env,
  cwd: string,
  warnings?: Diagnostic[],
): Promise<StoreContents> {
  const data = readStoreFile(workspace, cwd);
  if (!data) return EMPTY();
  const identities = loadIdentities(env, warnings);
  if (!identities) throw noIdentity(workspace, cwd);
  const opened = await openStore(workspace, cwd, data, identities);
  // A pulled change of who can read or write, not yet confirmed by a rekey: say so (writes are refused).
  const changes = audienceChanges(opened.signed!.audience, audienceOf(opened.file));
  if (changes.length) {
    warnings?.push({
      code: "W_RECIPIENTS_PENDING",
      message: `${displayPath(cwd, opened.file.path)} differs from the readers and writers the store was written for: ${describeChanges(changes).join("; ")}`,
      hint: "check the change (`git log -p -- .tessera/recipients`), then run `tessera var rekey` to re-encrypt the store for the file as it is; until then writes are refused",
    });
  }
  return opened.contents;
}

/** The store file's bytes, or undefined when there is none. */
export function readStoreFile(workspace: Workspace, cwd: string): Buffer | undefined {
  try {
    return readFileSync(workspace.file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw storeError(workspace, cwd, `cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Readers and writers: .tessera/recipients

/** `.tessera/recipients`: its text and the keys it lists. */
export interface RecipientsFile {
  path: string;
  /** The file's text ("" when there is none). */
  text: string;
  exists: boolean;
  /** age recipients (`age1…` lines), in file order, without repeats. */
  recipients: string[];
  /** Writers (`# tessera-writer: ed25519:…` lines), in file order, without repeats. */
  writers: string[];
}

const WRITER_LINE_PATTERN = /^#\s*tessera-writer:\s*(\S*)/;

/**
 * `.tessera/recipients`: one age recipient per line, `# tessera-writer: ed25519:… [label]` lines for the
 * writers, other `#` lines comments, blank lines skipped. A comment after a key is read too (an older
 * Tessera wrote one), though `age -R` rejects it: writes move it to a line of its own ({@link normalizeForAge}).
 */
export function readRecipientsFile(workspace: Workspace, cwd: string): RecipientsFile {
  const path = join(workspace.dir, RECIPIENTS_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return { path, text: "", exists: false, recipients: [], writers: [] };
    }
    throw new TesseraError("E_STORE_INVALID", `${displayPath(cwd, path)} cannot be read`);
  }
  const recipients: string[] = [];
  const writers: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const refuse = (why: string, hint: string) =>
      new TesseraError("E_STORE_INVALID", `${displayPath(cwd, path)}:${index + 1}: ${why}`, { hint });
    const writer = WRITER_LINE_PATTERN.exec(raw.trim());
    if (writer) {
      if (!isWriterId(writer[1]!)) {
        throw refuse(
          "not a writer key",
          "a writer line is `# tessera-writer: ed25519:…` as `tessera var recipient --lines` prints it",
        );
      }
      if (!writers.includes(writer[1]!)) writers.push(writer[1]!);
      return;
    }
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
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
      // post-quantum hybrid: checked by age-encryption when it encrypts
    } else if (/^age1[a-z0-9]+1/.test(line) && !/^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/.test(line)) {
      throw refuse("a plugin recipient, which Tessera cannot encrypt to", "use an X25519 age key (age1…)");
    } else {
      try {
        parseRecipient(line);
      } catch {
        throw refuse(
          "not a valid age recipient",
          "each line is a public key as `age-keygen -y` prints it (age1…)",
        );
      }
    }
    if (!recipients.includes(line)) recipients.push(line);
  });
  return { path, text, exists: true, recipients, writers };
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

const sortedUnique = (keys: readonly string[]) => [...new Set(keys)].sort();

/** The audience a recipients file describes. */
export function audienceOf(file: { recipients: readonly string[]; writers: readonly string[] }): Audience {
  return { recipients: sortedUnique(file.recipients), writers: sortedUnique(file.writers) };
}

export interface AudienceChange {
  role: "reader" | "writer";
  change: "added" | "removed";
  /** The public key (age1… or ed25519:…): never a comment or label from the file. */
  key: string;
}

/** How `after` differs from `before`: readers, then writers; added, then removed. */
export function audienceChanges(before: Audience, after: Audience): AudienceChange[] {
  const out: AudienceChange[] = [];
  const compare = (role: AudienceChange["role"], from: readonly string[], to: readonly string[]) => {
    for (const key of to) if (!from.includes(key)) out.push({ role, change: "added", key });
    for (const key of from) if (!to.includes(key)) out.push({ role, change: "removed", key });
  };
  compare("reader", before.recipients, after.recipients);
  compare("writer", before.writers, after.writers);
  return out;
}

/** "reader added: age1…" for each change; `mine` marks the user's own keys. */
export function describeChanges(changes: readonly AudienceChange[], mine: readonly string[] = []): string[] {
  return changes.map(
    ({ role, change, key }) => `${role} ${change}: ${key}${mine.includes(key) ? " (yours)" : ""}`,
  );
}
