/**
 * Finding and loading the manifest. The full parse (positioned YAML + schema validation) costs tens of
 * milliseconds of start-up, so a validated Spec is cached, keyed by the manifest's exact contents; the
 * cache is used only when the stored source text equals the file byte for byte, and any problem with
 * the cache falls back to the full parse. Only valid manifests are cached, only in a directory and a
 * file that this user owns and nobody else can write (a cached Spec steers resolution).
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  futimesSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { errnoCode, TesseraError } from "../errors.js";
import { displayPath, ownedPrivately, privateDirectory, writeFileAtomic } from "../files.js";
import { isRecord } from "../model/guards.js";
import { ENV_NAME, type ManifestKind, type Spec } from "../model/spec.js";
import { cacheDir, type Env } from "../paths.js";

declare const TESSERA_VERSION: string;
export const VERSION = typeof TESSERA_VERSION === "string" ? TESSERA_VERSION : "dev";

/** The manifests looked for in the current directory, in this order. */
const MANIFESTS: readonly (readonly [string, ManifestKind])[] = [
  ["tessera.yaml", "tessera"],
  ["Dockfile.yaml", "dockfile"],
  ["manifest.json", "ploinky"],
];
export const MANIFEST_NAMES = MANIFESTS.map(([name]) => name);

export interface ManifestRef {
  path: string;
  kind: ManifestKind;
}

/** The manifest named by --manifest (relative to cwd), or the first of MANIFEST_NAMES found in cwd. */
export function findManifest(cwd: string, explicit?: string): ManifestRef | undefined {
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) {
      throw new TesseraError("E_MANIFEST_NOT_FOUND", `manifest ${explicit} not found`, {
        hint: `the path is relative to the current directory (${cwd})`,
      });
    }
    return { path, kind: kindOf(path) };
  }
  for (const [name, kind] of MANIFESTS) {
    const path = join(cwd, name);
    if (existsSync(path)) return { path, kind };
  }
  return undefined;
}

/** The kind of a manifest given by path: by its name, or a YAML file with Dockrion's `agent:` key. */
export function kindOf(path: string): ManifestKind {
  const name = basename(path);
  if (/\.json$/i.test(name)) return "ploinky";
  if (/^dockfile/i.test(name)) return "dockfile";
  try {
    if (/^agent:/m.test(readFileSync(path, "utf8"))) return "dockfile";
  } catch {
    // reported when the file is read
  }
  return "tessera";
}

export { displayPath };

export interface LoadOptions {
  cwd: string;
  /** The environment (where the Spec cache lives). */
  env: Env;
  /** Skip the cache (check and the schema command always validate in full). */
  noCache?: boolean;
}

export async function loadManifest(ref: ManifestRef, options: LoadOptions): Promise<Spec> {
  const file = displayPath(options.cwd, ref.path);
  const dir = dirname(ref.path);
  let text: string;
  try {
    text = readFileSync(ref.path, "utf8");
  } catch (error) {
    throw new TesseraError("E_MANIFEST_NOT_FOUND", `cannot read manifest ${file}: ${errnoCode(error)}`);
  }
  const cacheFile = options.noCache ? undefined : cachePath(ref, file, text, options.env);
  if (cacheFile) {
    const cached = readCache(cacheFile, text);
    if (cached) return cached;
  }
  const { parseManifest } = await import("./parse.js");
  const spec = parseManifest(ref.kind, text, file, dir);
  if (cacheFile) writeCache(cacheFile, text, spec);
  return spec;
}

/** Locations in a Spec name the file as displayed, so the key covers the displayed path too. */
function cachePath(ref: ManifestRef, file: string, text: string, env: Env): string | undefined {
  // A development build (the library run from source) has no version that changes with the code.
  if (VERSION === "dev") return undefined;
  const dir = cacheDir(env);
  if (!dir) return undefined;
  return join(dir, `spec-${hash(`${VERSION}\0${ref.kind}\0${ref.path}\0${file}\0${text}`)}.json`);
}

/** FNV-1a, 2×32 bits: only names the cache file; the contents are then compared exactly. */
function hash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

interface CacheEntry {
  version: string;
  source: string;
  spec: Spec;
}

/** At most this many Spec cache entries are kept; writing one more removes the least recently used. */
export const SPEC_CACHE_LIMIT = 200;
const DAY = 86_400_000;

function readCache(path: string, text: string): Spec | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const stat = fstatSync(fd);
    if (!ownedPrivately(stat)) return undefined;
    const entry: unknown = JSON.parse(readFileSync(fd, "utf8"));
    if (isRecord(entry) && entry.version === VERSION && entry.source === text && plausibleSpec(entry.spec)) {
      // Its modification time says when it was last used (for pruning), to the day: at most one touch a day.
      if (Date.now() - stat.mtimeMs > DAY) touch(fd);
      return entry.spec;
    }
  } catch {
    // a missing or damaged cache entry means a full parse
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return undefined;
}

/**
 * A cheap check of a cached Spec's shape (its parts, the declarations' names and kinds): anything odd
 * means a full parse instead. The cache holds only Specs this code wrote from a full parse, in a file
 * only this user can write, and is used only for the very source text it was parsed from.
 */
function plausibleSpec(spec: unknown): spec is Spec {
  if (
    !isRecord(spec) ||
    !MANIFESTS.some(([, kind]) => kind === spec.kind) ||
    typeof spec.file !== "string" ||
    typeof spec.dir !== "string" ||
    !Array.isArray(spec.variables) ||
    !Array.isArray(spec.sources) ||
    !isRecord(spec.profiles) ||
    !Array.isArray(spec.implicitReferences) ||
    !isRecord(spec.service)
  )
    return false;
  return spec.variables.every(
    (declaration) =>
      isRecord(declaration) &&
      typeof declaration.name === "string" &&
      typeof declaration.lookup === "string" &&
      // A wildcard (`LLM_MODEL_*`) is a pattern of names, expanded at resolve time.
      (declaration.wildcard === true ||
        (ENV_NAME.test(declaration.name) && ENV_NAME.test(declaration.lookup))) &&
      (declaration.kind === "secret" || declaration.kind === "config"),
  );
}

function touch(fd: number): void {
  try {
    const now = new Date();
    futimesSync(fd, now, now);
  } catch {
    // the entry is only pruned sooner
  }
}

function writeCache(path: string, text: string, spec: Spec): void {
  try {
    if (!privateDirectory(dirname(path))) return;
    writeFileAtomic(path, JSON.stringify({ version: VERSION, source: text, spec } satisfies CacheEntry));
  } catch {
    // the cache is an optimisation; a read-only home directory must not break anything
    return;
  }
  pruneSpecCache(dirname(path));
}

/** The names cachePath gives Spec cache entries, and writeFileAtomic's temporary files for them. */
const SPEC_ENTRY = /^spec-[0-9a-f]{16}\.json$/;
const SPEC_TEMP = /^\.spec-[0-9a-f]{16}\.json\.\d+\.[0-9a-z]+\.tmp$/;

/**
 * Keep the Spec cache bounded: past SPEC_CACHE_LIMIT entries, the least recently used go (by modification
 * time, which a read refreshes daily), with temporary files an interrupted write left (older than an
 * hour). Run only after writing a new entry, never on a cache hit. Only names this code gives, only
 * regular files this user owns (a symbolic link is neither followed nor removed); failures are ignored.
 */
export function pruneSpecCache(dir: string, limit = SPEC_CACHE_LIMIT): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const entries = names.filter((name) => SPEC_ENTRY.test(name));
  const temps = names.filter((name) => SPEC_TEMP.test(name));
  if (entries.length <= limit && temps.length === 0) return;
  const now = Date.now();
  const mine = (name: string) => {
    try {
      const stat = lstatSync(join(dir, name));
      // A regular file owned by this user (its mode does not matter here), else left alone.
      return stat.isFile() && ownedPrivately({ uid: stat.uid, mode: 0 }) ? stat.mtimeMs : undefined;
    } catch {
      return undefined;
    }
  };
  const remove = (name: string) => {
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already
    }
  };
  for (const name of temps) {
    const mtime = mine(name);
    if (mtime !== undefined && now - mtime > 3_600_000) remove(name);
  }
  if (entries.length <= limit) return;
  const dated = entries
    .map((name) => [name, mine(name)] as const)
    .filter((entry): entry is readonly [string, number] => entry[1] !== undefined)
    .sort((a, b) => a[1] - b[1]);
  for (const [name] of dated.slice(0, Math.max(0, dated.length - limit))) remove(name);
}
