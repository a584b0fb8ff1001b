/** tessera.yaml → Spec: the Dockfile `secrets` schema, extended with config, sources and profiles. */

import { closest, type ErrorCode, type Location, TesseraError } from "../errors.js";
import { isScalar, parseYaml, type YamlFile } from "../formats/yaml-doc.js";
import { isRecord } from "../model/guards.js";
import type {
  Declaration,
  FromRef,
  ProfileSpec,
  SourceDecl,
  Spec,
  StoreSource,
  StoreType,
  ValueShape,
  ValueType,
} from "../model/spec.js";
import { storeEntry } from "../providers/catalog.js";
import {
  isFileSourceType,
  isStoreType,
  KNOWN_SOURCE_TYPES,
  type SecretEntry,
  type TesseraManifest,
  TesseraManifestSchema,
  VALUE_TYPES,
} from "./schema.js";
import { type SchemaProblem, validate, validStoreEntry } from "./validate.js";

type Path = (string | number)[];

/** The part of the manifest, or of a profile, that declares variables. */
type Declarations = Pick<TesseraManifest, "secrets" | "config">;

/**
 * A declaration as a section states it: `required` is `Unstated` where the section does not say
 * (false in the manifest's own sections; undefined in a profile, whose patch then leaves it as it is).
 */
type Stated<Unstated extends false | undefined> = Omit<Declaration, "required"> & {
  required: boolean | Unstated;
};

interface Problem {
  location: Location;
  message: string;
  hint?: string;
  /** A more specific code than E_MANIFEST_INVALID (an unsupported source type, say). */
  code?: ErrorCode;
}

/** Collects every problem in a manifest so that one run reports them all. */
export class Problems {
  readonly list: Problem[] = [];
  add(location: Location, message: string, hint?: string, code?: ErrorCode): void {
    this.list.push({ location, message, hint, code });
  }
  /** Throw one error for all problems, in file order: the first as the headline, the rest as details. */
  throwIfAny(): void {
    const sorted = [...this.list].sort(
      (a, b) =>
        (a.location.line ?? 0) - (b.location.line ?? 0) ||
        (a.location.column ?? 0) - (b.location.column ?? 0),
    );
    const [first, ...rest] = sorted;
    if (!first) return;
    const also = rest.map(
      (problem) =>
        `also ${problem.location.file}:${problem.location.line}:${problem.location.column}: ${problem.message}` +
        (problem.hint ? ` (${problem.hint})` : ""),
    );
    // With several problems the first one's hint goes right under it, before the others.
    throw new TesseraError(first.code ?? "E_MANIFEST_INVALID", first.message, {
      location: first.location,
      hint: also.length ? undefined : first.hint,
      details: also.length && first.hint ? [`hint: ${first.hint}`, ...also] : also,
    });
  }
  /** Throw for a failed validation (which has added at least one problem). */
  fail(): never {
    this.throwIfAny();
    throw new TesseraError("E_MANIFEST_INVALID", "the manifest is not valid");
  }
}

/** The text of a scalar as the user wrote it: numbers and booleans keep their spelling (1.10 stays "1.10"). */
export function scalarText(yaml: YamlFile, path: Path): string | undefined {
  const node = yaml.doc.getIn(path, true);
  if (!isScalar(node)) return undefined;
  if (node.value === null || node.value === undefined) return undefined;
  if (typeof node.value === "string") return node.value;
  return typeof node.source === "string" && node.type === "PLAIN" ? node.source : String(node.value);
}

export function parseTesseraManifest(text: string, file: string, dir: string): Spec {
  const yaml = parseYaml(text, file, "E_MANIFEST_SYNTAX");
  const data: unknown = yaml.data() ?? {};
  if (!isRecord(data)) {
    throw new TesseraError(
      "E_MANIFEST_INVALID",
      "a tessera.yaml must be a mapping (keys like secrets:, config:)",
      {
        location: yaml.locate([]),
        hint: "start from `tessera init`, or see the manifest reference in the README",
      },
    );
  }
  const problems = new Problems();
  const report = (problem: SchemaProblem) =>
    problems.add(yaml.locate(problem.path, problem.atKey), problem.message, problem.hint);
  if (!validate(TesseraManifestSchema, data, report)) problems.fail();
  const manifest = data;

  const builder = new SpecBuilder(yaml, problems);
  const sourceNames = new Set<string>();
  const sources = builder.sources(manifest.sources, ["sources"], sourceNames);
  sources.push(...builder.files(manifest.files, ["files"]));
  const profileSources: Record<string, SourceDecl[]> = {};
  const profilesData = manifest.profiles ?? {};
  for (const [profile, body] of Object.entries(profilesData)) {
    const list = builder.sources(body.sources, ["profiles", profile, "sources"], sourceNames);
    list.push(...builder.files(body.files, ["profiles", profile, "files"]));
    profileSources[profile] = list;
  }

  const variables: Declaration[] = builder.declarations(manifest, [], sourceNames, false);
  const profiles: Record<string, ProfileSpec> = {};
  for (const [profile, body] of Object.entries(profilesData)) {
    profiles[profile] = {
      variables: builder.declarations(body, ["profiles", profile], sourceNames, undefined),
      sources: profileSources[profile] ?? [],
    };
  }
  const baseKinds = new Map(variables.map((declaration) => [declaration.name, declaration.kind]));
  for (const [profile, body] of Object.entries(profiles)) {
    for (const patch of body.variables) {
      if (patch.kind === "config" && baseKinds.get(patch.name) === "secret") {
        problems.add(
          patch.declaredAt,
          `${patch.name} is a secret; profile "${profile}" cannot turn it into config`,
          `to give it a per-profile default, declare it under profiles.${profile}.secrets with a default`,
        );
      }
    }
  }
  problems.throwIfAny();

  const service: Spec["service"] = manifest.service ?? {};
  return {
    kind: "tessera",
    file,
    dir,
    variables,
    sources,
    profiles,
    implicitReferences: [],
    service: { ...service },
    ...(manifest.emptyIsUnset ? { emptyIsUnset: true } : {}),
  };
}

/** The keys of a declaration that say what its value must look like (issue 12). */
export const SHAPE_KEYS = [
  "type",
  "enum",
  "pattern",
  "startsWith",
  "minLength",
  "maxLength",
  "min",
  "max",
] as const;

const NUMERIC: readonly string[] = ["port", "integer", "number"];

/**
 * A declaration's shape keys (`type:`, `enum:`, `pattern:`, …) → ValueShape, undefined when it states none.
 * Invalid definitions (an unknown type, a bad regular expression, min > max, enum without values) are
 * problems at the key (E_MANIFEST_INVALID at file:line). Shared by the three manifest readers.
 */
export function readShape(
  entry: Record<string, unknown>,
  locate: (key: string) => Location,
  problems: Problems,
  name: string,
): ValueShape | undefined {
  const shape: ValueShape = {};
  const has = (key: string) => Object.hasOwn(entry, key) && entry[key] !== undefined && entry[key] !== null;
  if (!SHAPE_KEYS.some(has)) return undefined;
  if (has("type")) {
    const type = entry.type;
    const known = VALUE_TYPES.find((candidate) => candidate === type);
    if (known) shape.type = known as ValueType;
    else {
      const suggestion = typeof type === "string" ? closest(type, [...VALUE_TYPES]) : undefined;
      problems.add(
        locate("type"),
        `${name}: type must be one of ${VALUE_TYPES.join(", ")}`,
        suggestion ? `did you mean "${suggestion}"?` : undefined,
      );
    }
  }
  if (has("enum")) {
    const list = entry.enum;
    if (!Array.isArray(list) || list.length === 0) {
      problems.add(locate("enum"), `${name}: enum needs a list of the values allowed`, "write enum: [a, b]");
    } else if (list.some((item) => item === null || typeof item === "object")) {
      problems.add(locate("enum"), `${name}: enum values must be strings, numbers or booleans`);
    } else {
      shape.enum = list.map((item) => String(item));
    }
  } else if (shape.type === "enum") {
    problems.add(locate("type"), `${name}: type: enum needs enum: [the values allowed]`, "add enum: [a, b]");
  }
  if (has("pattern")) {
    const pattern = entry.pattern;
    if (typeof pattern !== "string") problems.add(locate("pattern"), `${name}: pattern must be a string`);
    else {
      try {
        new RegExp(`^(?:${pattern})$`, "u");
        shape.pattern = pattern;
      } catch {
        problems.add(
          locate("pattern"),
          `${name}: pattern is not a valid regular expression`,
          "write a JavaScript regular expression (Unicode mode), without the slashes; it is anchored",
        );
      }
    }
  }
  if (has("startsWith")) {
    if (typeof entry.startsWith !== "string")
      problems.add(locate("startsWith"), `${name}: startsWith must be a string`);
    else shape.startsWith = entry.startsWith;
  }
  for (const key of ["minLength", "maxLength"] as const) {
    if (!has(key)) continue;
    const value = entry[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      problems.add(locate(key), `${name}: ${key} must be a whole number, 0 or more`);
    } else shape[key] = value;
  }
  if (shape.minLength !== undefined && shape.maxLength !== undefined && shape.minLength > shape.maxLength) {
    problems.add(locate("minLength"), `${name}: minLength is greater than maxLength`);
  }
  for (const key of ["min", "max"] as const) {
    if (!has(key)) continue;
    const value = entry[key];
    if (typeof value !== "number" || !Number.isFinite(value))
      problems.add(locate(key), `${name}: ${key} must be a number`);
    else shape[key] = value;
  }
  if (shape.min !== undefined && shape.max !== undefined && shape.min > shape.max) {
    problems.add(locate("min"), `${name}: min is greater than max`);
  }
  if ((has("min") || has("max")) && shape.type !== undefined && !NUMERIC.includes(shape.type)) {
    problems.add(
      locate(has("min") ? "min" : "max"),
      `${name}: min and max apply to numbers, not to type ${shape.type}`,
      "use type: port, integer or number (or minLength/maxLength for text)",
    );
  }
  return shape;
}

class SpecBuilder {
  /** Names of the declared external stores (`from: property` is meaningful only for them). */
  /** The external stores declared so far, by name: their types. */
  private readonly storeNames = new Map<string, StoreType>();

  constructor(
    private readonly yaml: YamlFile,
    private readonly problems: Problems,
  ) {}

  /**
   * Declarations from `secrets:` and `config:` under `base` (the root or a profile); `required` is
   * `unstated` where the manifest does not say.
   */
  declarations<Unstated extends false | undefined>(
    body: Declarations,
    base: Path,
    sourceNames: Set<string>,
    unstated: Unstated,
  ): Stated<Unstated>[] {
    const out: Stated<Unstated>[] = [];
    const seen = new Map<string, Location>();
    const add = (declaration: Stated<Unstated>) => {
      const previous = seen.get(declaration.name);
      if (previous) {
        this.problems.add(
          declaration.declaredAt,
          `${declaration.name} is declared twice (first at ${previous.file}:${previous.line}:${previous.column})`,
          "keep one declaration; a variable is either a secret or config, required or optional",
        );
        return;
      }
      seen.set(declaration.name, declaration.declaredAt);
      out.push(declaration);
    };

    const secrets = body.secrets;
    if (Array.isArray(secrets)) {
      secrets.forEach((entry, index) => {
        add(this.secret(entry, [...base, "secrets", index], true, sourceNames));
      });
    } else if (secrets) {
      for (const list of ["required", "optional"] as const) {
        const entries = secrets[list];
        if (!entries) continue;
        entries.forEach((entry, index) => {
          add(this.secret(entry, [...base, "secrets", list, index], list === "required", sourceNames));
        });
      }
    }

    const config = body.config ?? {};
    for (const [name, entry] of Object.entries(config)) {
      const path = [...base, "config", name];
      const declaredAt = this.yaml.locate(path, true);
      if (entry !== null && typeof entry === "object") {
        const object = entry;
        const value = "value" in object ? scalarText(this.yaml, [...path, "value"]) : undefined;
        const patch: Stated<Unstated> = {
          name,
          lookup: name,
          kind: "config",
          required: object.required ?? unstated,
          declaredAt,
          description: object.description,
          value,
          valueKind: value === undefined ? undefined : "value",
          valueAt: value === undefined ? undefined : this.yaml.locate([...path, "value"]),
        };
        if (object.from !== undefined) patch.from = this.from(object.from, [...path, "from"], sourceNames);
        const shape = this.shape(object, path, name);
        if (shape) patch.shape = shape;
        add(patch);
      } else {
        const value = scalarText(this.yaml, path) ?? "";
        add({
          name,
          lookup: name,
          kind: "config",
          required: unstated,
          declaredAt,
          value,
          valueKind: "value",
          valueAt: this.yaml.locate(path),
        });
      }
    }
    return out;
  }

  private secret(entry: SecretEntry, path: Path, required: boolean, sourceNames: Set<string>): Declaration {
    const declaredAt = this.yaml.locate(path);
    if (typeof entry === "string") {
      return { name: entry, lookup: entry, kind: "secret", required, declaredAt };
    }
    const object = entry;
    const declaration: Declaration = {
      name: object.name,
      lookup: object.name,
      kind: "secret",
      required,
      declaredAt,
      description: object.description,
    };
    if (object.default !== undefined) {
      declaration.value = object.default;
      declaration.valueKind = "default";
      declaration.valueAt = this.yaml.locate([...path, "default"]);
    }
    if (object.from !== undefined) declaration.from = this.from(object.from, [...path, "from"], sourceNames);
    const shape = this.shape(object, path, object.name);
    if (shape) declaration.shape = shape;
    return declaration;
  }

  private shape(entry: object, path: Path, name: string): ValueShape | undefined {
    return readShape(
      entry as Record<string, unknown>,
      (key) => this.yaml.locate([...path, key]),
      this.problems,
      name,
    );
  }

  private from(value: string | FromRef, path: Path, sourceNames: Set<string>): FromRef {
    const ref: FromRef = typeof value === "string" ? { source: value } : { ...value };
    if (ref.property !== undefined && !this.storeNames.has(ref.source)) {
      this.problems.add(
        this.yaml.locate([...path, "property"], true),
        "from: property selects a field of a structured (JSON) secret in an external store",
        "dotenv and yaml sources hold plain values: remove property, or name the key with key:",
      );
    }
    const storeType = this.storeNames.get(ref.source);
    const keyProblem =
      storeType && ref.key !== undefined ? storeEntry(storeType).keyProblem?.(ref.key) : undefined;
    if (keyProblem) {
      this.problems.add(
        this.yaml.locate([...path, "key"]),
        `from: key ${JSON.stringify(ref.key)} ${keyProblem}`,
        `write the key as the ${storeType} store names it`,
      );
    }
    if (!sourceNames.has(ref.source)) {
      const suggestion = closest(ref.source, [...sourceNames]);
      this.problems.add(
        this.yaml.locate(typeof value === "string" ? path : [...path, "source"]),
        `from: names the source "${ref.source}", but no source has that name`,
        suggestion
          ? `did you mean "${suggestion}"?`
          : "declare it under sources: with `name: " + ref.source + "`, or fix the name",
      );
    }
    return ref;
  }

  sources(value: unknown, path: Path, names: Set<string>): SourceDecl[] {
    if (!Array.isArray(value)) return [];
    const out: SourceDecl[] = [];
    value.forEach((entry, index) => {
      // Every entry is a mapping with a type (the schema's catch-all source): else it was reported.
      if (!isRecord(entry)) return;
      const at = [...path, index];
      const type = String(entry.type);
      if (isStoreType(type)) {
        const store = this.store(entry, at, type, names);
        if (store) out.push(store);
        return;
      }
      if (!isFileSourceType(type)) {
        const suggestion = closest(type, KNOWN_SOURCE_TYPES);
        this.problems.add(
          this.yaml.locate([...at, "type"]),
          `unknown source type "${type}"`,
          suggestion
            ? `did you mean "${suggestion}"? Known types: ${KNOWN_SOURCE_TYPES.join(", ")}`
            : `known types: ${KNOWN_SOURCE_TYPES.join(", ")}`,
          "E_SOURCE_UNKNOWN",
        );
        return;
      }
      const allowed = new Set(["type", "path", "name", "required"]);
      for (const key of Object.keys(entry)) {
        if (!allowed.has(key)) {
          const suggestion = closest(key, [...allowed]);
          this.problems.add(
            this.yaml.locate([...at, key], true),
            `unknown key "${key}" in a ${type} source`,
            suggestion ? `did you mean "${suggestion}"?` : `allowed keys: ${[...allowed].join(", ")}`,
          );
        }
      }
      if (typeof entry.path !== "string" || entry.path === "") {
        this.problems.add(
          this.yaml.locate(at),
          `a ${type} source needs a path`,
          "add path: <file relative to the manifest>",
        );
        return;
      }
      if (entry.required !== undefined && typeof entry.required !== "boolean") {
        this.problems.add(this.yaml.locate([...at, "required"]), "required must be true or false");
      }
      if (entry.name !== undefined) {
        if (typeof entry.name !== "string") {
          this.problems.add(this.yaml.locate([...at, "name"]), "name must be a string");
        } else if (names.has(entry.name)) {
          this.problems.add(this.yaml.locate([...at, "name"]), `two sources are named "${entry.name}"`);
        } else {
          names.add(entry.name);
        }
      }
      out.push({
        type,
        path: entry.path,
        name: typeof entry.name === "string" ? entry.name : undefined,
        required: entry.required === true,
        declaredAt: this.yaml.locate(at),
      });
    });
    return out;
  }

  /** An external store: its own schema, a unique name (default: its type). */
  private store(
    entry: Record<string, unknown>,
    at: Path,
    type: StoreType,
    names: Set<string>,
  ): StoreSource | undefined {
    const report = (problem: SchemaProblem) =>
      this.problems.add(this.yaml.locate(problem.path, problem.atKey), problem.message, problem.hint);
    if (!validStoreEntry(type, entry, report, at)) return undefined;
    const name = entry.name ?? type;
    if (names.has(name)) {
      this.problems.add(
        this.yaml.locate(entry.name === undefined ? [...at, "type"] : [...at, "name"]),
        `two sources are named "${name}"`,
        entry.name === undefined
          ? `a store is named after its type by default: give each ${type} source a name`
          : undefined,
      );
      return undefined;
    }
    names.add(name);
    this.storeNames.set(name, type);
    const { type: _type, name: _name, ...settings } = entry;
    return { type, name, settings, declaredAt: this.yaml.locate(at) };
  }

  files(value: unknown, path: Path): SourceDecl[] {
    if (!Array.isArray(value)) return [];
    return value.map((file, index) => ({
      type: /\.ya?ml$/i.test(String(file)) ? ("yaml" as const) : ("dotenv" as const),
      path: String(file),
      required: false,
      declaredAt: this.yaml.locate([...path, index]),
    }));
  }
}
