#!/usr/bin/env -S node --
"use strict";
/*
 * The tessera command. Two details keep it correct and fast:
 * - `node --` (on the #! line): Node 20 scans the whole command line for its own --env-file option
 *   (nodejs/node#54232) and exits when that file does not exist; `--` ends Node's options, so
 *   `--env-file` reaches Tessera.
 * - A V8 code cache: compiling the bundle and the functions a command runs costs about 4 ms per start,
 *   so the compiled code is kept in the cache directory (TESSERA_CACHE_DIR, or $XDG_CACHE_HOME/tessera;
 *   TESSERA_CACHE_DIR=off disables it), keyed by the bundle's content hash, the Node version and the
 *   command, and produced after the first run. V8 rejects a cache that does not fit, and then it is
 *   made again. The cache holds compiled code only, never a value.
 */
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
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

function cachePath() {
  const setting = process.env.TESSERA_CACHE_DIR;
  if (setting === "off" || setting === "0") return undefined;
  const build = /^\/\/ tessera-build ([0-9a-f]{24})$/m.exec(source.slice(0, 200));
  if (!build) return undefined;
  const dir =
    setting || join(process.env.XDG_CACHE_HOME || join(require("node:os").homedir(), ".cache"), "tessera");
  const group = process.argv[2] === "run" ? "run" : "cli";
  return join(dir, `code-${build[1]}-${process.version}-${process.arch}-${group}.bin`);
}

const cacheFile = cachePath();
let cachedData;
if (cacheFile) {
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // first run of this build and command: the cache is made at exit
  }
}
// The bundle runs as a CommonJS module would (same wrapper, same arguments); `#!` is not valid inside it.
const wrapped = `(function (exports, require, module, __filename, __dirname) {${source.replace(/^#!/, "//")}\n})`;
const script = new vm.Script(wrapped, { filename: bundle, cachedData });
if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
  process.once("exit", () => {
    try {
      const data = script.createCachedData();
      mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
      const temp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(temp, data, { mode: 0o600 });
      renameSync(temp, cacheFile);
    } catch {
      // the cache is an optimisation only
    }
  });
}
// The bundle requires Node's modules and its own lazy chunks (./name.cjs, next to it).
const dist = dirname(bundle);
const bundleRequire = (id) => require(id.startsWith("./") ? join(dist, id) : id);
const cliModule = { exports: {} };
script.runInThisContext()(cliModule.exports, bundleRequire, cliModule, bundle, dist);
