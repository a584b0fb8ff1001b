/**
 * Dockrion Dockfile.yaml → Spec. Only `secrets.required/optional` is read, with Dockrion's own rules
 * (UPPER_SNAKE_CASE names, no duplicate across both lists, a string `default`); every other key belongs
 * to Dockrion and is left alone, except that `${VAR}` references anywhere in the file and the env-var
 * names under `auth` are implicit references that `check` wants declared.
 */
import { isMap, isPair, isScalar, isSeq, type Node } from "yaml";
import { type Location, TesseraError } from "../errors.js";
import { parseYaml, type YamlFile } from "../formats/yaml-doc.js";
import { isRecord, propertyOf } from "../model/guards.js";
import {
  type Declaration,
  DOCKRION_NAME,
  type FromRef,
  type ImplicitReference,
  type Spec,
} from "../model/spec.js";
import { parseTemplate, type Template, TemplateSyntaxError } from "../model/template.js";
import { Problems } from "./tessera.js";

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
  const secrets = data.secrets;
  if (secrets !== undefined && secrets !== null) {
    if (!isRecord(secrets)) {
      problems.add(
        yaml.locate(["secrets"]),
        "secrets must be a mapping with required: and optional: lists",
        "write secrets: {required: [{name: MY_KEY}], optional: [...]}",
      );
    } else {
      const seen = new Map<string, Location>();
      for (const list of ["required", "optional"] as const) {
        const entries = secrets[list];
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
          const previous = seen.get(declaration.name);
          if (previous) {
            problems.add(
              declaration.declaredAt,
              `Duplicate secret names found: ${declaration.name}. Each secret must have a unique name.`,
              `${declaration.name} is first declared at ${previous.file}:${previous.line}:${previous.column}; keep one`,
            );
            return;
          }
          seen.set(declaration.name, declaration.declaredAt);
          variables.push(declaration);
        });
      }
    }
  }
  problems.throwIfAny();

  const name = propertyOf(data.agent, "name");
  const port = Number(propertyOf(data.expose, "port"));
  return {
    kind: "dockfile",
    file,
    dir,
    variables,
    sources: [],
    profiles: {},
    implicitReferences: implicitReferences(yaml, data),
    service: {
      name: typeof name === "string" ? name : undefined,
      port: Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined,
    },
  };
}

function dockrionSecret(
  yaml: YamlFile,
  problems: Problems,
  entry: unknown,
  path: (string | number)[],
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
  const name = typeof object.name === "string" ? object.name.trim() : "";
  if (object.name === undefined) {
    problems.add(declaredAt, "a secret needs a name", "add name: MY_SECRET");
    return undefined;
  }
  if (typeof object.name !== "string") {
    problems.add(
      yaml.locate([...path, "name"]),
      "a secret name must be a string",
      "write an UPPER_SNAKE_CASE name",
    );
    return undefined;
  }
  if (!name) {
    problems.add(yaml.locate([...path, "name"]), "Secret name cannot be empty");
    return undefined;
  }
  if (!DOCKRION_NAME.test(String(object.name))) {
    problems.add(
      yaml.locate([...path, "name"]),
      `Secret name '${String(object.name)}' must be uppercase with underscores (e.g., MY_API_KEY, OPENAI_KEY_1). Must start with a letter or underscore.`,
      "Dockrion requires UPPER_SNAKE_CASE names",
    );
    return undefined;
  }
  for (const key of ["description", "default"] as const) {
    if (object[key] !== undefined && object[key] !== null && typeof object[key] !== "string") {
      problems.add(
        yaml.locate([...path, key]),
        `${key} must be a string (Dockrion rejects numbers and booleans here)`,
        `quote it: ${key}: "${String(object[key])}"`,
      );
    }
  }
  const declaration: Declaration = { name, lookup: name, kind: "secret", required, declaredAt };
  if (typeof object.description === "string") declaration.description = object.description;
  if (typeof object.default === "string") {
    declaration.value = object.default;
    declaration.valueKind = "default";
    declaration.valueAt = yaml.locate([...path, "default"]);
  }
  const from = object.from;
  if (typeof from === "string") declaration.from = { source: from };
  else if (isFromRef(from)) declaration.from = { ...from };
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

/** Env-var names the Dockrion runtime reads under auth (each should be a declared secret). */
const AUTH_NAME_FIELDS: readonly (readonly string[])[] = [
  ["auth", "api_keys", "env_var"],
  ["auth", "jwt", "public_key_env"],
  ["auth", "oauth2", "client_id_env"],
  ["auth", "oauth2", "client_secret_env"],
];

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
    let names: Map<string, boolean>;
    try {
      names = referenceDefaults(parseTemplate(node.value));
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      // Dockrion reads these itself; take the names it would see.
      names = new Map(
        [...node.value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)?/g)].map((match) => [
          match[1]!,
          match[2] !== undefined,
        ]),
      );
    }
    const location = yaml.at(node.range?.[0] ?? 0);
    for (const [name, hasDefault] of names)
      push(name, location, `\${${name}} in ${path.join(".")}`, hasDefault);
  });

  for (const field of AUTH_NAME_FIELDS) {
    let value: unknown = data;
    for (const segment of field) value = propertyOf(value, segment);
    if (typeof value === "string" && value) push(value, yaml.locate(field), field.join("."));
  }
  // Dockrion's ApiKeysConfig defaults env_var to DOCKRION_API_KEY (single-key mode, no prefix).
  const apiKeys = propertyOf(data.auth, "api_keys");
  if (
    apiKeys &&
    typeof apiKeys === "object" &&
    propertyOf(apiKeys, "env_var") === undefined &&
    !propertyOf(apiKeys, "prefix")
  ) {
    push(
      "DOCKRION_API_KEY",
      yaml.locate(["auth", "api_keys"], true),
      "auth.api_keys.env_var (Dockrion's default)",
    );
  }
  return out;
}

/** Each referenced name, and whether every use of it has a fallback (an operator, or inside one). */
function referenceDefaults(
  template: Template,
  nested = false,
  into = new Map<string, boolean>(),
): Map<string, boolean> {
  for (const part of template) {
    if (typeof part === "string") continue;
    const fallback = nested || (part.operator !== undefined && !part.operator.includes("?"));
    into.set(part.name, (into.get(part.name) ?? true) && fallback);
    if (part.argument) referenceDefaults(part.argument, true, into);
  }
  return into;
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
