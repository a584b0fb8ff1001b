/**
 * tessera echo NAME | '$NAME': Ploinky's echo. `echo NAME` prints `NAME=<value as stored>` from the
 * workspace store; `echo '$NAME'` (any template: `'${A}-${B}'`) prints the fully resolved value, through
 * every layer as `tessera run` would see it. Nothing is ever printed as a silent empty string: a name
 * that is not set is an error.
 */
import { TesseraError } from "../errors.js";
import { ENV_NAME } from "../model/spec.js";
import { findWorkspace } from "../workspace/workspace.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import { type Context, checkLayerFlags, printWarnings, resolveFromFlags } from "./common.js";

export const flags = { ...LAYER_FLAGS } as const satisfies FlagSpecs;

const usage = "tessera echo NAME | '$NAME' [options]";
const summary =
  "NAME: print NAME=<value as stored in the workspace store>; '$NAME' (quoted): print the fully resolved value";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  if (parsed.positionals.length !== 1) {
    throw new TesseraError("E_USAGE", "echo takes one NAME or '$NAME'", {
      hint: `${usage} — quote '$NAME' so that the shell does not expand it`,
    });
  }
  const arg = parsed.positionals[0]!;
  if (arg.includes("$")) {
    const { parseText, renderText } = await import("./expand.js");
    const template = parseText(arg, "<argument>");
    // Only the names the template reads must resolve: a broken variable elsewhere is not this one's error.
    const resolved = await resolveFromFlags(options, context, { deferErrors: true });
    printWarnings(resolved.resolution.warnings, context, options.quiet);
    context.stdout(`${renderText(template, arg, "<argument>", resolved)}\n`);
    return 0;
  }
  if (!ENV_NAME.test(arg)) {
    throw new TesseraError("E_USAGE", "echo takes a variable name or a quoted '$NAME'", { hint: usage });
  }
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const { readStore } = await import("../workspace/store.js");
  const warnings: import("../errors.js").Diagnostic[] = [];
  const contents = await readStore(workspace, context.env, context.cwd, warnings);
  printWarnings(warnings, context, options.quiet);
  const value = contents.values.get(arg);
  if (value === undefined) {
    const { notInStore } = await import("./var/common.js");
    throw notInStore(arg, workspace, context);
  }
  context.stdout(`${arg}=${value}\n`);
  return 0;
}
