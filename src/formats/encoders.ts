/**
 * Renderers for `tessera export`: pure functions from (name, value) pairs to text, each correctly
 * quoted for its consumer and proven by round-trip tests:
 *   dotenv  the Compose dialect (Tessera's own parser and docker compose read it back exactly)
 *   json    one flat object of name → string
 *   yaml    a flat mapping of double-quoted YAML strings
 *   shell   `export NAME='…'` lines that survive `eval` in sh and bash for any value
 *   github-env  GitHub Actions' env file ($GITHUB_ENV): `NAME<<DELIMITER` … `DELIMITER` for every value,
 *           with a delimiter that occurs nowhere in the value
 */

export interface Entry {
  name: string;
  value: string;
}

export type Format = "dotenv" | "json" | "yaml" | "shell" | "github-env";
export const FORMATS: readonly Format[] = ["dotenv", "json", "yaml", "shell", "github-env"];

export function render(format: Format, entries: readonly Entry[], random = randomToken): string {
  switch (format) {
    case "github-env":
      return entries.map(({ name, value }) => githubEnvEntry(name, value, random)).join("");
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

/** 16 random bytes as hex: the runner's own delimiters are of this kind (`ghadelimiter_<uuid>`). */
function randomToken(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * One variable for GitHub's env file, as the runner reads it (actions/runner SetEnvFileCommand): the
 * heredoc form for every value, so any text survives — `=` and `<<` inside it, several lines, an empty
 * value. The runner splits the file into lines at "\r\n" and "\n" and joins a value's lines with "\n"
 * (Linux and macOS runners), so a value holding "\r\n", or ending with "\r", cannot be carried exactly:
 * refused by the caller (githubEnvProblem).
 */
function githubEnvEntry(name: string, value: string, random: () => string): string {
  let delimiter = `ghadelimiter_${random()}`;
  // Never a delimiter the value holds (a random one practically never is; a fixed test one might be).
  while (value.includes(delimiter)) delimiter = `ghadelimiter_${random()}${random()}`;
  return `${name}<<${delimiter}\n${value}${value === "" ? "" : "\n"}${delimiter}\n`;
}

/** Why GitHub's env file cannot carry this variable exactly, or undefined when it can. */
export function githubEnvProblem(name: string, value: string): string | undefined {
  if (name.includes("<<") || name.includes("=")) return "its name holds = or <<";
  if (value.includes("\r\n") || value.endsWith("\r"))
    return "its value holds a CRLF line break, which GitHub's env file turns into LF";
  return undefined;
}

/**
 * `::add-mask::` commands for a secret: one per line of it (GitHub masks line by line), the data escaped
 * as workflow commands require (% \r \n).
 */
export function githubMasks(value: string): string[] {
  return value
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map(
      (line) =>
        `::add-mask::${line.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A")}\n`,
    );
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
