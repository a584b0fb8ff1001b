/**
 * tessera expose NAME [VALUE | '$REF'] [--manifest manifest.json] [--remove]: Ploinky's expose, made
 * safe. It edits the `expose` of a Ploinky manifest.json (default: ./manifest.json) in place, keeping
 * the file's formatting, the form of `expose` (array or object) and its trailing newline; the source
 * defaults to `$NAME`. Names and references are checked, the result is checked as a manifest before it
 * is written, the write is atomic and keeps the file's mode, and concurrent edits of one manifest are
 * serialized by a lock outside the repository (so nothing untracked appears in it).
 */
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, realpathSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { TesseraError } from "../errors.js";
import { displayPath, privateDirectory, writeFileAtomic } from "../files.js";
import { type ExposeSource, JsonEditError, setExpose } from "../formats/json-edit.js";
import { parsePloinkyManifest } from "../manifest/ploinky.js";
import { invalidNameMessage } from "../model/names.js";
import { ENV_NAME } from "../model/spec.js";
import { lockTimeout, withLock } from "../workspace/lock.js";
import { type FlagSpecs, helpText, parseArgs } from "./args.js";
import type { Context } from "./common.js";

export const flags = {
  manifest: {
    type: "string",
    value: "FILE",
    help: "the Ploinky manifest to edit (default: ./manifest.json)",
  },
  remove: { type: "boolean", help: "remove NAME from expose" },
  quiet: { type: "boolean", short: "q", help: "print no confirmation" },
  help: { type: "boolean", short: "h", help: "show help" },
} as const satisfies FlagSpecs;

const usage = "tessera expose NAME [VALUE | '$REF'] [--manifest manifest.json] [--remove]";
const summary =
  "expose a variable to a Ploinky agent: edit its manifest.json's expose (the source defaults to $NAME)";

const REF = /^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$/;

function sourceOf(name: string, given: string | undefined): ExposeSource {
  if (given === undefined) return { ref: name };
  if (given.startsWith("$$")) return { value: given.slice(1) };
  const ref = REF.exec(given);
  if (ref) return { ref: ref[1] ?? ref[2]! };
  if (given.startsWith("$")) {
    throw new TesseraError("E_USAGE", `the source of ${name} is neither a reference nor a literal`, {
      hint: "a reference is '$NAME' (quoted, so the shell leaves it alone); a literal value starting with $ is written '$$…'",
    });
  }
  return { value: given };
}

function lockPath(manifest: string): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const dir = join(tmpdir(), `tessera-locks-${uid}`);
  if (!privateDirectory(dir)) {
    throw new TesseraError("E_OUTPUT_UNWRITABLE", `${dir} cannot be used for locks (not private to you)`);
  }
  const id = createHash("sha256").update(realpathSync(manifest)).digest("hex").slice(0, 32);
  return join(dir, `manifest-${id}.lock`);
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  const [name, given, ...extra] = parsed.positionals;
  if (name === undefined || extra.length > 0 || (options.remove && given !== undefined)) {
    throw new TesseraError("E_USAGE", "expose takes a NAME and at most one source", { hint: usage });
  }
  if (!ENV_NAME.test(name)) {
    throw new TesseraError("E_USAGE", invalidNameMessage(name), {
      hint: "use letters, digits and _ only, not starting with a digit",
    });
  }
  const source = options.remove ? null : sourceOf(name, given);
  const path = resolvePath(context.cwd, options.manifest ?? "manifest.json");
  const shown = displayPath(context.cwd, path);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    throw new TesseraError("E_MANIFEST_NOT_FOUND", `manifest ${shown} not found`, {
      hint: "run expose in the agent's directory, or pass --manifest PATH/manifest.json",
    });
  }
  if (lstatSync(path).isSymbolicLink()) {
    // Replacing the link with a file would leave its target unchanged and the link broken.
    throw new TesseraError("E_USAGE", `${shown} is a symbolic link`, {
      hint: `expose edits a file in place: run it on the file the link points to (--manifest ${displayPath(context.cwd, realpathSync(path))})`,
    });
  }
  if (!/\.json$/i.test(path)) {
    throw new TesseraError("E_USAGE", `${shown} is not a Ploinky manifest.json`, {
      hint: "expose edits the expose section of a Ploinky agent's manifest.json",
    });
  }
  let changed = false;
  await withLock(lockPath(path), { what: shown, timeoutMs: lockTimeout(context.env) }, async () => {
    const text = readFileSync(path, "utf8");
    let next: string;
    try {
      next = setExpose(text, name, source);
    } catch (error) {
      if (!(error instanceof JsonEditError)) throw error;
      throw new TesseraError("E_MANIFEST_INVALID", error.message, {
        location: { file: shown, line: error.line, column: error.column },
        hint: "fix the manifest's JSON, then run expose again",
      });
    }
    if (next === text) return;
    // The result must still be a manifest Tessera (and Ploinky) reads.
    parsePloinkyManifest(next, shown, resolvePath(path, ".."));
    writeFileAtomic(path, next, statSync(path).mode & 0o777);
    changed = true;
  });
  if (!options.quiet) {
    const what =
      source === null
        ? `removed ${name} from the expose of ${shown}`
        : `${shown}: ${name} exposed as ${"ref" in source ? `$${source.ref}` : "a literal value"}`;
    context.stderr(`tessera: ${changed ? what : `${shown} already says that; nothing changed`}\n`);
  }
  return 0;
}
