/**
 * Writes to the workspace store. Every write holds the lock (./lock.ts), reads the current state,
 * changes it and replaces the file atomically (temporary file, fsync, rename, fsync of the directory),
 * so concurrent writers lose nothing and a writer killed at any moment leaves the old or the new state.
 *
 * The file is encrypted with age-encryption to the user and everyone in `.tessera/recipients`, and signed
 * by the user's writer key (../crypto/sign.ts). A pulled `.tessera/recipients` is data: a write whose
 * readers or writers differ from those the store was last written for is refused (E_RECIPIENTS_CHANGED,
 * naming the keys added and removed) until `tessera var rekey` confirms the file as it is.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { ensureIdentities, type Identities, loadIdentities } from "../crypto/identity.js";
import { type WriterKey, writerKeyOf } from "../crypto/sign.js";
import { type Diagnostic, TesseraError } from "../errors.js";
import { displayPath, writeFileAtomic } from "../files.js";
import { lockTimeout, withLock } from "./lock.js";
import {
  type Audience,
  type AudienceChange,
  audienceChanges,
  audienceOf,
  describeChanges,
  EMPTY,
  noIdentity,
  normalizeForAge,
  type OpenedStore,
  openStore,
  type RecipientsFile,
  readRecipientsFile,
  readStoreFile,
  type StoreContents,
  serializeSigned,
  WRITER_LINE,
} from "./store.js";
import { RECIPIENTS_FILE, STORE_FILE, type Workspace } from "./workspace.js";

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

const HEADER = [
  "# Who can open .tessera/store.age: one age public key per line (`age -R` reads this file).",
  "# Who can change it: one `# tessera-writer: ed25519:…` line per writer; Tessera refuses a store",
  "# signed by anyone not listed. Comments go on lines of their own. Commit this file: a change to it",
  "# is a change of who can read and write the store, and takes effect with `tessera var rekey`.",
  "",
].join("\n");

/** A label for the user's lines: user@host, with nothing that could end a line. */
function userAndHost(): string {
  try {
    return `${userInfo().username}@${hostname()}`.replace(/[^\x21-\x7e]/g, "");
  } catch {
    return "";
  }
}

/** The lines that list the user in `.tessera/recipients`: a label, their age keys, their writer key. */
export function ownLines(recipients: readonly string[], writer: string | undefined): string {
  const label = userAndHost();
  let text = recipients.length && label ? `# ${label}\n` : "";
  for (const key of recipients) text += `${key}\n`;
  if (writer) text += `${WRITER_LINE} ${writer}${label ? ` ${label}` : ""}\n`;
  return text;
}

/**
 * Bring `.tessera/recipients` in line with the store about to be written: the writer's own age keys and
 * writer key added when missing (they are in the store's audience anyway: one cannot write a store one
 * cannot read), and every line put in the form `age -R` accepts. Nothing else is added or removed.
 */
function updateRecipientsFile(
  file: RecipientsFile,
  own: readonly string[],
  writer: WriterKey,
  context: UpdateContext,
): void {
  const missing = own.filter((key) => !file.recipients.includes(key));
  const missingWriter = !file.writers.includes(writer.id);
  const normalized = normalizeForAge(file.text);
  if (!missing.length && !missingWriter && normalized === file.text) return;
  let text = file.exists ? normalized : HEADER;
  if (text !== "" && !text.endsWith("\n")) text += "\n";
  text += ownLines(missing, missingWriter ? writer.id : undefined);
  writeFileAtomic(file.path, text, 0o644);
  const shown = displayPath(context.cwd, file.path);
  if (normalized !== file.text && file.exists) {
    context.notice(
      `tessera: put ${shown} in the form \`age -R\` reads (comments on lines of their own, no blanks around a key); the keys are unchanged\n`,
    );
  }
  if (missing.length || missingWriter) {
    context.notice(
      `tessera: added your ${missing.length ? "public key" : ""}${missing.length && missingWriter ? " and " : ""}${missingWriter ? "writer key" : ""} to ${shown} (everyone listed there can open the store; the writers listed there can change it)\n`,
    );
  }
}

export interface UpdateContext {
  env: Env;
  cwd: string;
  /** Messages for the user (stderr). */
  notice: (text: string) => void;
  warnings?: Diagnostic[];
}

export interface UpdateOptions {
  /**
   * `tessera var rekey`: the user confirms `.tessera/recipients` as it is, so the store is re-encrypted for
   * its readers and writers even if they changed; an unsigned (version 1) store is signed.
   */
  rekey?: boolean;
}

export interface UpdateResult {
  written: boolean;
  /** Who the store is (or stays) encrypted to and whose writes count. */
  audience: Audience;
  /** How that differs from the store as it was; undefined when it was not signed (version 1). */
  changes: AudienceChange[] | undefined;
  /** The user's writer key (`ed25519:…`), which signed the write. */
  writer: string;
  /** Whether the store was created by this write. */
  created: boolean;
}

function recipientsChanged(
  changes: AudienceChange[],
  mine: readonly string[],
  file: RecipientsFile,
  created: boolean,
  context: UpdateContext,
): TesseraError {
  const shown = displayPath(context.cwd, file.path);
  return new TesseraError(
    "E_RECIPIENTS_CHANGED",
    created
      ? `${shown} lists keys besides yours: the new store would be readable or writable by them`
      : `${shown} differs from the readers and writers the store was written for: this write would change who can read or write it`,
    {
      details: describeChanges(changes, mine),
      hint: created
        ? "check whose keys they are; `tessera var rekey` creates the store for the file as it is"
        : "check the change (`git log -p -- .tessera/recipients`); `tessera var rekey` re-encrypts the store for the file as it is",
    },
  );
}

/**
 * Change the store under its lock: `change` gets the current contents (empty for a new store) and
 * returns whether to write. The file is then encrypted to the user and `.tessera/recipients`, and signed.
 */
export async function updateStore(
  workspace: Workspace,
  context: UpdateContext,
  change: (contents: StoreContents) => boolean | Promise<boolean>,
  options: UpdateOptions = {},
): Promise<UpdateResult> {
  // Someone who cannot open an existing store gets that error, and no identity made for nothing.
  const exists = statSync(workspace.file, { throwIfNoEntry: false })?.isFile() ?? false;
  const identities = exists
    ? (loadIdentities(context.env, context.warnings) ?? failWith(noIdentity(workspace, context.cwd)))
    : ensureIdentities(context.env, context.notice, context.warnings);
  const writer =
    writerKeyOf(identities.lines) ??
    failWith(
      new TesseraError(
        "E_KEY_INVALID",
        `the age identity in ${identities.from} has no AGE-SECRET-KEY- line to sign writes with`,
        {
          hint: "a plugin identity (AGE-PLUGIN-…) can open the store but not write it: use an age key for writes",
        },
      ),
    );
  const made = !statSync(workspace.dir, { throwIfNoEntry: false });
  mkdirSync(workspace.dir, { recursive: true, mode: 0o700 });
  if (made) {
    // The lock and temporary files never belong in git; the store itself may (it is encrypted).
    writeFileAtomic(join(workspace.dir, ".gitignore"), "*.lock\n*.lock.break\n*.tmp\n", 0o644);
    context.notice(
      `tessera: created the workspace store directory ${displayPath(context.cwd, workspace.dir)}\n`,
    );
  }
  // Load the encrypter before taking the lock, so that other writers do not wait for a module to load.
  await import("../crypto/age-lib.js");
  return withLock(
    join(workspace.dir, `${STORE_FILE}.lock`),
    {
      what: `the workspace store ${displayPath(context.cwd, workspace.file)}`,
      timeoutMs: lockTimeout(context.env),
    },
    async () => {
      removeLeftovers(workspace);
      const data = readStoreFile(workspace, context.cwd);
      let opened: OpenedStore | undefined;
      if (data) {
        opened = await openStore(workspace, context.cwd, data, identities, {
          allowUnsigned: options.rekey,
        });
      }
      const file = opened?.file ?? readRecipientsFile(workspace, context.cwd);
      const own = await ownRecipients(identities);
      const audience = audienceOf({
        recipients: [...file.recipients, ...own],
        writers: [...file.writers, writer.id],
      });
      // A new store starts as the user's alone: anyone else the file lists is a change to confirm.
      const before = opened ? opened.signed?.audience : audienceOf({ recipients: own, writers: [writer.id] });
      const changes = before && audienceChanges(before, audience);
      const result: UpdateResult = { written: false, audience, changes, writer: writer.id, created: !data };
      const contents = opened?.contents ?? EMPTY();
      if (!(await change(contents))) return result;
      if (!options.rekey && changes?.length) {
        throw recipientsChanged(changes, [...own, writer.id], file, !data, context);
      }
      updateRecipientsFile(file, own, writer, context);
      const armored = await encrypt(
        serializeSigned(contents, audience, writer),
        audience.recipients,
        workspace,
        context.cwd,
      );
      writeFileAtomic(workspace.file, armored, 0o600);
      syncDirectory(workspace.dir);
      result.written = true;
      return result;
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
