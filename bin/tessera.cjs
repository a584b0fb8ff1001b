#!/bin/sh
':' //; exec node -- "$0" "$@"
"use strict";
/*
 * The tessera command. Two details keep it correct and fast:
 * - `node --`: Node (20, 22 and 24 alike) scans its whole command line for its own --env-file option
 *   (nodejs/node#54232), reads that file itself and exits when it does not exist; `--` ends Node's
 *   options, so `--env-file` reaches Tessera. A `#!/usr/bin/env -S node --` line would say so, but
 *   BusyBox's env (Alpine, every node:*-alpine image) has no -S. So the file starts as a shell script
 *   that runs `exec node -- this-file "$@"` (line 2), and to JavaScript line 2 is a string and a comment.
 * - A V8 code cache: compiling the bundle and the functions a command runs costs about 4 ms per start,
 *   so the compiled code is kept in the cache directory (TESSERA_CACHE_DIR, or $XDG_CACHE_HOME/tessera
 *   or ~/.cache/tessera; TESSERA_CACHE_DIR=off disables it), keyed by the bundle's content hash, the
 *   Node version and the command (each lazy chunk has one of its own), and made after the first run. Compiled code runs as this user, so a
 *   cache is used only from a directory and a file that this user owns and no one else can write;
 *   files are written whole (exclusive temporary file, then rename). V8 rejects data that does not
 *   fit this V8 and this source, and then the cache is made again. It holds compiled code, no value.
 *   A run that writes a cache keeps the caches of the four most recently written builds × Node versions
 *   × architectures and removes older ones, so the directory does not grow with every upgrade, and two
 *   installs (or two Node versions) sharing it do not delete each other's caches.
 */
const {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} = require("node:fs");
const { dirname, join } = require("node:path");
const vm = require("node:vm");

const bundle = join(__dirname, "..", "dist", "cli.cjs");
let source;
try {
  source = readFileSync(bundle, "utf8");
} catch {
  process.stderr.write("tessera: dist/cli.cjs is missing; build it with `npm run build`\n");
  process.exit(1);
}

const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
const privateTo = (stat) => (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;

function cachePath() {
  const env = process.env;
  const setting = env.TESSERA_CACHE_DIR;
  if (setting === "off" || setting === "0") return undefined;
  const build = /^\/\/ tessera-build ([0-9a-f]{24})$/m.exec(source.slice(0, 200));
  if (!build) return undefined;
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : undefined);
  const dir = setting || (base && join(base, "tessera"));
  if (!dir) return undefined;
  const group = process.argv[2] === "run" ? "run" : "cli";
  cacheKey = `code-${build[1]}-${process.version}-${process.arch}-`;
  return join(dir, `${cacheKey}${group}.bin`);
}

/** What every code cache file of this build, Node and architecture starts with (set by cachePath). */
let cacheKey;

/** The names this launcher gives code caches (any build), and its temporary files (see writeCache). */
const CODE_CACHE = /^code-[0-9a-f]{24}-v\d+\.\d+\.\d+[\w.+-]*-(?:run|cli|chunk-[\w-]+)\.bin$/;
const CODE_TEMP = /^code-[0-9a-f]{24}-v\d+\.\d+\.\d+[\w.+-]*-(?:run|cli|chunk-[\w-]+)\.bin\.\d+\.[0-9a-z]+\.tmp$/;

/** How many builds × Node versions × architectures keep their code caches (two installs sharing one cache
 * directory, or projects on different Node versions, must not delete each other's caches on every run). */
const KEEP_KEYS = 4;

/**
 * Keep the code caches of the KEEP_KEYS most recently written keys (build, Node version, architecture;
 * `keep` is this run's) and remove the rest from `dir`, with temporary files an interrupted write left
 * (older than an hour). Only files named as this launcher names them, owned by this user, and regular
 * files (a symbolic link is not followed, nor removed). Best effort.
 */
function pruneCaches(dir, keep) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  const ours = [];
  for (const name of names) {
    const temp = CODE_TEMP.test(name);
    if (!temp && !CODE_CACHE.test(name)) continue;
    try {
      const stat = lstatSync(join(dir, name));
      if (!stat.isFile() || (uid !== undefined && stat.uid !== uid)) continue;
      if (temp) {
        if (now - stat.mtimeMs > 3_600_000) unlinkSync(join(dir, name));
        continue;
      }
      ours.push({ name, key: name.replace(/(?:run|cli|chunk-[\w-]+)\.bin$/, ""), mtime: stat.mtimeMs });
    } catch {
      // gone already, or not ours to remove
    }
  }
  const newest = new Map();
  for (const { key, mtime } of ours) newest.set(key, Math.max(newest.get(key) ?? 0, mtime));
  newest.set(keep, Number.POSITIVE_INFINITY);
  const kept = new Set(
    [...newest]
      .sort((a, b) => b[1] - a[1])
      .slice(0, KEEP_KEYS)
      .map(([key]) => key),
  );
  for (const { name, key } of ours) {
    if (kept.has(key)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already
    }
  }
}

function readCache(file) {
  let fd;
  try {
    fd = openSync(file, "r");
    if (!privateTo(fstatSync(fd)) || !privateTo(statSync(dirname(file)))) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined; // first run of this build and command: the cache is made at exit
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeCache(file, data) {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!privateTo(statSync(dir))) return false;
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temp, data, { mode: 0o600, flag: "wx" });
    renameSync(temp, file);
  } catch {
    rmSync(temp, { force: true });
    return false;
  }
  return true;
}

const cacheFile = cachePath();

/** The code caches to write at exit: { cache, script } for each file compiled without a usable one. */
const toWrite = [];
function writeCaches() {
  let wrote = false;
  for (const { cache, script } of toWrite) {
    try {
      if (writeCache(cache, script.createCachedData())) wrote = true;
    } catch {
      // the cache is an optimisation only
    }
  }
  // Only when a cache was written (the first run of a build and command): no directory scan otherwise.
  if (wrote && cacheKey) pruneCaches(dirname(cacheFile), cacheKey);
}

/**
 * Compile and run a CommonJS file of the build (the bundle, or one of its lazy chunks) with its own code
 * cache: `cache` is the cache file for it, or undefined (no cache). It runs as a CommonJS module would
 * (same wrapper, same arguments); `#!` is not valid inside the wrapper.
 */
function runCached(text, filename, cache, module) {
  const cachedData = cache ? readCache(cache) : undefined;
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${text.replace(/^#!/, "//")}\n})`;
  const script = new vm.Script(wrapped, { filename, cachedData });
  if (cache && (cachedData === undefined || script.cachedDataRejected)) {
    // At exit, so that the functions this command ran are compiled into the cache as well; one exit
    // listener writes every cache this run made (a command may load many chunks).
    if (toWrite.length === 0) process.once("exit", writeCaches);
    toWrite.push({ cache, script });
  }
  script.runInThisContext()(module.exports, bundleRequire, module, filename, dist);
  return module.exports;
}

// The bundle requires Node's modules and its own lazy chunks (./name.cjs, next to it), each with a
// code cache of its own (same build key), loaded once.
const dist = dirname(bundle);
const chunks = new Map();
function bundleRequire(id) {
  if (!id.startsWith("./")) return require(id);
  const file = join(dist, id);
  const known = chunks.get(file);
  if (known) return known.exports;
  const module = { exports: {} };
  chunks.set(file, module);
  const name = id
    .slice(2)
    .replace(/\.cjs$/, "")
    .replace(/[^\w-]/g, "_");
  const cache = cacheFile?.replace(/-(run|cli)\.bin$/, `-chunk-${name}.bin`);
  return runCached(readFileSync(file, "utf8"), file, cache, module);
}
runCached(source, bundle, cacheFile, { exports: {} });
