/**
 * Tessera as a library: the same pipeline the CLI runs, with the same policy (a manifest from another
 * repository, store credentials kept from children).
 *
 *   import { openPipeline, render } from "tessera-cli";
 *   const pipeline = await openPipeline({ cwd: process.cwd(), env: process.env, profile: "production" });
 *   const { resolution } = await pipeline.resolve();
 *   if (resolution.missing.length) throw new Error(resolution.missing.map((v) => v.name).join(", "));
 *   const env = await pipeline.childEnvironment(); // what `tessera run` gives its child
 *   process.stdout.write(render("dotenv", resolution.variables.filter((v) => v.value).map((v) => ({ name: v.name, value: v.value!.reveal() }))));
 */
import { dirname, resolve as resolvePath } from "node:path";
import { TesseraError } from "./errors.js";
import { findManifest, kindOf, loadManifest as loadManifestRef } from "./manifest/load.js";
import type { ManifestKind, Spec } from "./model/spec.js";
import { openPipeline as open, type PipelineOptions } from "./pipeline/pipeline.js";
import { coerce, declaredShapes } from "./resolve/shape.js";

export {
  type Diagnostic,
  ERROR_CODES,
  type ErrorCode,
  EXIT,
  formatError,
  isTesseraError,
  type Location,
  TesseraError,
} from "./errors.js";
export { type DotenvEntry, type DotenvFile, parseDotenv } from "./formats/dotenv.js";
export {
  dotenvQuote,
  type Entry,
  FORMATS,
  type Format,
  render,
  shellQuote,
  yamlQuote,
} from "./formats/encoders.js";
export { type Maskable, Masker, MIN_MASK_LENGTH, maskPatterns } from "./formats/mask.js";
export { gatherLocalLayers, type LayerOptions, type LocalLayers } from "./layers/gather.js";
export { findManifest, MANIFEST_NAMES, type ManifestRef, VERSION } from "./manifest/load.js";
export type { Candidate, LayerId, LayerStack, Origin, ValueSource } from "./model/layers.js";
export type {
  Declaration,
  ManifestKind,
  ProfileSpec,
  Sensitivity,
  SourceDecl,
  Spec,
  ValueShape,
  ValueType,
} from "./model/spec.js";
export { effectiveDeclarations, effectiveSources } from "./model/spec.js";
export {
  evaluate,
  parseTemplate,
  referencedNames,
  render as renderTemplate,
  type Template,
} from "./model/template.js";
export { Value } from "./model/value.js";
export { childEnvironment, PRISTINE_KEEP, secretsToMask } from "./pipeline/child-env.js";
export type { Explanation } from "./pipeline/explain.js";
export { openPipeline, type Pipeline, type PipelineOptions, type Resolved } from "./pipeline/pipeline.js";
export {
  type Resolution,
  type ResolvedVariable,
  type ResolveInput,
  resolve,
  resolveWithScope,
} from "./resolve/resolve.js";
export {
  brokenRules,
  checkShapes,
  coerce,
  InvalidValuesError,
  parseBoolean,
  type ShapeProblem,
} from "./resolve/shape.js";
export { type RunChildOptions, runChild } from "./run/run.js";
export type { BuildResult, NamedService } from "./targets/build.js";
export type { OutputResult, WrittenFile } from "./targets/outputs.js";
export type { Artifact, Rendered, RenderOptions, Service, Target } from "./targets/types.js";
export type { SetOptions, StoreInput, WorkspaceStore } from "./workspace/access.js";

/**
 * A deployment target from the catalog, for `pipeline.render(target, { service, withValues, options })`
 * (loaded on demand: importing the library loads no target).
 */
export async function loadTarget(name: string): Promise<import("./targets/types.js").Target> {
  return (await import("./targets/catalog.js")).targetNamed(name);
}

/**
 * Parse manifest text in full (positioned YAML, schema validation). Asynchronous because the YAML and
 * schema libraries are loaded only when a manifest is parsed, not when the library is imported.
 */
export async function parseManifest(
  kind: ManifestKind,
  text: string,
  file: string,
  dir: string,
): Promise<Spec> {
  return (await import("./manifest/parse.js")).parseManifest(kind, text, file, dir);
}

/** The JSON Schema of tessera.yaml. */
export async function jsonSchema(): Promise<Record<string, unknown>> {
  return (await import("./manifest/schema.js")).jsonSchema();
}

/**
 * Load a manifest: a path (tessera.yaml, Dockfile.yaml, manifest.json, by name), or the first of those
 * in `cwd` when no path is given. Returns undefined when there is none.
 */
export async function loadManifest(
  path?: string,
  cwd: string = process.cwd(),
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Spec | undefined> {
  if (path) {
    const absolute = resolvePath(cwd, path);
    return loadManifestRef({ path: absolute, kind: kindOf(absolute) }, { cwd: dirname(absolute), env });
  }
  const ref = findManifest(cwd);
  return ref ? loadManifestRef(ref, { cwd, env }) : undefined;
}

/** Options of `load()`: those of the pipeline, with the process's own directory and environment by default. */
export type LoadOptions = { [K in keyof PipelineOptions]?: PipelineOptions[K] | undefined };

/**
 * The declared variables, resolved and checked as `tessera check` does, their values typed and coerced
 * by their declared `type:` (port, integer and number → number; boolean → boolean, from true/false/1/0/
 * yes/no in any case; json → parsed; the rest strings). A variable without a value is left out.
 *
 *   import { load } from "tessera-cli";
 *   // Env: the type `tessera types -o src/env.ts` writes (import it with `import type`)
 *   const env = await load<Env>({ profile: "production" });
 *   env.PORT; // number
 *
 * Throws TesseraError E_VALUE_INVALID (a value that does not fit its type) and E_MISSING_REQUIRED (a
 * required variable without a value), naming the variables, never their values; and the CLI's other errors.
 */
export async function load<E = Record<string, unknown>>(options: LoadOptions = {}): Promise<E> {
  const pipeline = await open({
    ...options,
    // An explicit undefined (as `exactOptionalPropertyTypes` allows) is the default, not a missing value.
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
  });
  const { resolution, spec, profile } = await pipeline.resolve();
  if (resolution.missing.length) {
    const names = resolution.missing.map((variable) => variable.name);
    throw new TesseraError(
      "E_MISSING_REQUIRED",
      `${names.length === 1 ? `${names[0]} is required and has no value` : `${names.length} required variables have no value`}`,
      {
        details: resolution.missing.map(
          (variable) =>
            `${variable.name}${variable.status === "empty" ? ` (set to an empty value by ${variable.origin?.where})` : ""}`,
        ),
        hint: "set them in .env, a value file, the workspace store or a source, or run `tessera check` for where each was looked for",
      },
    );
  }
  const shapes = declaredShapes(spec, profile);
  const out: Record<string, unknown> = {};
  for (const variable of resolution.variables) {
    if (variable.value === undefined || variable.status !== "set") continue;
    const text = variable.value.reveal();
    out[variable.name] = text === "" ? text : coerce(text, shapes.get(variable.name));
  }
  return out as E;
}

/** Options of `openStore()`. */
export interface OpenStoreOptions {
  /** Where the workspace is looked for (the nearest directory upwards with a `.tessera/`); default: process.cwd(). */
  cwd?: string | undefined;
  /** Where the age identity comes from (TESSERA_AGE_KEY, TESSERA_AGE_KEY_FILE, XDG_CONFIG_HOME, HOME); default: process.env. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** One-off messages, as `tessera var` prints them on stderr (your age key created, a file updated); default: nowhere. */
  notice?: ((text: string) => void) | undefined;
  /** Warnings (`W_…`), each once per opened store; default: formatted, to `notice`. */
  onWarning?: ((warning: import("./errors.js").Diagnostic) => void) | undefined;
}

/**
 * The project's encrypted workspace store, `.tessera/store.age` (what `tessera var` reads and writes):
 *
 *   import { openStore } from "tessera-cli";
 *   const store = await openStore({ cwd: process.cwd(), env: process.env });
 *   await store.set("STRIPE_KEY", "sk_test_fake"); // locked, signed, atomic, as `tessera var set`
 *   (await store.get("STRIPE_KEY"))?.reveal();
 *
 * Reads need the user's age identity when there is a store (E_STORE_LOCKED without one) and check its
 * signer (E_STORE_UNTRUSTED); a first write creates the store and, if the user has none, their identity.
 * Opening reads nothing; each method reads the file as it is then. Loaded on demand: importing the
 * library loads no cryptography.
 */
export async function openStore(
  options: OpenStoreOptions = {},
): Promise<import("./workspace/access.js").WorkspaceStore> {
  const { openWorkspaceStore } = await import("./workspace/access.js");
  return openWorkspaceStore({
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    notice: options.notice,
    onWarning: options.onWarning,
  });
}

/** Options of `build()`: those of `load()` (the layers), the target, and `tessera build`'s options. */
export interface BuildOptions extends Omit<LoadOptions, "external" | "deferErrors"> {
  /** A target of `tessera build --target`: docker, compose, kubernetes, external-secrets. */
  target: string;
  /** The output directory, relative to `cwd`; default: deploy/<target>/ beside the manifest. */
  out?: string | undefined;
  /** Write the values into the artifacts (files of mode 0600, only where git ignores them), as --with-values. */
  withValues?: boolean | undefined;
  /** The service's name, image and namespace, in place of the manifest's (--name, --image, --namespace). */
  service?:
    | { name?: string | undefined; image?: string | undefined; namespace?: string | undefined }
    | undefined;
  /** The render options each target reads (--secrets-mode, --env-style, --kustomize, --cluster-store, --refresh-interval). */
  render?: Omit<import("./targets/types.js").RenderOptions, "checksumKey"> | undefined;
  /** Return missing required variables in `missing` instead of throwing E_MISSING_REQUIRED (--allow-missing-secrets). */
  allowMissingSecrets?: boolean | undefined;
}

/**
 * What `tessera build` does, as a function: resolve for a target, render its artifacts and write them,
 * with the same safety. Only files Tessera wrote are replaced (`.tessera-outputs` lists them; anything
 * else is E_OUTPUT_EXISTS before a byte is written), files an earlier build wrote and this one does not
 * are removed, and value files (`withValues`) are written 0600 and only where git ignores them
 * (E_OUTPUT_NOT_IGNORED).
 *
 *   import { build } from "tessera-cli";
 *   const { written, notes } = await build({ target: "kubernetes", profile: "production" });
 *
 * Nothing is printed: warnings come back in `warnings`, what is still to do in `notes`. Throws the CLI's
 * errors (E_MISSING_REQUIRED, E_USAGE for an unknown target, …), naming files and variables, never
 * values. Loaded on demand: importing the library loads no target.
 */
export async function build(options: BuildOptions): Promise<import("./targets/build.js").BuildResult> {
  const { target: name, out, withValues, service, render, allowMissingSecrets, ...layers } = options;
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const { targetNamed } = await import("./targets/catalog.js");
  const { buildTarget, checkBuild } = await import("./targets/build.js");
  const { fingerprintKey } = await import("./crypto/fingerprint.js");
  const target = targetNamed(name);
  // Refused before anything is read, as the CLI does.
  checkBuild(target, withValues === true, render ?? {});
  const pipeline = await open({ ...layers, cwd, env, external: target.fetchesStores });
  return buildTarget({
    pipeline,
    target,
    cwd,
    env,
    out,
    withValues: withValues === true,
    service: service ?? {},
    options: { ...render, checksumKey: fingerprintKey(env) },
    allowMissing: allowMissingSecrets,
    selection: layers,
  });
}
