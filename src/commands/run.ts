/** tessera run [--env P] [--pristine] [--mask|--no-mask] -- CMD [ARGS…] */
import { formatWarning, TesseraError } from "../errors.js";
import { MIN_MASK_LENGTH } from "../formats/mask.js";
import { type MaskMode, runChild } from "../run/run.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import { type Context, checkLayerFlags, enforceRequired, openFromFlags, printWarnings } from "./common.js";

export const flags = {
  ...LAYER_FLAGS,
  pristine: {
    type: "boolean",
    help: "give the child only the resolved variables plus PATH, HOME, USER, LANG, LC_ALL, TERM, TMPDIR",
  },
  mask: {
    type: "boolean",
    help: "mask secret values in the child's output even on a terminal (--no-mask: never)",
  },
} as const satisfies FlagSpecs;

export const usage = "tessera run [options] [--] COMMAND [ARGS…]";
export const summary = "run a command with the resolved variables in its environment";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags, { stopAtPositional: true });
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  const [command, ...args] = parsed.positionals;
  if (!command) {
    throw new TesseraError("E_USAGE", "tessera run needs a command", {
      hint: "tessera run -- node server.js",
    });
  }
  const pipeline = await openFromFlags(options, context);
  const { resolution } = await pipeline.resolve();
  printWarnings(resolution.warnings, context, options.quiet);
  enforceRequired(resolution, options, context);
  const secrets = await pipeline.secrets();
  const mask: MaskMode = options.mask === true ? "always" : options.mask === false ? "never" : "auto";
  if (mask !== "never" && !options.quiet) {
    for (const secret of secrets) {
      if (secret.value.length > 0 && secret.value.length < MIN_MASK_LENGTH) {
        context.stderr(
          `${formatWarning({
            code: "W_MASK_SHORT",
            message: `${secret.name} is shorter than ${MIN_MASK_LENGTH} characters, so it cannot be masked in output`,
          })}\n`,
        );
      }
    }
  }
  if (!context.output) throw new Error("tessera run needs the CLI's output streams");
  return runChild({
    command,
    args,
    // A manifest from another repository gets no more of the host environment than it declares.
    env: await pipeline.childEnvironment({ pristine: options.pristine }),
    secrets,
    mask,
    output: context.output,
  });
}
