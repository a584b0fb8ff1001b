/**
 * Tessera as a library: load a manifest, gather layers, resolve, render, run.
 *
 *   import { loadManifest, gatherLayers, resolve, render, runChild, childEnvironment } from "tessera";
 *   const spec = await loadManifest("tessera.yaml");
 *   const stack = await gatherLayers({ cwd: process.cwd(), env: process.env, spec, profile: "production" });
 *   const resolution = resolve({ spec, profile: "production", stack });
 *   if (resolution.missing.length) throw new Error(resolution.missing.map((v) => v.name).join(", "));
 *   process.stdout.write(render("dotenv", resolution.variables.filter((v) => v.value).map((v) => ({ name: v.name, value: v.value!.reveal() }))));
 */
import { dirname, resolve as resolvePath } from "node:path";
import { findManifest, kindOf, loadManifest as loadManifestRef } from "./manifest/load.js";
import type { ManifestKind, Spec } from "./manifest/spec.js";

export {
  ERROR_CODES,
  type ErrorCode,
  EXIT,
  formatError,
  isTesseraError,
  type Location,
  TesseraError,
} from "./errors.js";
export { findManifest, MANIFEST_NAMES, type ManifestRef, VERSION } from "./manifest/load.js";

export type {
  Declaration,
  ManifestKind,
  ProfileSpec,
  Sensitivity,
  SourceDecl,
  Spec,
} from "./manifest/spec.js";
export { effectiveDeclarations, effectiveSources } from "./manifest/spec.js";
export {
  type Resolution,
  type ResolvedVariable,
  type ResolveInput,
  resolve,
  resolveWithScope,
} from "./resolve/resolve.js";
export {
  evaluate,
  parseTemplate,
  referencedNames,
  render as renderTemplate,
  type Template,
} from "./resolve/template.js";
export { Value } from "./resolve/value.js";
export { type Maskable, Masker, MIN_MASK_LENGTH, maskPatterns } from "./run/mask.js";
export { childEnvironment, PRISTINE_KEEP, type RunChildOptions, runChild, secretsToMask } from "./run/run.js";
export { type DotenvEntry, type DotenvFile, parseDotenv } from "./sources/dotenv.js";
export { gatherLayers, type LayerOptions } from "./sources/gather.js";
export type { Candidate, LayerId, LayerStack, Origin, ValueSource } from "./sources/layers.js";
export {
  dotenvQuote,
  type Entry,
  FORMATS,
  type Format,
  render,
  shellQuote,
  yamlQuote,
} from "./targets/formats.js";

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
export async function loadManifest(path?: string, cwd: string = process.cwd()): Promise<Spec | undefined> {
  if (path) {
    const absolute = resolvePath(cwd, path);
    return loadManifestRef({ path: absolute, kind: kindOf(absolute) }, { cwd: dirname(absolute) });
  }
  const ref = findManifest(cwd);
  return ref ? loadManifestRef(ref, { cwd }) : undefined;
}
