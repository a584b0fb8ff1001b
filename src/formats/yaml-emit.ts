/**
 * A small block-style YAML emitter for the artifacts Tessera writes (Kubernetes objects, compose
 * files). Strings are plain only when every YAML reader (1.1 and 1.2, Go's, Python's, JavaScript's)
 * reads them back as the same string; everything else is double-quoted with every character outside
 * YAML's printable set escaped (see yamlQuote), so values arrive byte for byte.
 */
import { yamlQuote } from "./encoders.js";

export type YamlValue =
  | string
  | number
  | boolean
  | null
  | YamlValue[]
  | { [key: string]: YamlValue | undefined };

const PLAIN = /^[A-Za-z_/.][A-Za-z0-9_./:@-]*$/;
/** Words some YAML reader (1.1's booleans and nulls, 1.2's core schema) would not read as a string. */
const SPECIAL =
  /^(null|Null|NULL|~|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN)$/;

/** A string as a scalar: plain when unambiguous everywhere, otherwise double-quoted. */
export function scalar(text: string): string {
  if (
    PLAIN.test(text) &&
    !SPECIAL.test(text) &&
    !/^[eE][0-9]/.test(text) &&
    !text.endsWith(":") &&
    !text.includes(": ")
  ) {
    return text;
  }
  return yamlQuote(text);
}

function key(text: string): string {
  return scalar(text);
}

function emitValue(value: YamlValue): string {
  if (value === null) return "null";
  if (typeof value === "string") return scalar(value);
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  throw new Error("emitValue: a collection needs emitBlock");
}

function isEmptyCollection(value: YamlValue): boolean {
  return (
    (Array.isArray(value) && value.length === 0) ||
    (isObject(value) && Object.values(value).every((item) => item === undefined))
  );
}

function isObject(value: YamlValue): value is { [key: string]: YamlValue | undefined } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Lines of a block mapping or sequence at `indent`. */
function emitBlock(value: YamlValue, indent: string): string[] {
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if ((isObject(item) || Array.isArray(item)) && !isEmptyCollection(item)) {
        const inner = emitBlock(item, `${indent}  `);
        lines.push(`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1));
      } else {
        lines.push(`${indent}- ${Array.isArray(item) ? "[]" : isObject(item) ? "{}" : emitValue(item)}`);
      }
    }
    return lines;
  }
  if (isObject(value)) {
    for (const [name, item] of Object.entries(value)) {
      if (item === undefined) continue;
      if ((isObject(item) || Array.isArray(item)) && !isEmptyCollection(item)) {
        lines.push(`${indent}${key(name)}:`);
        lines.push(...emitBlock(item, Array.isArray(item) ? indent : `${indent}  `));
      } else {
        lines.push(
          `${indent}${key(name)}: ${Array.isArray(item) ? "[]" : isObject(item) ? "{}" : emitValue(item)}`,
        );
      }
    }
    return lines;
  }
  return [`${indent}${emitValue(value)}`];
}

/** One YAML document; `comment` lines go on top. */
export function emitYaml(value: YamlValue, comment?: string): string {
  return `${commentLines(comment)}${emitBlock(value, "").join("\n")}\n`;
}

function commentLines(comment: string | undefined): string {
  if (!comment) return "";
  return `${comment
    .split("\n")
    .map((line) => `# ${line}`.trimEnd())
    .join("\n")}\n`;
}

/** Several documents in one stream. */
export function emitYamlDocuments(values: readonly YamlValue[], comment?: string): string {
  return commentLines(comment) + values.map((value) => `---\n${emitBlock(value, "").join("\n")}\n`).join("");
}
