/** tessera var declare NAME…: add variables with an empty value (a value already set is kept). */
import { TesseraError } from "../../errors.js";
import { findWorkspace } from "../../workspace/workspace.js";
import { helpText, parseArgs } from "../args.js";
import type { Context } from "../common.js";
import { change, checkName, QUIET, usage } from "./common.js";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(
      helpText("tessera var declare NAME…", "add variables with an empty value (kept if set)", QUIET),
    );
    return 0;
  }
  if (parsed.positionals.length === 0)
    throw new TesseraError("E_USAGE", "var declare needs a name", { hint: usage });
  parsed.positionals.forEach(checkName);
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const kept: string[] = [];
  await change(workspace, context, parsed.flags.quiet === true, (values) => {
    let changed = false;
    for (const name of parsed.positionals) {
      if (values.has(name)) kept.push(name);
      else {
        values.set(name, "");
        changed = true;
      }
    }
    return changed;
  });
  if (!parsed.flags.quiet) {
    for (const name of parsed.positionals) {
      context.stderr(
        kept.includes(name)
          ? `tessera: ${name} is already in the store; its value is kept (\`tessera var set ${name} ''\` empties it)\n`
          : `tessera: declared ${name} (empty: it shadows lower layers with "")\n`,
      );
    }
  }
  return 0;
}
