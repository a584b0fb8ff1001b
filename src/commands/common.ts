/** What every resolving command shares: flags in, a Resolution out, warnings and missing variables reported. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Diagnostic, formatWarning, TesseraError } from "../errors.js";
import { findManifest, loadManifest } from "../manifest/load.js";
import {
  ENV_NAME,
  effectiveDeclarations,
  effectiveSources,
  isStoreSource,
  PROFILE_NAME,
  type Spec,
} from "../manifest/spec.js";
import {
  type Resolution,
  type ResolvedVariable,
  resolveWithScope,
  type ScopedResolution,
} from "../resolve/resolve.js";
import { gatherLayers } from "../sources/gather.js";
import type { LayerStack } from "../sources/layers.js";
import { isForeignManifest, steersHost } from "../sources/trust.js";
import { findWorkspace } from "../store/workspace.js";
import { mark } from "../timing.js";

export interface Context {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface LayerFlags {
  manifest?: string;
  env?: string;
  secret?: string[];
  values?: string[];
  "env-file"?: string[];
  "allow-missing-secrets"?: boolean;
  "allow-host-env"?: boolean;
  "secrets-from"?: string[];
  offline?: boolean;
  quiet?: boolean;
}

export interface Resolved {
  spec?: Spec;
  profile?: string;
  resolution: Resolution;
  stack: LayerStack;
  /** The value of any name in the merged scope. */
  scopeValue: ScopedResolution["scopeValue"];
  /** The manifest comes from another repository and --allow-host-env was not given. */
  restricted: boolean;
  /** Environment variables that are credentials of the manifest's external stores (not for children). */
  storeCredentials: string[];
}

export function profileFrom(flags: LayerFlags, env: Context["env"]): string | undefined {
  const profile = flags.env ?? (env.TESSERA_ENV || undefined);
  if (profile !== undefined && !PROFILE_NAME.test(profile)) {
    throw new TesseraError("E_USAGE", `invalid profile name ${JSON.stringify(profile)}`, {
      hint: "profile names use letters, digits, ., _ and -, e.g. --env production",
    });
  }
  return profile;
}

export function parseSecretFlags(values: readonly string[] | undefined): [string, string][] {
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const text of values ?? []) {
    const eq = text.indexOf("=");
    const name = eq === -1 ? text : text.slice(0, eq);
    if (eq === -1) {
      // Never echo the argument: a forgotten NAME= leaves the value itself here.
      throw new TesseraError("E_USAGE", "--secret needs NAME=VALUE (an argument has no '=')", {
        hint: "write --secret NAME=VALUE (quote it for the shell if the value has spaces)",
      });
    }
    if (!ENV_NAME.test(name)) {
      throw new TesseraError("E_USAGE", "--secret needs NAME=VALUE with a valid variable name", {
        hint: "names use letters, digits and _, not starting with a digit",
      });
    }
    if (seen.has(name)) {
      throw new TesseraError("E_USAGE", `--secret ${name} is given twice`, {
        hint: "give each variable once",
      });
    }
    seen.add(name);
    out.push([name, text.slice(eq + 1)]);
  }
  return out;
}

/**
 * Check the layer flags before anything else reads the command line: `--secret NAME VALUE` (a space
 * for the `=`) must fail on the flag, never echo VALUE as "an unexpected argument".
 */
export function checkLayerFlags(flags: LayerFlags, env: Context["env"]): void {
  profileFrom(flags, env);
  parseSecretFlags(flags.secret);
}

/** Commands that take no positional argument: the first one is a usage error, with the usage as hint. */
export function noArguments(positionals: readonly string[], hint: string): void {
  if (positionals.length > 0) {
    throw new TesseraError("E_USAGE", `unexpected argument ${JSON.stringify(positionals[0])}`, { hint });
  }
}

export async function resolveFromFlags(
  flags: LayerFlags,
  context: Context,
  options: { noCache?: boolean; deferErrors?: boolean; external?: boolean } = {},
): Promise<Resolved> {
  mark("start");
  const profile = profileFrom(flags, context.env);
  const secrets = parseSecretFlags(flags.secret);
  const ref = findManifest(context.cwd, flags.manifest);
  const spec = ref ? await loadManifest(ref, { cwd: context.cwd, noCache: options.noCache }) : undefined;
  mark("manifest");
  const trust = ref && !flags["allow-host-env"] ? await foreignManifest(ref.path, context) : undefined;
  if (trust && spec) refuseSteering(spec, profile);
  const stack = await gatherLayers({
    hostEnvOnly: trust?.hostEnvOnly,
    autoDir: trust?.root,
    external: options.external,
    secretsFrom: flags["secrets-from"],
    offline: flags.offline,
    cwd: context.cwd,
    env: context.env,
    spec,
    profile,
    secrets,
    valuesFiles: flags.values,
    envFiles: flags["env-file"],
  });
  mark("layers");
  const { resolution, scopeValue } = resolveWithScope({
    spec,
    profile,
    stack,
    deferErrors: options.deferErrors,
  });
  mark("resolve");
  if (spec) {
    const declared = new Set(resolution.variables.map((variable) => variable.lookup));
    for (const [name] of secrets) {
      if (!declared.has(name)) {
        resolution.warnings.push({
          code: "W_SECRET_UNDECLARED",
          message: `--secret ${name}: ${name} is not declared in ${spec.file}; it only serves references`,
          hint: `declare ${name} in the manifest to pass it on`,
        });
      }
    }
    if (profile && !Object.hasOwn(spec.profiles, profile) && !profileFilesExist(spec.dir, profile)) {
      resolution.warnings.push({
        code: "W_PROFILE_UNKNOWN",
        message:
          spec.kind === "ploinky"
            ? `profile "${profile}" has no env in ${spec.file} and no .env.${profile} or env.${profile}.yaml file`
            : `profile "${profile}" has no section in ${spec.file} and no .env.${profile} or env.${profile}.yaml file`,
        hint: Object.keys(spec.profiles).length
          ? `known profiles: ${Object.keys(spec.profiles).join(", ")}`
          : "check the spelling of --env / TESSERA_ENV",
      });
    }
  }
  return {
    spec,
    profile,
    resolution,
    stack,
    scopeValue,
    restricted: trust !== undefined,
    storeCredentials: spec ? await storeCredentials(spec, profile, resolution, context.env) : [],
  };
}

/**
 * The credentials Tessera used (or would use) to reach the manifest's external stores: they are not
 * passed on to a child, unless the manifest declares them.
 */
async function storeCredentials(
  spec: Spec,
  profile: string | undefined,
  resolution: Resolution,
  env: Context["env"],
): Promise<string[]> {
  const stores = effectiveSources(spec, profile).filter(isStoreSource);
  if (stores.length === 0) return [];
  const { credentialVariables, isCredentialPattern } = await import("../providers/registry.js");
  const declared = new Set(resolution.variables.map((variable) => variable.name));
  const names = new Set(stores.flatMap((store) => credentialVariables(store.type, store.settings)));
  for (const name of Object.keys(env)) {
    if (stores.some((store) => isCredentialPattern(store.type, name))) names.add(name);
  }
  return [...names].filter((name) => !declared.has(name));
}

/**
 * For a manifest from another repository (see ../sources/trust.ts): the workspace root, and the names
 * the workspace's own manifest (at that root) declares, which are all the host environment may give
 * it. Undefined for a trusted manifest.
 */
async function foreignManifest(
  manifest: string,
  context: Context,
): Promise<{ root: string; hostEnvOnly: Set<string> } | undefined> {
  const root = findWorkspace(context.cwd).root;
  if (!isForeignManifest(manifest, root)) return undefined;
  const own = findManifest(root);
  if (!own || own.path === manifest || isForeignManifest(own.path, root))
    return { root, hostEnvOnly: new Set() };
  const spec = await loadManifest(own, { cwd: context.cwd });
  return { root, hostEnvOnly: new Set(spec.variables.map((declaration) => declaration.lookup)) };
}

/** A manifest from another repository may not declare variables that steer the host's programs. */
function refuseSteering(spec: Spec, profile: string | undefined): void {
  const steering = effectiveDeclarations(spec, profile).filter((declaration) => steersHost(declaration.name));
  if (steering.length === 0) return;
  const names = steering.map((declaration) => declaration.name);
  throw new TesseraError(
    "E_HOST_VARIABLE",
    `${spec.file} comes from another repository and declares ${names.join(", ")}, which would steer the programs Tessera starts on this host (the command, a shell, docker)`,
    {
      location: steering[0]!.declaredAt,
      details: steering.slice(1).map((declaration) => {
        const at = declaration.declaredAt;
        return `also ${declaration.name} at ${at.file}:${at.line ?? 1}:${at.column ?? 1}`;
      }),
      hint: "if you trust this manifest, pass --allow-host-env; otherwise ask its authors to rename the variable",
    },
  );
}

function profileFilesExist(dir: string, profile: string): boolean {
  return [`.env.${profile}`, `.env.${profile}.local`, `env.${profile}.yaml`].some((name) =>
    existsSync(join(dir, name)),
  );
}

export function printWarnings(warnings: readonly Diagnostic[], context: Context, quiet?: boolean): void {
  if (quiet) return;
  for (const warning of warnings) context.stderr(`${formatWarning(warning)}\n`);
}

/** Describe why a required variable is not satisfied (never its value): a headline and detail lines. */
export function describeMissing(variable: ResolvedVariable, looked: readonly string[]): string[] {
  const lookedUpAs = variable.lookup !== variable.name ? ` (looked up as ${variable.lookup})` : "";
  const head = `${variable.name}${lookedUpAs}${variable.description ? ` — ${variable.description}` : ""}`;
  if (variable.status === "empty" && variable.origin) {
    const shadowed = variable.shadowed.length
      ? ` (shadowing ${variable.shadowed.map((origin) => origin.where).join(", ")})`
      : "";
    return [head, `  set to an empty value by ${variable.origin.where}${shadowed}`];
  }
  if (variable.status === "unresolved") {
    return [
      head,
      `  its value (${variable.origin?.where}) refers to ${variable.dependsOn}, which is missing`,
    ];
  }
  return [head, `  looked in: ${looked.join(", ")}, manifest default (none)`];
}

export function missingError(resolution: Resolution): TesseraError {
  const names = resolution.missing.map((variable) => variable.name);
  const details = resolution.missing.flatMap((variable) => describeMissing(variable, resolution.looked));
  const allEmpty = resolution.missing.every((variable) => variable.status === "empty");
  const what = allEmpty ? "empty" : "missing";
  return new TesseraError(
    "E_MISSING_REQUIRED",
    `${names.length === 1 ? "a required variable is" : `${names.length} required variables are`} ${what}: ${names.join(", ")}`,
    {
      details,
      hint: "set them in a git-ignored .env or env.yaml, in the environment, or with --secret NAME=VALUE; --allow-missing-secrets turns this into a warning",
    },
  );
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
