/**
 * The pipeline: one pass, one direction, shared by every command and by the library.
 *
 *   load the manifest → trust policy → gather layers 1–5 → hand their scope (a lookup) to the external
 *   stores of layer 6 → resolve once → hand the Resolution to a target, `run`, `explain`, …
 *
 * It holds the policy too: what a manifest from another repository may do (./trust.ts), which
 * credentials a child may see (./child-env.ts). The process environment is never read here: the entry
 * (the CLI, or the library's caller) passes it in as `env`.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { closest, type Diagnostic, type ErrorCode, TesseraError } from "../errors.js";
import { gatherLocalLayers, storesNotRead } from "../layers/gather.js";
import { findManifest, loadManifest } from "../manifest/load.js";
import type { LayerStack, ValueSource } from "../model/layers.js";
import { looksSecret } from "../model/sensitivity.js";
import {
  ENV_NAME,
  effectiveDeclarations,
  effectiveSources,
  isStoreSource,
  PROFILE_NAME,
  type SourceDecl,
  type Spec,
  type StoreSource,
} from "../model/spec.js";
import { parseTemplate, referencedNames } from "../model/template.js";
import type { Env } from "../paths.js";
import { originLocation } from "../resolve/evaluate.js";
import { type Resolution, resolveWithScope, type ScopedResolution } from "../resolve/resolve.js";
import { refuseInvalidValues } from "../resolve/shape.js";
import { mark } from "../timing.js";
import { findWorkspace } from "../workspace/workspace.js";
import { type ChildEnvironmentOptions, childEnvironment, secretsToMask } from "./child-env.js";
import type { Explanation } from "./explain.js";
import {
  foreignViolations,
  isForeignManifest,
  refuseSteering,
  refuseViolations,
  repositoryOf,
} from "./trust.js";

export interface PipelineOptions {
  /** Where relative paths start and the manifest is looked for. */
  cwd: string;
  /** The process environment (or any other), read at the entry and passed in. */
  env: Env;
  /** --manifest: a path relative to cwd; else the first of tessera.yaml, Dockfile.yaml, manifest.json in cwd. */
  manifest?: string | undefined;
  /** --env: the profile (else TESSERA_ENV from `env`). */
  profile?: string | undefined;
  /** --secret NAME=VALUE, as typed. */
  secrets?: readonly string[] | undefined;
  /** --values FILE… (relative to cwd). */
  values?: readonly string[] | undefined;
  /** --env-file FILE… (relative to cwd). */
  envFiles?: readonly string[] | undefined;
  /** --secrets-dir DIR…: directories of one-file secrets (relative to cwd). */
  secretsDirs?: readonly string[] | undefined;
  /** --empty-is-unset: an empty value does not shadow lower layers. */
  emptyIsUnset?: boolean | undefined;
  /** --strict: W_GENERIC_VALUE and W_DIALECT are errors. */
  strict?: boolean | undefined;
  /** --allow-host-env: trust a manifest from another repository with the host environment. */
  allowHostEnv?: boolean | undefined;
  /** --secrets-from: the only external stores used. */
  secretsFrom?: readonly string[] | undefined;
  /** --offline: external stores answer from their caches only. */
  offline?: boolean | undefined;
  /** Parse the manifest in full, bypassing the Spec cache. */
  noCache?: boolean | undefined;
  /** Leave out variables whose value cannot be computed instead of failing (echo '$NAME'). */
  deferErrors?: boolean | undefined;
  /** false: do not fetch external stores (the external-secrets target: the operator reads them). */
  external?: boolean | undefined;
  /** Where a one-off notice goes (a key created for the fetch cache); default: nowhere. */
  notice?: ((text: string) => void) | undefined;
}

export interface Resolved {
  spec?: Spec | undefined;
  profile?: string | undefined;
  resolution: Resolution;
  stack: LayerStack;
  /** The value of any name in the merged scope. */
  scopeValue: ScopedResolution["scopeValue"];
  /** The manifest comes from another repository and --allow-host-env was not given. */
  restricted: boolean;
  /** Environment variables that are credentials of the manifest's external stores (not for children). */
  storeCredentials: string[];
  /** The manifest's stores in effect; with `external: false`, their fields interpolated from layers 1–5 and TESSERA_ENV. */
  stores: StoreSource[];
}

export interface Pipeline {
  readonly spec?: Spec | undefined;
  readonly profile?: string | undefined;
  /** The manifest comes from another repository and --allow-host-env was not given. */
  readonly restricted: boolean;
  /** Gather and resolve (once; later calls return the same result). */
  resolve(): Promise<Resolved>;
  /**
   * The environment for a child process: the parent's (minimal under `pristine`, and always for a
   * manifest from another repository) less Tessera's and the stores' credentials, plus every resolved
   * variable. Exactly what `tessera run` gives its child.
   */
  childEnvironment(options?: Pick<ChildEnvironmentOptions, "pristine">): Promise<Record<string, string>>;
  /** The secret values to mask in a child's output. */
  secrets(): Promise<ReturnType<typeof secretsToMask>>;
  /**
   * Resolve for a target (../targets/catalog.ts): the target's own check narrows what must resolve
   * here (the external-secrets target leaves the secrets to the operator). Open the pipeline with
   * `external: target.fetchesStores`.
   */
  resolveFor(target: Preparing): Promise<Resolved>;
  /** Resolve for a target and render its artifacts (data; nothing is written). */
  render<S, O, R>(
    target: RenderTarget<S, O, R>,
    input: { service: S; withValues?: boolean | undefined; options?: O | undefined },
  ): Promise<R>;
  /** Where each variable (or each of `names`) comes from and what it shadows: never a value. */
  explain(names?: readonly string[]): Promise<Explanation[]>;
}

/** What a target may check before rendering (structural: targets sit above the pipeline). */
export interface Preparing {
  name?: string | undefined;
  prepare?(input: { resolution: Resolution; spec?: Spec }): Resolution;
  /** The variable names its artifacts can carry (see targets/types.ts Target). */
  variableNames?: { test(name: string): boolean; rule: string } | undefined;
}

export interface RenderTarget<S, O, R> extends Preparing {
  render(
    input: {
      resolution: Resolution;
      spec?: Spec | undefined;
      stores?: readonly StoreSource[] | undefined;
      service: S;
      withValues: boolean;
    },
    options: O,
  ): R;
}

/** Open the pipeline: parse the flags' data, load the manifest, apply the trust policy. Nothing is gathered yet. */
export async function openPipeline(options: PipelineOptions): Promise<Pipeline> {
  mark("start");
  const profile = profileFrom(options.profile, options.env);
  const secrets = parseSecretFlags(options.secrets);
  const ref = findManifest(options.cwd, options.manifest);
  const spec = ref
    ? await loadManifest(ref, { cwd: options.cwd, env: options.env, noCache: options.noCache })
    : undefined;
  mark("manifest");
  if (profile !== undefined) knownProfile(profile, spec, options.cwd, options.envFiles, options.values);
  const trust = ref && !options.allowHostEnv ? await foreignManifest(ref.path, options) : undefined;
  if (trust && spec && ref) {
    // Before anything is gathered: explain and check never run what a foreign manifest declares.
    const allowance = { secretsFrom: options.secretsFrom, workspaceSources: trust.workspaceSources };
    refuseViolations(spec, foreignViolations(spec, profile, repositoryOf(ref.path), allowance));
  }
  let resolved: Promise<Resolved> | undefined;
  const resolve = () => {
    resolved ??= resolveAll(options, { spec, profile, secrets, trust });
    return resolved;
  };
  return {
    spec,
    profile,
    restricted: trust !== undefined,
    resolve,
    async childEnvironment(child = {}) {
      const done = await resolve();
      if (done.restricted && done.spec) refuseSteering(done.spec, done.profile, done.resolution.variables);
      return childEnvironment(done.resolution, options.env, {
        pristine: child.pristine || done.restricted,
        strip: done.storeCredentials,
      });
    },
    async secrets() {
      return secretsToMask((await resolve()).resolution);
    },
    async resolveFor(target) {
      const done = await delivered(await resolve(), options.strict);
      const resolution = target.prepare?.(done) ?? done.resolution;
      carriedNames(target, resolution);
      return { ...done, resolution };
    },
    async render(target, input) {
      const done = await delivered(await resolve(), options.strict);
      const resolution = target.prepare?.(done) ?? done.resolution;
      carriedNames(target, resolution);
      return target.render(
        {
          resolution,
          spec: done.spec,
          stores: done.stores,
          service: input.service,
          withValues: input.withValues ?? false,
        },
        input.options ?? ({} as never),
      );
    },
    async explain(names) {
      const done = await resolve();
      // Loaded only here: fingerprints need node:crypto, which `run` never loads.
      const { explain } = await import("./explain.js");
      return explain(done.resolution, done.stack, options.env, names);
    },
  };
}

interface Opened {
  spec?: Spec | undefined;
  profile?: string | undefined;
  secrets: [string, string][];
  trust?: Foreign | undefined;
}

async function resolveAll(options: PipelineOptions, opened: Opened): Promise<Resolved> {
  const { spec, profile, secrets, trust } = opened;
  if (spec?.kind === "ploinky") {
    // Ploinky refuses a profile whose required settings have no default (PLOINKY_PROFILE_CONFIG_INCOMPLETE),
    // and makes its generated secrets once: both before anything is gathered.
    const { ploinkyProfileCheck } = await import("../manifest/ploinky.js");
    const incomplete = ploinkyProfileCheck(spec, profile);
    if (incomplete) throw incomplete;
    const { ensureGeneratedSecrets } = await import("../workspace/generated.js");
    await ensureGeneratedSecrets({
      spec,
      profile,
      cwd: options.cwd,
      env: options.env,
      notice: options.notice ?? (() => {}),
    });
  }
  // Stage 1: layers 1–5.
  const local = await gatherLocalLayers({
    hostEnvOnly: trust?.hostEnvOnly,
    autoDir: trust?.root,
    cwd: options.cwd,
    env: options.env,
    spec,
    profile,
    secrets,
    valuesFiles: options.values,
    envFiles: options.envFiles,
    secretsDirs: options.secretsDirs,
  });
  const stack: LayerStack = { sources: [...local.sources], warnings: local.warnings };
  // The profile's own external stores rank with its sources (before the marker of its manifest values).
  const placeStores = (stores: ValueSource[]) => {
    const own = stores.filter((source) => source.name !== undefined && local.profileStores.has(source.name));
    const rest = stores.filter((source) => !own.includes(source));
    if (own.length && local.profileEnd >= 0) stack.sources.splice(local.profileEnd, 0, ...own);
    else rest.unshift(...own);
    stack.sources.push(...rest);
  };
  // The scope of layers 1–5, as a lookup (computed once, on the first name asked): the stores' fields
  // are interpolated in it, whether the stores are read here or by their consumer.
  let scope: ScopedResolution["scopeValue"] | undefined;
  const lookup = (name: string): string | undefined => {
    scope ??= resolveWithScope({
      stack: { sources: [...local.sources], warnings: [] },
      deferErrors: true,
    }).scopeValue;
    const found = scope(name);
    return found.set ? found.value : undefined;
  };
  // Stage 2: layer 6, asked with that scope (its module is loaded only when there are stores).
  if (local.stores.length && options.external !== false && spec) {
    const { externalSources } = await import("../layers/external.js");
    placeStores(
      await externalSources({
        spec,
        stores: local.stores,
        profile,
        cwd: options.cwd,
        env: options.env,
        higher: local.sources,
        scope: lookup,
        secretsFrom: options.secretsFrom,
        offline: options.offline,
        warnings: stack.warnings,
        notice: options.notice ?? (() => {}),
      }),
    );
  } else {
    placeStores(storesNotRead(local.stores));
  }
  // Not read here (the External Secrets Operator reads them): the stores as their consumer must be told,
  // fields interpolated.
  let stores: StoreSource[] = local.stores;
  if (local.stores.length && spec && options.external === false) {
    const { interpolatedStores } = await import("../layers/external.js");
    stores = interpolatedStores(local.stores, { profile, manifestFile: spec.file, scope: lookup });
  }
  mark("layers");
  // Stage 3: resolve once.
  const { resolution, scopeValue } = resolveWithScope({
    spec,
    profile,
    stack,
    deferErrors: options.deferErrors,
    emptyIsUnset: options.emptyIsUnset,
    // Only names, and only the ones a foreign manifest may see.
    hostNames: Object.keys(options.env).filter((name) => !trust?.hostEnvOnly || trust.hostEnvOnly.has(name)),
  });
  mark("resolve");
  if (spec) {
    const declared = new Set(resolution.variables.map((variable) => variable.lookup));
    resolution.warnings.push(...configFromSecretNames(spec, profile, declared));
    resolution.warnings.push(...(spec.warnings ?? []));
    for (const [name] of secrets) {
      if (!declared.has(name)) {
        resolution.warnings.push({
          code: "W_SECRET_UNDECLARED",
          message: `--secret ${name}: ${name} is not declared in ${spec.file}; it only serves references`,
          hint: `declare ${name} in the manifest to pass it on`,
        });
      }
    }
  }
  if (options.strict) strictWarnings(resolution.warnings);
  // Typed values (issue 12): a value that does not fit its declared shape stops every command here.
  if (!options.deferErrors) refuseInvalidValues(resolution, spec, { spec, profile, resolution, scopeValue });
  return {
    spec,
    profile,
    resolution,
    stack,
    scopeValue,
    restricted: trust !== undefined,
    stores,
    storeCredentials: spec ? await storeCredentials(spec, profile, resolution, options.env) : [],
  };
}

export function profileFrom(flag: string | undefined, env: Env): string | undefined {
  const profile = flag ?? (env.TESSERA_ENV || undefined);
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
 * The credentials Tessera used (or would use) to reach the manifest's external stores: they are not
 * passed on to a child, unless the manifest declares them.
 */
async function storeCredentials(
  spec: Spec,
  profile: string | undefined,
  resolution: Resolution,
  env: Env,
): Promise<string[]> {
  const stores = effectiveSources(spec, profile).filter(isStoreSource);
  if (stores.length === 0) return [];
  const { credentialVariables, isCredentialVariable } = await import("../providers/catalog.js");
  const declared = new Set(resolution.variables.map((variable) => variable.name));
  const names = new Set(stores.flatMap((store) => credentialVariables(store.type, store.settings)));
  for (const name of Object.keys(env)) {
    if (stores.some((store) => isCredentialVariable(store.type, name))) names.add(name);
  }
  return [...names].filter((name) => !declared.has(name));
}

/**
 * For a manifest from another repository (see ./trust.ts): the workspace root, and the names the
 * workspace's own manifest (at that root) declares, which are all the host environment may give it.
 * Undefined for a trusted manifest.
 */
interface Foreign {
  /** The workspace root: automatic value files come from here. */
  root: string;
  /** The names the workspace's own manifest declares: all the host environment may give. */
  hostEnvOnly: Set<string>;
  /** The sources the workspace's own manifest declares: the same declaration is the workspace's consent. */
  workspaceSources: SourceDecl[];
}

async function foreignManifest(manifest: string, options: PipelineOptions): Promise<Foreign | undefined> {
  const root = findWorkspace(options.cwd, options.env.HOME).root;
  if (!isForeignManifest(manifest, root)) return undefined;
  const own = findManifest(root);
  if (!own || own.path === manifest || isForeignManifest(own.path, root))
    return { root, hostEnvOnly: new Set(), workspaceSources: [] };
  const spec = await loadManifest(own, { cwd: options.cwd, env: options.env });
  return {
    root,
    hostEnvOnly: new Set(spec.variables.map((declaration) => declaration.lookup)),
    workspaceSources: Object.values(spec.profiles)
      .flatMap((profile) => profile.sources)
      .concat(spec.sources),
  };
}

/** A manifest from another repository may not declare variables that steer the host's programs. */
/**
 * Config is not masked and goes into ConfigMaps: a config value built from an undeclared name that
 * looks like a secret (`postgres://app:${PGPASSWORD}@db/app`) would carry that secret there.
 */
function configFromSecretNames(spec: Spec, profile: string | undefined, declared: ReadonlySet<string>) {
  const warnings: Resolution["warnings"] = [];
  for (const declaration of effectiveDeclarations(spec, profile)) {
    if (declaration.kind !== "config" || declaration.value === undefined) continue;
    let names: Set<string>;
    try {
      names = referencedNames(parseTemplate(declaration.value));
    } catch {
      continue; // a syntax error is reported by resolution
    }
    const suspicious = [...names].filter((name) => !declared.has(name) && looksSecret(name));
    if (suspicious.length === 0) continue;
    warnings.push({
      code: "W_CONFIG_FROM_SECRET_NAME",
      message: `config ${declaration.name} is built from ${suspicious.join(", ")}, which ${suspicious.length === 1 ? "looks" : "look"} like a secret but ${suspicious.length === 1 ? "is" : "are"} not declared: the value would be written unmasked (ConfigMaps, logs)`,
      location: declaration.valueAt ?? declaration.declaredAt,
      hint: `declare ${declaration.name} as a secret (and ${suspicious.join(", ")} too), or declare ${suspicious.length === 1 ? "it" : "them"} to say ${suspicious.length === 1 ? "it is" : "they are"} config`,
    });
  }
  return warnings;
}

const PROFILE_FILE = /^(?:\.env\.(.+?)(?:\.local)?|env\.(.+)\.yaml)$/;

/**
 * A profile is known when the manifest has a section for it (or lists it), or a profile file exists
 * (`.env.P`, `.env.P.local`, `env.P.yaml`) beside the manifest or in the current directory. Anything else
 * is a typo that would build with the generic development values: E_PROFILE_UNKNOWN, with a "did you mean".
 */
function knownProfile(
  profile: string,
  spec: Spec | undefined,
  cwd: string,
  envFiles: readonly string[] = [],
  values: readonly string[] = [],
): void {
  const dirs = [...new Set([spec?.dir ?? cwd, cwd])];
  if (spec && (Object.hasOwn(spec.profiles, profile) || spec.profileNames?.includes(profile))) return;
  const files = [`.env.${profile}`, `.env.${profile}.local`, `env.${profile}.yaml`];
  if (dirs.some((dir) => files.some((name) => existsSync(join(dir, name))))) return;
  const known = new Set<string>([...Object.keys(spec?.profiles ?? {}), ...(spec?.profileNames ?? [])]);
  for (const dir of dirs) {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {}
    for (const entry of entries) {
      const match = PROFILE_FILE.exec(entry);
      const name = match?.[1] ?? match?.[2];
      if (name && name !== "local" && name !== "example" && PROFILE_NAME.test(name)) known.add(name);
    }
  }
  const list = [...known].sort();
  const suggestion = closest(profile, list);
  const where = spec ? `${spec.kind === "ploinky" ? "no env profile" : "no section"} in ${spec.file}, ` : "";
  throw new TesseraError(
    "E_PROFILE_UNKNOWN",
    `unknown profile "${profile}": ${where}no .env.${profile} or env.${profile}.yaml file${envFiles.length || values.length ? " (files given with --env-file/--values do not make a profile)" : ""}`,
    {
      hint: suggestion
        ? `did you mean --env ${suggestion}? (known profiles: ${list.join(", ")})`
        : list.length
          ? `known profiles: ${list.join(", ")}; check the spelling of --env / TESSERA_ENV`
          : `no profiles are known here: add a profiles.${profile} section to the manifest, or a .env.${profile} file`,
    },
  );
}

/** Warnings that --strict makes errors, as a coded error each (the first one thrown, all listed). */
const STRICT_CODES: Record<string, ErrorCode> = {
  W_GENERIC_VALUE: "E_GENERIC_VALUE",
  W_DIALECT: "E_DIALECT",
};

function strictWarnings(warnings: readonly Diagnostic[]): void {
  const failing = warnings.filter((warning) => STRICT_CODES[warning.code]);
  if (!failing.length) return;
  const first = failing[0]!;
  throw new TesseraError(STRICT_CODES[first.code]!, first.message, {
    location: first.location,
    details: failing.slice(1).map((warning) => `${warning.code}: ${warning.message}`),
    hint: `${first.hint ?? ""}${first.hint ? "; " : ""}--strict makes this an error`,
  });
}

/**
 * A name from a value file may hold . - [ ] (the environment and Compose carry it); a target whose
 * artifacts cannot carry it refuses it, naming each, instead of writing something its consumer misreads.
 */
function carriedNames(target: Preparing, resolution: Resolution): void {
  const rule = target.variableNames;
  if (!rule) return;
  const refused = resolution.variables.filter(
    (variable) => (variable.value !== undefined || variable.required) && !rule.test(variable.name),
  );
  if (!refused.length) return;
  throw new TesseraError(
    "E_VALUE_UNREPRESENTABLE",
    `${refused.length === 1 ? `${refused[0]!.name} is not a name` : `${refused.length} variables have names`} the ${target.name ?? "target"} target can carry`,
    {
      details: refused.map(
        (variable) => `${variable.name}${variable.origin ? ` (set at ${variable.origin.where})` : ""}`,
      ),
      hint: `its names are ${rule.rule}; rename the variable where it is set, or pass it with \`tessera run\` or \`tessera export --format dotenv|json\`, which carry any environment name`,
    },
  );
}

/**
 * For build and deploy with a profile: a secret whose value still comes from a file for every profile
 * (`.env`, `env.yaml`, …) is most likely a development value in a deployment (W_GENERIC_VALUE).
 */
async function delivered(done: Resolved, strict: boolean | undefined): Promise<Resolved> {
  if (!done.profile) return done;
  const generic = done.resolution.variables.filter(
    (variable) => variable.kind === "secret" && variable.value !== undefined && variable.origin?.generic,
  );
  if (!generic.length) return done;
  const warnings: Diagnostic[] = generic.map((variable) => ({
    code: "W_GENERIC_VALUE",
    message: `${variable.name} comes from ${variable.origin!.where}, a file for every profile, in a build for profile "${done.profile}"`,
    location: variable.origin ? originLocation(variable.origin) : undefined,
    hint: `put the ${done.profile} value in .env.${done.profile}, env.${done.profile}.yaml, the workspace store or a profiles.${done.profile} source`,
  }));
  if (strict) strictWarnings(warnings);
  const seen = new Set(done.resolution.warnings.map((warning) => warning.message));
  for (const warning of warnings) if (!seen.has(warning.message)) done.resolution.warnings.push(warning);
  return done;
}
