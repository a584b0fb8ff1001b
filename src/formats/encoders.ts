/**
 * Renderers for `tessera export`: pure functions from (name, value) pairs to text, each correctly
 * quoted for its consumer and proven by round-trip tests:
 *   dotenv  the Compose dialect (Tessera's own parser and docker compose read it back exactly)
 *   json    one flat object of name → string
 *   yaml    a flat mapping of double-quoted YAML strings
 *   shell   `export NAME='…'` lines that survive `eval` in sh and bash for any value
 */

export interface Entry {
  name: string;
  value: string;
}

export type Format = "dotenv" | "json" | "yaml" | "shell";
export const FORMATS: readonly Format[] = ["dotenv", "json", "yaml", "shell"];

export function render(format: Format, entries: readonly Entry[]): string {
  switch (format) {
    case "dotenv":
      return entries.map(({ name, value }) => `${name}=${dotenvQuote(value)}\n`).join("");
    case "json":
      return `${JSON.stringify(Object.fromEntries(entries.map(({ name, value }) => [name, value])), null, 2)}\n`;
    case "yaml":
      return entries.length === 0
        ? "{}\n"
        : entries.map(({ name, value }) => `${yamlKey(name)}: ${yamlQuote(value)}\n`).join("");
    case "shell":
      return entries.map(({ name, value }) => `export ${name}=${shellQuote(value)}\n`).join("");
  }
}

const DOTENV_PLAIN = /^[A-Za-z0-9_./:@%+,=-]+$/;

/** Quote a value for a Compose-dialect dotenv file. */
export function dotenvQuote(value: string): string {
  if (value === "") return "";
  if (DOTENV_PLAIN.test(value)) return value;
  // Single quotes are literal; only a quote or a trailing backslash could end them early.
  if (!value.includes("'") && !value.endsWith("\\")) return `'${value}'`;
  let out = '"';
  for (const c of value) {
    switch (c) {
      case "\\":
        out += "\\\\";
        break;
      case '"':
        out += '\\"';
        break;
      case "$":
        out += "\\$";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return `${out}"`;
}

/** A word for sh: bare when it needs no quoting, else single-quoted. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : shellQuote(value);
}

/** Quote a value for POSIX sh and bash: single quotes, with ' written as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * A variable name as a YAML key: plain, unless a YAML 1.2 or 1.1 reader would take it for something
 * other than a string (null, a boolean such as yes/on/n, a float such as e5).
 */
export function yamlKey(name: string): string {
  const special = /^(null|true|false|yes|no|on|off|y|n|~)$/i.test(name) || /^[eE][0-9]+$/.test(name);
  return special || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? yamlQuote(name) : name;
}

/** A YAML 1.2 double-quoted scalar; everything outside YAML's printable set is escaped. */
export function yamlQuote(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const c = value[i]!;
    if (c === "\\") out += "\\\\";
    else if (c === '"') out += '\\"';
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && isLow(value.charCodeAt(i + 1))) {
      out += c + value[i + 1]!; // a well-formed surrogate pair is printable
      i++;
    } else if (isYamlPrintable(code)) out += c;
    else out += `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function isYamlPrintable(code: number): boolean {
  if (code === 0x85) return false; // printable in YAML, but a line break in YAML 1.1 readers: escape it
  if (code === 0x2028 || code === 0x2029) return false; // likewise
  return (
    (code >= 0x20 && code <= 0x7e) ||
    (code >= 0xa0 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd && code !== 0xfeff)
  );
}
