/**
 * Credentials: the variables Tessera itself uses to reach keys and stores. They are never passed on to
 * a child (the run's command, a deploy tool, a store's command-line tool) unless the manifest declares
 * them; each store's tool gets its own credentials and none of another store's.
 */

/** Tessera's own keys (the workspace store's identity, the fingerprint key). */
export const TESSERA_CREDENTIALS: ReadonlySet<string> = new Set([
  "TESSERA_AGE_KEY",
  "TESSERA_AGE_KEY_FILE",
  "TESSERA_FINGERPRINT_KEY",
]);

/**
 * The environment one store's provider works in: `env` less Tessera's keys and less the credentials of
 * the other stores (`others`), except those this store uses itself (`own`).
 */
export function storeEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  own: (name: string) => boolean,
  others: (name: string) => boolean,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (TESSERA_CREDENTIALS.has(name)) continue;
    if (others(name) && !own(name)) continue;
    out[name] = value;
  }
  return out;
}
