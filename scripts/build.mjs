#!/usr/bin/env node
import { spawnSync } from "node:child_process";
/**
 * Build: dist/cli.cjs (the CLI entry, CommonJS: Node starts it ≈4 ms faster than an ES module) plus one
 * lazily loaded chunk per dynamic import() target (dist/<path-with-dashes>.cjs), so `tessera run` loads
 * only what it uses; dist/lib/ (the ES module library), dist/cjs/ (the same library for require(), with
 * its own package.json and declarations) and dist/types/ (declarations); schema/tessera.schema.json (the
 * JSON Schema editors read). Source maps are written beside the code for development and left out of
 * the package (package.json `files`).
 */
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const final = join(root, "dist");
// Built beside dist/ and swapped in at the end, so a tessera running meanwhile never sees a half-built dist/.
const dist = join(root, `.dist-${process.pid}`);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** Dynamic imports that stay inside the entry bundle (the hot path). */
const INLINE = new Set(["commands/run"]);

function sourceHash() {
  const hash = createHash("sha256");
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        hash.update(relative(src, path));
        hash.update(readFileSync(path));
      }
    }
  };
  walk(src);
  hash.update(readFileSync(join(root, "package-lock.json")));
  return hash.digest("hex").slice(0, 12);
}

const version = `${pkg.version}+${sourceHash()}`;

function chunkName(modulePath) {
  return relative(src, modulePath)
    .replace(/\.(ts|js)$/, "")
    .split("/")
    .join("-");
}

const pending = [];
const planned = new Set();

/**
 * Dependencies several chunks use, bundled once each into a chunk of their own (dist/vendor-NAME.cjs)
 * instead of into every chunk that imports them.
 */
const VENDOR = new Map([
  ["yaml", "vendor-yaml"],
  ["age-encryption", "vendor-age"],
]);

/**
 * Commands share most of their code (the pipeline, the manifest readers, the option parser): bundled
 * one chunk per command, each would carry its own copy of it. So the commands are bundled by group,
 * one chunk holding every command of its group (`tessera run` stays in the entry bundle).
 */
function groupOf(key) {
  if (key === "commands/vars" || key.startsWith("commands/var/")) return "commands-var";
  if (key.startsWith("commands/")) return "commands";
  return undefined;
}
/** Per group: the member modules (src-relative keys) dynamic imports reach, and those it was built with. */
const groups = new Map();
const memberExport = (key) => key.replace(/[^\w]/g, "_");

/** Turn every dynamic import() of a src module into a require of its own chunk (or its group's). */
const lazyChunks = {
  name: "lazy-chunks",
  setup(builder) {
    const building = builder.initialOptions.stdin?.sourcefile?.replace(/\.js$/, "");
    builder.onResolve({ filter: /^\.\/commands(-var)?\.cjs$/, namespace: "group-member" }, (args) => ({
      path: args.path,
      external: true,
    }));
    builder.onLoad({ filter: /.*/, namespace: "group-member" }, (args) => ({
      contents: `module.exports = require("./${args.pluginData.group}.cjs")[${JSON.stringify(memberExport(args.path))}];`,
      loader: "js",
    }));
    builder.onResolve({ filter: /^(yaml|age-encryption)$/ }, (args) => {
      const name = VENDOR.get(args.path);
      if (!name) return undefined;
      // The vendor chunk itself bundles the package.
      if (args.importer === "" || args.pluginData === "vendor") return undefined;
      if (!planned.has(name)) {
        planned.add(name);
        pending.push({ name, entry: args.path });
      }
      return { path: `./${name}.cjs`, external: true };
    });
    builder.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind !== "dynamic-import") return undefined;
      const target = resolve(args.resolveDir, args.path).replace(/\.js$/, ".ts");
      const key = relative(src, target).replace(/\.ts$/, "");
      if (INLINE.has(key)) return undefined;
      const group = groupOf(key);
      if (group) {
        // Inside its own group's chunk, a member is bundled in place.
        if (group === building) return undefined;
        if (!groups.has(group)) groups.set(group, { members: new Set(), built: "" });
        const members = groups.get(group).members;
        const clash = [...members].find(
          (other) => other !== key && memberExport(other) === memberExport(key),
        );
        if (clash)
          throw new Error(`${key} and ${clash} would share the export ${memberExport(key)} in ${group}.cjs`);
        members.add(key);
        planned.add(group);
        return { path: key, namespace: "group-member", pluginData: { group } };
      }
      const name = chunkName(target);
      if (!planned.has(name)) {
        planned.add(name);
        pending.push({ name, entry: target });
      }
      return { path: `./${name}.cjs`, external: true };
    });
  },
};

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  outExtension: { ".js": ".cjs" },
  minify: true,
  // No sourceMappingURL comment: the maps stay out of the package, and a comment would point nowhere.
  sourcemap: "external",
  legalComments: "none",
  define: { TESSERA_VERSION: JSON.stringify(version) },
  // import() of an external chunk becomes require(): no ES-module loader on any path.
  supported: { "dynamic-import": false },
  plugins: [lazyChunks],
  // Optional libraries a few rare cloud credential types use when installed (see src/providers/cloud/):
  // never bundled, required at run time only if present.
  external: ["@aws-sdk/*", "@smithy/*", "google-auth-library", "@azure/*"],
  logLevel: "warning",
};

rmSync(dist, { recursive: true, force: true });
const PLACEHOLDER = "0".repeat(24);
await build({
  ...common,
  entryPoints: { cli: join(src, "main.ts") },
  outdir: dist,
  banner: { js: `#!/usr/bin/env -S node --\n// tessera-build ${PLACEHOLDER}` },
});
// The build id (a hash of the bundle) keys bin/tessera.cjs's code cache; same length, so the source map holds.
const cliPath = join(dist, "cli.cjs");
const cliText = readFileSync(cliPath, "utf8");
const buildId = createHash("sha256").update(cliText).digest("hex").slice(0, 24);
writeFileSync(cliPath, cliText.replace(`// tessera-build ${PLACEHOLDER}`, `// tessera-build ${buildId}`));
for (;;) {
  while (pending.length > 0) {
    const { name, entry } = pending.shift();
    await build({ ...common, entryPoints: { [name]: entry }, outdir: dist });
  }
  // A group's chunk re-exports each member under its key; built again if a later chunk reached a new member.
  const stale = [...groups].find(([, group]) => group.built !== [...group.members].sort().join(","));
  if (!stale) break;
  const [name, group] = stale;
  const members = [...group.members].sort();
  group.built = members.join(",");
  await build({
    ...common,
    stdin: {
      contents: members
        .map((key) => `export * as ${memberExport(key)} from ${JSON.stringify(`./${key}.js`)};`)
        .join("\n"),
      resolveDir: src,
      sourcefile: `${name}.js`,
      loader: "ts",
    },
    outfile: join(dist, `${name}.cjs`),
  });
}

// The library: ES modules, dependencies left to the package manager.
await build({
  entryPoints: { index: join(src, "index.ts") },
  outdir: join(dist, "lib"),
  bundle: true,
  splitting: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // Dependencies are bundled, as in the CLI: the package installs nothing else (only the optional
  // libraries of rare cloud credential types stay outside).
  external: common.external,
  // Bundled CommonJS dependencies (yaml) may call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as __tesseraRequire } from "node:module"; const require = __tesseraRequire(import.meta.url);',
  },
  define: { TESSERA_VERSION: JSON.stringify(version) },
  // Whitespace and syntax only: a library user's stack traces keep our function names.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "external",
  logLevel: "warning",
});

// The library for require(): one CommonJS file, its dependencies bundled.
await build({
  entryPoints: { index: join(src, "index.ts") },
  outdir: join(dist, "cjs"),
  outExtension: { ".js": ".cjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: common.external,
  define: { TESSERA_VERSION: JSON.stringify(version) },
  supported: { "dynamic-import": false },
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "external",
  logLevel: "warning",
});
writeFileSync(join(dist, "cjs", "package.json"), `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);

// Type declarations for library users.
const tsc = spawnSync(
  process.execPath,
  [
    join(root, "node_modules", "typescript", "bin", "tsc"),
    "-p",
    join(root, "tsconfig.build.json"),
    "--outDir",
    join(dist, "types"),
  ],
  { stdio: "inherit" },
);
if (tsc.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.exit(tsc.status ?? 1);
}

// The same declarations for require(): under dist/cjs/ (a "commonjs" package), TypeScript reads them as
// CommonJS, as they describe dist/cjs/index.cjs.
cpSync(join(dist, "types"), join(dist, "cjs", "types"), { recursive: true });

const old = join(root, `.dist-old-${process.pid}`);
if (existsSync(final)) renameSync(final, old);
renameSync(dist, final);
rmSync(old, { recursive: true, force: true });

// The JSON Schema of tessera.yaml, as `tessera schema` prints it, for editors and the package.
const schemaDir = join(root, "schema");
mkdirSync(schemaDir, { recursive: true });
const schema = spawnSync(process.execPath, ["--", join(root, "bin", "tessera.cjs"), "schema"], {
  encoding: "utf8",
  env: { ...process.env, TESSERA_CACHE_DIR: "off" },
});
if (schema.status !== 0) {
  console.error(schema.stderr);
  process.exit(schema.status ?? 1);
}
writeFileSync(join(schemaDir, "tessera.schema.json"), schema.stdout);

console.error(`built tessera ${version}: dist/cli.cjs + ${planned.size} lazy chunks, dist/lib/index.js`);
