/**
 * tessera export [--format dotenv|json|yaml|shell] [--only secrets|config]: the explicit way to print values.
 *
 * Names: dotenv, json and yaml carry every name the environment does (`VAR.WITH.DOTS`, `VAR-WITH-DASHES`,
 * `a[1]`); the shell format refuses a name no POSIX shell can export, naming it and where it is set
 * (export prints values on success, so a name is no more than it shows anyway).
 */
import { TesseraError } from "../errors.js";
import {
  type Entry,
  FORMATS,
  type Format,
  githubEnvProblem,
  githubMasks,
  render,
} from "../formats/encoders.js";
import { isEnvName, isShellName } from "../model/names.js";
import { refuseSteering } from "../pipeline/trust.js";
import type { Resolution, ResolvedVariable } from "../resolve/resolve.js";
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
  format: {
    type: "string",
    short: "f",
    value: "FORMAT",
    help: 'dotenv (default), json, yaml, shell or github-env (for >> "$GITHUB_ENV")',
  },
  only: { type: "string", value: "KIND", help: "secrets or config: print only that kind" },
  "github-mask": {
    type: "boolean",
    help: "also print ::add-mask:: for every line of every secret to stderr (GitHub Actions)",
  },
} as const satisfies FlagSpecs;

const usage =
  "tessera export [--format dotenv|json|yaml|shell|github-env] [--only secrets|config] [--github-mask] [options]";
const summary = "print the resolved values, correctly quoted for the format (this prints secret values)";

function exported(resolution: Resolution, only?: "secrets" | "config"): ResolvedVariable[] {
  return resolution.variables
    .filter((variable) => variable.value !== undefined)
    .filter(
      (variable) => !only || (only === "secrets" ? variable.kind === "secret" : variable.kind === "config"),
    );
}

export function exportEntries(resolution: Resolution, only?: "secrets" | "config"): Entry[] {
  return exported(resolution, only).map((variable) => ({
    name: variable.name,
    value: variable.value!.reveal(),
  }));
}

/**
 * E_VALUE_UNREPRESENTABLE for the variables `format` cannot carry by name: for `shell`, every name that is
 * not [A-Za-z_][A-Za-z0-9_]* (`export VAR.WITH.DOTS=…` is a syntax error in sh and bash). Each is named
 * (a name that is not even an environment name is "a variable") with the place that sets it.
 */
export function refuseNames(format: Format, resolution: Resolution, only?: "secrets" | "config"): void {
  if (format !== "shell") return;
  const refused = exported(resolution, only).filter((variable) => !isShellName(variable.name));
  if (refused.length === 0) return;
  const shown = (name: string) => (isEnvName(name) ? name : "a variable");
  const first = refused[0]!;
  throw new TesseraError(
    "E_VALUE_UNREPRESENTABLE",
    refused.length === 1
      ? `${shown(first.name)} cannot be exported by a shell: its name is not a shell variable name`
      : `${refused.length} variables cannot be exported by a shell: their names are not shell variable names`,
    {
      details: refused.map(
        (variable) => `${shown(variable.name)}${variable.origin ? ` (set at ${variable.origin.where})` : ""}`,
      ),
      hint: "a shell name has letters, digits and _ only, not starting with a digit; use --format dotenv, json or yaml, or `tessera run -- COMMAND`, which passes every name to the command",
    },
  );
}

/** E_VALUE_UNREPRESENTABLE for values GitHub's env file would change (a CRLF line break), each named. */
function refuseGithubEnv(resolution: Resolution, only?: "secrets" | "config"): void {
  const refused = exported(resolution, only).flatMap((variable) => {
    const problem = githubEnvProblem(variable.name, variable.value!.reveal());
    return problem
      ? [`${variable.name}: ${problem}${variable.origin ? ` (set at ${variable.origin.where})` : ""}`]
      : [];
  });
  if (refused.length === 0) return;
  throw new TesseraError(
    "E_VALUE_UNREPRESENTABLE",
    `${refused.length === 1 ? "a variable" : `${refused.length} variables`} cannot be written to GitHub's env file exactly`,
    {
      details: refused,
      hint: "store the value with LF line breaks, or pass it to the step with `tessera run -- COMMAND`",
    },
  );
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
  if (resolved.restricted && resolved.spec)
    refuseSteering(resolved.spec, resolved.profile, resolution.variables);
  printWarnings(resolution.warnings, context, options.quiet);
  enforceRequired(resolution, options, context);
  refuseNames(format, resolution, only);
  if (format === "github-env") refuseGithubEnv(resolution, only);
  if (options["github-mask"]) {
    // Before any value is printed: the runner masks from the moment it reads the command.
    for (const variable of exported(resolution, only)) {
      if (variable.kind === "secret")
        for (const line of githubMasks(variable.value!.reveal())) context.stderr(line);
    }
  }
  context.stdout(render(format, exportEntries(resolution, only)));
  return 0;
}
