/**
 * What `tessera var import` reads and `tessera var export` writes. Stored values are templates (`$OTHER`
 * is an alias, `$$` a literal `$`), so every format keeps that meaning:
 *
 * - dotenv (the Compose dialect of our parser): imported as the parser reads it (single quotes literal,
 *   unquoted and double quotes interpolated); exported literal values quoted by the dotenv encoder, and
 *   templates double-quoted, so that a re-import gives the same template.
 * - ploinky (`.ploinky/.secrets`, as Ploinky's secretVars reads it): `#` lines and blank lines skipped,
 *   CRLF line ends stripped, KEY before the first `=` (trimmed), the value after it byte for byte, the
 *   last duplicate wins. A value that is exactly `$NAME` is an alias; any other value is literal (in
 *   Ploinky `pre$X` is literal too; a value like `$X/y` resolved to an empty string there: we keep it
 *   literally and say so). Exported only when Ploinky can read the value back the same.
 * - json: `{NAME: stored template}`.
 */
import type { Diagnostic } from "../errors.js";
import { TesseraError } from "../errors.js";
import { invalidNameWarning, parseDotenv } from "../formats/dotenv.js";
import { dotenvQuote } from "../formats/encoders.js";
import { ENV_NAME } from "../model/spec.js";
import { isAlias, isLiteral, parseTemplate, type Template, templateText } from "../model/template.js";

export type ImportFormat = "dotenv" | "ploinky";
export type ExportFormat = "dotenv" | "ploinky" | "json";

export interface Imported {
  /** Name → template text, in file order (the last duplicate's value, at its first position). */
  values: Map<string, string>;
  warnings: Diagnostic[];
}

const ALIAS = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

/** A literal value as a stored template. */
export function literalText(value: string): string {
  return value.replaceAll("$", () => "$$");
}

export function parsePloinkySecrets(text: string, file: string): Imported {
  const values = new Map<string, string>();
  const warnings: Diagnostic[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const at = { file, line: index + 1 };
    if (line.trim() === "" || line.trim().startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      warnings.push({ code: "W_LINE_SKIPPED", message: "a line without NAME= is skipped", location: at });
      return;
    }
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1);
    if (!ENV_NAME.test(name)) {
      warnings.push(invalidNameWarning(name, at, "skipped"));
      return;
    }
    if (ALIAS.test(value)) {
      values.set(name, value);
      return;
    }
    if (value.startsWith("$")) {
      warnings.push({
        code: "W_NOT_ALIAS",
        message: `${name}'s value starts with $ but is not an alias of one variable: it is imported as literal text (Ploinky resolved it to an empty string)`,
        location: at,
      });
    }
    values.set(name, literalText(value));
  });
  return { values, warnings };
}

export function parseDotenvForImport(text: string, file: string): Imported {
  const parsed = parseDotenv(text, file);
  const values = new Map<string, string>();
  const warnings: Diagnostic[] = [];
  for (const entry of parsed.entries) {
    if (!ENV_NAME.test(entry.key)) {
      warnings.push(invalidNameWarning(entry.key, { file, line: entry.line }, "skipped"));
      continue;
    }
    values.set(entry.key, templateText(entry.value));
  }
  for (const bare of parsed.bare) {
    warnings.push({
      code: "W_LINE_SKIPPED",
      // A bare word may be a value pasted on a line of its own: named by its line only.
      message: "this line has a word and no value; it is skipped",
      location: { file, line: bare.line },
    });
  }
  return { values, warnings };
}

/** A stored template in the Compose dotenv dialect, read back by our parser as the same template. */
function dotenvTemplate(text: string, template: Template): string {
  if (isLiteral(template)) return dotenvQuote(template.join(""));
  // Double quotes: escapes are decoded first, then the text is interpolated, so only the escape
  // characters are escaped and every `$` is left to interpolation (`$$` stays a literal `$`).
  let out = '"';
  for (const c of text) {
    if (c === "\\") out += "\\\\";
    else if (c === '"') out += '\\"';
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else out += c;
  }
  return `${out}"`;
}

export function exportStore(values: ReadonlyMap<string, string>, format: ExportFormat): string {
  const names = [...values.keys()].sort();
  if (format === "json") {
    const out: Record<string, string> = {};
    for (const name of names) out[name] = values.get(name)!;
    return `${JSON.stringify(out, null, 2)}\n`;
  }
  const lines: string[] = [];
  for (const name of names) {
    const text = values.get(name)!;
    const template = parseTemplate(text);
    if (format === "dotenv") {
      lines.push(`${name}=${dotenvTemplate(text, template)}\n`);
      continue;
    }
    lines.push(`${name}=${ploinkyValue(name, text, template)}\n`);
  }
  return lines.join("");
}

/** A value as Ploinky's .secrets carries it, or a refusal naming the variable and why. */
function ploinkyValue(name: string, text: string, template: Template): string {
  const refuse = (why: string) =>
    new TesseraError(
      "E_VALUE_UNREPRESENTABLE",
      `the value of ${name} ${why}, which Ploinky's .secrets cannot carry`,
      {
        hint: "export with --format dotenv or --format json",
      },
    );
  if (isAlias(template)) {
    const only = template[0];
    if (typeof only === "object" && text === `$${only.name}`) return text;
    if (typeof only === "object") return `$${only.name}`;
  }
  if (!isLiteral(template)) throw refuse("is a template other than a plain alias");
  const value = template.join("");
  if (value.includes("\n")) throw refuse("contains a line break");
  if (value.endsWith("\r")) throw refuse("ends with a carriage return");
  if (value.startsWith("$")) throw refuse("starts with $ (Ploinky would read it as an alias)");
  return value;
}
