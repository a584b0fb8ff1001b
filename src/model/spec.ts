/**
 * The Spec: what a service declares, whichever manifest it came from (tessera.yaml, a Dockrion
 * Dockfile.yaml or a Ploinky manifest.json). Plain data, so it can be cached as JSON.
 */
import type { Location } from "../errors.js";

export type ManifestKind = "tessera" | "dockfile" | "ploinky";
export type Sensitivity = "secret" | "config";

/** Where a declared variable's value lives in an external store (used by the providers). */
export interface FromRef {
  source: string;
  key?: string | undefined;
  property?: string | undefined;
}

/** The types a declared value may be checked against (issue 12). */
export type ValueType =
  | "string"
  | "url"
  | "port"
  | "integer"
  | "number"
  | "boolean"
  | "enum"
  | "email"
  | "json"
  | "pem"
  | "base64"
  | "duration"
  | "hostname";

/** What a value must look like: checked before anything runs (E_VALUE_INVALID, never showing the value). */
export interface ValueShape {
  type?: ValueType | undefined;
  enum?: string[] | undefined;
  /** A regular expression, anchored (the whole value must match). */
  pattern?: string | undefined;
  startsWith?: string | undefined;
  minLength?: number | undefined;
  maxLength?: number | undefined;
  min?: number | undefined;
  max?: number | undefined;
}

export interface Declaration {
  /** The name the process sees. */
  name: string;
  /** The name looked up in the value layers (Ploinky's varName); usually the same as `name`. */
  lookup: string;
  kind: Sensitivity;
  required: boolean;
  description?: string | undefined;
  /** The manifest's value or default: a template (interpolated), never a secret from a file. */
  value?: string | undefined;
  /**
   * "default" for a declared default, "value" for a config value or a Ploinky expose; "fixed" for a value
   * the manifest's own tool passes last (a Ploinky profile's object-form scalar): it outranks every layer.
   */
  valueKind?: "default" | "value" | "fixed" | undefined;
  /**
   * Ploinky `generatedSecret` ("agent") / `sharedGeneratedSecret` ("workspace"): a random value is made once,
   * kept in the workspace store and never printed.
   */
  generated?: "agent" | "workspace" | undefined;
  /**
   * The profile whose section gave `value`: it ranks with that profile's sources, above the workspace
   * store and the generic files (tessera.yaml; a Ploinky profile's default stays a default).
   */
  valueProfile?: string | undefined;
  /** What the value must look like (`type:`, `enum:`, `pattern:`, …), where the manifest says. */
  shape?: ValueShape | undefined;
  /** The name is a pattern (`LLM_MODEL_*`): every matching name the layers define is passed on. */
  wildcard?: boolean | undefined;
  from?: FromRef | undefined;
  declaredAt: Location;
  /** Where the value/default text starts, for errors inside it. */
  valueAt?: Location | undefined;
}

/** `files`: a directory of one-file secrets (/run/secrets, a Kubernetes secret volume): file name = variable. */
export type FileSourceType = "dotenv" | "yaml" | "files";
export type StoreType =
  | "vault"
  | "aws-secrets-manager"
  | "aws-ssm"
  | "gcp-secret-manager"
  | "azure-key-vault"
  | "1password"
  | "pass"
  | "keepassxc"
  | "exec"
  | "age-file"
  | "dotenvx-file";
export type SourceType = FileSourceType | StoreType;

/** A file Tessera reads values from (never the values themselves in the manifest). */
export interface FileSource {
  type: FileSourceType;
  name?: string | undefined;
  /** Relative to the manifest's directory. */
  path: string;
  /** When true a missing file is an error; otherwise it is noted and skipped. */
  required: boolean;
  declaredAt: Location;
}

/** Settings of an external store, as validated by its schema (see manifest/schema.ts). */
export interface StoreSettings {
  address?: string | undefined;
  namespace?: string | undefined;
  mount?: string | undefined;
  path?: string | undefined;
  version?: string | undefined;
  caCert?: string | undefined;
  auth?:
    | {
        method: "token" | "approle" | "kubernetes";
        tokenEnv?: string | undefined;
        roleId?: string | undefined;
        secretIdEnv?: string | undefined;
        role?: string | undefined;
        path?: string | undefined;
        mountPath?: string | undefined;
        jwtPath?: string | undefined;
      }
    | undefined;
  region?: string | undefined;
  secret?: string | undefined;
  prefix?: string | undefined;
  versionStage?: string | undefined;
  role?: string | undefined;
  recursive?: boolean | undefined;
  decrypt?: boolean | undefined;
  project?: string | undefined;
  vaultUrl?: string | undefined;
  tenantId?: string | undefined;
  endpoint?: string | undefined;
  /** 1password */
  vault?: string | undefined;
  item?: string | undefined;
  account?: string | undefined;
  /** pass */
  storeDir?: string | undefined;
  /** keepassxc */
  database?: string | undefined;
  group?: string | undefined;
  keyFile?: string | undefined;
  passwordEnv?: string | undefined;
  /** exec */
  command?: string[] | undefined;
  /** exec, age-file */
  format?: string | undefined;
  /** dotenvx-file */
  keysFile?: string | undefined;
  environment?: string | undefined;
  cache?: { maxAge: string } | undefined;
  timeout?: string | undefined;
  eso?: { auth?: Record<string, unknown> | undefined } | undefined;
}

/** An external store (layer 6): fetched by its provider (src/providers/), and served by ESO for the five it knows. */
export interface StoreSource {
  type: StoreType;
  name: string;
  settings: StoreSettings;
  declaredAt: Location;
}

export type SourceDecl = FileSource | StoreSource;

export function isStoreSource(source: SourceDecl): source is StoreSource {
  return source.type !== "dotenv" && source.type !== "yaml" && source.type !== "files";
}

/** A profile's change to a declaration: only the fields it states. */
export type DeclarationPatch = Partial<Declaration> & { name: string; declaredAt: Location };

export interface ProfileSpec {
  /** Declarations added or overridden by the profile (matched by name). */
  variables: DeclarationPatch[];
  sources: SourceDecl[];
  /** Ploinky: the profile's env replaces the manifest's env entirely. */
  replacesVariables?: boolean | undefined;
}

/** A `${VAR}` or env-var name used elsewhere in a Dockfile: it should be declared. */
export interface ImplicitReference {
  name: string;
  location: Location;
  context: string;
  /** The reference carries a fallback (`${NAME:-default}`, `${NAME+alt}`, or sits inside one). */
  hasDefault: boolean;
}

export interface Spec {
  kind: ManifestKind;
  /** Path of the manifest as the user would type it (relative to the cwd when possible). */
  file: string;
  /** Absolute directory of the manifest: base for relative paths written inside it. */
  dir: string;
  variables: Declaration[];
  sources: SourceDecl[];
  profiles: Record<string, ProfileSpec>;
  implicitReferences: ImplicitReference[];
  /** Facts about the service that targets use (name, image, port), where the manifest has them. */
  service: { name?: string | undefined; image?: string | undefined; port?: number | undefined };
  /**
   * Service facts the manifest writes with `${…}` (Dockrion `agent.name: ${AGENT_NAME}`, `expose.port:
   * ${PORT:-8080}`, a Ploinky `container` with `${VAR}`): the raw text, expanded from the resolution by the
   * targets. When a field is here, the same field of `service` is unset.
   */
  serviceTemplates?:
    | { name?: string | undefined; image?: string | undefined; port?: string | undefined }
    | undefined;
  /** Profile names the manifest lists as known (`profiles:` entries without a section of their own). */
  profileNames?: string[] | undefined;
  /** What reading the manifest found worth saying (Ploinky: skipped entries, duplicates), as warnings. */
  warnings?: import("../errors.js").Diagnostic[] | undefined;
  /** An empty value (`emptyIsUnset`) counts as unset; `blankIsUnset` (Ploinky): a required variable of only whitespace is missing. */
  emptyIsUnset?: boolean | undefined;
  blankIsUnset?: boolean | undefined;
}

/** Declarations and sources in effect for a profile (base + profile overrides). */
/** A profile's section, if the manifest has one (own keys only: `--env constructor` is just a name). */
function profileSection(spec: Spec, profile: string | undefined): ProfileSpec | undefined {
  return profile && Object.hasOwn(spec.profiles, profile) ? spec.profiles[profile] : undefined;
}

export function effectiveDeclarations(spec: Spec, profile: string | undefined): Declaration[] {
  const overlay = profileSection(spec, profile);
  if (!overlay) return spec.variables;
  const byName = new Map<string, Declaration>();
  if (!overlay.replacesVariables)
    for (const declaration of spec.variables) byName.set(declaration.name, declaration);
  for (const patch of overlay.variables) {
    const base = byName.get(patch.name) ?? {
      name: patch.name,
      lookup: patch.name,
      kind: "config" as const,
      required: false,
      declaredAt: patch.declaredAt,
    };
    const ranked = patch.value !== undefined && spec.kind !== "ploinky" && patch.valueKind !== "fixed";
    byName.set(patch.name, { ...base, ...definedOnly(patch), ...(ranked ? { valueProfile: profile } : {}) });
  }
  return [...byName.values()];
}

function definedOnly<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key in value) {
    // Own keys only, as Object.entries gives them.
    if (Object.hasOwn(value, key) && value[key] !== undefined) out[key] = value[key];
  }
  return out;
}

export function effectiveSources(spec: Spec, profile: string | undefined): SourceDecl[] {
  const overlay = profileSection(spec, profile);
  return overlay ? [...overlay.sources, ...spec.sources] : spec.sources;
}

/** Where the published JSON Schema of tessera.yaml lives (the package ships it as schema/tessera.schema.json). */
export const SCHEMA_URL = "https://unpkg.com/tessera-cli/schema/tessera.schema.json";

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const DOCKRION_NAME = /^[A-Z_][A-Z0-9_]*$/;
export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The request id of a `from:` reference: key and property, kept apart by a character no key holds. */
export function refId(key: string, property: string | undefined): string {
  return property === undefined ? key : `${key}\u0000${property}`;
}
