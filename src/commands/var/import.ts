/**
 * tessera var import FILE|- [--format dotenv|ploinky]: copy a dotenv file or Ploinky's .secrets into
 * the store. Ploinky's .secrets is read in both its forms: plain `KEY=VALUE` lines (Ploinky before
 * 2026-04) and the encrypted envelope (./import-ploinky.ts). A file of which nothing could be read is
 * an error, never "imported 0 variables".
 */
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { TesseraError } from "../../errors.js";
import { displayPath } from "../../files.js";
import type { ImportFormat } from "../../workspace/formats.js";
import { findWorkspace } from "../../workspace/workspace.js";
import { type FlagSpecs, helpText, parseArgs } from "../args.js";
import { type Context, printWarnings } from "../common.js";
import { change, QUIET, usage } from "./common.js";

const IMPORT_FLAGS = {
  format: {
    type: "string",
    value: "FORMAT",
    help: "dotenv or ploinky (default: ploinky for a file named .secrets, else dotenv)",
  },
  ...QUIET,
} as const satisfies FlagSpecs;

/** One run of base64, long enough to be Ploinky's envelope (checked without loading node:crypto). */
function looksLikeEnvelope(text: string): boolean {
  const trimmed = text.trim();
  return trimmed.length >= 40 && /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed);
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, IMPORT_FLAGS);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(
      helpText(
        "tessera var import FILE|- [--format dotenv|ploinky]",
        "copy a dotenv file or Ploinky's .secrets into the store",
        IMPORT_FLAGS,
      ),
    );
    return 0;
  }
  if (parsed.positionals.length !== 1)
    throw new TesseraError("E_USAGE", "var import takes one file", { hint: usage });
  const file = parsed.positionals[0]!;
  if (options.format !== undefined && options.format !== "dotenv" && options.format !== "ploinky") {
    throw new TesseraError(
      "E_USAGE",
      `--format takes dotenv or ploinky, not ${JSON.stringify(options.format)}`,
    );
  }
  const named: ImportFormat | undefined =
    (options.format as ImportFormat | undefined) ?? (/(^|\/)\.secrets$/.test(file) ? "ploinky" : undefined);
  const path = file === "-" ? undefined : resolvePath(context.cwd, file);
  let text: string;
  try {
    text = path === undefined ? readFileSync(0, "utf8") : readFileSync(path, "utf8");
  } catch (error) {
    throw new TesseraError(
      "E_FILE_NOT_FOUND",
      `${file} cannot be read (${(error as NodeJS.ErrnoException).code})`,
      {
        hint: "the path is relative to the current directory",
      },
    );
  }
  const shown = file === "-" ? "<stdin>" : file;
  // Ploinky's .secrets is an encrypted envelope since 2026-04 (its plain-text lines before that).
  const envelope = named !== "dotenv" && looksLikeEnvelope(text);
  const format: ImportFormat = named ?? (envelope ? "ploinky" : "dotenv");
  let imported: import("../../workspace/formats.js").Imported;
  let described: string = format;
  if (envelope) {
    const { importPloinkyEnvelope } = await import("./import-ploinky.js");
    const opened = await importPloinkyEnvelope(text, shown, path, context);
    imported = opened;
    described = `ploinky, encrypted; key from ${opened.keyFrom}`;
  } else {
    const formats = await import("../../workspace/formats.js");
    imported =
      format === "ploinky"
        ? formats.parsePloinkySecrets(text, shown)
        : formats.parseDotenvForImport(text, shown);
  }
  printWarnings(imported.warnings, context, options.quiet);
  if (imported.values.size === 0 && imported.warnings.length > 0) {
    // Never a success on nothing: every entry of the file was skipped.
    throw new TesseraError(
      "E_FILE_INVALID",
      `no variable could be read from ${shown}: every entry was skipped`,
      {
        location: { file: shown },
        hint:
          format === "dotenv"
            ? "the warnings above name each line; a file of another format takes --format ploinky"
            : "the warnings above name each line; nothing was imported",
      },
    );
  }
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  let replaced = 0;
  if (imported.values.size) {
    await change(workspace, context, options.quiet === true, (values) => {
      for (const [name, value] of imported.values) {
        if (values.has(name)) replaced++;
        values.set(name, value);
      }
      return true;
    });
  }
  if (!options.quiet) {
    context.stderr(
      imported.values.size
        ? `tessera: imported ${imported.values.size} variable${imported.values.size === 1 ? "" : "s"} from ${shown} (${described})${replaced ? `, ${replaced} replaced` : ""} into ${displayPath(context.cwd, workspace.file)}\n`
        : `tessera: nothing to import: ${shown} has no variables\n`,
    );
  }
  return 0;
}
