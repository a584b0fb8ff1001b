/**
 * Layer 6: the external stores a manifest declares under `sources:` (Vault, AWS, GCP, Azure, 1Password,
 * pass, KeePassXC, a command, encrypted files), fetched at the moment of use.
 *
 * What is asked of which store: a variable's `from: {source, key, property}` names one store and the
 * key in it; a declared secret without `from:` is searched for by its own name in each store, in order,
 * until one has it. Config is searched for only when the manifest gives it no value; config with a
 * committed value comes from a store only through `from:`. Nothing is fetched for a variable a higher
 * layer (flags, environment, value files,
 * the workspace store, .env files) already sets: it would be shadowed. `--secrets-from NAME` limits the
 * stores used.
 *
 * Each store's string fields are interpolated first (`path: secret/data/app/${TESSERA_ENV}`) from the
 * higher layers, with TESSERA_ENV the active profile. Requests run through a bounded pool, each attempt
 * with a time limit, transient failures retried with backoff. A store with `cache: {maxAge}` keeps what
 * it fetched encrypted on disk (./fetch-cache.ts); `--offline` uses only caches and says how old they are.
 * Failures name the source, the key and the cause, never a value or a credential.
 */

import { closest, type Diagnostic, type ErrorCode, TesseraError } from "../errors.js";
import { displayPath } from "../files.js";
import { storeEnvironment } from "../model/credentials.js";
import { type Candidate, StaticSource, type ValueSource } from "../model/layers.js";
import {
  type Declaration,
  effectiveDeclarations,
  type Spec,
  type StoreSettings,
  type StoreSource,
} from "../model/spec.js";
import {
  literal,
  parseTemplate,
  render,
  TemplateReferenceError,
  TemplateSyntaxError,
} from "../model/template.js";
import {
  durationMs,
  type Fetched,
  isProviderError,
  type LookupRequest,
  ProviderError,
  type ProviderErrorKind,
  refId,
} from "../providers/types.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface ExternalOptions {
  spec: Spec;
  /** The store sources, in order (the manifest's, with the value files' overrides applied). */
  stores: readonly StoreSource[];
  profile?: string;
  cwd: string;
  env: Env;
  /** Layers 1–5: what shadows a store. */
  higher: readonly ValueSource[];
  /**
   * The value of a name in the scope of layers 1–5, resolved (interpolated) by the pipeline; the stores'
   * fields are interpolated from it. A lookup, not a call into resolve: layers stay below resolution.
   */
  scope: (name: string) => string | undefined;
  /** --secrets-from: the only stores used. */
  secretsFrom?: readonly string[];
  /** --offline: caches only. */
  offline?: boolean;
  warnings: Diagnostic[];
  /** Where a one-off notice goes (stderr in the CLI). */
  notice: (text: string) => void;
}

const POOL_SIZE = 8;
const ATTEMPTS = 3;
const DEFAULT_TIMEOUT_MS = 10_000;

export function storeLabel(store: StoreSource): string {
  return `${store.type} source "${store.name}"`;
}

export async function externalSources(options: ExternalOptions): Promise<ValueSource[]> {
  const { stores, spec } = options;
  checkSecretsFrom(options.secretsFrom, stores);
  const declarations = effectiveDeclarations(spec, options.profile);
  const satisfied = (name: string) => options.higher.some((source) => source.lookup(name).length > 0);
  const found = new Set<string>();
  const interpolate = fieldInterpolator({ ...options, manifestFile: spec.file });
  const out: ValueSource[] = [];
  for (const store of stores) {
    const label = storeLabel(store);
    if (options.secretsFrom && !options.secretsFrom.includes(store.name)) {
      out.push(
        new StaticSource("external", label, [], {
          name: store.name,
          present: false,
          note: "not used: --secrets-from",
        }),
      );
      continue;
    }
    const requests = requestsFor(store, declarations, stores, satisfied, found);
    if (requests.length === 0) {
      out.push(
        new StaticSource("external", label, [], {
          name: store.name,
          present: false,
          note: "nothing to look up",
        }),
      );
      continue;
    }
    const source = { ...store, settings: interpolate(store) };
    const results = await fetchStore(source, requests, options);
    const candidates: Candidate[] = [];
    for (const request of requests) {
      const result = results.values.get(request.id);
      if (result?.status !== "found") continue;
      if (request.searched) found.add(request.id);
      candidates.push({
        name: request.id,
        template: literal(result.value),
        origin: { layer: "external", where: `${label} ${result.where}${results.note}` },
      });
    }
    out.push(new StaticSource("external", label, candidates, { name: store.name }));
  }
  return out;
}

function checkSecretsFrom(names: readonly string[] | undefined, stores: readonly StoreSource[]): void {
  for (const name of names ?? []) {
    if (stores.some((store) => store.name === name)) continue;
    const suggestion = closest(
      name,
      stores.map((store) => store.name),
    );
    throw new TesseraError("E_USAGE", `--secrets-from ${name}: no external store has that name`, {
      hint: suggestion
        ? `did you mean ${suggestion}?`
        : stores.length
          ? `the stores are: ${stores.map((store) => store.name).join(", ")}`
          : "the manifest declares no external store",
    });
  }
}

/** What to ask one store: its `from:` references, and the names no earlier store had. */
function requestsFor(
  store: StoreSource,
  declarations: readonly Declaration[],
  stores: readonly StoreSource[],
  satisfied: (name: string) => boolean,
  found: ReadonlySet<string>,
): LookupRequest[] {
  const out = new Map<string, LookupRequest>();
  for (const declaration of declarations) {
    if (satisfied(declaration.lookup)) continue;
    const from = declaration.from;
    const namesStore = from !== undefined && stores.some((candidate) => candidate.name === from.source);
    if (namesStore) {
      if (from.source !== store.name) continue;
      const key = from.key ?? declaration.lookup;
      const id = refId(key, from.property);
      out.set(id, { id, key, property: from.property, searched: false });
    } else if (
      (declaration.kind === "secret" || declaration.value === undefined) &&
      !found.has(declaration.lookup)
    ) {
      // Stores are searched for secrets and for config the manifest gives no value; config with a
      // committed value comes from a store only by from: (no lookup per setting on every run).
      out.set(declaration.lookup, { id: declaration.lookup, key: declaration.lookup, searched: true });
    }
  }
  return [...out.values()];
}

/**
 * The stores with their string fields interpolated, as a consumer that reads them itself (the External
 * Secrets Operator) must be told: `path: billing/${TESSERA_ENV}` → `billing/production`.
 */
export function interpolatedStores(
  stores: readonly StoreSource[],
  options: Pick<ExternalOptions, "profile" | "scope"> & { manifestFile?: string },
): StoreSource[] {
  const interpolate = fieldInterpolator(options);
  return stores.map((store) => ({ ...store, settings: interpolate(store) }));
}

/** Interpolates a store's string fields (not its `eso` block) from layers 1–5 and TESSERA_ENV. */
function fieldInterpolator(
  options: Pick<ExternalOptions, "profile" | "scope"> & { manifestFile?: string },
): (store: StoreSource) => StoreSettings {
  const lookup = (name: string): string | undefined => {
    if (name === "TESSERA_ENV" && options.profile !== undefined) return options.profile;
    return options.scope(name);
  };
  const walk = (value: unknown, store: StoreSource, path: string): unknown => {
    if (typeof value === "string") {
      if (!value.includes("$")) return value;
      try {
        return render(parseTemplate(value), lookup);
      } catch (error) {
        if (error instanceof TemplateSyntaxError || error instanceof TemplateReferenceError) {
          throw new TesseraError(
            error instanceof TemplateSyntaxError ? "E_TEMPLATE_SYNTAX" : "E_REF_UNSET",
            // A field from a value file's `sources:` is value-file text: named only by its place.
            store.declaredAt.file !== options.manifestFile
              ? `${path} of ${storeLabel(store)} ${error instanceof TemplateReferenceError ? "refers to a variable that is not set" : "is not a valid template"}`
              : error instanceof TemplateReferenceError
                ? `${path} of ${storeLabel(store)} refers to ${error.reference.name}, which is not set`
                : `${path} of ${storeLabel(store)}: ${error.message}`,
            {
              location: store.declaredAt,
              hint: "a source's fields are interpolated from the environment, value files, the workspace store and .env files (TESSERA_ENV is the profile); a literal $ is written $$",
            },
          );
        }
        throw error;
      }
    }
    if (Array.isArray(value)) return value.map((item, index) => walk(item, store, `${path}[${index}]`));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, walk(item, store, path ? `${path}.${key}` : key)]),
      );
    }
    return value;
  };
  return (store) => {
    const { eso, ...rest } = store.settings;
    return { ...(walk(rest, store, "") as StoreSettings), ...(eso ? { eso } : {}) };
  };
}

interface StoreResults {
  values: Map<string, Fetched>;
  /** Appended to every `where` of the store: " (cached, 4m old)" when it came from the cache. */
  note: string;
}

async function fetchStore(
  store: StoreSource,
  requests: readonly LookupRequest[],
  options: ExternalOptions,
): Promise<StoreResults> {
  const maxAge = store.settings.cache ? durationMs(store.settings.cache.maxAge) : undefined;
  const cache = maxAge !== undefined || options.offline ? await import("./fetch-cache.js") : undefined;
  const context = { spec: options.spec, env: options.env, cwd: options.cwd, notice: options.notice };
  if (cache) {
    const cached = await cache.readFetchCache(store, context);
    const age = cached ? Date.now() - cached.fetchedAt : Number.POSITIVE_INFINITY;
    const complete = cached && requests.every((request) => cached.values.has(request.id));
    if (options.offline) {
      if (!cached || !complete) {
        const missing = requests
          .filter((request) => !cached?.values.has(request.id))
          .map((request) => request.key);
        throw new TesseraError(
          "E_SOURCE_OFFLINE",
          `--offline: ${storeLabel(store)} has ${cached ? `no cached value for ${missing.join(", ")}` : "no cache"}`,
          {
            location: store.declaredAt,
            hint: store.settings.cache
              ? "run once online to fill the cache"
              : "give the source cache: {maxAge: …} and run once online",
          },
        );
      }
      options.warnings.push({
        code: "W_OFFLINE",
        message: `--offline: ${storeLabel(store)} served from its cache, fetched ${ageText(age)} ago`,
        location: store.declaredAt,
      });
      return { values: cached.values, note: ` (cached, ${ageText(age)} old)` };
    }
    if (cached && complete && maxAge !== undefined && age <= maxAge) {
      return { values: cached.values, note: ` (cached, ${ageText(age)} old)` };
    }
  }
  const values = await runProvider(store, requests, options);
  if (cache && maxAge !== undefined) await cache.writeFetchCache(store, context, values);
  return { values, note: "" };
}

function ageText(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 90) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes}m`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.round(hours / 24)}d`;
}

async function runProvider(
  store: StoreSource,
  requests: readonly LookupRequest[],
  options: ExternalOptions,
): Promise<Map<string, Fetched>> {
  const timeoutMs = store.settings.timeout ? durationMs(store.settings.timeout) : DEFAULT_TIMEOUT_MS;
  let provider: import("../providers/types.js").Provider;
  let env: ExternalOptions["env"];
  try {
    const catalog = await import("../providers/catalog.js");
    provider = await catalog.storeEntry(store.type).load();
    // Its own credentials, none of another store's (a `pass` tool never sees VAULT_TOKEN), and none of Tessera's keys.
    const credentialsOf = (source: StoreSource) => {
      const names = new Set(catalog.credentialVariables(source.type, source.settings));
      return (name: string) => names.has(name) || catalog.isCredentialVariable(source.type, name);
    };
    const own = credentialsOf(store);
    const others = options.stores.filter((other) => other !== store).map(credentialsOf);
    env = storeEnvironment(options.env, own, (name) => others.some((isCredential) => isCredential(name)));
  } catch (error) {
    throw new TesseraError("E_SOURCE_FAILED", `${storeLabel(store)}: its provider could not be loaded`, {
      location: store.declaredAt,
      hint: (error as Error).message.split("\n")[0],
    });
  }
  try {
    return await provider.fetch(requests, {
      source: store,
      env,
      dir: options.spec.dir,
      cwd: options.cwd,
      timeoutMs,
      pool: (items, fn) => pool(items, POOL_SIZE, fn),
      retry: (fn) => retry(fn, timeoutMs),
      identities: async () => (await import("../crypto/identity.js")).loadIdentities(options.env),
    });
  } catch (error) {
    if (isProviderError(error)) throw providerFailure(store, error, options.cwd);
    throw error;
  }
}

const CODES: Record<ProviderErrorKind, ErrorCode> = {
  auth: "E_SOURCE_AUTH",
  denied: "E_SOURCE_DENIED",
  unreachable: "E_SOURCE_UNREACHABLE",
  timeout: "E_SOURCE_UNREACHABLE",
  invalid: "E_SOURCE_INVALID",
  failed: "E_SOURCE_FAILED",
  "missing-library": "E_PROVIDER_MISSING",
};

function providerFailure(store: StoreSource, error: ProviderError, cwd: string): TesseraError {
  const at = store.declaredAt;
  const file = at.file ? displayPath(cwd, at.file) : undefined;
  return new TesseraError(CODES[error.kind], `${storeLabel(store)}: ${error.message}`, {
    location: file ? { ...at, file } : undefined,
    hint: error.hint,
  });
}

/** Map with at most `size` calls in flight; results in input order. */
export async function pool<T, R>(
  items: readonly T[],
  size: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

/** Each attempt gets its own time limit; transient failures are retried with backoff and jitter. */
export async function retry<R>(fn: (signal: AbortSignal) => Promise<R>, timeoutMs: number): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new ProviderError("timeout", `no answer within ${timeoutMs} ms`, { transient: true }));
      }, timeoutMs);
    });
    try {
      return await Promise.race([fn(controller.signal), timeout]);
    } catch (error) {
      const transient = isProviderError(error) && error.transient;
      if (!transient || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (attempt - 1) * (1 + Math.random())));
    } finally {
      clearTimeout(timer);
    }
  }
}
