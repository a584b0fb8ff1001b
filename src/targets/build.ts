/**
 * A build: what `tessera build` does once its flags are read, as data in and a report out, shared by the
 * CLI and the library's build(). Resolve for the target; refuse what must be refused (values where the
 * target takes none, a manifest from another repository steering a program on this host, a missing
 * required variable); name the service; render; write the artifacts through ./outputs.ts (only files
 * Tessera wrote are replaced, files of an earlier build removed, value files 0600 and git-ignored).
 * Nothing is printed: warnings come back in the result.
 */
import { join, resolve } from "node:path";
import { type Diagnostic, TesseraError } from "../errors.js";
import { displayPath } from "../files.js";
import { shellWord } from "../formats/encoders.js";
import type { Env } from "../paths.js";
import { gitEnvironment } from "../pipeline/child-env.js";
import { missingError, missingWarnings } from "../pipeline/missing.js";
import type { Pipeline, PipelineOptions, Resolved } from "../pipeline/pipeline.js";
import { refuseSteering } from "../pipeline/trust.js";
import type { ResolvedVariable } from "../resolve/resolve.js";
import { type OutputResult, writeOutputs } from "./outputs.js";
import { type RenderOptions, type Service, serviceFrom, type Target } from "./types.js";

/** compose's `secretsMode`. */
export const SECRETS_MODES = ["env-file", "files"] as const;
/** kubernetes' and external-secrets' `envStyle`. */
export const ENV_STYLES = ["envFrom", "refs"] as const;

/** One of `options`, or E_USAGE naming `what` (a flag, or an option of the library). */
export function choice<T extends string>(
  value: string | undefined,
  options: readonly T[],
  what: string,
): T | undefined {
  if (value === undefined) return undefined;
  const known = options.find((option) => option === value);
  if (known === undefined)
    throw new TesseraError("E_USAGE", `${what} takes ${options.join(" or ")}, not ${JSON.stringify(value)}`);
  return known;
}

/** Values asked of a target that takes none (external-secrets: the operator fetches them). */
export function refuseValues(target: Target, withValues: boolean): void {
  if (withValues && target.noValues)
    throw new TesseraError("E_USAGE", `--with-values does not apply to ${target.name}: ${target.noValues}`);
}

/** What can be refused before anything is read: values the target takes none of, an unknown render option value. */
export function checkBuild(target: Target, withValues: boolean, options: RenderOptions): RenderOptions {
  refuseValues(target, withValues);
  return {
    ...options,
    // A JavaScript caller can pass any string.
    secretsMode: choice(options.secretsMode, SECRETS_MODES, "secretsMode"),
    envStyle: choice(options.envStyle, ENV_STYLES, "envStyle"),
  };
}

/**
 * Resolve what a target needs (its own check narrows what must resolve here; the pipeline was opened
 * with `external: target.fetchesStores`). A manifest from another repository may not declare names that
 * steer a program the values reach on this host (docker, compose, run.sh).
 */
export async function resolveTarget(pipeline: Pipeline, target: Target): Promise<Resolved> {
  const resolved = await pipeline.resolveFor(target);
  if (target.hostProcess && resolved.restricted && resolved.spec)
    refuseSteering(resolved.spec, resolved.profile, resolved.resolution.variables);
  return resolved;
}

/** The service, and the name it had in the manifest when the target needed another. */
export type NamedService = Service & { renamed?: { from: string; to: string } | undefined };

/** The options that chose a build's values, repeated in its to-dos (never a value: no --secret). */
export type Selection = Pick<
  PipelineOptions,
  "manifest" | "values" | "envFiles" | "secretsFrom" | "allowHostEnv"
>;

/**
 * The options that chose this build's values, for a to-do command that must resolve the same ones:
 * ` --env production --manifest agent/Dockfile.yaml`, shell-quoted (empty when there are none).
 */
export function selectionFlags(selection: Selection, profile: string | undefined): string {
  const words: string[] = [];
  if (profile) words.push("--env", profile);
  if (selection.manifest) words.push("--manifest", selection.manifest);
  for (const file of selection.values ?? []) words.push("--values", file);
  for (const file of selection.envFiles ?? []) words.push("--env-file", file);
  for (const name of selection.secretsFrom ?? []) words.push("--secrets-from", name);
  if (selection.allowHostEnv) words.push("--allow-host-env");
  return words.map((word) => ` ${shellWord(word)}`).join("");
}

export interface BuildInput {
  /** Opened with `external: target.fetchesStores`. */
  pipeline: Pipeline;
  target: Target;
  /** Where relative paths start; paths in the result are shown relative to it. */
  cwd: string;
  /** git's environment is taken from it (to tell whether a value file is ignored). */
  env: Env;
  /** The output directory (relative to cwd); default: deploy/<target>/ beside the manifest (else in cwd). */
  out?: string | undefined;
  withValues: boolean;
  /** Replace the manifest's service name, image, namespace. */
  service: { name?: string | undefined; image?: string | undefined; namespace?: string | undefined };
  /** The render options (checksumKey: fingerprintKey(env)). */
  options: RenderOptions;
  /** Return missing required variables (in `missing`, and as W_MISSING_REQUIRED) instead of throwing. */
  allowMissing?: boolean | undefined;
  /** What chose the values, for the `{flags}` of the to-dos (default: only the profile). */
  selection?: Selection | undefined;
  /** Once resolved, before the missing check (the CLI prints the warnings here, before any later error). */
  onResolved?: ((resolved: Resolved) => void) | undefined;
  /** Once the service is named, before rendering (the CLI says here that it was renamed). */
  onService?: ((service: NamedService) => void) | undefined;
}

export interface BuildResult extends OutputResult {
  /** The target's name (`kubernetes` for `k8s`). */
  target: string;
  /** The output directory, shown as `written` shows paths (relative to cwd when inside it). */
  out: string;
  /** The manifest read (its path), if any. */
  manifest: string | undefined;
  profile: string | undefined;
  withValues: boolean;
  service: NamedService;
  /** What is still to do, in words, its commands runnable as written (the CLI's "to do:" lines). */
  notes: string[];
  /** The resolution's warnings, the missing variables `allowMissing` let through, the target's: nothing is printed. */
  warnings: Diagnostic[];
  /** The required variables without a value that `allowMissing` let through (empty otherwise). */
  missing: ResolvedVariable[];
}

/** Resolve, check, render and write a target's artifacts (see the top of this file). */
export async function buildTarget(input: BuildInput): Promise<BuildResult> {
  const { target, withValues, cwd } = input;
  const options = checkBuild(target, withValues, input.options);
  const resolved = await resolveTarget(input.pipeline, target);
  input.onResolved?.(resolved);
  const { resolution } = resolved;
  if (resolution.missing.length && !input.allowMissing) throw missingError(resolution);
  const service = serviceFrom(resolved.spec, input.service, target.names, resolved);
  input.onService?.(service);
  const rendered = target.render(
    { resolution, spec: resolved.spec, stores: resolved.stores, service, withValues },
    options,
  );

  const out =
    input.out === undefined
      ? join(resolved.spec?.dir ?? cwd, "deploy", target.name)
      : resolve(cwd, input.out);
  const written = writeOutputs(cwd, out, rendered.artifacts, target, gitEnvironment(input.env));
  const shown = displayPath(cwd, out);
  const again = selectionFlags(input.selection ?? {}, resolved.profile);
  return {
    ...written,
    target: target.name,
    out: shown,
    manifest: resolved.spec?.file,
    profile: resolved.profile,
    withValues,
    service,
    notes: rendered.notes.map((note) =>
      note.replaceAll("{out}", () => shown).replaceAll("{flags}", () => again),
    ),
    warnings: [...resolution.warnings, ...missingWarnings(resolution), ...rendered.warnings],
    missing: [...resolution.missing],
  };
}
