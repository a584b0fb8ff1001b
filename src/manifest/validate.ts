/**
 * Schema validation with messages a person can act on: unknown keys get a "did you mean",
 * unions are explained by the variant that matches the value's shape.
 */
import type { TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import { closest } from "../errors.js";
import { ENV_NAME } from "../model/spec.js";

export interface SchemaProblem {
  /** Path segments to the offending node. */
  path: (string | number)[];
  /** True when the problem is the key itself (unknown key), so the location is the key's. */
  atKey: boolean;
  message: string;
  hint?: string;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .split("/")
    .slice(1)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function describeType(value: unknown): string {
  const type = jsonType(value);
  return type === "object"
    ? "a mapping"
    : type === "array"
      ? "a list"
      : type === "null"
        ? "empty (null)"
        : `a ${type}`;
}

function schemaTypes(schema: TSchema): string[] {
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as TSchema[]).flatMap(schemaTypes);
  if (schema.const !== undefined) return [JSON.stringify(schema.const)];
  const type = schema.type as string | undefined;
  if (type === "object") return ["a mapping"];
  if (type === "array") return ["a list"];
  if (type === "integer") return ["an integer"];
  return type ? [`a ${type}`] : ["a value"];
}

function variantFor(schema: TSchema, value: unknown): TSchema | undefined {
  const variants = (schema.anyOf ?? []) as TSchema[];
  const type = jsonType(value);
  const matching = variants.filter((variant) => {
    if (variant.const !== undefined) return typeof variant.const === typeof value;
    if (variant.type === "integer") return type === "number";
    return variant.type === type;
  });
  if (matching.length === 0) return undefined;
  if (matching.length === 1) return matching[0];
  // Several object variants (e.g. source types): prefer one whose literal fields match.
  const best = matching.find((variant) => {
    const properties = (variant.properties ?? {}) as Record<string, TSchema>;
    return Object.entries(properties).some(
      ([key, property]) =>
        property.const !== undefined && (value as Record<string, unknown>)[key] === property.const,
    );
  });
  return best ?? matching[matching.length - 1];
}

/** Problems with `value` against `schema`, most specific first; empty when valid. */
export function schemaProblems(
  schema: TSchema,
  value: unknown,
  prefix: (string | number)[] = [],
): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const error of Value.Errors(schema, value)) {
    problems.push(...explain(error, prefix));
    if (problems.length >= 10) break;
  }
  return problems;
}

function explain(error: ValueError, prefix: (string | number)[]): SchemaProblem[] {
  const path = [...prefix, ...pointerToPath(error.path)];
  const last = path[path.length - 1];
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const allowed = Object.keys((error.schema.properties ?? {}) as object);
      const patterns = Object.keys((error.schema.patternProperties ?? {}) as object);
      if (patterns.length > 0 && allowed.length === 0) {
        return [
          {
            path,
            atKey: true,
            message: `"${String(last)}" is not a valid name here (names match ${patterns[0]})`,
            hint: "use letters, digits and _ only, not starting with a digit",
          },
        ];
      }
      const suggestion = closest(String(last), allowed);
      return [
        {
          path,
          atKey: true,
          message: `unknown key "${String(last)}"`,
          hint: suggestion
            ? `did you mean "${suggestion}"?`
            : allowed.length > 0
              ? `allowed keys here: ${allowed.join(", ")}`
              : "remove this key",
        },
      ];
    }
    case ValueErrorType.ObjectRequiredProperty:
      return [
        {
          path,
          atKey: false,
          message: `missing required key "${String(last)}"`,
          hint: `add ${String(last)}:`,
        },
      ];
    case ValueErrorType.Union: {
      const variant = variantFor(error.schema, error.value);
      if (variant) {
        const inner = schemaProblems(variant, error.value, path);
        if (inner.length > 0) return inner;
      }
      return [
        {
          path,
          atKey: false,
          message: `expected ${[...new Set(schemaTypes(error.schema))].join(" or ")}, found ${describeType(error.value)}`,
        },
      ];
    }
    case ValueErrorType.StringPattern:
      if (error.schema.pattern === ENV_NAME.source) {
        return [
          {
            path,
            atKey: false,
            message: `"${String(error.value)}" is not a valid environment variable name`,
            hint: "use letters, digits and _ only, not starting with a digit (e.g. OPENAI_API_KEY)",
          },
        ];
      }
      return [
        {
          path,
          atKey: false,
          message: `"${String(error.value)}" does not match ${String(error.schema.pattern)}`,
        },
      ];
    case ValueErrorType.Literal:
      return [{ path, atKey: false, message: `expected ${JSON.stringify(error.schema.const)}` }];
    default:
      return [
        {
          path,
          atKey: false,
          message: `expected ${schemaTypes(error.schema).join(" or ")}, found ${describeType(error.value)}`,
        },
      ];
  }
}
