/** What every resolving command shares: flags in, a Resolution out, warnings and missing variables reported. */
import type { Writable } from "node:stream";
import {
  type Diagnostic,
  formatError,
  formatLocation,
  formatWarning,
  isTesseraError,
  TesseraError,
} from "../errors.js";
import { describeMissing, missingError } from "../pipeline/missing.js";
import {
  openPipeline,
  type Pipeline,
  type PipelineOptions,
  parseSecretFlags,
  profileFrom,
  type Resolved,
} from "../pipeline/pipeline.js";
import type { Resolution } from "../resolve/resolve.js";
import { type FlagSpecs, type Parsed, parseArgs } from "./args.js";

export type { Resolved } from "../pipeline/pipeline.js";

export interface Context {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The streams behind stdout and stderr, for relaying a child's output (the CLI's; absent in tests). */
  output?: { stdout: Writable; stderr: Writable };
}

export interface LayerFlags {
  manifest?: string;
  env?: string;
  secret?: string[];
  values?: string[];
  "env-file"?: string[];
  "secrets-dir"?: string[];
  "empty-is-unset"?: boolean;
  strict?: boolean;
  "allow-missing-secrets"?: boolean;
  "allow-host-env"?: boolean;
  "secrets-from"?: string[];
  offline?: boolean;
  quiet?: boolean;
}

/**
 * Check the layer flags before anything else reads the command line: `--secret NAME VALUE` (a space
 * for the `=`) must fail on the flag, never echo VALUE as "an unexpected argument".
 */
export function checkLayerFlags(flags: LayerFlags, env: Context["env"]): void {
  profileFrom(flags.env, env);
  parseSecretFlags(flags.secret);
}

/** Commands that take no positional argument: the first one is a usage error, with the usage as hint. */
export function noArguments(positionals: readonly string[], hint: string): void {
  if (positionals.length > 0) {
    throw new TesseraError("E_USAGE", `unexpected argument ${JSON.stringify(positionals[0])}`, { hint });
  }
}

/** The pipeline for a command's layer flags (see ../pipeline/pipeline.ts). */
export function openFromFlags(
  flags: LayerFlags,
  context: Context,
  options: Pick<PipelineOptions, "noCache" | "deferErrors" | "external"> = {},
): Promise<Pipeline> {
  return openPipeline({
    cwd: context.cwd,
    env: context.env,
    manifest: flags.manifest,
    profile: flags.env,
    secrets: flags.secret,
    values: flags.values,
    envFiles: flags["env-file"],
    secretsDirs: flags["secrets-dir"],
    emptyIsUnset: flags["empty-is-unset"],
    strict: flags.strict,
    allowHostEnv: flags["allow-host-env"],
    secretsFrom: flags["secrets-from"],
    offline: flags.offline,
    notice: (text) => context.stderr(text),
    ...options,
  });
}

/** Open the pipeline for the flags and resolve. */
export async function resolveFromFlags(
  flags: LayerFlags,
  context: Context,
  options: Pick<PipelineOptions, "noCache" | "deferErrors" | "external"> = {},
): Promise<Resolved> {
  return (await openFromFlags(flags, context, options)).resolve();
}

export function printWarnings(warnings: readonly Diagnostic[], context: Context, quiet?: boolean): void {
  if (quiet) return;
  for (const warning of warnings) context.stderr(`${formatWarning(warning)}\n`);
}

/** Fail (exit 3) on missing required variables, or warn with --allow-missing-secrets. */
export function enforceRequired(resolution: Resolution, flags: LayerFlags, context: Context): void {
  if (resolution.missing.length === 0) return;
  if (!flags["allow-missing-secrets"]) throw missingError(resolution);
  if (flags.quiet) return;
  for (const variable of resolution.missing) {
    const [head, ...rest] = describeMissing(variable, resolution.looked);
    context.stderr(
      `tessera: warning[W_MISSING_REQUIRED]: required variable ${head} is missing (allowed by --allow-missing-secrets)\n`,
    );
    for (const line of rest) context.stderr(`  ${line}\n`);
  }
}

/** A warning in a `--json` report: the shape `check --json` prints. */
export function warningJson(warning: Diagnostic): { code: string; message: string; location: string | null } {
  return {
    code: warning.code,
    message: warning.message,
    location: warning.location ? formatLocation(warning.location) : null,
  };
}

/** One JSON document on stdout. */
export function printJson(context: Context, value: unknown): void {
  context.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** Whether the command line asks for `--json` (before `--`): for errors raised before it is parsed. */
function asksForJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/**
 * A command's flags parsed, then its body run under withJsonErrors: with `--json` (seen in argv before
 * parsing, so a usage error is reported as JSON too), every error is the JSON error report.
 */
export function parsedWithJsonErrors<const S extends FlagSpecs>(
  argv: readonly string[],
  specs: S,
  context: Context,
  body: (parsed: Parsed<S>) => Promise<number>,
): Promise<number> {
  let json = asksForJson(argv);
  return withJsonErrors(
    () => json,
    context,
    async () => {
      const parsed = parseArgs(argv, specs);
      json = parsed.flags.json === true;
      return body(parsed);
    },
  );
}

/**
 * Run a command's body; with `--json` (as `json()` says once the flags are parsed), an error becomes
 * the report `check --json` prints for one, `{ok: false, error: {code, message, location, hint}}` on
 * stdout, with the message on stderr as usual and the error's own exit code. Never a value: an error
 * carries names and places only. An internal error is reported so too, then left to the CLI (exit 1).
 */
async function withJsonErrors(
  json: () => boolean,
  context: Context,
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!json()) throw error;
    if (isTesseraError(error)) {
      printJson(context, {
        ok: false,
        error: {
          code: error.code,
          message: error.message,
          location: error.location ? formatLocation(error.location) : null,
          hint: error.hint ?? null,
        },
      });
      context.stderr(`${formatError(error)}\n`);
      return error.exitCode;
    }
    printJson(context, {
      ok: false,
      error: {
        code: "E_INTERNAL",
        // Not the error's own text: a library's message may quote its input. It follows on stderr.
        message: "an internal error (its message is on stderr)",
        location: null,
        hint: "this is a bug in Tessera; TESSERA_DEBUG=1 shows the stack",
      },
    });
    throw error;
  }
}
