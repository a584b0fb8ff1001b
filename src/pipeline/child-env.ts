/**
 * What a child is given: the parent's environment (or a minimal set) less the credentials Tessera used to
 * reach keys and stores, plus every resolved variable; and which values are masked in its output. One
 * policy for `run`, `deploy` and the library (see ./pipeline.ts).
 */
import type { Maskable } from "../formats/mask.js";
import { TESSERA_CREDENTIALS } from "../model/credentials.js";
import type { Resolution } from "../resolve/resolve.js";

/** Kept from the parent environment under --pristine. */
export const PRISTINE_KEEP = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR"] as const;

export { TESSERA_CREDENTIALS };

export interface ChildEnvironmentOptions {
  pristine?: boolean | undefined;
  /** More names not to pass on: the credentials of the manifest's external stores. */
  strip?: readonly string[] | undefined;
}

/** The child's environment: the parent's (or a minimal set) plus every resolved variable. */
export function childEnvironment(
  resolution: Pick<Resolution, "variables">,
  parent: Readonly<Record<string, string | undefined>>,
  options: ChildEnvironmentOptions = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  if (options.pristine) {
    for (const name of PRISTINE_KEEP) {
      const value = parent[name];
      if (value !== undefined) env[name] = value;
    }
  } else {
    const strip = new Set(options.strip);
    for (const [name, value] of Object.entries(parent)) {
      if (value !== undefined && !TESSERA_CREDENTIALS.has(name) && !strip.has(name)) env[name] = value;
    }
  }
  for (const variable of resolution.variables) {
    if (variable.value !== undefined) env[variable.name] = variable.value.reveal();
  }
  return env;
}

/**
 * The environment of a tool Tessera starts for itself (a deploy tool and its probes, git): the parent's
 * less Tessera's and the stores' credentials, and no resolved value.
 */
export function toolEnvironment(
  parent: Readonly<Record<string, string | undefined>>,
  strip: readonly string[] = [],
): Record<string, string> {
  return childEnvironment({ variables: [] }, parent, { strip });
}

/**
 * git's environment when Tessera asks it something (is a file ignored, which files are tracked): only
 * what git reads to answer (its own GIT_* settings, HOME and XDG_CONFIG_HOME for the global excludes),
 * never a credential.
 */
const GIT_KEEP = new Set<string>([...PRISTINE_KEEP, "XDG_CONFIG_HOME"]);

export function gitEnvironment(parent: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    if (GIT_KEEP.has(name) || name === "XDG_CONFIG_HOME" || name.startsWith("GIT_")) env[name] = value;
  }
  return env;
}

/** The secret values to mask (config values are not masked). */
export function secretsToMask(resolution: Resolution): Maskable[] {
  const out: Maskable[] = [];
  for (const variable of resolution.variables) {
    if (variable.kind === "secret" && variable.value !== undefined) {
      out.push({ name: variable.name, value: variable.value.reveal() });
    }
  }
  return out;
}
