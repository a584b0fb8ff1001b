/**
 * `tessera var import` of Ploinky's encrypted `.ploinky/.secrets` (see ../../crypto/ploinky-secrets.ts):
 * opened with the key Ploinky would use, each variable taken as Ploinky's plain-text reader took it (a
 * value that is exactly `$NAME` is an alias, any other value literal).
 */
import { dirname, resolve } from "node:path";
import type { Diagnostic } from "../../errors.js";
import { isTesseraError, TesseraError } from "../../errors.js";
import { displayPath } from "../../files.js";
import { ENV_NAME } from "../../model/spec.js";
import { type Imported, literalText } from "../../workspace/formats.js";

const ALIAS = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * The variables of an envelope. `path` is the file read (undefined for stdin): the key is looked for
 * from its Ploinky workspace (the directory holding `.ploinky/`), else from `cwd`.
 */
export async function importPloinkyEnvelope(
  text: string,
  shown: string,
  path: string | undefined,
  context: { cwd: string; env: Readonly<Record<string, string | undefined>> },
): Promise<Imported & { keyFrom: string }> {
  const crypto = await import("../../crypto/ploinky-secrets.js");
  const start = path ? ploinkyStart(path) : context.cwd;
  const show = (file: string) => displayPath(context.cwd, file);
  const warnings: Diagnostic[] = [];
  let seed = crypto.findPloinkyMasterSeed(start, context.env, show);
  let secrets: Map<string, string>;
  if (seed) {
    secrets = crypto.decryptPloinkySecrets(text, seed, shown);
  } else {
    // No key anywhere: Ploinky falls back to a built-in seed only when it cannot keep a key file.
    seed = crypto.builtInPloinkySeed();
    try {
      secrets = crypto.decryptPloinkySecrets(text, seed, shown);
    } catch (error) {
      if (!isTesseraError(error) || error.code !== "E_KEY_INVALID") throw error;
      throw new TesseraError(
        "E_KEY_INVALID",
        `${shown} is encrypted by Ploinky, and its master key is not here: PLOINKY_MASTER_KEY is not set (in the environment or a .env from ${show(start)} upwards) and there is no .ploinky/master-key`,
        {
          location: { file: shown },
          hint: "run with PLOINKY_MASTER_KEY set as Ploinky had it (or from the workspace that has .ploinky/master-key); nothing was imported",
        },
      );
    }
    warnings.push({
      code: "W_PLOINKY_FALLBACK_KEY",
      message: `${shown} was encrypted with Ploinky's built-in fallback seed, a public text: anyone could read it`,
      location: { file: shown },
      hint: "set PLOINKY_MASTER_KEY for Ploinky, and keep the variables in the workspace store from now on",
    });
  }
  const values = new Map<string, string>();
  let position = 0;
  for (const [name, value] of secrets) {
    position++;
    const at = { file: shown };
    if (!ENV_NAME.test(name)) {
      warnings.push({
        code: "W_NAME_INVALID",
        // Named by position only: a key is text from a value file and may be a pasted secret.
        message: `the name of variable ${position} is not a valid environment variable name; it is skipped`,
        location: at,
        hint: "use letters, digits and _ only, not starting with a digit",
      });
      continue;
    }
    if (ALIAS.test(value)) {
      values.set(name, value);
      continue;
    }
    if (value.startsWith("$")) {
      warnings.push({
        code: "W_NOT_ALIAS",
        message: `${name}'s value starts with $ but is not an alias of one variable: it is imported as literal text (Ploinky resolves it to an empty string)`,
        location: at,
      });
    }
    values.set(name, literalText(value));
  }
  return { values, warnings, keyFrom: seed.from };
}

/** Where Ploinky would have run for a file `.../.ploinky/.secrets`: the directory above `.ploinky/`. */
function ploinkyStart(path: string): string {
  const dir = dirname(resolve(path));
  return dir.endsWith("/.ploinky") || dir === ".ploinky" ? dirname(dir) : dir;
}
