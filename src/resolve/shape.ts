/**
 * Typed values (issue 12): what a declared value must look like (`type:`, `enum:`, `pattern:`, …),
 * checked after resolution and before anything runs. Pure: it reads the Resolution and the Spec.
 *
 * A problem names the variable, the rule in words and where the value came from — never the value,
 * not even for config ("is not a port (1–65535)", not what it is).
 */
import { type Location, TesseraError } from "../errors.js";
import { effectiveDeclarations, type Spec, type ValueShape, type ValueType } from "../model/spec.js";
import type { Resolution } from "./resolve.js";

export interface ShapeProblem {
  name: string;
  kind: "secret" | "config";
  /** The rules the value breaks, in words ("is not a port (1–65535)"). */
  rules: string[];
  /** Where the value came from (the winning origin's `where`). */
  where?: string;
  location?: Location;
}

const BOOLEAN_TRUE = new Set(["true", "1", "yes"]);
const BOOLEAN_FALSE = new Set(["false", "0", "no"]);
const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PEM = /^\s*-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?\r?\n?-----END \1-----\s*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** The types whose values are numbers (min/max compare them as numbers). */
export const NUMERIC_TYPES: readonly ValueType[] = ["port", "integer", "number"];

/** The effective type of a shape: `enum:` alone means type enum. */
export function shapeType(shape: ValueShape | undefined): ValueType | undefined {
  return shape?.type ?? (shape?.enum ? "enum" : undefined);
}

/** Parse a boolean as the checker accepts it: true/false/1/0/yes/no, any case. */
export function parseBoolean(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  if (BOOLEAN_TRUE.has(lower)) return true;
  if (BOOLEAN_FALSE.has(lower)) return false;
  return undefined;
}

function isHostname(text: string): boolean {
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) => HOSTNAME_LABEL.test(label));
}

function isUrl(text: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(text) || /\s/.test(text)) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The rule a type states, in words, and whether a value fits it. */
const TYPE_RULES: Record<
  Exclude<ValueType, "enum" | "string">,
  { words: string; fits(text: string): boolean }
> = {
  url: { words: "is not a URL (scheme://…)", fits: isUrl },
  port: {
    words: "is not a port (1–65535)",
    fits: (text) => INTEGER.test(text) && Number(text) >= 1 && Number(text) <= 65535 && !/^[+-]/.test(text),
  },
  integer: {
    words: "is not an integer",
    fits: (text) => INTEGER.test(text) && Number.isSafeInteger(Number(text)),
  },
  number: { words: "is not a number", fits: (text) => NUMBER.test(text) && Number.isFinite(Number(text)) },
  boolean: {
    words: "is not a boolean (true, false, 1, 0, yes, no)",
    fits: (text) => parseBoolean(text) !== undefined,
  },
  email: { words: "is not an email address", fits: (text) => EMAIL.test(text) },
  json: { words: "is not valid JSON", fits: isJson },
  pem: { words: "is not a PEM block (-----BEGIN …----- … -----END …-----)", fits: (text) => PEM.test(text) },
  base64: {
    words: "is not base64",
    fits: (text) => {
      const compact = text.replace(/\s+/g, "");
      return compact.length > 0 && (BASE64.test(compact) || BASE64URL.test(compact));
    },
  },
  duration: {
    words: "is not a duration (a number and ms, s, m, h or d: 30s, 1h30m)",
    fits: (text) => DURATION.test(text),
  },
  hostname: { words: "is not a hostname", fits: isHostname },
};

/** The pattern as a RegExp, anchored: the whole value must match. Throws a SyntaxError for a bad one. */
export function anchoredPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, "u");
}

/** The rules `text` breaks, in words (empty when it fits). Never includes the text. */
export function brokenRules(text: string, shape: ValueShape): string[] {
  const broken: string[] = [];
  const type = shapeType(shape);
  if (type === "enum") {
    if (shape.enum && !shape.enum.includes(text)) broken.push(`is not one of: ${shape.enum.join(", ")}`);
  } else if (type && type !== "string") {
    const rule = TYPE_RULES[type];
    if (!rule.fits(text)) broken.push(rule.words);
    if (shape.enum && !shape.enum.includes(text)) broken.push(`is not one of: ${shape.enum.join(", ")}`);
  }
  if (shape.pattern !== undefined) {
    let fits = false;
    try {
      fits = anchoredPattern(shape.pattern).test(text);
    } catch {
      // A bad pattern is refused when the manifest is read.
    }
    if (!fits) broken.push(`does not match the pattern /${shape.pattern}/`);
  }
  if (shape.startsWith !== undefined && !text.startsWith(shape.startsWith)) {
    broken.push(`does not start with ${JSON.stringify(shape.startsWith)}`);
  }
  const length = [...text].length;
  if (shape.minLength !== undefined && length < shape.minLength) {
    broken.push(`is shorter than ${shape.minLength} characters`);
  }
  if (shape.maxLength !== undefined && length > shape.maxLength) {
    broken.push(`is longer than ${shape.maxLength} characters`);
  }
  if (shape.min !== undefined || shape.max !== undefined) {
    const number = NUMBER.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    if (Number.isNaN(number)) {
      if (!type || !NUMERIC_TYPES.includes(type)) broken.push("is not a number");
    } else {
      if (shape.min !== undefined && number < shape.min) broken.push(`is less than ${shape.min}`);
      if (shape.max !== undefined && number > shape.max) broken.push(`is greater than ${shape.max}`);
    }
  }
  return broken;
}

/** Whether a shape states anything to check. */
export function hasRules(shape: ValueShape | undefined): shape is ValueShape {
  return shape !== undefined && Object.values(shape).some((value) => value !== undefined);
}

/** The shapes of the declared variables in effect (the profile's own shapes replace the manifest's). */
export function declaredShapes(spec: Spec | undefined, profile: string | undefined): Map<string, ValueShape> {
  const shapes = new Map<string, ValueShape>();
  if (!spec) return shapes;
  for (const declaration of effectiveDeclarations(spec, profile)) {
    if (declaration.wildcard || !hasRules(declaration.shape)) continue;
    shapes.set(declaration.name, declaration.shape);
  }
  return shapes;
}

/**
 * Every declared variable whose value does not fit its declared shape: its name, the rules in words
 * and where the value came from. An empty value of an optional variable is no value: not checked.
 */
export function checkShapes(resolution: Resolution, spec: Spec | undefined): ShapeProblem[] {
  const shapes = declaredShapes(spec, resolution.profile);
  const problems: ShapeProblem[] = [];
  if (shapes.size === 0) return problems;
  for (const variable of resolution.variables) {
    const shape = shapes.get(variable.name);
    if (!shape || variable.status !== "set" || !variable.value || variable.value.isEmpty) continue;
    const rules = brokenRules(variable.value.reveal(), shape);
    if (rules.length === 0) continue;
    const origin = variable.origin;
    problems.push({
      name: variable.name,
      kind: variable.kind,
      rules,
      where: origin?.where,
      location:
        origin?.file !== undefined
          ? { file: origin.file, line: origin.line, column: origin.column }
          : undefined,
    });
  }
  return problems;
}

/** One line for a problem: `PORT is not a port (1–65535) (value from .env:3)`. */
export function describeShapeProblem(problem: ShapeProblem): string {
  return `${problem.name} ${problem.rules.join("; ")}${problem.where ? ` (value from ${problem.where})` : ""}`;
}

/** E_VALUE_INVALID for values that do not fit, naming every failing variable (one detail line each). */
export class InvalidValuesError extends TesseraError {
  readonly problems: readonly ShapeProblem[];
  /** What was resolved, for reports that list the problems with the rest (check --json). */
  readonly resolved: unknown;

  constructor(problems: readonly ShapeProblem[], resolved?: unknown) {
    const [first] = problems;
    const headline =
      problems.length === 1 && first
        ? describeShapeProblem(first)
        : `${problems.length} variables have values that do not fit their declared type`;
    super("E_VALUE_INVALID", headline, {
      location: problems.length === 1 ? first?.location : undefined,
      details: problems.map(describeShapeProblem),
      hint: "fix the value where it is set (the manifest states the rule: type:, enum:, pattern:, …)",
    });
    this.problems = problems;
    this.resolved = resolved;
  }
}

/** The hook of the pipeline: throw E_VALUE_INVALID when a value does not fit. */
export function refuseInvalidValues(
  resolution: Resolution,
  spec: Spec | undefined,
  resolved?: unknown,
): void {
  const problems = checkShapes(resolution, spec);
  if (problems.length) throw new InvalidValuesError(problems, resolved);
}

/** A value as its type reads it: port/integer/number → number, boolean → boolean, json → parsed. */
export function coerce(text: string, shape: ValueShape | undefined): unknown {
  switch (shapeType(shape)) {
    case "port":
    case "integer":
    case "number":
      return Number(text.trim());
    case "boolean":
      return parseBoolean(text);
    case "json":
      return JSON.parse(text);
    default:
      return text;
  }
}
