/**
 * tessera var rekey: re-encrypt the store for you and everyone in .tessera/recipients, and sign it. This is
 * how a change of .tessera/recipients (a reader or writer added or removed) takes effect: other writes
 * refuse it (E_RECIPIENTS_CHANGED). It also signs a store written before stores were signed, and creates
 * an empty store when there is none (for a recipients file that lists others).
 */
import { displayPath } from "../../files.js";
import { findWorkspace } from "../../workspace/workspace.js";
import { helpText, parseArgs } from "../args.js";
import { type Context, noArguments } from "../common.js";
import { change, QUIET } from "./common.js";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(
      helpText(
        "tessera var rekey",
        "re-encrypt and sign the store for you and the readers and writers in .tessera/recipients (confirms a change of that file)",
        QUIET,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var rekey");
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const quiet = parsed.flags.quiet === true;
  const result = await change(workspace, context, quiet, () => true, { rekey: true });
  if (!quiet) {
    const count = result.audience.recipients.length;
    const writers = result.audience.writers.length;
    const file = displayPath(context.cwd, workspace.file);
    const what = result.created
      ? `created ${file} (empty)`
      : result.changes === undefined
        ? `signed ${file} (it was not signed) and re-encrypted it`
        : `re-encrypted ${file}`;
    context.stderr(
      `tessera: ${what} for the ${count} recipient${count === 1 ? "" : "s"} in .tessera/recipients (${writers} writer${writers === 1 ? "" : "s"}), signed with your writer key ${result.writer}\n`,
    );
    for (const { role, change: how, key } of result.changes ?? []) {
      context.stderr(`  ${role} ${how}: ${key}\n`);
    }
  }
  return 0;
}
