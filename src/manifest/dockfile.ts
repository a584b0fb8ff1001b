/**
 * Dockrion Dockfile.yaml → Spec, read as Dockrion itself reads it (its schema, loader and runtime are
 * the judge):
 *
 * - `secrets.required` / `secrets.optional` with Dockrion's rules (UPPER_SNAKE_CASE names, no name in
 *   both lists, a string `default`). Extra keys in an entry are Dockrion-legal, so two Tessera
 *   extensions live there: `from:` (an external store) and `secret: false` (config, not a secret).
 * - `config:` (a Tessera section; Dockrion allows unknown top-level keys and ignores it): non-secret
 *   variables, `NAME: value` or `NAME: {value, description, required, from}`, as in tessera.yaml.
 * - `${VAR}` references anywhere in the file, with Dockrion's own syntax (`${NAME}` and
 *   `${NAME:-default}`; an empty default is no default), and the env-var names the runtime reads under
 *   `auth`, are implicit references that `check` wants declared. Dockrion refuses to load the file while
 *   a `${NAME}` without a default is unset, so a declared optional variable used that way (and without a
 *   default of its own) is required here.
 * - `agent.name` and `expose.port` describe the service; written with `${…}` they are templates the
 *   targets expand from the resolution (serviceTemplates).
 */
import { isMap, isPair, isScalar, isSeq, type Node } from "yaml";
import { type Location, TesseraError } from "../errors.js";
import { parseYaml, type YamlFile } from "../formats/yaml-doc.js";
import { isRecord } from "../model/guards.js";
import {
  type Declaration,
  DOCKRION_NAME,
  ENV_NAME,
  type FromRef,
  type ImplicitReference,
  type Spec,
} from "../model/spec.js";
import { Problems, readShape, SHAPE_KEYS, scalarText } from "./tessera.js";

type Path = (string | number)[];

/** Dockrion's RuntimeDefaults.PORT: the port of an agent whose Dockfile gives none. */
export const DOCKRION_DEFAULT_PORT = 8080;

/**
 * The references in a string as Dockrion's `expand_env_vars` finds them, its pattern
 * `\$\{([^}:]+)(?::-)?(([^}]*))?\}` scanned by hand (the regex backtracks cubically on a long string
 * with no closing brace): `${NAME}` or `${NAME:-default}`, NAME running to the first `}` or `:`, the
 * default to the first `}` (no nesting, no `$$` escape, no `$NAME`). Anything after NAME other than
 * `:-` starts the default (`${X:y}` defaults to ":y"); an empty default is no default.
 */
export function dockrionReferences(text: string): { name: string; fallback: string }[] {
  const out: { name: string; fallback: string }[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf("${", from);
    if (start === -1) break;
    let end = start + 2;
    while (end < text.length && text[end] !== "}" && text[end] !== ":") end++;
    if (end === start + 2) {
      from = start + 1;
      continue;
    }
    const fallbackStart = text.startsWith(":-", end) ? end + 2 : end;
    const close = text.indexOf("}", fallbackStart);
    // No closing brace after this point: no later `${` can match either.
    if (close === -1) break;
    out.push({ name: text.slice(start + 2, end), fallback: text.slice(fallbackStart, close) });
    from = close + 1;
  }
  return out;
}

/**
 * An implicit reference's `name` is a variable name, except for two forms `check` reads:
 * a name written with `${…}` (`auth.api_keys.env_var: ${API_KEY_VAR:-DOCKRION_API_KEY}`), which is
 * expanded from the resolution first, as Dockrion expands it when it loads the file; and a name ending
 * in PREFIX_MARK (`AGENT_KEY_*`), Dockrion's multi-key mode: every variable whose name starts with the
 * prefix.
 */
export const PREFIX_MARK = "*";

/** An own property of a mapping (never an inherited one: `constructor` is just a key). */
function own(value: unknown, key: string): unknown {
  return isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

export function parseDockfile(text: string, file: string, dir: string): Spec {
  const yaml = parseYaml(text, file, "E_MANIFEST_SYNTAX");
  const data: unknown = yaml.data() ?? {};
  if (!isRecord(data)) {
    throw new TesseraError("E_MANIFEST_INVALID", "a Dockfile must be a mapping (version:, agent:, ...)", {
      location: yaml.locate([]),
    });
  }
  const problems = new Problems();
  const variables: Declaration[] = [];
  const seen = new Map<string, Location>();
  const add = (declaration: Declaration, duplicate: (previous: Location) => [string, string]) => {
    const previous = seen.get(declaration.name);
    if (previous) {
      const [message, hint] = duplicate(previous);
      problems.add(declaration.declaredAt, message, hint);
      return;
    }
    seen.set(declaration.name, declaration.declaredAt);
    variables.push(declaration);
  };

  const secrets = own(data, "secrets");
  if (secrets !== undefined && secrets !== null) {
    if (!isRecord(secrets)) {
      problems.add(
        yaml.locate(["secrets"]),
        "secrets must be a mapping with required: and optional: lists",
        "write secrets: {required: [{name: MY_KEY}], optional: [...]}",
      );
    } else {
      for (const list of ["required", "optional"] as const) {
        const entries = own(secrets, list);
        if (entries === undefined || entries === null) continue;
        if (!Array.isArray(entries)) {
          problems.add(
            yaml.locate(["secrets", list]),
            `secrets.${list} must be a list of {name, description, default}`,
          );
          continue;
        }
        entries.forEach((entry, index) => {
          const declaration = dockrionSecret(
            yaml,
            problems,
            entry,
            ["secrets", list, index],
            list === "required",
          );
          if (!declaration) return;
          add(declaration, (previous) => [
            `Duplicate secret names found: ${declaration.name}. Each secret must have a unique name.`,
            `${declaration.name} is first declared at ${previous.file}:${previous.line}:${previous.column}; keep one`,
          ]);
        });
      }
    }
  }

  const config = own(data, "config");
  if (config !== undefined && config !== null) {
    if (!isRecord(config)) {
      problems.add(
        yaml.locate(["config"]),
        "config must be a mapping of NAME: value (non-secret variables; Dockrion ignores this section)",
        "write config: {LOG_LEVEL: info}",
      );
    } else {
      for (const [name, entry] of Object.entries(config)) {
        const declaration = configEntry(yaml, problems, name, entry);
        if (!declaration) continue;
        add(declaration, (previous) => [
          `${name} is declared twice (first at ${previous.file}:${previous.line}:${previous.column})`,
          "keep one declaration: a variable is either a secret (secrets:) or config (config:)",
        ]);
      }
    }
  }
  problems.throwIfAny();

  const references = implicitReferences(yaml, data);
  requireUnsetReferences(variables, references);
  return {
    kind: "dockfile",
    file,
    dir,
    variables,
    sources: [],
    profiles: {},
    implicitReferences: references,
    ...serviceOf(data),
  };
}

/** agent.name and expose.port: facts, or templates when written with `${…}` (expanded by the targets). */
function serviceOf(data: Record<string, unknown>): Pick<Spec, "service" | "serviceTemplates"> {
  const service: Spec["service"] = {};
  const templates: NonNullable<Spec["serviceTemplates"]> = {};
  const name = own(own(data, "agent"), "name");
  if (typeof name === "string" && name.includes("${")) templates.name = name;
  else if (typeof name === "string" && name) service.name = name;
  const expose = own(data, "expose");
  const port = isRecord(expose) && Object.hasOwn(expose, "port") ? expose.port : undefined;
  if (typeof port === "string" && port.includes("${")) {
    templates.port = port;
  } else if (port === undefined || port === null) {
    // Dockrion's ExposeConfig defaults the port to 8080: the image listens there.
    service.port = DOCKRION_DEFAULT_PORT;
  } else {
    // Dockrion (pydantic, lax) takes an integer or a string of one.
    const number = typeof port === "string" && /^\s*\d+\s*$/.test(port) ? Number(port) : port;
    if (typeof number === "number" && Number.isInteger(number) && number > 0 && number < 65536)
      service.port = number;
  }
  return Object.keys(templates).length ? { service, serviceTemplates: templates } : { service };
}

function dockrionSecret(
  yaml: YamlFile,
  problems: Problems,
  entry: unknown,
  path: Path,
  required: boolean,
): Declaration | undefined {
  const declaredAt = yaml.locate(path);
  if (!isRecord(entry)) {
    problems.add(
      declaredAt,
      "each secret is a mapping with a name",
      typeof entry === "string" ? `write - name: ${entry}` : "write - name: MY_SECRET",
    );
    return undefined;
  }
  const object = entry;
  const rawName = own(object, "name");
  if (rawName === undefined) {
    problems.add(declaredAt, "a secret needs a name", "add name: MY_SECRET");
    return undefined;
  }
  if (typeof rawName !== "string") {
    problems.add(
      yaml.locate([...path, "name"]),
      "a secret name must be a string",
      "write an UPPER_SNAKE_CASE name",
    );
    return undefined;
  }
  const name = rawName.trim();
  if (!name) {
    problems.add(yaml.locate([...path, "name"]), "Secret name cannot be empty");
    return undefined;
  }
  if (!DOCKRION_NAME.test(rawName)) {
    problems.add(
      yaml.locate([...path, "name"]),
      `Secret name '${rawName}' must be uppercase with underscores (e.g., MY_API_KEY, OPENAI_KEY_1). Must start with a letter or underscore.`,
      "Dockrion requires UPPER_SNAKE_CASE names",
    );
    return undefined;
  }
  for (const key of ["description", "default"] as const) {
    const value = own(object, key);
    if (value !== undefined && value !== null && typeof value !== "string") {
      problems.add(
        yaml.locate([...path, key]),
        `${key} must be a string (Dockrion rejects numbers and booleans here)`,
        `quote it: ${key}: "${String(value)}"`,
      );
    }
  }
  const secret = own(object, "secret");
  if (secret !== undefined && typeof secret !== "boolean") {
    problems.add(
      yaml.locate([...path, "secret"]),
      "secret must be true or false (false: a config variable, not a secret)",
      "write secret: false",
    );
  }
  const declaration: Declaration = {
    name,
    lookup: name,
    kind: secret === false ? "config" : "secret",
    required,
    declaredAt,
  };
  const description = own(object, "description");
  if (typeof description === "string") declaration.description = description;
  const fallback = own(object, "default");
  if (typeof fallback === "string") {
    declaration.value = fallback;
    declaration.valueKind = "default";
    declaration.valueAt = yaml.locate([...path, "default"]);
  }
  const from = own(object, "from");
  if (typeof from === "string") declaration.from = { source: from };
  else if (isFromRef(from)) declaration.from = { ...from };
  const shape = readShape(object, (key) => yaml.locate([...path, key]), problems, name);
  if (shape) declaration.shape = shape;
  return declaration;
}

/** One entry of `config:`, in tessera.yaml's shape: `NAME: value` or `NAME: {value, description, required, from}`. */
function configEntry(
  yaml: YamlFile,
  problems: Problems,
  name: string,
  entry: unknown,
): Declaration | undefined {
  const path: Path = ["config", name];
  const declaredAt = yaml.locate(path, true);
  if (!ENV_NAME.test(name)) {
    problems.add(
      declaredAt,
      `${JSON.stringify(name)} is not a valid environment variable name`,
      "use letters, digits and _, not starting with a digit",
    );
    return undefined;
  }
  if (!isRecord(entry)) {
    if (Array.isArray(entry)) {
      problems.add(
        yaml.locate(path),
        `config ${name} must be a value or {value, description, required}, not a list`,
      );
      return undefined;
    }
    return {
      name,
      lookup: name,
      kind: "config",
      required: false,
      declaredAt,
      value: scalarText(yaml, path) ?? "",
      valueKind: "value",
      valueAt: yaml.locate(path),
    };
  }
  const known = new Set<string>(["value", "description", "required", "from", ...SHAPE_KEYS]);
  for (const key of Object.keys(entry)) {
    if (!known.has(key))
      problems.add(
        yaml.locate([...path, key], true),
        `unknown key ${JSON.stringify(key)} in config ${name}`,
        "a config entry takes value, description, required, from and type, enum, pattern, startsWith, minLength, maxLength, min, max",
      );
  }
  const value = own(entry, "value");
  if (value !== undefined && value !== null && typeof value === "object")
    problems.add(yaml.locate([...path, "value"]), `the value of config ${name} must be a scalar`);
  const description = own(entry, "description");
  if (description !== undefined && typeof description !== "string")
    problems.add(yaml.locate([...path, "description"]), "description must be a string");
  const required = own(entry, "required");
  if (required !== undefined && typeof required !== "boolean")
    problems.add(yaml.locate([...path, "required"]), "required must be true or false");
  const declaration: Declaration = {
    name,
    lookup: name,
    kind: "config",
    required: required === true,
    declaredAt,
  };
  if (typeof description === "string") declaration.description = description;
  const text = Object.hasOwn(entry, "value") ? scalarText(yaml, [...path, "value"]) : undefined;
  if (text !== undefined) {
    declaration.value = text;
    declaration.valueKind = "value";
    declaration.valueAt = yaml.locate([...path, "value"]);
  }
  const from = own(entry, "from");
  if (typeof from === "string") declaration.from = { source: from };
  else if (isFromRef(from)) declaration.from = { ...from };
  else if (from !== undefined)
    problems.add(yaml.locate([...path, "from"]), "from must be a source's name or {source, key, property}");
  const shape = readShape(entry, (key) => yaml.locate([...path, key]), problems, name);
  if (shape) declaration.shape = shape;
  return declaration;
}

/** A `from:` mapping (a Tessera extension): a source's name, and a key and property if given, as text. */
function isFromRef(value: unknown): value is FromRef {
  return (
    isRecord(value) &&
    typeof value.source === "string" &&
    (value.key === undefined || typeof value.key === "string") &&
    (value.property === undefined || typeof value.property === "string")
  );
}

/**
 * Dockrion expands `${NAME}` when it loads the Dockfile and refuses to load it while NAME is unset
 * ("Environment variable '${NAME}' is required but not set"), whatever list NAME is in. A declared
 * optional variable used that way without a default of its own is therefore required: Tessera fails
 * as Dockrion would (a declared default counts, since Tessera passes it on to what it runs).
 */
function requireUnsetReferences(variables: Declaration[], references: readonly ImplicitReference[]): void {
  for (const declaration of variables) {
    if (declaration.required || declaration.value !== undefined) continue;
    const bare = references.find(
      (reference) => reference.name === declaration.lookup && isExpansion(reference) && !reference.hasDefault,
    );
    if (!bare) continue;
    declaration.required = true;
    const at = `${bare.location.file}:${bare.location.line}`;
    const why = `required: ${bare.context} (${at}) has no default, and Dockrion refuses to load the Dockfile while ${declaration.lookup} is unset`;
    declaration.description = declaration.description ? `${declaration.description} (${why})` : why;
  }
}

/**
 * A `${NAME}` Dockrion expands when it loads the file (its context reads "${NAME} in path"), as opposed
 * to an env-var name the runtime reads under auth (which never stops the file from loading).
 */
export function isExpansion(reference: ImplicitReference): boolean {
  return reference.context.startsWith("${");
}

/** Env-var names the Dockrion runtime reads under auth, besides api_keys (each should be declared). */
const AUTH_NAME_FIELDS: readonly (readonly string[])[] = [
  ["auth", "jwt", "public_key_env"],
  ["auth", "oauth2", "client_id_env"],
  ["auth", "oauth2", "client_secret_env"],
];

function at(data: unknown, path: readonly string[]): unknown {
  let value = data;
  for (const segment of path) value = own(value, segment);
  return value;
}

function implicitReferences(yaml: YamlFile, data: Record<string, unknown>): ImplicitReference[] {
  const out: ImplicitReference[] = [];
  const seen = new Set<string>();
  const push = (name: string, location: Location, context: string, hasDefault = false) => {
    const key = `${name}@${location.line}:${location.column}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ name, location, context, hasDefault });
  };
  walk(yaml.doc.contents, [], (node, path) => {
    if (typeof node.value !== "string" || !node.value.includes("${")) return;
    const location = yaml.at(node.range?.[0] ?? 0);
    // Each use of a name counts on its own: `${X:-d}` here does not excuse `${X}` there.
    const uses = new Map<string, boolean>();
    for (const { name, fallback } of dockrionReferences(node.value)) {
      // Dockrion: a default is used only when it is not empty (`${X:-}` is no default at all).
      uses.set(name, (uses.get(name) ?? true) && fallback !== "");
    }
    for (const [name, hasDefault] of uses)
      push(name, location, `\${${name}} in ${path.join(".")}`, hasDefault);
  });

  // The runtime's auth (dockrion_runtime/auth): an `auth` mapping is enabled; its mode defaults to api_key.
  const auth = own(data, "auth");
  if (isRecord(auth)) {
    const mode = Object.hasOwn(auth, "mode") ? auth.mode : "api_key";
    const apiKeys = own(auth, "api_keys");
    const prefix = own(apiKeys, "prefix");
    const envVar = own(apiKeys, "env_var");
    if (typeof prefix === "string" && prefix) {
      // Multi-key mode: every variable whose name starts with the prefix is a key; env_var is ignored.
      push(
        `${prefix}${PREFIX_MARK}`,
        yaml.locate(["auth", "api_keys", "prefix"]),
        "auth.api_keys.prefix (multi-key mode)",
      );
    } else if (typeof envVar === "string" && envVar) {
      push(envVar, yaml.locate(["auth", "api_keys", "env_var"]), "auth.api_keys.env_var");
    } else if (mode === "api_key" && (envVar === undefined || envVar === null)) {
      // Dockrion's default key variable, for `mode: api_key` with or without an api_keys block.
      const where = isRecord(apiKeys)
        ? yaml.locate(["auth", "api_keys"], true)
        : Object.hasOwn(auth, "mode")
          ? yaml.locate(["auth", "mode"])
          : yaml.locate(["auth"], true);
      push(
        "DOCKRION_API_KEY",
        where,
        isRecord(apiKeys)
          ? "auth.api_keys.env_var (Dockrion's default)"
          : "auth.mode api_key (Dockrion's default key variable)",
      );
    }
  }
  for (const field of AUTH_NAME_FIELDS) {
    const value = at(data, field);
    if (typeof value === "string" && value) push(value, yaml.locate(field), field.join("."));
  }
  return out;
}

function walk(
  node: unknown,
  path: (string | number)[],
  visit: (scalar: Node & { value: unknown }, path: (string | number)[]) => void,
) {
  if (!node) return;
  if (isScalar(node)) {
    visit(node, path);
  } else if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      walk(pair.value, [...path, key], visit);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      walk(item, [...path, index], visit);
    });
  }
}
