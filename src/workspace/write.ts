/**
 * Writes to the workspace store. Every write holds the lock (./lock.ts), reads the current state,
 * changes it and replaces the file atomically (temporary file, fsync, rename, fsync of the directory),
 * so concurrent writers lose nothing and a writer killed at any moment leaves the old or the new state.
 * The file is encrypted with age-encryption to the user and everyone in `.tessera/recipients`.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { ensureIdentities, type Identities, loadIdentities } from "../crypto/identity.js";
import { type Diagnostic, TesseraError } from "../errors.js";
import { displayPath, writeFileAtomic } from "../files.js";
import { lockTimeout, withLock } from "./lock.js";
import {
  EMPTY,
  noIdentity,
  normalizeForAge,
  readRecipients,
  readStore,
  type StoreContents,
  serialize,
} from "./store.js";
import { RECIPIENTS_FILE, STORE_FILE, storeExists, type Workspace } from "./workspace.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The recipient of each identity line (X25519 natively, others through age-encryption). */
async function ownRecipients(identities: Identities): Promise<string[]> {
  const own = identities.x25519.map((identity) => identity.recipient);
  const others = identities.lines.filter((line) => !/^AGE-SECRET-KEY-1/i.test(line));
  if (others.length) {
    const age = await import("../crypto/age-lib.js");
    for (const line of others) {
      try {
        own.push(await age.identityToRecipient(line));
      } catch {
        // a plugin identity (AGE-PLUGIN-…): the library cannot encrypt to it; the other lines still count
      }
    }
  }
  return own;
}

async function encrypt(text: string, recipients: readonly string[], workspace: Workspace, cwd: string) {
  const age = await import("../crypto/age-lib.js");
  const encrypter = new age.Encrypter();
  for (const recipient of new Set(recipients)) {
    try {
      encrypter.addRecipient(recipient);
    } catch {
      throw new TesseraError(
        "E_STORE_INVALID",
        `${displayPath(cwd, join(workspace.dir, RECIPIENTS_FILE))}: ${JSON.stringify(recipient.slice(0, 12))}… is not a recipient age-encryption can encrypt to`,
      );
    }
  }
  return age.armor.encode(await encrypter.encrypt(text));
}

function failWith(error: Error): never {
  throw error;
}

/**
 * Who the store is encrypted to: exactly the keys in `.tessera/recipients`, to which the writer's own
 * key is added (with a notice) when it is missing. The file is then the one list of who can read the
 * store: a teammate's write never shuts out someone listed, and removing a line and rekeying does.
 * The file is written as `age -R` reads it: comments on lines of their own (an older Tessera put one after
 * the key, which age rejects: such a file is put right by the next write).
 */
async function recipientList(
  workspace: Workspace,
  identities: Identities,
  context: UpdateContext,
): Promise<string[]> {
  const listed = readRecipients(workspace, context.cwd);
  const missing = (await ownRecipients(identities)).filter((recipient) => !listed.includes(recipient));
  const path = join(workspace.dir, RECIPIENTS_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = undefined;
  }
  const normalized = text === undefined ? undefined : normalizeForAge(text);
  if (missing.length === 0 && normalized === text) return listed;
  let out =
    normalized ??
    "# Who can open .tessera/store.age: one age public key per line (commit this file).\n# Comments go on lines of their own, as `age -R .tessera/recipients` requires.\n";
  if (out !== "" && !out.endsWith("\n")) out += "\n";
  const who = userAndHost();
  if (missing.length && who) out += `# ${who}\n`;
  for (const recipient of missing) out += `${recipient}\n`;
  writeFileAtomic(path, out, 0o644);
  const shown = displayPath(context.cwd, path);
  if (text !== undefined && normalized !== text) {
    context.notice(
      `tessera: put ${shown} in the form \`age -R\` reads (comments on lines of their own, no blanks around a key); the keys are unchanged\n`,
    );
  }
  if (missing.length) {
    context.notice(`tessera: added your public key to ${shown} (everyone listed there can open the store)\n`);
  }
  return [...listed, ...missing];
}

function userAndHost(): string {
  try {
    return `${userInfo().username}@${hostname()}`.replace(/[^\x21-\x7e]/g, "");
  } catch {
    return "";
  }
}

export interface UpdateContext {
  env: Env;
  cwd: string;
  /** Messages for the user (stderr). */
  notice: (text: string) => void;
  warnings?: Diagnostic[];
}

/**
 * Change the store under its lock: `change` gets the current contents (empty for a new store) and
 * returns whether to write. The file is then encrypted to the user and `.tessera/recipients`.
 */
export async function updateStore(
  workspace: Workspace,
  context: UpdateContext,
  change: (contents: StoreContents) => boolean | Promise<boolean>,
): Promise<boolean> {
  // Someone who cannot open an existing store gets that error, and no identity made for nothing.
  const identities = storeExists(workspace)
    ? (loadIdentities(context.env, context.warnings) ?? failWith(noIdentity(workspace, context.cwd)))
    : ensureIdentities(context.env, context.notice, context.warnings);
  const created = !statSync(workspace.dir, { throwIfNoEntry: false });
  mkdirSync(workspace.dir, { recursive: true, mode: 0o700 });
  if (created) {
    // The lock and temporary files never belong in git; the store itself may (it is encrypted).
    writeFileAtomic(join(workspace.dir, ".gitignore"), "*.lock\n*.lock.break\n*.tmp\n", 0o644);
    context.notice(
      `tessera: created the workspace store directory ${displayPath(context.cwd, workspace.dir)}\n`,
    );
  }
  return withLock(
    join(workspace.dir, `${STORE_FILE}.lock`),
    {
      what: `the workspace store ${displayPath(context.cwd, workspace.file)}`,
      timeoutMs: lockTimeout(context.env),
    },
    async () => {
      removeLeftovers(workspace);
      const contents = storeExists(workspace)
        ? await readStore(workspace, context.env, context.cwd, context.warnings)
        : EMPTY();
      if (!(await change(contents))) return false;
      const recipients = await recipientList(workspace, identities, context);
      const armored = await encrypt(serialize(contents), recipients, workspace, context.cwd);
      writeFileAtomic(workspace.file, armored, 0o600);
      syncDirectory(workspace.dir);
      return true;
    },
  );
}

/** Temporary files of writers that died before their rename (only lock holders write them). */
function removeLeftovers(workspace: Workspace): void {
  for (const name of readdirSync(workspace.dir)) {
    if (name.startsWith(`.${STORE_FILE}.`) && name.endsWith(".tmp")) {
      rmSync(join(workspace.dir, name), { force: true });
    }
  }
}

/** Make the rename itself durable. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // some file systems cannot fsync a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
