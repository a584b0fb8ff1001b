/**
 * External stores (layer 6 of the precedence): what a provider is. A provider is one module per store
 * type (./<type>.ts; a store with a folder of its own: its fetch.ts), loaded only when a source of that
 * type is used (its catalog entry's load()), with one function: look up a list of keys and say, for
 * each, its value or that it is not there. Everything around it (which keys to ask for, interpolating
 * the source's fields, the pool, retries, timeouts, the encrypted cache, --offline, errors for the user)
 * lives in ../layers/external.ts, so a provider stays small.
 */
import { isRecord } from "../model/guards.js";
import type { FromRef, StoreSettings, StoreSource, StoreType } from "../model/spec.js";

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

/** "missing-library": an optional library the store needs is not installed (the hint names `npm i …`). */
export type ProviderErrorKind =
  | "auth"
  | "denied"
  | "unreachable"
  | "timeout"
  | "invalid"
  | "failed"
  | "missing-library";

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
    "kind" in error &&
    typeof error.kind === "string" &&
    "transient" in error &&
    typeof error.transient === "boolean"
  );
}

export { refId } from "../model/spec.js";

const DURATION_UNITS = new Map([
  ["ms", 1],
  ["s", 1000],
  ["m", 60_000],
  ["h", 3_600_000],
  ["d", 86_400_000],
]);

/** A duration ("30s", "10m", "250ms", "1h", "1d") in ms. */
export function durationMs(text: string): number {
  const match = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = DURATION_UNITS.get(match[2] ?? "");
  if (unit === undefined) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * unit;
}

/**
 * The one `property` rule, for every store: a field of a JSON value as text. The property as one key
 * first, else as a dotted path into nested objects (and arrays, by index); a string as is, anything
 * else as its JSON text; absent or null is undefined.
 */
export function field(json: unknown, property: string): string | undefined {
  const text = (value: unknown) =>
    value === undefined || value === null ? undefined : typeof value === "string" ? value : jsonText(value);
  if (json === null || typeof json !== "object") return undefined;
  if (isRecord(json) && Object.hasOwn(json, property)) return text(json[property]);
  if (!property.includes(".")) return undefined;
  let here: unknown = json;
  for (const part of property.split(".")) {
    if (Array.isArray(here) && /^[0-9]+$/.test(part)) here = here[Number(part)];
    else if (isRecord(here) && Object.hasOwn(here, part)) here = here[part];
    else return undefined;
  }
  return text(here);
}

/** A store's structured value nests at most this deep to be served as JSON text. */
export const MAX_VALUE_DEPTH = 1000;

/**
 * A structured value (parsed JSON) as its JSON text. A value nested deeper than MAX_VALUE_DEPTH is an
 * "invalid" answer, not a stack overflow: JSON.parse reads any depth, JSON.stringify does not.
 */
export function jsonText(value: unknown): string {
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [item, depth] = top;
    if (item === null || typeof item !== "object") continue;
    if (depth > MAX_VALUE_DEPTH) {
      throw new ProviderError(
        "invalid",
        `the store answered a value nested more than ${MAX_VALUE_DEPTH} levels deep`,
        { hint: "no variable's value nests that deep: check what the store holds at this path" },
      );
    }
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return JSON.stringify(value);
}

/** JSON text as a program or file gives it: a leading byte-order mark is not part of the JSON. */
export function parseJsonText(text: string): unknown {
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

/** What a store's manifest schema is built from (handed in by ../manifest/schema.ts, which owns TypeBox). */
export interface StoreSchemaKit {
  Type: typeof import("@sinclair/typebox").Type;
  /** `name:`, the source's name for `from:` references (default: the type). */
  SourceName: import("@sinclair/typebox").TSchema;
  /** `cache:` and `timeout:`, which every store takes. */
  StoreCommon: Record<string, import("@sinclair/typebox").TSchema>;
  /** `eso:`, settings for the External Secrets Operator target. */
  EsoBlock: import("@sinclair/typebox").TSchema;
}

/** Where a variable lives in a store, as the External Secrets Operator's `remoteRef` says it. */
export interface RemoteRef {
  key: string;
  property?: string;
  version?: string;
}

/** What the External Secrets Operator can do with a store: a capability of the store type. */
export interface EsoCapability {
  /** Where `name` (a variable's lookup name, with its `from:` if it names this store) lives in the store. */
  remoteRef(name: string, from: FromRef | undefined, store: StoreSource): RemoteRef;
  /** The SecretStore's provider block; `notes` gets what the user must still create for its auth. */
  secretStore(store: StoreSource, service: string, notes: string[]): Record<string, unknown>;
}

/**
 * One store type, everything about it: adding a store type is its entry (./<type>-entry.ts exporting one
 * of these), its provider (./<type>.ts exporting `provider`) and one line in ./catalog.ts. The entry is
 * what reading a manifest needs (schema, credentials, key rules, ESO) and stays light: it imports its
 * provider only through load(), so no store's fetch code is loaded before a source of that type is
 * fetched. What both use lives in modules light enough for the entry (this one, ./azure/names.ts),
 * never in the provider's module.
 */
export interface StoreEntry {
  type: StoreType;
  /** The source's manifest schema. */
  schema(kit: StoreSchemaKit): import("@sinclair/typebox").TSchema;
  /** The environment variables it reads as credentials (kept from children unless declared). */
  credentials?(settings: StoreSettings): string[];
  /** Whether another environment variable is one of its credentials (a family of names). */
  isCredential?(name: string): boolean;
  /** Why a `from:` key cannot name anything in this store (checked when the manifest is read), if so. */
  keyProblem?(key: string): string | undefined;
  /** Present when the External Secrets Operator can read this store in a cluster. */
  eso?: EsoCapability;
  /**
   * Loads its provider: `() => import("./<type>.js").then((module) => module.provider)`, a chunk of its
   * own in the build (which loads any SDK or tool only when asked in turn).
   */
  load(): Promise<Provider>;
}
