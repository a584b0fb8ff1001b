/** tessera var get NAME: print a stored value (as stored: aliases unresolved). */
import { TesseraError } from "../../errors.js";
import { findWorkspace } from "../../workspace/workspace.js";
import { helpText, parseArgs } from "../args.js";
import type { Context } from "../common.js";
import { checkName, loadStore, notInStore, QUIET, usage } from "./common.js";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(
      helpText("tessera var get NAME", "print a stored value (as stored: aliases unresolved)", QUIET),
    );
    return 0;
  }
  if (parsed.positionals.length !== 1)
    throw new TesseraError("E_USAGE", "var get takes one name", { hint: usage });
  const name = parsed.positionals[0]!;
  checkName(name);
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const contents = await loadStore(workspace, context, parsed.flags.quiet === true);
  const value = contents.values.get(name);
  if (value === undefined) throw notInStore(name, workspace, context);
  context.stdout(`${value}\n`);
  return 0;
}
