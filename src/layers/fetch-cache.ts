/**
 * The optional cache of what an external store returned (`cache: {maxAge: 10m}` on the source): one
 * age file per source in the cache directory (TESSERA_CACHE_DIR, $XDG_CACHE_HOME/tessera or
 * ~/.cache/tessera), encrypted to the user's own identity (the workspace store's), mode 0600 in a
 * private directory. It is keyed by the manifest, the source's name and its fields as interpolated, so
 * a changed path or profile never reads another path's values. `--offline` reads it whatever its age.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensureIdentities, loadIdentities } from "../crypto/identity.js";
import { privateDirectory, writeFileAtomic } from "../files.js";
import type { Spec, StoreSource } from "../model/spec.js";
import { cacheDir } from "../paths.js";
import type { Fetched } from "../providers/types.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface CacheContext {
  spec: Spec;
  env: Env;
  cwd: string;
  /** Where a one-off notice goes (the identity created for the cache's encryption). */
  notice: (text: string) => void;
}

export interface CachedFetch {
  fetchedAt: number;
  values: Map<string, Fetched>;
}

function cacheFile(store: StoreSource, context: CacheContext): string | undefined {
  const dir = cacheDir(context.env);
  if (!dir || !privateDirectory(dir)) return undefined;
  const key = createHash("sha256")
    .update(
      JSON.stringify([resolve(context.spec.dir, context.spec.file), store.type, store.name, store.settings]),
    )
    .digest("hex")
    .slice(0, 32);
  return join(dir, `fetched-${key}.age`);
}

export async function readFetchCache(
  store: StoreSource,
  context: CacheContext,
): Promise<CachedFetch | undefined> {
  const file = cacheFile(store, context);
  if (!file) return undefined;
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  const identities = loadIdentities(context.env);
  if (!identities) return undefined;
  try {
    const plain = await (await import("../crypto/age.js")).decryptAny(data, identities);
    const doc = JSON.parse(plain.toString("utf8")) as { fetchedAt: number; values: Record<string, Fetched> };
    if (typeof doc.fetchedAt !== "number" || typeof doc.values !== "object" || doc.values === null)
      return undefined;
    return { fetchedAt: doc.fetchedAt, values: new Map(Object.entries(doc.values)) };
  } catch {
    return undefined; // a cache that cannot be read is a cache miss
  }
}

export async function writeFetchCache(
  store: StoreSource,
  context: CacheContext,
  values: ReadonlyMap<string, Fetched>,
): Promise<void> {
  const file = cacheFile(store, context);
  if (!file) return;
  const identities = ensureIdentities(context.env, context.notice);
  const text = JSON.stringify({ fetchedAt: Date.now(), values: Object.fromEntries(values) });
  writeFileAtomic(file, await (await import("../crypto/age.js")).encryptToSelf(text, identities), 0o600);
}
