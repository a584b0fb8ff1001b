/** tessera var export [--format dotenv|ploinky|json]: print the store's values (as stored). */
import { TesseraError } from "../../errors.js";
import { findWorkspace } from "../../workspace/workspace.js";
import { type FlagSpecs, helpText, parseArgs } from "../args.js";
import { type Context, noArguments } from "../common.js";
import { loadStore, QUIET } from "./common.js";

const EXPORT_FLAGS = {
  format: { type: "string", value: "FORMAT", help: "dotenv (default), ploinky or json" },
  ...QUIET,
} as const satisfies FlagSpecs;

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, EXPORT_FLAGS);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(
      helpText(
        "tessera var export [--format dotenv|ploinky|json]",
        "print the store's values (as stored)",
        EXPORT_FLAGS,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var export [--format dotenv|ploinky|json]");
  const format = options.format ?? "dotenv";
  if (format !== "dotenv" && format !== "ploinky" && format !== "json") {
    throw new TesseraError(
      "E_USAGE",
      `--format takes dotenv, ploinky or json, not ${JSON.stringify(format)}`,
    );
  }
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const contents = await loadStore(workspace, context, options.quiet === true);
  const { exportStore } = await import("../../workspace/formats.js");
  context.stdout(exportStore(contents.values, format));
  return 0;
}
