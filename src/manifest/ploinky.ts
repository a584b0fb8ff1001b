/**
 * Ploinky manifest.json → Spec, read as current Ploinky (cli/services/secretVars.js, profileService.js,
 * runtimeResourcePlanner.js) reads it:
 *
 * - `env` in its three forms; the name inside the process (`name`) and the name it is looked up under
 *   (`varName`) stay distinct. Entries are de-duplicated by inside name, the first one winning; an entry
 *   without a name is skipped (with a warning naming its place).
 * - Wildcard names (`LLM_MODEL_*`) are declared with `wildcard: true`; ../resolve/wildcards.ts turns
 *   them into the matching names the layers define.
 * - `generatedSecret` / `sharedGeneratedSecret`: the value is made once and kept in the workspace store
 *   under a key of its own (`GENERATED__…`, see ../workspace/generated.ts); the declaration's fixed
 *   value reads that key, so the operator's value is ignored unless `explicitOverride` says otherwise.
 * - `runtime: false`: resolved (a `${VAR}` of `container` may read it) but never passed to the agent,
 *   nor is an `expose` of the same name.
 * - `expose`: passed after `env`, so it wins over an `env` entry of the same name (a fixed value).
 * - `runtime.resources.env`: passed after both, templates (`{{var:N}}`, `{{secret:N}}`,
 *   `{{generatedSecret:N}}`, `{{STORAGE_CONTAINER_PATH}}`, …) turned into Tessera templates.
 * - `profiles.<p>.env` merged with `profiles.default.env` as profileService.mergeEnv does; `profiles.<p>.secrets`
 *   are required secrets.
 * - Sensitivity: Ploinky's own rule by name (`isSensitiveEnvVariableName`), widened by Tessera's (so
 *   nothing that looks like a credential becomes config); `profiles.*.secrets` and generated secrets are
 *   secrets; `"secret": true|false` in an entry (a Tessera extension Ploinky ignores) says it outright.
 * - Required non-sensitive entries without a default make Ploinky refuse the profile
 *   (PLOINKY_PROFILE_CONFIG_INCOMPLETE): recorded per profile for ploinkyProfileCheck().
 */
import { basename, dirname, sep } from "node:path";
import { type Diagnostic, type Location, TesseraError } from "../errors.js";
import { findJsonSyntaxError, type JsonNode, scanJson, spanAt } from "../formats/json-syntax.js";
import { isRecord } from "../model/guards.js";
import { ploinkySensitiveName, ploinkySensitivity } from "../model/sensitivity.js";
import {
  type Declaration,
  ENV_NAME,
  type ProfileSpec,
  type Sensitivity,
  type Spec,
  type ValueShape,
} from "../model/spec.js";
import { parseTemplate, referencedNames } from "../model/template.js";
import { Problems, readShape } from "./tessera.js";

type Path = (string | number)[];

/** What the Ploinky reader adds to a Spec (proposed for src/model/spec.ts; kept here meanwhile). */
export interface PloinkyExtras {
  /** The agent as Ploinky names it: its directory, and the repository directory holding it. */
  agent: string;
  repo: string;
  /**
   * Per profile ("" when none is selected, or one without a section of its own), the required
   * non-sensitive env entries without a default: Ploinky refuses to start the agent.
   */
  incomplete: Record<string, IncompleteProfile>;
  /** Values to make once and keep in the workspace store (generated secrets, `{{secret:NAME}}`). */
  generate: GenerateRequest[];
}

export interface IncompleteProfile {
  /** `NAME` or `NAME (source: VARNAME)`, as Ploinky's message names them. */
  entries: string[];
  location: Location;
}

export interface GenerateRequest {
  /** The workspace-store key the value is kept under (a declaration's template reads it). */
  key: string;
  /**
   * agent: `generatedSecret` / `{{generatedSecret:NAME}}` (one per agent); workspace: `sharedGeneratedSecret`
   * (one per workspace and source name); persistent: `{{secret:NAME}}` (one per workspace and name, the
   * fallback when no layer sets NAME, as Ploinky's ensurePersistentSecret).
   */
  scope: "agent" | "workspace" | "persistent";
  /** The name Ploinky derives the value for (inside name, or the source name for shared ones). */
  name: string;
}

/** A Spec as this reader returns it: the fields proposed for src/model/spec.ts are optional here. */
export type PloinkySpec = Spec & { warnings?: Diagnostic[]; ploinky?: PloinkyExtras };

/** The workspace-store key of a generated value (a variable name, so `var list` shows it). */
export function generatedKey(scope: "agent" | "workspace", name: string, repo = "", agent = ""): string {
  const part = (text: string) => text.replace(/[^A-Za-z0-9_]/g, "_");
  return scope === "workspace"
    ? `GENERATED__${part(name)}`
    : `GENERATED__${part(repo)}__${part(agent)}__${part(name)}`;
}

/**
 * PLOINKY_PROFILE_CONFIG_INCOMPLETE, as Ploinky reports it: undefined when the profile is complete (or
 * the Spec is not a Ploinky manifest). Hook for the pipeline, before layers are gathered.
 */
export function ploinkyProfileCheck(spec: Spec, profile: string | undefined): TesseraError | undefined {
  const extras = (spec as PloinkySpec).ploinky;
  if (spec.kind !== "ploinky" || !extras) return undefined;
  // A profile with a section of its own has its own env; any other means the default profile's.
  const key = profile !== undefined && Object.hasOwn(spec.profiles, profile) ? profile : "";
  const found = Object.hasOwn(extras.incomplete, key) ? extras.incomplete[key] : undefined;
  if (!found) return undefined;
  return new TesseraError(
    "E_MANIFEST_INVALID",
    `PLOINKY_PROFILE_CONFIG_INCOMPLETE: required non-sensitive env entries for ${extras.agent} profile '${profile ?? "default"}' must define profile defaults: ${found.entries.join(", ")} (Ploinky refuses to start the agent)`,
    {
      location: found.location,
      hint: "give each a default (or value) in the profile's env; Ploinky lets only secrets go without one, and decides that by name (…SECRET…, …TOKEN…, …PASSWORD…, …PASS…, …CREDENTIAL…, …API_KEY…, …PRIVATE_KEY…, …MASTER_KEY…, …ENCRYPTION_KEY…) or a generated secret",
    },
  );
}

/** A literal text as a template: every `$` written `$$`. */
function literalTemplate(text: string): string {
  return text.replaceAll("$", () => "$$");
}

/** Ploinky's toBool: true, 1 and "true"/"1"/"yes" are true; a blank string is the default. */
function toBool(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") return ["true", "1", "yes"].includes(value.trim().toLowerCase());
  return false;
}

const LEGACY_DERIVED_KEYS = [
  "derive",
  "deriveName",
  "deriveRepoName",
  "deriveRepo",
  "deriveAgentName",
  "deriveAgent",
  "deriveBytes",
  "deriveFormat",
];

export function parsePloinkyManifest(text: string, file: string, dir: string): PloinkySpec {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw jsonSyntaxError(text, file, error);
  }
  const locate = jsonLocator(text, file);
  if (!isRecord(data)) {
    throw new TesseraError("E_MANIFEST_INVALID", "a Ploinky manifest.json must be a JSON object", {
      location: { file, line: 1, column: 1 },
    });
  }
  const manifest = data;
  const problems = new Problems();
  const warnings: Diagnostic[] = [];
  const agent = basename(dir);
  const repo = basename(dirname(dir));
  const reader = new EnvReader(problems, warnings, locate, { agent, repo, root: workspaceRoot(dir) });

  const profiles = isRecord(manifest.profiles) ? manifest.profiles : {};
  const defaultProfile = Object.hasOwn(profiles, "default") ? profiles.default : undefined;
  if (Object.keys(profiles).length > 0 && !isRecord(defaultProfile)) {
    warnings.push({
      code: "W_PLOINKY_NO_DEFAULT_PROFILE",
      message: "the manifest has profiles but no `default` one: Ploinky refuses to start such an agent",
      location: locate(["profiles"], true),
      hint: 'add "default": {} to profiles',
    });
  }
  const defaultEnv = isRecord(defaultProfile)
    ? reader.list(defaultProfile.env, ["profiles", "default", "env"])
    : undefined;
  const manifestEnv = reader.list(manifest.env, ["env"]);
  const secretNames = new Set<string>();
  for (const body of Object.values(profiles)) {
    if (isRecord(body) && Array.isArray(body.secrets))
      for (const name of body.secrets) if (typeof name === "string") secretNames.add(name);
  }
  reader.secretNames = secretNames;
  for (const [name, body] of Object.entries(profiles))
    if (isRecord(body)) reader.checkSecretNames(profileSecrets(body, name));

  // The env Ploinky uses: `profileConfig?.env || manifest?.env`.
  const base = reader.read(truthy(defaultProfile, "env") ? defaultEnv : manifestEnv);
  const exposed = reader.expose(manifest.expose, ["expose"]);
  const resources = reader.resources(manifest.runtime);
  const baseSecrets = isRecord(defaultProfile) ? profileSecrets(defaultProfile, "default") : [];
  const variables = reader.combine(base, exposed, resources, baseSecrets);
  const incomplete: Record<string, IncompleteProfile> = {};
  const baseIncomplete = reader.incomplete(base);
  if (baseIncomplete) incomplete[""] = baseIncomplete;

  const profileSpecs: Record<string, ProfileSpec> = {};
  const profileNames: string[] = [];
  for (const [name, body] of Object.entries(profiles)) {
    if (name === "default" || !isRecord(body)) {
      if (isRecord(body)) profileNames.push(name);
      continue;
    }
    const active = body.env !== undefined ? reader.list(body.env, ["profiles", name, "env"]) : undefined;
    const ownSecrets = profileSecrets(body, name);
    if (body.env === undefined && ownSecrets.length === 0) {
      profileNames.push(name); // the same env as without a profile: no section of its own
      continue;
    }
    // profileService.mergeProfiles: an active profile's env is merged with the default profile's.
    let env = isRecord(defaultProfile) ? (truthy(defaultProfile, "env") ? defaultEnv : undefined) : undefined;
    if (body.env !== undefined) env = isRecord(defaultProfile) ? mergeEnv(defaultEnv, active) : active;
    const merged = env ?? manifestEnv;
    const read = reader.read(merged);
    profileSpecs[name] = {
      replacesVariables: true,
      variables: reader.combine(read, exposed, resources, [...baseSecrets, ...ownSecrets], false),
      sources: [],
    };
    const missing = reader.incomplete(read);
    if (missing) incomplete[name] = missing;
  }
  problems.throwIfAny();

  const spec: PloinkySpec = {
    kind: "ploinky",
    file,
    dir,
    variables,
    sources: [],
    profiles: profileSpecs,
    implicitReferences: [],
    service: { name: agent },
    blankIsUnset: true,
    ploinky: { agent, repo, incomplete, generate: reader.requests() },
  };
  if (profileNames.length) spec.profileNames = profileNames;
  // Ploinky: `container || image || 'node:18-alpine'`; `${VAR}` in it is resolved from the same lookup.
  const image = String(manifest.container || manifest.image || "node:18-alpine");
  if (image.includes("${")) spec.serviceTemplates = { image: reader.imageTemplate(image, base) };
  else spec.service.image = image;
  if (warnings.length) spec.warnings = uniqueWarnings(warnings);
  return spec;
}

/** Profiles read the default profile's entries again: each finding once. */
function uniqueWarnings(warnings: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return warnings.filter((warning) => {
    const key = `${warning.code}\0${warning.location?.line}:${warning.location?.column}\0${warning.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function truthy(record: unknown, key: string): boolean {
  return isRecord(record) && Boolean(record[key]);
}

/** `profiles.<p>.secrets`: names Ploinky requires (from the environment, .secrets or .env) and passes on. */
function profileSecrets(profile: Record<string, unknown>, name: string): { name: string; path: Path }[] {
  const list = profile.secrets;
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry, index) =>
    typeof entry === "string" ? [{ name: entry, path: ["profiles", name, "secrets", index] }] : [],
  );
}

/** The Ploinky workspace a directory belongs to: above `.ploinky/` when the agent is installed under it. */
function workspaceRoot(dir: string): string {
  const marker = `${sep}.ploinky${sep}`;
  const at = `${dir}${sep}`.lastIndexOf(marker);
  return at > 0 ? dir.slice(0, at) : at === 0 ? sep : dir;
}

// ---------------------------------------------------------------------------------------------------
// env lists and Ploinky's merge of the default profile's env with the active one's

interface Item {
  value: unknown;
  path: Path;
  /** The key, in the object form. */
  key?: string;
}

interface EnvList {
  form: "array" | "object";
  items: Item[];
}

/** profileService.mergeEnv on located items. */
function mergeEnv(defaults: EnvList | undefined, active: EnvList | undefined): EnvList {
  const defaultIsArray = defaults?.form === "array";
  const activeIsArray = active?.form === "array";
  if (!defaultIsArray && !activeIsArray) {
    // Both objects: a shallow merge, the active profile's value in the default's place.
    const byKey = new Map<string, Item>();
    for (const item of [...(defaults?.items ?? []), ...(active?.items ?? [])]) byKey.set(item.key!, item);
    return { form: "object", items: [...byKey.values()] };
  }
  const left = toArray(defaults);
  const right = toArray(active);
  const seen = new Set<string>();
  const items: Item[] = [];
  for (const item of right) {
    const name = varNameOf(item.value);
    if (!name) continue;
    seen.add(name);
    items.push(item);
  }
  for (const item of left) {
    const name = varNameOf(item.value);
    if (name && !seen.has(name)) items.push(item);
  }
  return { form: "array", items };
}

/** mergeEnv's getVarName: the text before `=` (untrimmed), or an object's `name`. */
function varNameOf(entry: unknown): string {
  if (typeof entry === "string") {
    const eq = entry.indexOf("=");
    return eq >= 0 ? entry.slice(0, eq) : entry;
  }
  if (isRecord(entry) && entry.name) return String(entry.name);
  return "";
}

/** mergeEnv's toArray: object entries as array entries (`KEY=value` strings, or `{name: KEY, …}`). */
function toArray(list: EnvList | undefined): Item[] {
  if (!list) return [];
  if (list.form === "array") return list.items;
  return list.items.map((item) => {
    const value = item.value;
    if (isRecord(value)) {
      const { name: sourceName, varName, ...rest } = value;
      const converted: Record<string, unknown> = { name: item.key, ...rest };
      if (varName !== undefined) converted.varName = varName;
      else if (sourceName !== undefined) converted.varName = sourceName;
      return { value: converted, path: item.path };
    }
    const text = value === "" || value === undefined ? item.key! : `${item.key}=${String(value)}`;
    return { value: text, path: item.path };
  });
}

// ---------------------------------------------------------------------------------------------------
// The reader

/** One env entry as Ploinky's getManifestEnvSpecs reads it. */
interface Entry {
  name: string;
  wildcard: boolean;
  lookup: string;
  required: boolean;
  /** The default as text (Ploinky never resolves `$` in it). */
  value?: string;
  generated?: "agent" | "workspace";
  /** explicitOverride / explicitOverrideRequires: a value from the layers beats the generated one. */
  override: boolean;
  runtime: boolean;
  /** The Tessera extension `secret: true|false`. */
  secret?: boolean;
  /** The Tessera extension `type:`, `enum:`, `pattern:`, … (issue 12). */
  shape?: ValueShape;
  path: Path;
}

/** An env list read: the entries that count (first wins), in order. */
interface ReadEnv {
  entries: Entry[];
}

interface Exposed {
  name: string;
  template: string;
  /** The entry is an alias of this variable (`ref`, `$NAME`, `${NAME}`). */
  aliasOf?: string;
  secret?: boolean;
  path: Path;
}

interface Resource {
  name: string;
  template: string;
  secret: boolean;
  path: Path;
}

class EnvReader {
  /** Names the manifest's profiles list under `secrets`. */
  secretNames: ReadonlySet<string> = new Set();
  private readonly generateRequests = new Map<string, GenerateRequest>();

  constructor(
    private readonly problems: Problems,
    private readonly warnings: Diagnostic[],
    private readonly locate: (path: Path, key?: boolean) => Location,
    private readonly agent: { agent: string; repo: string; root: string },
  ) {}

  requests(): GenerateRequest[] {
    return [...this.generateRequests.values()];
  }

  /** An env value as a located list; falsy is no env (Ploinky's `||` falls back past it). */
  list(env: unknown, path: Path): EnvList | undefined {
    if (Array.isArray(env))
      return { form: "array", items: env.map((value, index) => ({ value, path: [...path, index] })) };
    if (isRecord(env)) {
      return {
        form: "object",
        items: Object.entries(env).map(([key, value]) => ({ key, value, path: [...path, key] })),
      };
    }
    if (env) this.problems.add(this.locate(path), "env must be a list or an object");
    return undefined;
  }

  private skipped(path: Path, what: string): void {
    this.warnings.push({
      code: "W_ENTRY_SKIPPED",
      message: `${what}; Ploinky skips it, and so does Tessera`,
      location: this.locate(path),
      hint: 'give the entry a name: "NAME", "NAME=default" or {"name": "NAME", …}',
    });
  }

  /** A name: a variable name, or (where allowed) a wildcard pattern. */
  private name(
    value: unknown,
    path: Path,
    what: string,
    wildcard = false,
  ): { name: string; wildcard: boolean } | undefined {
    const name = typeof value === "string" ? value.trim() : String(value);
    if (wildcard && name.includes("*") && /^[A-Za-z0-9_*]+$/.test(name)) return { name, wildcard: true };
    if (!ENV_NAME.test(name)) {
      this.problems.add(
        this.locate(path),
        `${what} ${JSON.stringify(typeof value === "string" ? value : String(value))} is not a valid environment variable name`,
        "use letters, digits and _ only, not starting with a digit; Tessera refuses other names so that a manifest cannot inject flags or commands",
      );
      return undefined;
    }
    return { name, wildcard: false };
  }

  private scalar(value: unknown, path: Path): string | undefined {
    if (value === null || value === undefined) return undefined;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      return String(value);
    this.problems.add(
      this.locate(path),
      "a default must be a string, number or boolean",
      "write the value as a string",
    );
    return undefined;
  }

  /** The checks Ploinky makes of an object entry with a name (it refuses the manifest otherwise). */
  private checkObject(spec: Record<string, unknown>, name: string, path: Path): boolean {
    const legacy = LEGACY_DERIVED_KEYS.filter((key) => Object.hasOwn(spec, key) && spec[key] !== undefined);
    let ok = true;
    if (legacy.length) {
      this.problems.add(
        this.locate([...path, legacy[0]!], true),
        `env ${name} uses removed legacy derivation keys (${legacy.join(", ")}): Ploinky refuses it (PLOINKY_LEGACY_DERIVED_MASTER_ENV)`,
        "use generatedSecret: true for an agent's own secret, or sharedGeneratedSecret: true for a shared one",
      );
      ok = false;
    }
    if (Object.hasOwn(spec, "generatedSecretScope") && spec.generatedSecretScope !== undefined) {
      this.problems.add(
        this.locate([...path, "generatedSecretScope"], true),
        `env ${name} uses the removed generatedSecretScope: Ploinky refuses it (PLOINKY_REMOVED_GENERATED_SECRET_SCOPE)`,
        "use sharedGeneratedSecret: true for a shared generated secret",
      );
      ok = false;
    }
    if (spec.runtime !== undefined && typeof spec.runtime !== "boolean") {
      this.problems.add(this.locate([...path, "runtime"]), `env ${name}: field 'runtime' must be a boolean`);
      ok = false;
    }
    return ok;
  }

  private generated(spec: Record<string, unknown>): Pick<Entry, "generated" | "override"> {
    const generated = toBool(spec.sharedGeneratedSecret)
      ? ("workspace" as const)
      : toBool(spec.generatedSecret)
        ? ("agent" as const)
        : undefined;
    const requires = spec.explicitOverrideRequires;
    const override =
      toBool(spec.explicitOverride) ||
      (Array.isArray(requires) ? requires.some((entry) => String(entry ?? "").trim()) : Boolean(requires));
    return generated ? { generated, override } : { override: false };
  }

  /** The entries of an env list that count, in order: Ploinky's getManifestEnvSpecs. */
  read(list: EnvList | undefined): ReadEnv {
    const entries: Entry[] = [];
    if (!list) return { entries };
    for (const item of list.items) {
      const entry = list.form === "array" ? this.arrayEntry(item) : this.objectEntry(item);
      if (entry) entries.push(entry);
    }
    // First wins (by inside name); a later entry that says something else is named.
    const seen = new Map<string, Entry>();
    const out: Entry[] = [];
    for (const entry of entries) {
      const first = seen.get(entry.name);
      if (!first) {
        seen.set(entry.name, entry);
        out.push(entry);
        continue;
      }
      if (!sameEntry(first, entry)) {
        const at = this.locate(first.path);
        this.warnings.push({
          code: "W_DECLARED_TWICE",
          message: `${entry.name} is declared again in env (first at ${at.file}:${at.line}:${at.column}) and differently: Ploinky uses the first entry, and so does Tessera`,
          location: this.locate(entry.path),
          hint: "keep one entry",
        });
      }
    }
    return { entries: out };
  }

  private arrayEntry({ value, path }: Item): Entry | undefined {
    if (value === null || value === undefined) return undefined;
    if (isRecord(value)) {
      const raw = typeof value.name === "string" ? value.name.trim() : "";
      if (!raw) {
        this.skipped(path, "an env entry without a name");
        return undefined;
      }
      const named = this.name(value.name, [...path, "name"], "env name", true);
      if (!named) return undefined;
      if (!this.checkObject(value, named.name, path)) return undefined;
      const varName = typeof value.varName === "string" && value.varName.trim() ? value.varName : undefined;
      const lookup =
        varName === undefined ? named.name : this.name(varName, [...path, "varName"], "varName")?.name;
      if (!lookup) return undefined;
      // Array form: `value`, else `default`.
      const field = value.value !== undefined ? "value" : "default";
      return {
        name: named.name,
        wildcard: named.wildcard,
        lookup: named.wildcard ? named.name : lookup,
        required: toBool(value.required),
        value: this.scalar(value[field], [...path, field]),
        ...this.generated(value),
        runtime: value.runtime !== false,
        secret: typeof value.secret === "boolean" ? value.secret : undefined,
        shape: this.shape(value, path, named.name),
        path,
      };
    }
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      this.problems.add(
        this.locate(path),
        'an env entry is "NAME", "NAME=default" or {name, varName, required, value}',
      );
      return undefined;
    }
    const text = String(value).trim();
    if (!text) {
      this.skipped(path, "an empty env entry");
      return undefined;
    }
    const eq = text.indexOf("=");
    const rawName = eq >= 0 ? text.slice(0, eq).trim() : text;
    if (!rawName) {
      this.skipped(path, "an env entry without a name");
      return undefined;
    }
    const named = this.name(rawName, path, "env name", true);
    if (!named) return undefined;
    return {
      name: named.name,
      wildcard: named.wildcard,
      lookup: named.name,
      required: false,
      value: eq >= 0 ? text.slice(eq + 1) : undefined,
      override: false,
      runtime: true,
      path,
    };
  }

  private objectEntry({ key, value, path }: Item): Entry | undefined {
    if (!key!.trim()) {
      this.skipped(path, "an env entry with an empty name");
      return undefined;
    }
    const named = this.name(key, path, "env name", true);
    if (!named) return undefined;
    if (!isRecord(value)) {
      // A scalar is the default (not a source name, since Ploinky 2025-10).
      return {
        name: named.name,
        wildcard: named.wildcard,
        lookup: named.name,
        required: false,
        value: this.scalar(value, path),
        override: false,
        runtime: true,
        path,
      };
    }
    if (!this.checkObject(value, named.name, path)) return undefined;
    const source =
      typeof value.varName === "string" && value.varName.trim()
        ? { text: value.varName, field: "varName" }
        : typeof value.name === "string" && value.name.trim()
          ? { text: value.name, field: "name" }
          : undefined;
    const lookup = source ? this.name(source.text, [...path, source.field], "varName")?.name : named.name;
    if (!lookup) return undefined;
    const field = Object.hasOwn(value, "default") ? "default" : "value";
    return {
      name: named.name,
      wildcard: named.wildcard,
      lookup: named.wildcard ? named.name : lookup,
      required: Object.hasOwn(value, "required") ? toBool(value.required) : false,
      value: this.scalar(value[field], [...path, field]),
      ...this.generated(value),
      runtime: value.runtime !== false,
      secret: typeof value.secret === "boolean" ? value.secret : undefined,
      shape: this.shape(value, path, named.name),
      path,
    };
  }

  /** The Tessera extension: what the value must look like (`type:`, `enum:`, …), checked like tessera.yaml's. */
  private shape(spec: Record<string, unknown>, path: Path, name: string): ValueShape | undefined {
    return readShape(spec, (key) => this.locate([...path, key]), this.problems, name);
  }

  private kind(explicit: boolean | undefined, ...names: string[]): Sensitivity {
    if (explicit !== undefined) return explicit ? "secret" : "config";
    if (names.some((name) => this.secretNames.has(name))) return "secret";
    return ploinkySensitivity(...names);
  }

  private declaration(entry: Entry): Declaration {
    const declaredAt = this.locate(entry.path);
    if (entry.wildcard) {
      // Ploinky ignores varName, required, defaults and generation for a pattern: each match is optional.
      return {
        name: entry.name,
        lookup: entry.name,
        kind: entry.secret === true ? "secret" : "config",
        required: false,
        wildcard: true,
        declaredAt,
      };
    }
    const declaration: Declaration = {
      name: entry.name,
      lookup: entry.lookup,
      kind: entry.generated ? "secret" : this.kind(entry.secret, entry.name, entry.lookup),
      required: entry.required,
      declaredAt,
    };
    if (entry.shape) declaration.shape = entry.shape;
    if (entry.generated) {
      const name = entry.generated === "workspace" ? entry.lookup : entry.name;
      const key = generatedKey(entry.generated, name, this.agent.repo, this.agent.agent);
      // A shared secret is derived as Ploinky derives it, even when a {{secret:NAME}} asked for the key first.
      if (this.generateRequests.get(key)?.scope !== "workspace")
        this.generateRequests.set(key, { key, scope: entry.generated, name });
      declaration.generated = entry.generated;
      declaration.value = `\${${key}}`;
      // Ploinky ignores the operator's value unless explicitOverride says otherwise.
      declaration.valueKind = entry.override ? "default" : "fixed";
      declaration.valueAt = declaredAt;
      declaration.description =
        entry.generated === "workspace"
          ? `shared generated secret: made once per workspace, kept in the workspace store as ${key}`
          : `generated secret of this agent: made once, kept in the workspace store as ${key}`;
    } else if (entry.value !== undefined) {
      // Ploinky passes defaults through literally (a default of "$B" is the text $B).
      declaration.value = literalTemplate(entry.value);
      declaration.valueKind = "default";
      declaration.valueAt = declaredAt;
    }
    return declaration;
  }

  /** PLOINKY_PROFILE_CONFIG_INCOMPLETE: required, not generated, no default, not sensitive by name. */
  incomplete(read: ReadEnv): IncompleteProfile | undefined {
    const missing = read.entries.filter(
      (entry) =>
        entry.required &&
        !entry.wildcard &&
        !entry.generated &&
        (entry.value === undefined || entry.value.trim() === "") &&
        !ploinkySensitiveName(entry.name) &&
        !ploinkySensitiveName(entry.lookup),
    );
    if (!missing.length) return undefined;
    return {
      entries: missing.map((entry) =>
        entry.lookup !== entry.name ? `${entry.name} (source: ${entry.lookup})` : entry.name,
      ),
      location: this.locate(missing[0]!.path),
    };
  }

  expose(expose: unknown, path: Path): Exposed[] {
    const out: Exposed[] = [];
    const add = (nameValue: unknown, at: Path, template: string, aliasOf?: string, secret?: boolean) => {
      const named = this.name(nameValue, at, "expose name");
      if (named) out.push({ name: named.name, template, aliasOf, secret, path: at });
    };
    if (Array.isArray(expose)) {
      expose.forEach((entry, index) => {
        const at = [...path, index];
        if (!isRecord(entry) || !entry.name) {
          this.skipped(at, "an expose entry without a name");
          return;
        }
        const secret = typeof entry.secret === "boolean" ? entry.secret : undefined;
        if (Object.hasOwn(entry, "value")) {
          // An array entry's value is literal in Ploinky ("$X" is not resolved); a ref is the alias.
          const value = this.scalar(entry.value, [...at, "value"]);
          add(entry.name, at, literalTemplate(value ?? ""), undefined, secret);
        } else if (entry.ref) {
          const ref = this.name(String(entry.ref).replace(/^\$/, ""), [...at, "ref"], "ref");
          if (ref) add(entry.name, at, `\${${ref.name}}`, ref.name, secret);
        } else {
          this.skipped(at, "an expose entry with neither a value nor a ref");
        }
      });
    } else if (isRecord(expose)) {
      for (const [key, value] of Object.entries(expose)) {
        if (value === undefined) continue;
        // Object form: exactly "$NAME" (or "${NAME}") is an alias; anything else is literal, as in Ploinky.
        const scalar = this.scalar(value, [...path, key]) ?? "";
        const alias = /^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$/.exec(scalar);
        add(
          key,
          [...path, key],
          alias ? scalar : literalTemplate(scalar),
          alias ? (alias[1] ?? alias[2]) : undefined,
        );
      }
    } else if (expose !== undefined && expose !== null) {
      this.problems.add(this.locate(path), "expose must be a list or an object");
    }
    // Ploinky passes every expose entry in order, so of two with one name the last wins.
    const last = new Map<string, Exposed>();
    for (const entry of out) {
      const earlier = last.get(entry.name);
      if (earlier && earlier.template !== entry.template) {
        const at = this.locate(earlier.path);
        this.warnings.push({
          code: "W_DECLARED_TWICE",
          message: `${entry.name} is exposed twice (first at ${at.file}:${at.line}:${at.column}) with different values: Ploinky passes the last one, and so does Tessera`,
          location: this.locate(entry.path),
          hint: "keep one entry",
        });
      }
      last.delete(entry.name);
      last.set(entry.name, entry);
    }
    return out.filter((entry) => last.get(entry.name) === entry);
  }

  /** `runtime.resources.env`: runtimeResourcePlanner's templates as Tessera templates. */
  resources(runtime: unknown): Resource[] {
    if (!isRecord(runtime) || !isRecord(runtime.resources)) return [];
    const resources = runtime.resources;
    const path: Path = ["runtime", "resources"];
    const storage = isRecord(resources.persistentStorage) ? resources.persistentStorage : undefined;
    const key = typeof storage?.key === "string" ? storage.key.trim() : "";
    const containerPath = typeof storage?.containerPath === "string" ? storage.containerPath.trim() : "";
    const hasStorage = Boolean(key && containerPath);
    const env = isRecord(resources.env) ? resources.env : {};
    const out: Resource[] = [];
    for (const [name, raw] of Object.entries(env)) {
      const at = [...path, "env", name];
      if (!name) continue;
      const named = this.name(name, at, "runtime.resources.env name");
      if (!named) continue;
      let secret = false;
      let failed = false;
      const text = typeof raw === "string" ? raw : raw === null || raw === undefined ? "" : String(raw);
      let template = "";
      let last = 0;
      for (const match of text.matchAll(/\{\{([^}]+)\}\}/g)) {
        template += literalTemplate(text.slice(last, match.index));
        last = match.index + match[0].length;
        const expr = match[1]!.trim();
        const colon = expr.indexOf(":");
        const kind = colon >= 0 ? expr.slice(0, colon) : expr;
        const arg = colon >= 0 ? expr.slice(colon + 1).trim() : "";
        if (!expr) continue;
        if (expr === "PLOINKY_WORKSPACE_ROOT") {
          template += withDefault("PLOINKY_WORKSPACE_ROOT", this.agent.root);
        } else if (expr === "STORAGE_CONTAINER_PATH") {
          // What Ploinky's container runtimes give the agent: the path of the mount inside the container.
          template += literalTemplate(hasStorage ? containerPath : "");
        } else if (expr === "STORAGE_HOST_PATH") {
          if (hasStorage) {
            const upper = key.toUpperCase().replace(/[^A-Z0-9]/g, "_");
            const fallback = `${this.agent.root}${sep}.ploinky${sep}data${sep}${key}`;
            template +=
              key === "dpu-data"
                ? `\${PLOINKY_RESOURCE_${upper}_HOST:-${withDefault("DPU_DATA_ROOT", fallback)}}`
                : withDefault(`PLOINKY_RESOURCE_${upper}_HOST`, fallback);
          }
        } else if (kind === "derivedMasterSecret") {
          this.problems.add(
            this.locate(at),
            "the {{derivedMasterSecret:NAME}} template has been removed: Ploinky refuses it (PLOINKY_LEGACY_DERIVED_MASTER_TEMPLATE)",
            "use {{generatedSecret:NAME}} for an agent's own generated secret",
          );
          failed = true;
        } else if (kind === "secret" || kind === "generatedSecret" || kind === "var") {
          if (!arg) continue;
          const ref = this.name(arg, at, `{{${kind}:…}} name`);
          if (!ref) {
            failed = true;
            continue;
          }
          if (kind === "var") {
            // Ploinky: the workspace variable, else the environment, else "".
            template += `\${${ref.name}:-}`;
          } else if (kind === "secret") {
            // ensurePersistentSecret: NAME from the layers, else a value made once. Kept under a key of its own, so that no manifest writes a name the workspace uses.
            const storeKey = generatedKey("workspace", ref.name);
            if (!this.generateRequests.has(storeKey))
              this.generateRequests.set(storeKey, { key: storeKey, scope: "persistent", name: ref.name });
            template += `\${${ref.name}:-\${${storeKey}}}`;
            secret = true;
          } else {
            const storeKey = generatedKey("agent", ref.name, this.agent.repo, this.agent.agent);
            this.generateRequests.set(storeKey, { key: storeKey, scope: "agent", name: ref.name });
            template += `\${${storeKey}}`;
            secret = true;
          }
        } else {
          template += literalTemplate(match[0]); // an unknown placeholder stays as written
        }
      }
      if (failed) continue;
      template += literalTemplate(text.slice(last));
      out.push({
        name: named.name,
        template,
        secret: secret || this.kind(undefined, named.name) === "secret",
        path: at,
      });
    }
    return out;
  }

  /**
   * The variables passed to the agent, in Ploinky's order: env, then expose, then runtime.resources.env;
   * of one name, the later wins (each is a later `-e` in Ploinky), except that `runtime: false` removes
   * the name from env and expose. Profile secrets are required secrets.
   */
  combine(
    read: ReadEnv,
    exposed: Exposed[],
    resources: Resource[],
    secrets: { name: string; path: Path }[],
    warn = true,
  ): Declaration[] {
    const internal = new Set(read.entries.filter((entry) => !entry.runtime).map((entry) => entry.name));
    const out: Declaration[] = [];
    const byName = new Map<string, number>();
    const put = (declaration: Declaration) => {
      byName.set(declaration.name, out.length);
      out.push(declaration);
    };
    for (const entry of read.entries) if (entry.runtime) put(this.declaration(entry));
    const envEntry = new Map(read.entries.map((entry) => [entry.name, entry]));
    for (const entry of exposed) {
      if (internal.has(entry.name)) continue;
      const declaredAt = this.locate(entry.path);
      const kind =
        entry.secret !== undefined ? (entry.secret ? "secret" : "config") : this.kind(undefined, entry.name);
      const index = byName.get(entry.name);
      const previous = index === undefined ? undefined : out[index]!;
      if (!previous) {
        put({
          name: entry.name,
          lookup: entry.name,
          kind,
          required: false,
          declaredAt,
          value: entry.template,
          valueKind: "fixed",
          valueAt: declaredAt,
        });
        continue;
      }
      const env = envEntry.get(entry.name);
      // The two agree when the expose reads the very variable the env entry reads.
      if (entry.aliasOf !== undefined && entry.aliasOf === previous.lookup && !previous.generated) continue;
      if (warn) this.overrides(entry.name, previous.declaredAt, "expose", declaredAt);
      out[index!] = {
        name: entry.name,
        lookup: previous.lookup,
        kind: previous.kind === "secret" || kind === "secret" ? "secret" : "config",
        required: env?.required ?? previous.required,
        declaredAt,
        value: entry.template,
        valueKind: "fixed",
        valueAt: declaredAt,
      };
    }
    for (const resource of resources) {
      const declaredAt = this.locate(resource.path);
      const index = byName.get(resource.name);
      const previous = index === undefined ? undefined : out[index]!;
      const declaration: Declaration = {
        name: resource.name,
        lookup: previous?.lookup ?? resource.name,
        kind: resource.secret || previous?.kind === "secret" ? "secret" : "config",
        required: previous?.required ?? false,
        declaredAt,
        value: resource.template,
        valueKind: "fixed",
        valueAt: declaredAt,
      };
      if (previous) {
        if (warn) this.overrides(resource.name, previous.declaredAt, "runtime.resources.env", declaredAt);
        out[index!] = declaration;
      } else put(declaration);
    }
    for (const secret of secrets) {
      const named = secret.name;
      if (!ENV_NAME.test(named)) continue; // refused once, by checkSecretNames
      const index = byName.get(named);
      if (index !== undefined) {
        out[index] = { ...out[index]!, kind: "secret", required: true };
        continue;
      }
      put({
        name: named,
        lookup: named,
        kind: "secret",
        required: true,
        declaredAt: this.locate(secret.path),
      });
    }
    return out;
  }

  /** `profiles.<p>.secrets` names are passed to the agent: they must be variable names. */
  checkSecretNames(secrets: { name: string; path: Path }[]): void {
    for (const secret of secrets) this.name(secret.name, secret.path, "profile secret");
  }

  private overrides(name: string, first: Location, what: string, at: Location): void {
    this.warnings.push({
      code: "W_DECLARED_TWICE",
      message: `${name} is declared at ${first.file}:${first.line}:${first.column} and again in ${what}: Ploinky passes the ${what} value last, so it wins, here too`,
      location: at,
      hint: `remove one of them, or make the ${what} entry read the same variable`,
    });
  }

  /**
   * `container` with `${VAR}`: a Tessera template. Ploinky resolves `${NAME}` only (from the agent's env,
   * the environment, the manifest defaults): other `$` stay literal, an inside name reads its source,
   * and a `runtime: false` entry (never passed to the agent) lends its default.
   */
  imageTemplate(raw: string, read: ReadEnv): string {
    const entries = new Map(
      read.entries.filter((entry) => !entry.wildcard).map((entry) => [entry.name, entry]),
    );
    let out = "";
    let last = 0;
    for (const match of raw.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
      out += literalTemplate(raw.slice(last, match.index));
      last = match.index + match[0].length;
      const entry = entries.get(match[1]!);
      const lookup = entry && !entry.generated ? entry.lookup : match[1]!;
      out += entry && !entry.runtime && entry.value ? withDefault(lookup, entry.value) : `\${${lookup}}`;
    }
    return out + literalTemplate(raw.slice(last));
  }
}

/** `${NAME:-text}` with `text` literal, or `${NAME}` when the text cannot be written as a default. */
function withDefault(name: string, text: string): string {
  if (/[{}\n]/.test(text)) return `\${${name}}`;
  return `\${${name}:-${literalTemplate(text)}}`;
}

function sameEntry(a: Entry, b: Entry): boolean {
  return (
    a.lookup === b.lookup &&
    a.required === b.required &&
    a.value === b.value &&
    a.generated === b.generated &&
    a.override === b.override &&
    a.runtime === b.runtime &&
    a.secret === b.secret
  );
}

/** Every name a declaration's value reads (for callers that need the store keys a Spec refers to). */
export function namesRead(declaration: Declaration): Set<string> {
  if (declaration.value === undefined) return new Set();
  try {
    return referencedNames(parseTemplate(declaration.value));
  } catch {
    return new Set();
  }
}

/**
 * Where a path of the manifest is, by our JSON scanner (the text is valid JSON by now): line and
 * column are 1-based, columns count UTF-16 code units. The tree is scanned once, when first asked.
 */
function jsonLocator(text: string, file: string): (path: Path, key?: boolean) => Location {
  let root: JsonNode | null | undefined;
  let lineStarts: number[] | undefined;
  return (path, key = false) => {
    if (root === undefined) {
      try {
        root = scanJson(text);
      } catch {
        root = null; // JSON.parse read it, so only nesting beyond the scanner's limit gets here
      }
    }
    const offset = root === null ? 0 : spanAt(text, root, path, key).start;
    if (!lineStarts) {
      lineStarts = [0];
      for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
    }
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (lineStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return { file, line: low + 1, column: offset - lineStarts[low]! + 1 };
  };
}

/** A JSON syntax error with file:line:column (found by our own scanner: Node's message has no position). */
export function jsonSyntaxError(text: string, file: string, error: unknown): TesseraError {
  const problem = findJsonSyntaxError(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  let location: Location = { file };
  if (problem) {
    const before = text.slice(0, problem.offset);
    location = { file, line: before.split("\n").length, column: problem.offset - before.lastIndexOf("\n") };
  }
  return new TesseraError(
    "E_MANIFEST_SYNTAX",
    `invalid JSON: ${problem?.message ?? (error instanceof Error ? error.name : "SyntaxError")}`,
    {
      location,
      hint: "fix the JSON syntax at this position (JSON allows no trailing commas and no comments)",
    },
  );
}
