/** tessera var unset NAME…: remove variables from the store. */
import { TesseraError } from "../../errors.js";
import { findWorkspace, storeExists } from "../../workspace/workspace.js";
import { helpText, parseArgs } from "../args.js";
import type { Context } from "../common.js";
import { change, checkName, QUIET, usage } from "./common.js";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(helpText("tessera var unset NAME…", "remove variables from the store", QUIET));
    return 0;
  }
  if (parsed.positionals.length === 0)
    throw new TesseraError("E_USAGE", "var unset needs a name", { hint: usage });
  parsed.positionals.forEach(checkName);
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const quiet = parsed.flags.quiet === true;
  if (!storeExists(workspace)) {
    if (!quiet) context.stderr(`tessera: there is no workspace store: nothing to unset\n`);
    return 0;
  }
  const removed: string[] = [];
  await change(workspace, context, quiet, (values) => {
    for (const name of parsed.positionals) if (values.delete(name)) removed.push(name);
    return removed.length > 0;
  });
  if (!quiet) {
    for (const name of parsed.positionals) {
      context.stderr(
        removed.includes(name) ? `tessera: unset ${name}\n` : `tessera: ${name} was not in the store\n`,
      );
    }
  }
  return 0;
}
