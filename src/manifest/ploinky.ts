/**
 * Ploinky manifest.json → Spec: `env` in its three forms, `expose`, and `profiles.<p>.env`.
 * The name inside the process (`name`) and the name it is looked up under (`varName`) stay distinct.
 *
 * Ploinky has no notion of sensitivity, so every env variable is treated as a secret (masked, sent to a
 * Kubernetes Secret) unless the entry says `"secret": false` — a Tessera extension Ploinky ignores.
 * An expose entry with a literal value is config; one that refers to a variable is a secret.
 */
import { basename } from "node:path";
import { type Location, TesseraError } from "../errors.js";
import { findJsonSyntaxError, type JsonNode, scanJson, spanAt } from "../formats/json-syntax.js";
import { isRecord } from "../model/guards.js";
import { type Declaration, ENV_NAME, type ProfileSpec, type Spec } from "../model/spec.js";
import { parseTemplate, referencedNames } from "../model/template.js";
import { Problems } from "./tessera.js";

type Path = (string | number)[];

const ALIAS = /^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$/;

/** A literal text as a template: every `$` written `$$`. */
function literalTemplate(text: string): string {
  return text.replaceAll("$", () => "$$");
}

export function parsePloinkyManifest(text: string, file: string, dir: string): Spec {
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
  const reader = new EnvReader(problems, locate);

  const profiles = isRecord(manifest.profiles) ? manifest.profiles : {};
  const defaultProfile = isRecord(profiles.default) ? profiles.default : undefined;
  const baseEnvPath: Path = defaultProfile?.env ? ["profiles", "default", "env"] : ["env"];
  const baseEnv = defaultProfile?.env || manifest.env;
  const exposed = reader.expose(manifest.expose, ["expose"]);
  const variables = reader.checkUnique([...reader.env(baseEnv, baseEnvPath), ...exposed]);

  const profileSpecs: Record<string, ProfileSpec> = {};
  for (const [name, body] of Object.entries(profiles)) {
    if (name === "default" || !isRecord(body)) continue;
    const env = body.env;
    if (!env) continue;
    profileSpecs[name] = {
      replacesVariables: true,
      variables: reader.checkUnique([...reader.env(env, ["profiles", name, "env"]), ...exposed]),
      sources: [],
    };
  }
  problems.throwIfAny();

  const image = typeof manifest.container === "string" ? manifest.container : manifest.image;
  return {
    kind: "ploinky",
    file,
    dir,
    variables,
    sources: [],
    profiles: profileSpecs,
    implicitReferences: [],
    service: { name: basename(dir), image: typeof image === "string" ? image : undefined },
  };
}

/** Ploinky's toBool: true, 1 and "yes"/"true"/"1" are true. */
function toBool(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") return ["true", "1", "yes"].includes(value.trim().toLowerCase());
  return false;
}

class EnvReader {
  constructor(
    private readonly problems: Problems,
    private readonly locate: (path: Path, key?: boolean) => Location,
  ) {}

  private name(value: unknown, path: Path, what: string): string | undefined {
    const name = typeof value === "string" ? value.trim() : "";
    if (name.includes("*")) {
      this.problems.add(
        this.locate(path),
        `${what} ${JSON.stringify(name)} is a wildcard; Tessera passes on only variables named one by one`,
        "list each variable the agent needs (wildcards would hand it every matching variable of the workspace)",
      );
      return undefined;
    }
    if (!ENV_NAME.test(name)) {
      this.problems.add(
        this.locate(path),
        `${what} ${JSON.stringify(typeof value === "string" ? value : String(value))} is not a valid environment variable name`,
        "use letters, digits and _ only, not starting with a digit; Tessera refuses other names so that a manifest cannot inject flags or commands",
      );
      return undefined;
    }
    return name;
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

  env(env: unknown, path: Path): Declaration[] {
    const out: Declaration[] = [];
    if (Array.isArray(env)) {
      env.forEach((entry, index) => {
        const at = [...path, index];
        if (entry === null || entry === undefined) return;
        if (isRecord(entry)) {
          const name = this.name(entry.name, [...at, "name"], "env name");
          if (!name) return;
          const lookup =
            entry.varName === undefined ? name : this.name(entry.varName, [...at, "varName"], "varName");
          if (!lookup) return;
          // Ploinky's array form reads `value`, then (in later versions) `default`.
          const field = entry.value !== undefined && entry.value !== null ? "value" : "default";
          const value = this.scalar(entry[field], [...at, field]);
          out.push(this.declaration(name, lookup, toBool(entry.required), value, entry.secret, at));
          return;
        }
        if (typeof entry !== "string") {
          this.problems.add(
            this.locate(at),
            'an env entry is "NAME", "NAME=default" or {name, varName, required, value}',
          );
          return;
        }
        const text = entry.trim();
        const eq = text.indexOf("=");
        const name = this.name(eq >= 0 ? text.slice(0, eq) : text, at, "env name");
        if (!name) return;
        out.push(
          this.declaration(name, name, false, eq >= 0 ? text.slice(eq + 1) : undefined, undefined, at),
        );
      });
    } else if (isRecord(env)) {
      for (const [key, spec] of Object.entries(env)) {
        const at = [...path, key];
        const name = this.name(key, at, "env name");
        if (!name) continue;
        if (isRecord(spec)) {
          const source = spec.varName ?? spec.name;
          const lookup =
            source === undefined
              ? name
              : this.name(source, [...at, spec.varName ? "varName" : "name"], "varName");
          if (!lookup) continue;
          const field = "default" in spec ? "default" : "value";
          const value = this.scalar(spec[field], [...at, field]);
          out.push(this.declaration(name, lookup, toBool(spec.required), value, spec.secret, at));
        } else {
          out.push(this.declaration(name, name, false, this.scalar(spec, at), undefined, at));
        }
      }
    } else if (env !== undefined && env !== null && env !== false) {
      this.problems.add(this.locate(path), "env must be a list or an object");
    }
    return out;
  }

  private declaration(
    name: string,
    lookup: string,
    required: boolean,
    value: string | undefined,
    secret: unknown,
    at: Path,
  ): Declaration {
    const declaration: Declaration = {
      name,
      lookup,
      kind: secret === false ? "config" : "secret",
      required,
      declaredAt: this.locate(at),
    };
    if (value !== undefined) {
      // Ploinky passes defaults through literally (a default of "$B" is the text $B).
      declaration.value = literalTemplate(value);
      declaration.valueKind = "default";
      declaration.valueAt = declaration.declaredAt;
    }
    return declaration;
  }

  expose(expose: unknown, path: Path): Declaration[] {
    const out: Declaration[] = [];
    const add = (nameValue: unknown, template: string, at: Path, isRef: boolean) => {
      const name = this.name(nameValue, at, "expose name");
      if (!name) return;
      let refers = isRef;
      try {
        refers ||= referencedNames(parseTemplate(template)).size > 0;
      } catch {
        refers = true; // reported when resolved, with its location
      }
      out.push({
        name,
        lookup: name,
        kind: refers ? "secret" : "config",
        required: false,
        declaredAt: this.locate(at),
        value: template,
        valueKind: "value",
        valueAt: this.locate(at),
      });
    };
    if (Array.isArray(expose)) {
      expose.forEach((entry, index) => {
        const at = [...path, index];
        if (!isRecord(entry)) {
          this.problems.add(this.locate(at), "an expose entry is {name, value} or {name, ref}");
          return;
        }
        if ("value" in entry) {
          // An array entry's value is literal in Ploinky ("$X" is not resolved); a ref is the alias.
          const value = this.scalar(entry.value, [...at, "value"]);
          add(entry.name, literalTemplate(value ?? ""), at, false);
        } else if (typeof entry.ref === "string") {
          const ref = this.name(entry.ref.replace(/^\$/, ""), [...at, "ref"], "ref");
          if (ref) add(entry.name, `\${${ref}}`, at, true);
        } else {
          this.problems.add(this.locate(at), "an expose entry needs a value or a ref");
        }
      });
    } else if (isRecord(expose)) {
      for (const [key, value] of Object.entries(expose)) {
        // Object form: exactly "$NAME" (or "${NAME}") is an alias; anything else is literal, as in Ploinky.
        const scalar = this.scalar(value, [...path, key]) ?? "";
        const alias = ALIAS.exec(scalar);
        add(key, alias ? scalar : literalTemplate(scalar), [...path, key], !!alias);
      }
    } else if (expose !== undefined && expose !== null) {
      this.problems.add(this.locate(path), "expose must be a list or an object");
    }
    return out;
  }

  checkUnique(declarations: Declaration[]): Declaration[] {
    const seen = new Map<string, Declaration>();
    for (const declaration of declarations) {
      const previous = seen.get(declaration.name);
      if (previous) {
        const at = previous.declaredAt;
        this.problems.add(
          declaration.declaredAt,
          `${declaration.name} is declared twice (first at ${at.file}:${at.line}:${at.column})`,
          "keep one entry: Tessera will not guess which one wins",
        );
        continue;
      }
      seen.set(declaration.name, declaration);
    }
    return [...seen.values()];
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
