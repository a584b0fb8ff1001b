/**
 * Wildcard declarations (a Ploinky env name such as `LLM_MODEL_*`, declared with `wildcard: true`):
 * every name the layers define that matches becomes a concrete, optional declaration, as Ploinky's
 * getManifestEnvSpecs expands them (secretVars.js: expandEnvWildcard).
 *
 * - The names matched are those of every layer: flags, value files, the workspace store, dotenv files,
 *   external stores (Ploinky: .ploinky/.secrets, the process environment and the nearest .env).
 * - The process environment is matched only by a pattern with a literal prefix (`LLM_MODEL_*`), never by
 *   `*` alone or a pattern that starts with `*`: those would hand an agent the whole host environment
 *   (PATH, HOME, …). Its names come from the source's `names()` (the EnvironmentSource enumerates none
 *   today) or from `hostNames`.
 * - `*` alone never matches a name holding API_KEY or APIKEY (Ploinky's rule: such names must be listed).
 * - Matches are sorted; of one name, the first declaration wins, in manifest order (a name matched by
 *   an earlier pattern displaces a later explicit entry, and the other way round), as in Ploinky.
 * - Only valid variable names are passed on.
 *
 * Pure: reads nothing but its arguments.
 */
import type { Location } from "../errors.js";
import type { ValueSource } from "../model/layers.js";
import { ploinkyApiKeyName, ploinkySensitivity } from "../model/sensitivity.js";
import { type Declaration, ENV_NAME } from "../model/spec.js";

export interface WildcardMatch {
  /** The pattern as written (`LLM_MODEL_*`). */
  pattern: string;
  declaredAt: Location;
  /** The names it passes on, sorted. */
  names: string[];
  /** Names it matched that an earlier declaration already passes (so not through this pattern). */
  taken: string[];
  /** Explicit declarations after it that it displaced (Ploinky keeps the first entry of a name). */
  displaced: string[];
}

export interface WildcardExpansion {
  /** The declarations with each pattern replaced by its matches: what is resolved and passed on. */
  declarations: Declaration[];
  /** One entry per pattern, for `explain`. */
  matches: WildcardMatch[];
}

export interface WildcardOptions {
  /** Names of the process environment that may be matched (restricted for a foreign manifest). */
  hostNames?: Iterable<string>;
}

/** Does any declaration need expanding? (Cheap: the pipeline may skip the call when not.) */
export function hasWildcards(declarations: readonly Declaration[]): boolean {
  return declarations.some((declaration) => declaration.wildcard);
}

function matcher(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`);
}

/**
 * Whether a wildcard pattern takes a name from a layer other than the process environment (the workspace
 * store, a value file): the pattern matches it, it is a variable name, and `*` alone skips API keys.
 */
export function wildcardTakes(pattern: string, name: string): boolean {
  if (!ENV_NAME.test(name) || !matcher(pattern).test(name)) return false;
  return !(pattern === "*" && ploinkyApiKeyName(name));
}

export function expandWildcards(
  declarations: readonly Declaration[],
  sources: readonly ValueSource[],
  options: WildcardOptions = {},
): WildcardExpansion {
  if (!hasWildcards(declarations)) return { declarations: [...declarations], matches: [] };
  const layered = new Set<string>();
  const host = new Set<string>(options.hostNames ?? []);
  for (const source of sources) {
    if (source.layer === "manifest") continue;
    for (const name of source.names()) (source.layer === "env" ? host : layered).add(name);
  }
  const out: Declaration[] = [];
  const seen = new Map<string, WildcardMatch | undefined>();
  const matches: WildcardMatch[] = [];
  for (const declaration of declarations) {
    if (!declaration.wildcard) {
      if (seen.has(declaration.name)) {
        seen.get(declaration.name)?.displaced.push(declaration.name);
        continue;
      }
      seen.set(declaration.name, undefined);
      out.push(declaration);
      continue;
    }
    const pattern = declaration.name;
    const regex = matcher(pattern);
    const all = pattern === "*";
    const candidates = new Set(layered);
    if (!pattern.startsWith("*")) for (const name of host) candidates.add(name);
    const match: WildcardMatch = {
      pattern,
      declaredAt: declaration.declaredAt,
      names: [],
      taken: [],
      displaced: [],
    };
    matches.push(match);
    for (const name of [...candidates].sort()) {
      if (!ENV_NAME.test(name) || !regex.test(name)) continue;
      if (all && ploinkyApiKeyName(name)) continue;
      if (seen.has(name)) {
        match.taken.push(name);
        continue;
      }
      seen.set(name, match);
      match.names.push(name);
      const at = declaration.declaredAt;
      out.push({
        name,
        lookup: name,
        kind: declaration.kind === "secret" ? "secret" : ploinkySensitivity(name),
        required: false,
        description: `matched ${pattern} (${at.file}:${at.line ?? 1})`,
        declaredAt: at,
      });
    }
  }
  return { declarations: out, matches };
}
