/**
 * The `.env` parser: the Docker Compose dialect, with compose-go as the reference behaviour.
 *
 * - `export ` prefix; `#` comments where a statement could start; `KEY=value` or `KEY: value`
 * - unquoted: to end of line, cut at the first " #", trailing whitespace trimmed, no escapes, interpolated
 * - 'single': literal (only \' is special), may span lines, never interpolated
 * - "double": escapes \a \b \f \n \r \t \v \\ \$ and octal \0NNN decoded, then interpolated; may span lines
 * - after a closing quote, parsing continues on the same line (`A="x" B=y` sets two keys)
 * - `KEY=` is empty; a bare `KEY` (a line holding only a name) takes KEY from the environment, which
 *   the reader supplies (`withEnvironment`); the last duplicate wins
 * - keys may hold `. - [ ]` as in Compose (`VAR.WITH.DOTS`); which names a reader keeps is its own rule
 *   (model/names.ts)
 *
 * Each entry says where it is (`span`, `endLine`), so that other readers of the same file can be
 * compared line by line (dotenv-dialect.ts).
 *
 * Deliberate differences from compose-go: a bare word on the last line is a bare key (compose-go stores
 * it under the empty key), an unterminated quote is reported at the line where it opened, octal escapes
 * above \0177 are kept as written, and no error message ever quotes a value: a key is named only when
 * it is a valid variable name (anything else on a line may be part of a pasted secret), a bad character
 * only by its column.
 */
import { type Diagnostic, type Location, TesseraError } from "../errors.js";
import { ENV_NAME } from "../model/spec.js";
import { literal, parseTemplate, type Template, TemplateSyntaxError } from "../model/template.js";

export type Quote = "none" | "single" | "double";

/**
 * Where a statement is in the text given to the parser (a byte-order mark included): UTF-16 offsets,
 * `start` at its first character (`export ` included), `valueStart` at the value's first character (an
 * opening quote included; `end` for a bare key), `end` just after a closing quote, or for an unquoted
 * value or a bare key at the end of its line (a comment included).
 */
export interface Span {
  start: number;
  valueStart: number;
  end: number;
}

export interface DotenvEntry {
  key: string;
  line: number;
  /** The value as a template (a literal one for single quotes). */
  value: Template;
  quote: Quote;
  /** The last line of the statement (a quoted value may span lines). */
  endLine: number;
  span: Span;
  /** Set on entries `withEnvironment` made from a bare key: the value is the environment's. */
  fromEnvironment?: true | undefined;
}

/** A line holding only `KEY`: Compose takes KEY from the environment. */
export interface DotenvBare {
  key: string;
  line: number;
  fromEnvironment: true;
  span: Span;
}

export interface DotenvFile {
  /** `KEY=value` statements, in file order. */
  entries: DotenvEntry[];
  /** Keys listed without a value (`KEY` alone on a line), in file order: taken from the environment. */
  bare: DotenvBare[];
}

/** Go's `isSpace` in the parser: TAB, VT, FF, CR, SPACE, U+0085, U+00A0 (no LF). */
function isInlineSpace(c: string): boolean {
  return (
    c === " " || c === "\t" || c === "\v" || c === "\f" || c === "\r" || c === "\u0085" || c === "\u00a0"
  );
}

/** Go's `unicode.IsSpace`. */
function isUnicodeSpace(c: string): boolean {
  if (isInlineSpace(c) || c === "\n") return true;
  const code = c.charCodeAt(0);
  return (
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

const KEY_CHAR = /^[\p{L}\p{N}_.\-[\]]$/u;
const PLAIN_KEY = /[A-Za-z0-9_]+/y;

function trimRightUnicode(text: string): string {
  let end = text.length;
  while (end > 0 && isUnicodeSpace(text[end - 1]!)) end--;
  return text.slice(0, end);
}

export function parseDotenv(input: string, file: string): DotenvFile {
  const bom = input.charCodeAt(0) === 0xfeff ? 1 : 0;
  const text = bom ? input.slice(1) : input;
  const entries: DotenvEntry[] = [];
  const bare: DotenvBare[] = [];
  let i = 0;
  let line = 1;
  const fail = (message: string, atLine: number, hint?: string): never => {
    throw new TesseraError("E_DOTENV_SYNTAX", message, { location: { file, line: atLine }, hint });
  };

  while (i < text.length) {
    // Skip whitespace and full-line comments before a statement.
    const c = text[i]!;
    if (isUnicodeSpace(c)) {
      if (c === "\n") line++;
      i++;
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    const statementLine = line;
    const statementStart = i;
    const span = (valueStart: number, end: number): Span => ({
      start: statementStart + bom,
      valueStart: valueStart + bom,
      end: end + bom,
    });
    // `export` followed by inline space is dropped, once.
    if (text.startsWith("export", i) && i + 6 < text.length && isInlineSpace(text[i + 6]!)) {
      i += 6;
      while (i < text.length && isInlineSpace(text[i]!)) i++;
    }
    // The key runs to the first `=`, `:` or end of line. Most keys are plain ASCII names: match those at
    // once, and look at the rest character by character.
    const keyStart = i;
    let separator: string | undefined;
    PLAIN_KEY.lastIndex = i;
    if (PLAIN_KEY.test(text)) i = PLAIN_KEY.lastIndex;
    while (i < text.length) {
      const k = text[i]!;
      if (k === "=" || k === ":" || k === "\n") {
        separator = k;
        break;
      }
      if (!isInlineSpace(k) && !KEY_CHAR.test(k)) {
        // The character itself is not shown: the "name" may be a secret pasted on a line of its own.
        const column = i - text.lastIndexOf("\n", i - 1);
        throw new TesseraError(
          "E_DOTENV_SYNTAX",
          `a variable name cannot contain the character at column ${column}`,
          {
            location: { file, line: statementLine, column },
            hint:
              k === "#"
                ? "comments start a line, or follow a value after a space"
                : k === '"' || k === "'"
                  ? "a quoted value follows NAME= (or NAME:)"
                  : "names use letters, digits and _ (Compose also allows . - [ ]); a line that is not NAME=value does not belong in a .env file",
          },
        );
      }
      i++;
    }
    const key = trimRightUnicode(text.slice(keyStart, i));
    if (key.includes(" ")) fail("a variable name cannot contain a space", statementLine, "write KEY=value");
    if (separator === undefined || separator === "\n") {
      // A bare key: its value is the environment's.
      bare.push({ key, line: statementLine, fromEnvironment: true, span: span(i, i) });
      continue;
    }
    i++; // past the separator
    while (i < text.length && isInlineSpace(text[i]!)) i++;
    const valueStart = i;
    const quote = text[i];
    if (quote === "'" || quote === '"') {
      const openLine = line;
      let escaped = false;
      let chars = "";
      let closed = false;
      for (i++; i < text.length; i++) {
        const q = text[i]!;
        if (q === "\n") line++;
        if (q !== quote) {
          if (!escaped && q === "\\") {
            escaped = true;
            continue;
          }
          if (escaped) {
            escaped = false;
            chars += "\\";
          }
          chars += q;
          continue;
        }
        if (escaped) {
          escaped = false;
          chars += q;
          continue;
        }
        closed = true;
        i++;
        break;
      }
      if (!closed) {
        fail(
          `unterminated ${quote === '"' ? "double" : "single"}-quoted value for ${shownKey(key)}`,
          openLine,
          `close the value with ${quote}, or escape a ${quote} inside it as \\${quote}`,
        );
      }
      const at = { line: statementLine, endLine: line, span: span(valueStart, i) };
      if (quote === "'") {
        entries.push({ key, value: literal(chars), quote: "single", ...at });
      } else {
        entries.push({
          key,
          value: template(decodeEscapes(chars), file, statementLine, key),
          quote: "double",
          ...at,
        });
      }
      continue;
    }
    let end = text.indexOf("\n", i);
    if (end === -1) end = text.length;
    let raw = text.slice(i, end);
    const comment = raw.indexOf(" #");
    if (comment !== -1) raw = raw.slice(0, comment);
    raw = trimRightUnicode(raw);
    entries.push({
      key,
      line: statementLine,
      value: template(raw, file, statementLine, key),
      quote: "none",
      endLine: statementLine,
      span: span(valueStart, end),
    });
    i = end;
  }
  return { entries, bare };
}

/**
 * The file's statements in file order, each bare key answered by `lookup` (Compose: a line holding only
 * NAME takes NAME from the environment): an entry with the environment's value, never interpolated, and
 * `fromEnvironment` set. A bare key `lookup` does not answer adds nothing, so an earlier `NAME=value`
 * stays. `lookup` is asked about every bare key, whatever its name (a pasted secret on a line of its
 * own too): it must only look up, never report.
 */
export function withEnvironment(
  file: DotenvFile,
  lookup: (name: string) => string | undefined,
): DotenvEntry[] {
  if (file.bare.length === 0) return file.entries;
  const found: DotenvEntry[] = [];
  for (const bare of file.bare) {
    const value = lookup(bare.key);
    if (value === undefined) continue;
    found.push({
      key: bare.key,
      line: bare.line,
      value: literal(value),
      quote: "none",
      endLine: bare.line,
      span: bare.span,
      fromEnvironment: true,
    });
  }
  return [...file.entries, ...found].sort((a, b) => a.span.start - b.span.start);
}

/**
 * A key as a message may name it: a valid variable name is a variable's name; anything else is text
 * of the file (a line of a pasted secret, say), never shown.
 */
export function shownKey(key: string): string {
  return ENV_NAME.test(key) ? key : "the variable on this line";
}

/**
 * The warning for an entry whose name is not a valid environment variable name. The name is not shown:
 * it is text of a value file, and may be part of a value (`API_KEY=SEKRET…` as a YAML key, a secret
 * pasted on a line of its own); the file and line say where it is.
 */
export function invalidNameWarning(key: string, location: Location, outcome = "ignored"): Diagnostic {
  return {
    code: "W_NAME_INVALID",
    message:
      key === ""
        ? `an entry has an empty name; it is ${outcome}`
        : `the name on this line is not a valid environment variable name; the entry is ${outcome}`,
    location,
    hint: "use letters, digits and _, not starting with a digit (a .env file also allows . - [ ])",
  };
}

function template(text: string, file: string, line: number, key: string): Template {
  try {
    return parseTemplate(text);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    throw new TesseraError("E_TEMPLATE_SYNTAX", `the value of ${shownKey(key)}: ${error.message}`, {
      location: { file, line },
      hint: "a literal $ is written $$ (or put the value in single quotes, which are never interpolated)",
    });
  }
}

const ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
  // `\$` is a literal dollar: written `$$` so that interpolation keeps it.
  $: "$$",
};

/** Decode the escapes of a double-quoted value, left to right, as compose-go does. */
export function decodeEscapes(text: string): string {
  if (!text.includes("\\")) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c !== "\\" || next === undefined) {
      out += c;
      continue;
    }
    if (next === "0") {
      let j = i + 2;
      while (j < text.length && j < i + 5 && text[j]! >= "0" && text[j]! <= "9") j++;
      const digits = text.slice(i + 2, j);
      if (/^[0-7]{3}$/.test(digits) && Number.parseInt(digits, 8) <= 0o177) {
        out += String.fromCharCode(Number.parseInt(digits, 8));
      } else {
        out += `\\${digits}`; // compose-go keeps the rewritten text, without the 0
      }
      i = j - 1;
      continue;
    }
    const decoded = ESCAPES[next];
    if (decoded !== undefined) {
      out += decoded;
      i++;
    } else {
      out += c; // unknown escapes (and \c) keep their backslash
    }
  }
  return out;
}
