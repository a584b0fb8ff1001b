/**
 * The user's age identity, which opens the workspace store. In order:
 *   TESSERA_AGE_KEY       the identity itself (an `AGE-SECRET-KEY-1…` line, or a whole identity file's text);
 *   TESSERA_AGE_KEY_FILE  a path to an identity file;
 *   <config>/age.key      ($XDG_CONFIG_HOME/tessera or ~/.config/tessera), created on first use by a write,
 *                         mode 0600, in the format age-keygen writes, so `age -d -i` reads the store too.
 * The key file is created exclusively (a temporary file hard-linked into place), so two first writes at
 * once cannot each make an identity and encrypt to one that is then overwritten.
 */
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { type Diagnostic, TesseraError } from "../errors.js";
import { configDir } from "../paths.js";
import { AgeError, generateIdentity, parseIdentities, type X25519Identity } from "./age-decrypt.js";

export interface Identities {
  /** X25519 identities, for the fast native reader. */
  x25519: X25519Identity[];
  /** Every identity line (other types included), for age-encryption. */
  lines: string[];
  /** Where they came from, for messages: "TESSERA_AGE_KEY", "~/.config/tessera/age.key". */
  from: string;
  /** The file, when they came from one. */
  file?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function identityPath(env: Env): string {
  return join(configDir(env), "age.key");
}

/** The identity lines of an identity file's text (comments and blank lines dropped). */
function identityLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function fromText(text: string, from: string, file?: string): Identities {
  const lines = identityLines(text);
  const x25519Lines = lines.filter((line) => /^AGE-SECRET-KEY-1/i.test(line));
  let x25519: X25519Identity[];
  try {
    x25519 = parseIdentities(x25519Lines.join("\n"));
  } catch (error) {
    if (error instanceof AgeError) {
      throw new TesseraError("E_KEY_INVALID", `the age identity in ${from} is not valid: ${error.message}`, {
        hint: "an identity is the AGE-SECRET-KEY-1… line age-keygen writes",
      });
    }
    throw error;
  }
  if (lines.length === 0) {
    throw new TesseraError("E_KEY_INVALID", `${from} holds no age identity`, {
      hint: "an identity is the AGE-SECRET-KEY-1… line age-keygen writes",
    });
  }
  return { x25519, lines, from, file };
}

/**
 * The user's identities, or undefined when there is none yet (no variable, no key file). A key file that
 * others can read is used, with a warning.
 */
export function loadIdentities(env: Env, warnings?: Diagnostic[]): Identities | undefined {
  if (env.TESSERA_AGE_KEY) return fromText(env.TESSERA_AGE_KEY, "TESSERA_AGE_KEY");
  const file = env.TESSERA_AGE_KEY_FILE || identityPath(env);
  const from = env.TESSERA_AGE_KEY_FILE ? `TESSERA_AGE_KEY_FILE (${file})` : file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !env.TESSERA_AGE_KEY_FILE) return undefined;
    throw new TesseraError("E_KEY_INVALID", `the age identity ${from} cannot be read (${code})`, {
      hint: env.TESSERA_AGE_KEY_FILE ? "TESSERA_AGE_KEY_FILE names the identity file" : undefined,
    });
  }
  const stat = statSync(file);
  if ((stat.mode & 0o077) !== 0) {
    warnings?.push({
      code: "W_KEY_PERMISSIONS",
      message: `the age identity ${from} can be read by others (mode ${(stat.mode & 0o777).toString(8)})`,
      hint: `chmod 600 ${file}`,
    });
  }
  return fromText(text, from, file);
}

/** The user's identities, creating the key file when there is none (for writes). */
export function ensureIdentities(
  env: Env,
  notice: (text: string) => void,
  warnings?: Diagnostic[],
): Identities {
  const existing = loadIdentities(env, warnings);
  if (existing) return existing;
  const file = identityPath(env);
  const { identity, fileText } = generateIdentity();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, fileText);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file); // fails if another process created the key meanwhile: then use that one
    notice(
      `tessera: created your age identity ${file} (mode 0600; public key ${identity.recipient}). Back it up: the workspace store cannot be opened without it.\n`,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  return loadIdentities(env, warnings)!;
}
