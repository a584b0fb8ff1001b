/**
 * tessera var import FILE|- [--format dotenv|ploinky]: copy a dotenv file or Ploinky's .secrets into
 * the store.
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
  const format: ImportFormat =
    (options.format as ImportFormat | undefined) ?? (/(^|\/)\.secrets$/.test(file) ? "ploinky" : "dotenv");
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(resolvePath(context.cwd, file), "utf8");
  } catch (error) {
    throw new TesseraError(
      "E_FILE_NOT_FOUND",
      `${file} cannot be read (${(error as NodeJS.ErrnoException).code})`,
      {
        hint: "the path is relative to the current directory",
      },
    );
  }
  const formats = await import("../../workspace/formats.js");
  const shown = file === "-" ? "<stdin>" : file;
  const imported =
    format === "ploinky"
      ? formats.parsePloinkySecrets(text, shown)
      : formats.parseDotenvForImport(text, shown);
  printWarnings(imported.warnings, context, options.quiet);
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
      `tessera: imported ${imported.values.size} variable${imported.values.size === 1 ? "" : "s"} from ${shown} (${format})${replaced ? `, ${replaced} replaced` : ""} into ${displayPath(context.cwd, workspace.file)}\n`,
    );
  }
  return 0;
}
