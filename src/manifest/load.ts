/**
 * Finding and loading the manifest. The full parse (positioned YAML + schema validation) costs tens of
 * milliseconds of start-up, so a validated Spec is cached, keyed by the manifest's exact contents; the
 * cache is used only when the stored source text equals the file byte for byte, and any problem with
 * the cache falls back to the full parse. Only valid manifests are cached.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { TesseraError } from "../errors.js";
import type { ManifestKind, Spec } from "./spec.js";

declare const TESSERA_VERSION: string;
export const VERSION = typeof TESSERA_VERSION === "string" ? TESSERA_VERSION : "dev";

/** The file names looked for in the current directory, in this order. */
export const MANIFEST_NAMES = ["tessera.yaml", "Dockfile.yaml", "manifest.json"] as const;

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
  for (const [name, kind] of [
    ["tessera.yaml", "tessera"],
    ["Dockfile.yaml", "dockfile"],
    ["manifest.json", "ploinky"],
  ] as const) {
    const path = join(cwd, name);
    if (existsSync(path)) return { path, kind };
  }
  return undefined;
}

export function kindOf(path: string): ManifestKind {
  const name = basename(path);
  if (/\.json$/i.test(name)) return "ploinky";
  if (/^dockfile/i.test(name)) return "dockfile";
  try {
    // A YAML file with Dockrion's top-level `agent:` key is a Dockfile, whatever its name.
    if (/^agent:/m.test(readFileSync(path, "utf8"))) return "dockfile";
  } catch {
    // reported when the file is read
  }
  return "tessera";
}

/** How the manifest is shown to the user: relative to the cwd when inside it. */
export function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") ? rel : path;
}

export interface LoadOptions {
  cwd: string;
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
    throw new TesseraError(
      "E_MANIFEST_NOT_FOUND",
      `cannot read manifest ${file}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  const cacheFile = options.noCache ? undefined : cachePath(ref, file, text);
  if (cacheFile) {
    const cached = readCache(cacheFile, text);
    if (cached) return cached;
  }
  const { parseManifest } = await import("./parse.js");
  const spec = parseManifest(ref.kind, text, file, dir);
  if (cacheFile) writeCache(cacheFile, text, spec);
  return spec;
}

export function cacheDir(): string | undefined {
  const explicit = process.env.TESSERA_CACHE_DIR;
  if (explicit === "off" || explicit === "0") return undefined;
  if (explicit) return explicit;
  // Without XDG_CACHE_HOME or HOME there is no sensible place: no cache (node:os stays unloaded).
  const base =
    process.env.XDG_CACHE_HOME || (process.env.HOME ? join(process.env.HOME, ".cache") : undefined);
  return base ? join(base, "tessera") : undefined;
}

/** Locations in a Spec name the file as displayed, so the key covers the displayed path too. */
function cachePath(ref: ManifestRef, file: string, text: string): string | undefined {
  const dir = cacheDir();
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

function readCache(path: string, text: string): Spec | undefined {
  try {
    const entry = JSON.parse(readFileSync(path, "utf8")) as CacheEntry;
    if (entry.version === VERSION && entry.source === text && entry.spec) return entry.spec;
  } catch {
    // a missing or damaged cache entry means a full parse
  }
  return undefined;
}

function writeCache(path: string, text: string, spec: Spec): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileAtomic(path, JSON.stringify({ version: VERSION, source: text, spec } satisfies CacheEntry));
  } catch {
    // the cache is an optimisation; a read-only home directory must not break anything
  }
}

/** Write a file atomically: a 0600 temporary file in the same directory, fsync, rename. */
export function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o600): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const fd = openSync(temp, "wx", mode);
  try {
    try {
      writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Write a file the user named on the command line (atomically); a bad path is a usage error. */
export function writeOutputFile(cwd: string, path: string, content: string | Uint8Array, mode = 0o600): void {
  const absolute = resolve(cwd, path);
  try {
    writeFileAtomic(absolute, content, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? `the directory ${dirname(path) || "."} does not exist`
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : `${code ?? "error"}`;
    throw new TesseraError("E_OUTPUT_UNWRITABLE", `cannot write ${path}: ${why}`, {
      hint: "the path is relative to the current directory",
    });
  }
}
