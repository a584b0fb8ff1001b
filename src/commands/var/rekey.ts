/** tessera var rekey: re-encrypt the store for you and everyone in .tessera/recipients. */
import { TesseraError } from "../../errors.js";
import { displayPath } from "../../files.js";
import { findWorkspace, storeExists } from "../../workspace/workspace.js";
import { helpText, parseArgs } from "../args.js";
import { type Context, noArguments } from "../common.js";
import { change, QUIET } from "./common.js";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(
      helpText(
        "tessera var rekey",
        "re-encrypt the store for you and everyone in .tessera/recipients",
        QUIET,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var rekey");
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  if (!storeExists(workspace)) {
    throw new TesseraError("E_VAR_NOT_SET", "there is no workspace store to re-encrypt", {
      hint: "`tessera var set NAME VALUE` creates it",
    });
  }
  const { readRecipients } = await import("../../workspace/store.js");
  await change(workspace, context, parsed.flags.quiet === true, () => true);
  if (!parsed.flags.quiet) {
    const count = readRecipients(workspace, context.cwd).length;
    context.stderr(
      `tessera: re-encrypted ${displayPath(context.cwd, workspace.file)} for the ${count} recipient${count === 1 ? "" : "s"} in .tessera/recipients\n`,
    );
  }
  return 0;
}
