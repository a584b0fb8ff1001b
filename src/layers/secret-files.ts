/**
 * Values kept one per file, as containers receive them:
 *
 *   NAME_FILE     for a declared NAME, the environment's NAME_FILE names a file that holds its value
 *                 (Docker and Compose secrets, the official images' `*_FILE` convention);
 *   a directory   `--secrets-dir DIR` or a `type: files` source: each file is one value, its name the
 *                 variable's (`/run/secrets`, a Kubernetes secret volume). A declared NAME is also found
 *                 as `name` in lower case, as Compose names its secrets.
 *
 * A value is the file's text with one final line ending removed (`echo value > file` writes one); it is
 * never interpolated. Symbolic links are followed only while they stay inside the directory (a
 * Kubernetes volume links `KEY` to `..data/KEY`). Messages name the file, never its text.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { errnoCode, TesseraError } from "../errors.js";
import { displayPath } from "../files.js";
import { type Candidate, StaticSource, type ValueSource } from "../model/layers.js";
import { ENV_NAME } from "../model/spec.js";
import { literal } from "../model/template.js";

/** Larger than any environment variable Linux can pass (128 KiB each): such a file is not a value. */
const MAX_VALUE_BYTES = 1024 * 1024;

function withoutLineEnd(text: string): string {
  return text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** A directory or file this user may not read: a coded error naming it (EACCES, ELOOP, …), never E_INTERNAL. */
function unreadable(error: unknown, shown: string, what: string): TesseraError {
  return new TesseraError(
    "E_FILE_INVALID",
    `${what}: ${shown} cannot be read (${errnoCode(error) ?? "error"})`,
    {
      hint: "make it readable by this user (in a container: the container's user), or mount each file on its own as compose does",
    },
  );
}

function statOf(path: string, shown: string, what: string) {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    throw unreadable(error, shown, what);
  }
}

function readValue(path: string, shown: string, what: string): string {
  const stat = statOf(path, shown, what);
  if (!stat) {
    throw new TesseraError("E_FILE_NOT_FOUND", `${what}: ${shown} not found`, {
      hint: "mount the secret file there, or unset the variable that names it",
    });
  }
  if (!stat.isFile()) {
    throw new TesseraError("E_FILE_INVALID", `${what}: ${shown} is not a regular file`, {
      hint: "a secret file holds one value; point at the file, not at its directory",
    });
  }
  if (stat.size > MAX_VALUE_BYTES) {
    throw new TesseraError("E_FILE_INVALID", `${what}: ${shown} is larger than 1 MiB`, {
      hint: "an environment variable cannot carry it; pass the file's path to the program instead",
    });
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw unreadable(error, shown, what);
  }
  if (text.includes("\0")) {
    throw new TesseraError("E_VALUE_INVALID", `${what}: ${shown} holds a NUL character`, {
      hint: "no environment variable can carry one; is this a binary file?",
    });
  }
  return withoutLineEnd(text);
}

/**
 * NAME_FILE for each declared name: a source of its own, right below the process environment (a NAME set
 * in the environment wins, and `explain` shows the file it shadowed).
 */
export function nameFileSource(
  names: Iterable<string>,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  only?: ReadonlySet<string>,
): ValueSource {
  const candidates: Candidate[] = [];
  for (const name of names) {
    const variable = `${name}_FILE`;
    if (only && !only.has(name)) continue;
    const path = Object.hasOwn(env, variable) ? env[variable] : undefined;
    if (!path) continue;
    const absolute = resolve(cwd, path);
    const shown = displayPath(cwd, absolute);
    const value = readValue(absolute, shown, variable);
    candidates.push({
      name,
      template: literal(value),
      origin: { layer: "files", where: `${variable} (${shown})`, file: shown },
    });
  }
  return new StaticSource("files", "NAME_FILE variables", candidates, { present: candidates.length > 0 });
}

/** One value per file of `dir`; `wanted` names (declared) are also found in lower case. */
export class DirectorySource implements ValueSource {
  readonly layer = "files" as const;
  readonly present: boolean;
  readonly note?: string;
  private readonly root?: string;
  private readonly entries = new Set<string>();
  private readonly cache = new Map<string, Candidate[]>();

  constructor(
    private readonly dir: string,
    readonly label: string,
    private readonly cwd: string,
    options: { name?: string; mustExist: boolean; generic?: boolean },
  ) {
    this.name = options.name;
    this.generic = options.generic;
    let root: string | undefined;
    const shownDir = displayPath(cwd, dir);
    try {
      root = realpathSync(dir);
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") throw unreadable(error, shownDir, "secrets directory");
      if (options.mustExist) {
        throw new TesseraError("E_FILE_NOT_FOUND", `secrets directory ${shownDir} not found`, {
          hint: "give the directory that holds one file per secret (e.g. /run/secrets)",
        });
      }
    }
    if (root && !statOf(root, shownDir, "secrets directory")?.isDirectory()) {
      throw new TesseraError("E_FILE_INVALID", `${displayPath(cwd, dir)} is not a directory`, {
        hint: "a secrets directory holds one file per secret (e.g. /run/secrets)",
      });
    }
    this.root = root;
    this.present = root !== undefined;
    if (root) {
      let entries: string[];
      try {
        entries = readdirSync(root);
      } catch (error) {
        throw unreadable(error, shownDir, "secrets directory");
      }
      for (const entry of entries) if (ENV_NAME.test(entry)) this.entries.add(entry);
    }
  }

  readonly name?: string;
  private readonly generic?: boolean;

  lookup(name: string): readonly Candidate[] {
    let found = this.cache.get(name);
    if (found) return found;
    found = [];
    const file = this.entries.has(name)
      ? name
      : this.entries.has(name.toLowerCase())
        ? name.toLowerCase()
        : undefined;
    if (file && this.root) {
      const path = join(this.dir, file);
      const shown = displayPath(this.cwd, path);
      let real: string;
      try {
        real = realpathSync(path);
      } catch {
        real = "";
      }
      const rel = real === "" ? "" : relative(this.root, real);
      const inside = rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
      if (!inside) {
        throw new TesseraError(
          "E_FILE_INVALID",
          `${shown} leads outside ${displayPath(this.cwd, this.dir)}`,
          {
            hint: "a secrets directory's files (and the links in it) must stay inside it",
          },
        );
      }
      if (statOf(real, shown, `secret file ${file}`)?.isFile()) {
        const value = readValue(real, shown, `secret file ${file}`);
        found = [
          {
            name,
            template: literal(value),
            origin: { layer: "files", where: shown, file: shown, ...(this.generic ? { generic: true } : {}) },
          },
        ];
      }
    }
    this.cache.set(name, found);
    return found;
  }

  names(): Iterable<string> {
    return this.entries;
  }
}
