/**
 * Dockrion and Ploinky read `.env` files with literal readers of their own, not in the Compose dialect
 * Tessera reads (dotenv.ts). For a file beside one of their manifests, `dialectDiagnostics` compares the
 * two readings and warns (`W_DIALECT`) at each line where the other tool would get a different value, or
 * none: Tessera keeps one dialect (the one `docker compose` reads too), and the user rewrites the line so
 * that every reader agrees.
 *
 * The two readers, as their code does it (reimplemented from the behaviour, no code copied):
 *
 *   Ploinky   cli/services/masterKey.js parseKeyValueText, behind loadEnvFile (the nearest `.env` walking
 *             up from the workspace; AssistOS-AI/ploinky and OutfinityResearch/ploinky, 2026-05):
 *             split on LF or CR LF; each line trimmed; empty and `#` lines skipped; one `export ` dropped;
 *             NAME=value split at the first `=`, both sides trimmed; a line without `=` is read as
 *             `NAME value` when it starts with [A-Za-z_][A-Za-z0-9_]* and white space, else skipped;
 *             one pair of matching quotes around the value removed; nothing else: no escapes, no inline
 *             comments, no `$`, no value spans lines; an empty name is skipped; the last duplicate wins.
 *   Dockrion  packages/common-py/dockrion_common/env_utils.py _parse_dotenv (paritosh0707/Dockrion,
 *             2026-04), for `.env`, `.env.local` and `--env-file`: Python's universal newlines, then
 *             str.splitlines (also at VT, FF, FS, GS, RS, U+0085, U+2028, U+2029); each line stripped of
 *             Python white space; empty and `#` lines skipped; lines without `=` skipped; split at the
 *             first `=`, both sides stripped; one pair of matching quotes removed; `export ` is not
 *             understood (the name becomes `export NAME`); a byte-order mark stays part of the first
 *             line; no escapes, no inline comments, no `$`; the last duplicate wins.
 *
 * Not compared: bare keys (a line holding only NAME: Compose takes NAME from the environment, and both
 * tools read the environment for the names they use), and names that are not environment variable names
 * (the dotenv layer warns about those itself).
 *
 * No message quotes the file: a variable is named only when it is a valid shell-style name, every reason
 * is a fixed sentence, and the location is the file and line.
 */
import type { Diagnostic } from "../errors.js";
import { isEnvName } from "../model/names.js";
import type { ManifestKind } from "../model/spec.js";
import { isLiteral } from "../model/template.js";
import { type DotenvEntry, type DotenvFile, parseDotenv, shownKey } from "./dotenv.js";

export type DotenvDialect = "dockrion" | "ploinky";

/** One value as the literal reader reads it; `line` counts LF line breaks, as Tessera's parser does. */
export interface LiteralEntry {
  key: string;
  value: string;
  line: number;
}

const TOOL: Record<DotenvDialect, string> = { dockrion: "Dockrion", ploinky: "Ploinky" };

/**
 * Which reader a dotenv file gathered for a manifest of `kind` also has: Dockrion reads `.env`,
 * `.env.local` and any file given to its `--env-file` (its documented way to a profile), so every dotenv
 * file of a Dockfile project; Ploinky reads only files named `.env`.
 */
export function dialectFor(kind: ManifestKind | undefined, path: string): DotenvDialect | undefined {
  if (kind === "dockfile") return "dockrion";
  if (kind === "ploinky") return /(^|[/\\])\.env$/.test(path) ? "ploinky" : undefined;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// The literal readers

/** Python's str.isspace characters (what str.strip removes). */
const PY_SPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;
/** Where str.splitlines breaks, after universal newlines made every CR and CR LF a LF. */
const PY_LINE_BREAK = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/g;
const PLOINKY_SPACE_FORM = /^([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$/;

function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.test(text[start]!)) start++;
  while (end > start && PY_SPACE.test(text[end - 1]!)) end--;
  return text.slice(start, end);
}

function unquote(value: string): string {
  return (value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))
    ? value.slice(1, -1)
    : value;
}

/** The physical lines of `text` as `dialect` splits them, each with Tessera's line number. */
function* physicalLines(text: string, dialect: DotenvDialect): Generator<{ text: string; line: number }> {
  const breaks = dialect === "ploinky" ? /\r?\n/g : PY_LINE_BREAK;
  breaks.lastIndex = 0;
  let start = 0;
  let line = 1;
  for (const match of text.matchAll(breaks)) {
    yield { text: text.slice(start, match.index), line };
    if (match[0].endsWith("\n")) line++;
    start = match.index + match[0].length;
  }
  if (start < text.length) yield { text: text.slice(start), line };
}

/** Read `text` as Dockrion's or Ploinky's own reader does: every value in file order, duplicates kept. */
export function readLiteral(text: string, dialect: DotenvDialect): LiteralEntry[] {
  const out: LiteralEntry[] = [];
  for (const physical of physicalLines(text, dialect)) {
    let trimmed = dialect === "ploinky" ? physical.text.trim() : pyStrip(physical.text);
    if (!trimmed || trimmed.startsWith("#")) continue;
    let key: string;
    let value: string;
    if (dialect === "ploinky") {
      if (trimmed.startsWith("export ")) trimmed = trimmed.slice("export ".length).trim();
      const eq = trimmed.indexOf("=");
      if (eq >= 0) {
        key = trimmed.slice(0, eq).trim();
        value = trimmed.slice(eq + 1).trim();
      } else {
        const match = PLOINKY_SPACE_FORM.exec(trimmed);
        if (!match) continue;
        key = match[1]!;
        value = match[2]!.trim();
      }
      // Ploinky's map is a plain object: assigning `__proto__` keeps nothing.
      if (key === "__proto__") continue;
    } else {
      const eq = trimmed.indexOf("=");
      if (eq < 0) continue;
      key = pyStrip(trimmed.slice(0, eq));
      value = pyStrip(trimmed.slice(eq + 1));
    }
    if (!key) continue;
    out.push({ key, value: unquote(value), line: physical.line });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The comparison

interface Reason {
  text: string;
  hint: string;
}

function lastByKey<T extends { key: string }>(entries: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const entry of entries) {
    map.delete(entry.key); // keep file order of the last occurrence
    map.set(entry.key, entry);
  }
  return map;
}

/** Where each physical line starts (line n starts at starts[n - 1]), counting LF only. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

const ESCAPE_DOUBLE = /\\(?:[abfnrtv\\"$]|0)/;
const PYTHON_ONLY_BREAK = /^[\v\f\x1c-\x1e\x85\u2028\u2029]$/;

/** input[start, end) holds a line break for Python that is none for Tessera (a CR of a CR LF is not). */
function breaksLineForPython(input: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = input[i]!;
    if ((c === "\r" && input[i + 1] !== "\n") || PYTHON_ONLY_BREAK.test(c)) return true;
  }
  return false;
}

/**
 * W_DIALECT diagnostics for a dotenv file that `dialect`'s tool also reads: one per variable whose value
 * that tool reads differently from Tessera (or not at all), at the line Tessera takes it from, and one per
 * line that tool reads as a variable inside a value Tessera reads as spanning lines. `parsed` is the
 * file as parseDotenv read it (parsed again when not given: a syntax error throws E_DOTENV_SYNTAX).
 */
export function dialectDiagnostics(
  input: string,
  file: string,
  dialect: DotenvDialect,
  parsed: DotenvFile = parseDotenv(input, file),
): Diagnostic[] {
  const tool = TOOL[dialect];
  const starts = lineStarts(input);
  const lineEnd = (line: number): number => {
    const next = starts[line];
    return next === undefined ? input.length : next - 1;
  };
  const diagnostics: { line: number; diagnostic: Diagnostic }[] = [];
  const warn = (line: number, message: string, reasons: readonly Reason[]): void => {
    const hints = [...new Set(reasons.map((reason) => reason.hint))];
    diagnostics.push({
      line,
      diagnostic: {
        code: "W_DIALECT",
        message: `${message}: ${reasons.map((reason) => reason.text).join("; ")}`,
        location: { file, line },
        hint: hints.join("; "),
      },
    });
  };

  const compose = lastByKey(parsed.entries.filter((entry) => isEnvName(entry.key)));
  const literal = lastByKey(readLiteral(input, dialect).filter((entry) => isEnvName(entry.key)));
  // Lines inside a quoted value that spans lines (not its first line).
  const spanned = (line: number): boolean =>
    parsed.entries.some((entry) => entry.line < line && line <= entry.endLine);

  // Lines the literal reader reads as variables of their own, inside a value that spans lines.
  const inside = new Set<string>();
  for (const [key, entry] of literal) {
    if (!spanned(entry.line)) continue;
    inside.add(key);
    // Never named: for Tessera (and Compose) this line is text of a value.
    warn(entry.line, `${tool} reads this line as a variable of its own`, [
      {
        text: "the line is inside a quoted value that spans lines, which it reads line by line",
        hint: "keep a value of several lines out of this file (tessera var set stores it in the workspace store)",
      },
    ]);
  }

  for (const [key, entry] of compose) {
    if (inside.has(key)) continue;
    const other = literal.get(key);
    const value = isLiteral(entry.value) ? entry.value.join("") : undefined;
    if (other !== undefined && value !== undefined && other.value === value) continue;
    const reasons = explain(entry, dialect, tool, input, starts, lineEnd);
    if (other === undefined) {
      warn(
        entry.line,
        `${tool} does not read ${key === shownKey(key) ? key : "the variable on this line"}`,
        reasons.length
          ? reasons
          : [{ text: "it skips this line", hint: "write the line as NAME=value, alone on its line" }],
      );
    } else {
      warn(
        entry.line,
        `${tool} reads ${key === shownKey(key) ? `the value of ${key}` : "the value on this line"} differently`,
        reasons.length
          ? reasons
          : [
              {
                text: "it trims white space or removes quotes in its own way",
                hint: "write NAME=value or NAME='value', without white space around the value",
              },
            ],
      );
    }
  }
  return diagnostics.sort((a, b) => a.line - b.line).map((entry) => entry.diagnostic);
}

/** Why the literal reader reads this statement differently, from the statement's own text. */
function explain(
  entry: DotenvEntry,
  dialect: DotenvDialect,
  tool: string,
  input: string,
  starts: readonly number[],
  lineEnd: (line: number) => number,
): Reason[] {
  const reasons: Reason[] = [];
  const { start, valueStart, end } = entry.span;
  const lineStart = starts[entry.line - 1]!;
  const before = input.slice(lineStart, start);
  const statement = input.slice(start, end);

  if (dialect === "dockrion" && lineStart === 0 && input.charCodeAt(0) === 0xfeff && !before.slice(1).trim())
    reasons.push({
      text: "it reads the byte-order mark at the start of the file as part of the name",
      hint: "save the file as UTF-8 without a byte-order mark",
    });
  if (dialect === "dockrion" && /^export[ \t]/.test(statement))
    reasons.push({
      text: "it does not understand `export `, and reads the word as part of the name",
      hint: "drop `export ` from the line",
    });
  if (dialect === "ploinky" && /^export[\t\v\f\r\u0085\u00a0]/.test(statement))
    reasons.push({
      text: "it drops `export` only when one space follows it, and reads the word as part of the name here",
      hint: "write `export NAME=value` with a single space, or drop `export `",
    });
  if (before.trim())
    reasons.push({
      text: "it reads one variable per line, and this one follows another on the same line",
      hint: "put each variable on a line of its own",
    });
  let separator = valueStart - 1;
  while (separator > start && /[ \t\v\f\r\u0085\u00a0]/.test(input[separator]!)) separator--;
  if (input[separator] === ":")
    reasons.push({
      text: "it reads NAME=value lines only, not NAME: value",
      hint: "write NAME=value",
    });

  if (entry.quote !== "none") {
    const inner = input.slice(valueStart + 1, end - 1);
    if (entry.endLine > entry.line) {
      reasons.push({
        text: "it reads the file line by line, so a value cannot span lines: it keeps the opening quote and reads the first line only",
        hint: "keep a value of several lines out of this file (tessera var set stores it in the workspace store)",
      });
    } else if (input.slice(end, lineEnd(entry.endLine)).trim()) {
      reasons.push({
        text: "it keeps the quotes, because text follows the closing quote on this line",
        hint: "end the line at the closing quote; a comment goes on a line of its own",
      });
    }
    if (entry.quote === "double" && ESCAPE_DOUBLE.test(inner))
      reasons.push({
        text: 'it does not decode backslash escapes (it keeps \\n, \\t, \\" and \\\\ as written)',
        hint: "write the value without backslash escapes: in single quotes, both keep every backslash as written",
      });
    if (entry.quote === "single" && inner.includes("\\'"))
      reasons.push({
        text: "it keeps the backslash of \\' in single quotes",
        hint: "write a value holding ' in double quotes, without backslashes",
      });
  } else if (input.slice(valueStart, end).includes(" #")) {
    reasons.push({
      text: "it keeps the inline comment as part of the value",
      hint: "put the comment on a line of its own, or quote the whole value if the # belongs to it",
    });
  }
  if (entry.quote !== "single") {
    const raw =
      entry.quote === "double"
        ? input.slice(valueStart + 1, end - 1)
        : input.slice(valueStart, end).split(" #")[0]!;
    if (!isLiteral(entry.value) || raw.includes("$$"))
      reasons.push({
        text: "it does not expand $ (it reads $ and what follows as written)",
        hint: `single-quote the value ('…') for a literal $; a value built from other variables belongs in the manifest, not in a file ${tool} reads`,
      });
  }
  if (dialect === "dockrion" && breaksLineForPython(input, start, end))
    reasons.push({
      text: "it also breaks lines at a lone carriage return, form feed, vertical tab, U+0085, U+2028 or U+2029",
      hint: "keep such characters out of this file",
    });
  return reasons;
}
