/**
 * External stores (layer 6 of the precedence): what a provider is. A provider is one module per store
 * type (./<type>.ts), loaded only when a source of that type is used, with one function: look up a
 * list of keys and say, for each, its value or that it is not there. Everything around it (which keys
 * to ask for, interpolating the source's fields, the pool, retries, timeouts, the encrypted cache,
 * --offline, errors for the user) lives in ../sources/external.ts, so a provider stays small.
 */
import type { StoreSource } from "../model/spec.js";

type Env = Readonly<Record<string, string | undefined>>;

/** One thing to look up in a store. */
export interface LookupRequest {
  /** The name the value is served under in the layer (a variable's lookup name, or its `from:` id). */
  id: string;
  /** The key in the store: the variable's own name when searched, else `from.key` (or the name). */
  key: string;
  /** A field inside a structured (JSON) value: `from.property`. */
  property?: string;
  /** True when the store is searched for the variable's own name (no `from:`): absence is normal. */
  searched: boolean;
}

/** What a provider found for one request. `where` is the path in the store, shown by explain (never a value). */
export type Fetched =
  | { status: "found"; value: string; where: string }
  | { status: "missing"; where: string };

export interface ProviderContext {
  /** The source, its string fields interpolated. */
  source: StoreSource;
  /** The process environment (credentials, VAULT_ADDR, AWS_REGION…). */
  env: Env;
  /** The manifest's directory: relative paths in the source are relative to it. */
  dir: string;
  cwd: string;
  /** The time limit of one request, in ms. */
  timeoutMs: number;
  /** Map items through `fn` with bounded parallelism (the shared pool). */
  pool<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]>;
  /** Run `fn`, retrying a ProviderError marked transient with exponential backoff and jitter. */
  retry<R>(fn: (signal: AbortSignal) => Promise<R>): Promise<R>;
  /** The user's age identities (age-file), undefined when there are none. */
  identities(): Promise<import("../crypto/identity.js").Identities | undefined>;
}

export interface Provider {
  /** Look up every request (a map by request id). Failures throw ProviderError; absence is "missing". */
  fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>>;
}

export type ProviderErrorKind = "auth" | "denied" | "unreachable" | "timeout" | "invalid" | "failed";

/**
 * A store failed. The message names the key and the cause in the store's words, never a value or a
 * credential; the source's type and name are added by the caller. `transient` errors (a network error,
 * a timeout, HTTP 429 or 5xx, throttling) are retried.
 */
export class ProviderError extends Error {
  readonly hint?: string;
  readonly transient: boolean;
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    options: { hint?: string; transient?: boolean } = {},
  ) {
    super(message);
    this.name = "ProviderError";
    this.hint = options.hint;
    this.transient = options.transient ?? (kind === "unreachable" || kind === "timeout");
  }
}

/**
 * Whether an error is a ProviderError. Not `instanceof`: each lazily loaded chunk of the bundle carries
 * its own copy of this class.
 */
export function isProviderError(error: unknown): error is ProviderError {
  return (
    error instanceof Error &&
    error.name === "ProviderError" &&
    typeof (error as ProviderError).kind === "string" &&
    typeof (error as ProviderError).transient === "boolean"
  );
}

export { refId } from "../model/spec.js";

/** A duration ("30s", "10m", "250ms", "1h", "1d") in ms. */
export function durationMs(text: string): number {
  const match = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as "ms" | "s" | "m" | "h" | "d"
  ];
  return Number(match[1]) * unit;
}

/** A JSON value's field as a string (a string as is, anything else as its JSON text), or undefined. */
export function field(json: unknown, property: string): string | undefined {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return undefined;
  if (!Object.hasOwn(json, property)) return undefined;
  const value = (json as Record<string, unknown>)[property];
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}
