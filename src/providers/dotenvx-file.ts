/**
 * dotenvx-file: a .env file encrypted by dotenvx (https://dotenvx.com), read without dotenvx. Its values are
 * `encrypted:<base64>` (ECIES on secp256k1, see ./ecies.ts) beside any plain values, which are served as
 * they are; `searched` names and `from.key` are the file's keys, `from.property` a field of a JSON value.
 *
 * The private key, as dotenvx looks for it by name: DOTENV_PRIVATE_KEY_<ENVIRONMENT> (DOTENV_PRIVATE_KEY
 * for a file named .env), first in the environment, then in `keysFile` (default: .env.keys next to the
 * file; a dotenv file). The environment is the `environment:` setting in upper case, else derived from the
 * file name as dotenvx does: the name in lower case (a `.txt` after `.env…` dropped), then its third and
 * fourth dot-separated parts joined by `_` (.env.production → PRODUCTION, .env.development.local →
 * DEVELOPMENT_LOCAL); with none, the name with `.env` replaced by `development` (.env1 → DEVELOPMENT1).
 * A value holding several keys separated by commas (as dotenvx allows) has each tried. The key is looked
 * for only when a requested value is encrypted.
 *
 * The file is read with Tessera's dotenv parser (the Compose dialect: quotes, escapes, comments), but its
 * values are data: `$NAME` and `${NAME}` are kept as written, never looked up (dotenvx itself would expand
 * them, and run `$(…)`, at load time; Tessera does not). As in the dialect, `$$` (and `\$` in double quotes)
 * stands for `$`. A decrypted value is the plaintext exactly, byte for byte (as UTF-8 text).
 *
 * Messages name the file, the variable and the private key's name, never a value or a key.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { decryptValue, EciesError, isEncrypted, parsePrivateKey, publicKeyHex } from "../crypto/ecies.js";
import { errnoCode } from "../errors.js";
import { displayPath } from "../files.js";
import {
  type Fetched,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
} from "./types.js";
import { literalDotenv, serveFromMap } from "./values.js";

const PRIVATE_PREFIX = "DOTENV_PRIVATE_KEY";
const PUBLIC_PREFIX = "DOTENV_PUBLIC_KEY";

/** The names of the key pair of a file: from the environment setting, else from the file name as dotenvx derives it. */
export function keyNames(file: string, environment?: string): { privateName: string; publicName: string } {
  let suffix: string | undefined;
  if (environment !== undefined) {
    suffix = environment === "" ? undefined : environment.toUpperCase();
  } else {
    let name = basename(file).toLowerCase();
    if (name.startsWith(".env") && name.endsWith(".txt")) name = name.slice(0, -4);
    if (name !== ".env") {
      const parts = name.split(".").slice(2);
      suffix = (
        parts.length === 0 ? name.replace(".env", "development") : parts.slice(0, 2).join("_")
      ).toUpperCase();
    }
  }
  return suffix === undefined
    ? { privateName: PRIVATE_PREFIX, publicName: PUBLIC_PREFIX }
    : { privateName: `${PRIVATE_PREFIX}_${suffix}`, publicName: `${PUBLIC_PREFIX}_${suffix}` };
}

/** The file's text, or undefined when it does not exist (and `optional`). */
function readText(file: string, shown: string, optional: boolean): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" && optional) return undefined;
    if (code === "ENOENT") {
      throw new ProviderError("invalid", `${shown} does not exist`, {
        hint: "path: is relative to the manifest's directory",
      });
    }
    throw new ProviderError(
      code === "EACCES" || code === "EPERM" ? "denied" : "invalid",
      `${shown} cannot be read (${code})`,
    );
  }
}

interface PrivateKeys {
  keys: Buffer[];
  /** "DOTENV_PRIVATE_KEY_PRODUCTION (from the environment)", for messages. */
  from: string;
}

function findPrivateKeys(
  context: ProviderContext,
  file: string,
  shown: string,
  privateName: string,
): PrivateKeys {
  const keysFile = context.source.settings.keysFile
    ? resolve(context.dir, context.source.settings.keysFile)
    : resolve(dirname(file), ".env.keys");
  const keysShown = displayPath(context.dir, keysFile);
  let text = context.env[privateName];
  let from = `${privateName} (from the environment)`;
  let keysFileState = "";
  if (!text) {
    const keysText = readText(keysFile, keysShown, true);
    if (keysText === undefined) keysFileState = ", which does not exist";
    else {
      text = literalDotenv(keysText, keysShown).get(privateName);
      from = `${privateName} (from ${keysShown})`;
    }
  }
  if (!text) {
    throw new ProviderError(
      "auth",
      `no private key to decrypt ${shown}: ${privateName} is set neither in the environment nor in ${keysShown}${keysFileState}`,
      {
        hint: `set ${privateName} (dotenvx wrote it to .env.keys when it encrypted ${basename(file)}), or point keysFile: at the file that holds it; environment: chooses another DOTENV_PRIVATE_KEY_<ENVIRONMENT>`,
      },
    );
  }
  const keys: Buffer[] = [];
  for (const part of text.split(",")) {
    const key = parsePrivateKey(part);
    if (key) keys.push(key);
  }
  if (keys.length === 0) {
    throw new ProviderError("auth", `${from} is not a secp256k1 private key`, {
      hint: "a dotenvx private key is 64 hexadecimal digits, as dotenvx writes it to .env.keys",
    });
  }
  return { keys, from };
}

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const file = resolve(context.dir, context.source.settings.path ?? "");
    const shown = displayPath(context.dir, file);
    const values = literalDotenv(readText(file, shown, false)!, shown);
    const { privateName, publicName } = keyNames(file, context.source.settings.environment);
    let privateKeys: PrivateKeys | undefined;
    const decrypted = new Map<string, string>();

    const decrypt = (key: string, value: string): string => {
      const known = decrypted.get(key);
      if (known !== undefined) return known;
      privateKeys ??= findPrivateKeys(context, file, shown, privateName);
      let malformed: EciesError | undefined;
      for (const privateKey of privateKeys.keys) {
        try {
          const plain = decryptValue(privateKey, value);
          const text = plain.toString("utf8");
          plain.fill(0);
          decrypted.set(key, text);
          return text;
        } catch (error) {
          if (!(error instanceof EciesError)) throw error;
          if (error.kind === "malformed") malformed = error;
        }
      }
      if (malformed) {
        throw new ProviderError(
          "invalid",
          `the encrypted value of ${key} in ${shown} is malformed (${malformed.message})`,
          {
            hint: `encrypt it again: dotenvx set ${key} … -f ${basename(file)}`,
          },
        );
      }
      // The key that belongs to the file cannot open the value: it was changed (or encrypted to another key).
      const filePublic = values.get(publicName)?.trim().toLowerCase();
      const ours = privateKeys.keys.map(publicKeyHex);
      if (filePublic !== undefined && ours.includes(filePublic)) {
        throw new ProviderError(
          "invalid",
          `the encrypted value of ${key} in ${shown} failed authentication`,
          {
            hint: `${privateName} is the key of ${publicName}, but this value was damaged, changed, or encrypted to another key: encrypt it again (dotenvx set ${key} … -f ${basename(file)})`,
          },
        );
      }
      throw new ProviderError("auth", `${privateKeys.from} cannot decrypt ${key} in ${shown}`, {
        hint:
          filePublic === undefined
            ? "it is not the private key this value was encrypted to"
            : `it is not the private key of ${publicName} in ${shown}: is it another environment's key? (environment: chooses DOTENV_PRIVATE_KEY_<ENVIRONMENT>)`,
      });
    };

    try {
      const out = new Map<string, Fetched>();
      for (const request of requests) {
        const location = `${shown}:${request.key}`;
        const where = request.property === undefined ? location : `${location}#${request.property}`;
        const raw = values.get(request.key);
        const value = raw === undefined || !isEncrypted(raw) ? raw : decrypt(request.key, raw);
        out.set(request.id, serveFromMap(new Map([[request.key, value]]), request, where));
      }
      return out;
    } finally {
      for (const key of privateKeys?.keys ?? []) key.fill(0);
    }
  },
};
