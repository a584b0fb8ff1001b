/**
 * The user's directories, from an environment passed in (the process environment is read at the entry
 * and handed down as data): where Tessera keeps its keys and its caches.
 */
import { join } from "node:path";

export type Env = Readonly<Record<string, string | undefined>>;

/** $XDG_CONFIG_HOME/tessera or ~/.config/tessera: the age identity, the fingerprint key. */
export function configDir(env: Env): string {
  const home = env.HOME || env.USERPROFILE || "/";
  return join(env.XDG_CONFIG_HOME || join(home, ".config"), "tessera");
}

/** The cache directory: TESSERA_CACHE_DIR ("off" or "0" disables), else $XDG_CACHE_HOME/tessera or ~/.cache/tessera. */
export function cacheDir(env: Env): string | undefined {
  const explicit = env.TESSERA_CACHE_DIR;
  if (explicit === "off" || explicit === "0") return undefined;
  if (explicit) return explicit;
  // Without XDG_CACHE_HOME or HOME there is no sensible place: no cache.
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : undefined);
  return base ? join(base, "tessera") : undefined;
}
