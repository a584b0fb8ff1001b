/**
 * Typed errors with stable codes. An error carries names and locations, never values.
 *
 * Exit codes (documented in the README and tested end to end):
 *   0 ok · 1 internal error · 2 usage · 3 missing required variables · 4 invalid input
 *   5 something outside Tessera is missing, busy or failed: a tool deploy needs, the store's lock
 *   126/127 the command given to `tessera run` is not executable / not found
 */

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  missing: 3,
  invalid: 4,
  tool: 5,
  notExecutable: 126,
  notFound: 127,
} as const;

/** Stable error codes and the exit code each one maps to. */
export const ERROR_CODES = {
  E_INTERNAL: EXIT.internal,
  E_USAGE: EXIT.usage,
  E_FILE_NOT_FOUND: EXIT.usage,
  E_MANIFEST_NOT_FOUND: EXIT.usage,
  E_MISSING_REQUIRED: EXIT.missing,
  E_REF_REQUIRED: EXIT.missing,
  E_SOURCE_MISSING: EXIT.missing,
  E_MANIFEST_SYNTAX: EXIT.invalid,
  E_MANIFEST_INVALID: EXIT.invalid,
  E_VALUES_INVALID: EXIT.invalid,
  E_FILE_INVALID: EXIT.invalid,
  E_DOTENV_SYNTAX: EXIT.invalid,
  E_SOURCE_UNKNOWN: EXIT.invalid,
  E_TEMPLATE_SYNTAX: EXIT.invalid,
  E_REF_UNSET: EXIT.invalid,
  E_REF_CYCLE: EXIT.invalid,
  E_UNDECLARED_REF: EXIT.invalid,
  E_VALUE_INVALID: EXIT.invalid,
  E_OUTPUT_EXISTS: EXIT.invalid,
  E_TARGET_INVALID: EXIT.invalid,
  E_VALUE_UNREPRESENTABLE: EXIT.invalid,
  E_TOOL_MISSING: EXIT.tool,
  E_DEPLOY_FAILED: EXIT.tool,
  E_STORE_BUSY: EXIT.tool,
  E_SOURCE_AUTH: EXIT.tool,
  E_SOURCE_DENIED: EXIT.tool,
  E_SOURCE_UNREACHABLE: EXIT.tool,
  E_SOURCE_FAILED: EXIT.tool,
  E_SOURCE_OFFLINE: EXIT.tool,
  E_PROVIDER_MISSING: EXIT.tool,
  E_SOURCE_INVALID: EXIT.invalid,
  E_STORE_INVALID: EXIT.invalid,
  E_STORE_LOCKED: EXIT.invalid,
  E_STORE_UNTRUSTED: EXIT.invalid,
  E_RECIPIENTS_CHANGED: EXIT.invalid,
  E_KEY_INVALID: EXIT.invalid,
  E_HOST_VARIABLE: EXIT.invalid,
  E_MANIFEST_UNTRUSTED: EXIT.invalid,
  E_OUTPUT_NOT_IGNORED: EXIT.invalid,
  E_PROFILE_UNKNOWN: EXIT.invalid,
  E_GENERIC_VALUE: EXIT.invalid,
  E_DIALECT: EXIT.invalid,
  E_PROFILE_INCOMPLETE: EXIT.invalid,
  E_VAR_NOT_SET: EXIT.missing,
  E_OUTPUT_UNWRITABLE: EXIT.usage,
  E_COMMAND_NOT_FOUND: EXIT.notFound,
  E_COMMAND_NOT_EXECUTABLE: EXIT.notExecutable,
  E_SECRET_FOUND: 6,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A place in a file; line and column are 1-based. */
export interface Location {
  file: string;
  line?: number | undefined;
  column?: number | undefined;
}

export interface ErrorOptions {
  location?: Location | undefined;
  hint?: string | undefined;
  /** Extra lines printed under the message (never values). */
  details?: string[] | undefined;
  cause?: unknown | undefined;
}

const BRAND = Symbol.for("tessera.error");

export class TesseraError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly location?: Location;
  readonly hint?: string;
  readonly details: string[];
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TesseraError";
    this.code = code;
    this.exitCode = ERROR_CODES[code];
    this.location = options.location;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}

/** True for a TesseraError, also one thrown by another bundle of Tessera. */
export function isTesseraError(error: unknown): error is TesseraError {
  return typeof error === "object" && error !== null && BRAND in error && error[BRAND] === true;
}

/** The code of a Node.js system error (ENOENT, EACCES…), undefined when `error` has none. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

export function formatLocation(location: Location | undefined): string {
  if (!location) return "";
  let text = location.file;
  if (location.line !== undefined) {
    text += `:${location.line}`;
    if (location.column !== undefined) text += `:${location.column}`;
  }
  return text;
}

/** The text printed on stderr for an error: one headline, then indented details and a hint. */
export function formatError(error: TesseraError): string {
  const where = formatLocation(error.location);
  const lines = [`tessera: error[${error.code}]: ${where ? `${where}: ` : ""}${error.message}`];
  for (const detail of error.details) lines.push(`  ${detail}`);
  if (error.hint) lines.push(`  hint: ${error.hint}`);
  return lines.join("\n");
}

/** A non-fatal finding (printed as a warning, or as an error under --strict). */
export interface Diagnostic {
  code: string;
  message: string;
  location?: Location | undefined;
  hint?: string | undefined;
}

export function formatWarning(diagnostic: Diagnostic): string {
  const where = formatLocation(diagnostic.location);
  const lines = [`tessera: warning[${diagnostic.code}]: ${where ? `${where}: ` : ""}${diagnostic.message}`];
  if (diagnostic.hint) lines.push(`  hint: ${diagnostic.hint}`);
  return lines.join("\n");
}

/** Suggest the closest candidate for a misspelt word (Damerau-free Levenshtein, small inputs). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
