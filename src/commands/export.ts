/** tessera export [--format dotenv|json|yaml|shell] [--only secrets|config]: the explicit way to print values. */
import { TesseraError } from "../errors.js";
import { type Entry, FORMATS, render } from "../formats/encoders.js";
import { refuseSteering } from "../pipeline/trust.js";
import type { Resolution } from "../resolve/resolve.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import {
  type Context,
  checkLayerFlags,
  enforceRequired,
  noArguments,
  printWarnings,
  resolveFromFlags,
} from "./common.js";

export const flags = {
  ...LAYER_FLAGS,
  format: { type: "string", short: "f", value: "FORMAT", help: "dotenv (default), json, yaml or shell" },
  only: { type: "string", value: "KIND", help: "secrets or config: print only that kind" },
} as const satisfies FlagSpecs;

const usage = "tessera export [--format dotenv|json|yaml|shell] [--only secrets|config] [options]";
const summary = "print the resolved values, correctly quoted for the format (this prints secret values)";

export function exportEntries(resolution: Resolution, only?: "secrets" | "config"): Entry[] {
  return resolution.variables
    .filter((variable) => variable.value !== undefined)
    .filter(
      (variable) => !only || (only === "secrets" ? variable.kind === "secret" : variable.kind === "config"),
    )
    .map((variable) => ({ name: variable.name, value: variable.value!.reveal() }));
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  noArguments(parsed.positionals, usage);
  const format = FORMATS.find((known) => known === (options.format ?? "dotenv"));
  if (format === undefined) {
    throw new TesseraError("E_USAGE", `unknown format ${JSON.stringify(options.format)}`, {
      hint: `use one of ${FORMATS.join(", ")}`,
    });
  }
  const only =
    options.only === undefined
      ? undefined
      : (["secrets", "config"] as const).find((kind) => kind === options.only);
  if (options.only !== undefined && only === undefined) {
    throw new TesseraError("E_USAGE", `--only takes secrets or config, not ${JSON.stringify(options.only)}`);
  }
  const resolved = await resolveFromFlags(options, context);
  const { resolution } = resolved;
  // What export prints is sourced into a shell on this host.
  if (resolved.restricted && resolved.spec) refuseSteering(resolved.spec, resolved.profile);
  printWarnings(resolution.warnings, context, options.quiet);
  enforceRequired(resolution, options, context);
  context.stdout(render(format, exportEntries(resolution, only)));
  return 0;
}
