/**
 * Schema validation with messages a person can act on: unknown keys get a "did you mean",
 * unions are explained by the variant that matches the value's shape.
 */
import { KindGuard, type Static, type TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import { closest } from "../errors.js";
import { isRecord, propertyOf } from "../model/guards.js";
import { ENV_NAME, type StoreType } from "../model/spec.js";
import { type StoreSourceEntry, storeSchema } from "./schema.js";

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

/** What a number must be: "an integer from 1 to 65535", "a number of at least 0". */
function range(schema: TSchema): string {
  const what = schema.type === "integer" ? "an integer" : "a number";
  const min: unknown = schema.minimum;
  const max: unknown = schema.maximum;
  if (typeof min === "number" && typeof max === "number") return `${what} from ${min} to ${max}`;
  if (typeof min === "number") return `${what} of at least ${min}`;
  if (typeof max === "number") return `${what} of at most ${max}`;
  return what;
}

/** The variants of a union (`anyOf`); none for any other schema. */
function variants(schema: TSchema): TSchema[] {
  const anyOf: unknown = schema.anyOf;
  return Array.isArray(anyOf) ? anyOf.filter(KindGuard.IsSchema) : [];
}

/** The schemas of an object's properties, by name. */
function propertySchemas(schema: TSchema): [string, TSchema][] {
  const properties: unknown = schema.properties;
  if (!isRecord(properties)) return [];
  return Object.entries(properties).flatMap(([key, property]): [string, TSchema][] =>
    KindGuard.IsSchema(property) ? [[key, property]] : [],
  );
}

/** The names of a schema's fields (`properties` or `patternProperties`). */
function keysOf(fields: unknown): string[] {
  return isRecord(fields) ? Object.keys(fields) : [];
}

function schemaTypes(schema: TSchema): string[] {
  if (Array.isArray(schema.anyOf)) return variants(schema).flatMap(schemaTypes);
  if (schema.const !== undefined) return [JSON.stringify(schema.const)];
  const type: unknown = schema.type;
  if (type === "object") return ["a mapping"];
  if (type === "array") return ["a list"];
  if (type === "integer") return ["an integer"];
  return type ? [`a ${type}`] : ["a value"];
}

function variantFor(schema: TSchema, value: unknown): TSchema | undefined {
  const type = jsonType(value);
  const matching = variants(schema).filter((variant) => {
    if (variant.const !== undefined) return typeof variant.const === typeof value;
    if (variant.type === "integer") return type === "number";
    return variant.type === type;
  });
  if (matching.length === 0) return undefined;
  if (matching.length === 1) return matching[0];
  // Several object variants (e.g. source types): prefer one whose literal fields match.
  const best = matching.find((variant) =>
    propertySchemas(variant).some(
      ([key, property]) => property.const !== undefined && propertyOf(value, key) === property.const,
    ),
  );
  return best ?? matching[matching.length - 1];
}

/**
 * Whether `value` matches `schema`: the one place where a manifest's data of unknown shape becomes the
 * schema's type. When it does not, each problem (most specific first) goes to `report`, at least one.
 */
export function validate<T extends TSchema>(
  schema: T,
  value: unknown,
  report: (problem: SchemaProblem) => void,
  prefix: (string | number)[] = [],
): value is Static<T> {
  if (Value.Check(schema, value)) return true;
  const problems = schemaProblems(schema, value, prefix);
  if (problems.length === 0) problems.push({ path: prefix, atKey: false, message: "not valid here" });
  for (const problem of problems) report(problem);
  return false;
}

/** Whether `value` is a valid source of store `type` (see StoreSourceEntry); problems go to `report`. */
export function validStoreEntry(
  type: StoreType,
  value: unknown,
  report: (problem: SchemaProblem) => void,
  prefix: (string | number)[] = [],
): value is StoreSourceEntry {
  return validate(storeSchema(type), value, report, prefix);
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
      const allowed = keysOf(error.schema.properties);
      const patterns = keysOf(error.schema.patternProperties);
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
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.NumberMinimum:
      return [
        { path, atKey: false, message: `${String(error.value)} is out of range: ${range(error.schema)}` },
      ];
    case ValueErrorType.Integer:
      if (typeof error.value === "number") {
        return [
          {
            path,
            atKey: false,
            message: `${String(error.value)} is not a whole number: ${range(error.schema)}`,
          },
        ];
      }
      return [
        {
          path,
          atKey: false,
          message: `expected ${range(error.schema)}, found ${describeType(error.value)}`,
        },
      ];
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
