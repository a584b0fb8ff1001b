/**
 * The library as a consumer uses it, by its package name, against the built dist/: the README's library
 * examples and uses of load() and openStore() compiled by tsc under `--strict --exactOptionalPropertyTypes`
 * (the ES module and the CommonJS declarations); openStore() through import and require(), sharing one
 * store with `tessera var` (same lock, same signature, same trust check); importing the library loads no
 * cryptography.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { cleanEnv, project, ROOT, tessera } from "../helpers.ts";

const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** The manifest of the README's typed-values example: what its `load<Env>()` example reads. */
const MANIFEST = `secrets:
  required:
    - name: STRIPE_KEY
      startsWith: sk_live_
config:
  PORT: { value: "8080", type: port }
  FEATURE_X: { type: boolean }
`;

/** A directory where `tessera-cli` resolves to this checkout, as it would from node_modules after an install. */
function consumer(files: Record<string, string> = {}): string {
  const dir = project({
    "package.json": '{ "name": "consumer", "private": true, "type": "module" }\n',
    ...files,
  });
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "tessera-cli"));
  symlinkSync(join(ROOT, "node_modules", "@types"), join(dir, "node_modules", "@types"));
  return dir;
}

/** The README's TypeScript blocks that import the package: its library examples, verbatim. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  return blocks.filter((block) => /\bfrom\s+["']tessera[-"']/.test(block));
}

function tsc(dir: string, files: readonly string[]) {
  const result = spawnSync(
    process.execPath,
    [
      TSC,
      "--strict",
      "--exactOptionalPropertyTypes",
      "--noEmit",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      "--types",
      "node",
      ...files,
    ],
    { cwd: dir, encoding: "utf8" },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Uses of load() and openStore() as strict code writes them: options that may be undefined. */
const CONSUMER_ESM = `import {
  isTesseraError,
  load,
  type LoadOptions,
  loadTarget,
  openPipeline,
  openStore,
  type OpenStoreOptions,
  type SetOptions,
  type Value,
  type WorkspaceStore,
  type Diagnostic,
  type DotenvEntry,
  gatherLocalLayers,
  parseDotenv,
  type Resolution,
  resolve,
  TesseraError,
} from "tessera-cli";
import type { Env } from "./env.js";

declare const maybe: string | undefined;
declare const flag: boolean | undefined;

const options: LoadOptions = { cwd: maybe, env: undefined, profile: process.env.TESSERA_ENV, manifest: maybe };
const env = await load<Env>({ ...options, strict: flag, offline: flag, envFiles: undefined, notice: undefined });
const port: number = env.PORT;
const feature: boolean | undefined = env.FEATURE_X;

const pipeline = await openPipeline({ cwd: process.cwd(), env: process.env, profile: maybe, secretsFrom: undefined });
const child: Record<string, string> = await pipeline.childEnvironment({ pristine: flag });
const kubernetes = await loadTarget("kubernetes");
const rendered = await pipeline.render(kubernetes, {
  service: { name: "shop", image: "shop:1", port: undefined, namespace: maybe },
  withValues: flag,
  options: { kustomize: flag, secretsMode: undefined, refreshInterval: maybe },
});
const paths: string[] = rendered.artifacts.map((artifact) => artifact.path);

// The lower-level functions take their own results back, optional fields and all.
const { resolution, spec } = await pipeline.resolve();
const layers = await gatherLocalLayers({ cwd: process.cwd(), env: process.env, spec, profile: maybe, envFiles: undefined });
const again: Resolution = resolve({ spec, profile: maybe, stack: layers, deferErrors: flag, emptyIsUnset: undefined });
const parsed = parseDotenv("A=1", ".env");
const entry: DotenvEntry | undefined = parsed.entries[0];
const error = new TesseraError("E_USAGE", "an example", { location: { file: "x", line: undefined }, hint: maybe });
const warning: Diagnostic = { code: "W_EXAMPLE", message: "an example", location: undefined };

const storeOptions: OpenStoreOptions = { cwd: maybe, env: process.env, notice: undefined, onWarning: undefined };
const store: WorkspaceStore = await openStore(storeOptions);
const names: string[] = await store.names();
const value: Value | undefined = await store.get("STRIPE_KEY");
const text: string | undefined = value?.reveal();
const literal: SetOptions = { literal: flag };
await store.set("STRIPE_KEY", "sk_live_fake", literal);
await store.set({ A: "1", B: value ?? "fallback" }, { literal: undefined });
const removed: boolean = await store.unset("A");
const where: string = store.file;
try {
  await (await openStore()).get("A");
} catch (error) {
  if (isTesseraError(error) && error.code === "E_STORE_LOCKED") console.error(error.hint);
}
export { again, child, entry, error, feature, names, paths, port, removed, resolution, text, warning, where };
`;

/** The same through require(), against the CommonJS declarations. */
const CONSUMER_CJS = `import tessera = require("tessera-cli");

export async function main(cwd: string | undefined): Promise<string[]> {
  const store = await tessera.openStore({ cwd, env: process.env, notice: undefined });
  await store.set("X", "fake", { literal: undefined });
  const config = await tessera.load({ cwd, profile: undefined });
  return [...(await store.names()), ...Object.keys(config)];
}
`;

/** Must not compile: proves the check types the package (a wrong type fails) under exact optional types. */
const WRONG = `import { load, openStore } from "tessera-cli";
const port: string = (await load<{ PORT: number }>()).PORT;
const value: string | undefined = await (await openStore()).get("A");
const exact: { a?: string } = { a: undefined as string | undefined };
export { exact, port, value };
`;

describe("the library's types under exactOptionalPropertyTypes", () => {
  test("the README's library examples and uses of load() and openStore() compile by the package name", () => {
    const examples = readmeExamples();
    const imported = new Set(
      examples.flatMap((block) =>
        [...block.matchAll(/\b(load|openPipeline|openStore)\b/g)].map((match) => match[1]),
      ),
    );
    assert.deepEqual(
      [...imported].sort(),
      ["load", "openPipeline", "openStore"],
      "the README shows load(), openPipeline() and openStore()",
    );
    const dir = consumer({ "tessera.yaml": MANIFEST });
    const typed = tessera(["types", "-o", "env.ts"], { cwd: dir });
    assert.equal(typed.status, 0, typed.stderr);
    const files = examples.map((block, index) => {
      const name = `readme-${index + 1}.ts`;
      writeFileSync(join(dir, name), block);
      return name;
    });
    writeFileSync(join(dir, "consumer.ts"), CONSUMER_ESM);
    writeFileSync(join(dir, "consumer.cts"), CONSUMER_CJS);
    const result = tsc(dir, [...files, "consumer.ts", "consumer.cts"]);
    assert.equal(result.status, 0, `${result.output}\n(README blocks: ${files.join(", ")} in ${dir})`);
  });

  test("a wrong use does not compile: the check reads the package's types, with exact optional types on", () => {
    const dir = consumer();
    writeFileSync(join(dir, "wrong.ts"), WRONG);
    const result = tsc(dir, ["wrong.ts"]);
    assert.notEqual(result.status, 0);
    assert.match(result.output, /wrong\.ts\(2,7\): error TS2322/, "a number is not a string");
    assert.match(result.output, /wrong\.ts\(3,7\): error TS2322/, "get() gives a Value, not a string");
    assert.match(result.output, /wrong\.ts\(4,7\): error TS2375/, "exactOptionalPropertyTypes is on");
  });
});

/** A project, a private age identity (one config directory), and `tessera var` in it. */
function workspace() {
  const dir = consumer({ "tessera.yaml": "secrets: [API_KEY]\nconfig:\n  MODE: { value: fast }\n" });
  const config = mkdtempSync(join(tmpdir(), "tessera-library-config-"));
  const env = cleanEnv({ XDG_CONFIG_HOME: config });
  const cli = (args: string[]) => tessera(args, { cwd: dir, env: { XDG_CONFIG_HOME: config } });
  const node = (code: string, kind: "module" | "commonjs", extra: Record<string, string> = {}) => {
    const result = spawnSync(process.execPath, [`--input-type=${kind}`, "-e", code], {
      cwd: dir,
      env: { ...env, ...extra },
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  return { dir, config, cli, node };
}

const ok = (result: { status: number | null; stderr: string }) =>
  assert.equal(result.status, 0, result.stderr);

describe("openStore() against dist/", () => {
  test("import: set, get, names, unset, as `tessera var` reads and writes the same store", () => {
    const { dir, cli, node } = workspace();
    const out = node(
      `import { inspect } from "node:util";
import { load, openStore } from "tessera-cli";
const notices = [];
const store = await openStore({ cwd: process.cwd(), env: process.env, notice: (text) => notices.push(text) });
const before = { exists: store.exists(), names: await store.names(), removed: await store.unset("API_KEY") };
await store.set("API_KEY", "fake-lib-key-1");
await store.set({ ALIAS: "$API_KEY", PRICE: "costs $5" }, { literal: true });
await store.set("LINK", "$API_KEY");
const value = await store.get("API_KEY");
const shown = [String(value), JSON.stringify(value), inspect(value), \`\${value}\`];
const loaded = await load({ cwd: process.cwd(), env: process.env });
console.log(JSON.stringify({ before, exists: store.exists(), file: store.file, names: await store.names(),
  revealed: value.reveal(), alias: (await store.get("ALIAS")).reveal(), link: (await store.get("LINK")).reveal(),
  missing: await store.get("NOPE") ?? null, shown, loaded, notices }));`,
      "module",
    );
    assert.deepEqual(out.before, { exists: false, names: [], removed: false });
    assert.equal(out.exists, true);
    assert.equal(out.file, join(dir, ".tessera", "store.age"));
    assert.deepEqual(out.names, ["ALIAS", "API_KEY", "LINK", "PRICE"]);
    assert.equal(out.revealed, "fake-lib-key-1");
    assert.equal(out.alias, "$$API_KEY", "literal: every $ stored as $$");
    assert.equal(out.link, "$API_KEY", "a template, stored as written and not resolved by get()");
    assert.equal(out.missing, null);
    assert.deepEqual(out.shown, ["[redacted]", '"[redacted]"', "[redacted]", "[redacted]"]);
    assert.deepEqual(
      out.loaded,
      { API_KEY: "fake-lib-key-1", MODE: "fast" },
      "load() reads the store (layer 6)",
    );
    assert.ok(
      out.notices.some((text: string) => /created your age identity/.test(text)),
      out.notices.join(""),
    );
    assert.ok(!out.notices.join("").includes("fake-lib-key-1"));
    assert.equal(statSync(join(dir, ".tessera", "store.age")).mode & 0o777, 0o600);

    // The CLI opens what the library wrote (signed by a listed writer), and the library what the CLI writes.
    assert.equal(cli(["var", "get", "API_KEY"]).stdout, "fake-lib-key-1\n");
    assert.equal(cli(["var", "get", "PRICE"]).stdout, "costs $$5\n");
    ok(cli(["var", "set", "FROM_CLI", "fake-cli-2"]));
    ok(cli(["var", "unset", "LINK"]));
    const after = node(
      `import { openStore } from "tessera-cli";
const store = await openStore();
const removed = [await store.unset("ALIAS"), await store.unset("ALIAS")];
console.log(JSON.stringify({ names: await store.names(), fromCli: (await store.get("FROM_CLI")).reveal(), removed }));`,
      "module",
    );
    assert.deepEqual(after, {
      names: ["API_KEY", "FROM_CLI", "PRICE"],
      fromCli: "fake-cli-2",
      removed: [true, false],
    });
  });

  test("require(): the CommonJS build, writes through the lock (concurrent sets lose nothing)", () => {
    const { cli, node } = workspace();
    ok(cli(["var", "set", "API_KEY", "fake-cjs-key"]));
    const out = node(
      `const { openStore, Value } = require("tessera-cli");
(async () => {
  const store = await openStore({ cwd: process.cwd() });
  const names = Array.from({ length: 6 }, (_, i) => "N" + i);
  await Promise.all(names.map((name, i) => store.set(name, "fake-" + i)));
  await store.set("COPY", new Value("fake-from-value"));
  const value = await store.get("API_KEY");
  console.log(JSON.stringify({ names: await store.names(), value: value.reveal(), isValue: value instanceof Value,
    copy: (await store.get("COPY")).reveal(), from: require.resolve("tessera-cli") }));
})().catch((error) => { console.error(error); process.exit(1); });`,
      "commonjs",
    );
    assert.deepEqual(out.names, ["API_KEY", "COPY", "N0", "N1", "N2", "N3", "N4", "N5"]);
    assert.equal(out.value, "fake-cjs-key");
    assert.equal(out.isValue, true);
    assert.equal(out.copy, "fake-from-value");
    assert.equal(out.from, realpathSync(join(ROOT, "dist", "cjs", "index.cjs")));
    assert.equal(cli(["var", "get", "N5"]).stdout, "fake-5\n");
  });

  test("refusals: no identity, an unlisted signer, a bad name, a bad template; never a value in a message", () => {
    const { dir, cli, node } = workspace();
    ok(cli(["var", "set", "API_KEY", "fake-refusal-key"]));
    const attempt = (code: string, extra: Record<string, string> = {}) =>
      node(
        `import { openStore } from "tessera-cli";
const store = await openStore();
try { ${code}; console.log(JSON.stringify({ ok: true })); }
catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message, hint: error.hint ?? "" })); }`,
        "module",
        extra,
      );
    const stranger = mkdtempSync(join(tmpdir(), "tessera-library-stranger-"));
    const locked = attempt(`await store.get("API_KEY")`, { XDG_CONFIG_HOME: stranger });
    assert.equal(locked.code, "E_STORE_LOCKED");
    const before = readFileSync(join(dir, ".tessera", "store.age"), "utf8");
    const lockedWrite = attempt(`await store.set("OTHER", "fake-other")`, { XDG_CONFIG_HOME: stranger });
    assert.equal(lockedWrite.code, "E_STORE_LOCKED");
    assert.equal(readFileSync(join(dir, ".tessera", "store.age"), "utf8"), before, "the store is unchanged");

    const badName = attempt(`await store.set("NOT-A-NAME", "fake-bad-name")`);
    assert.equal(badName.code, "E_USAGE");
    const badTemplate = attempt(`await store.set("T", "fake-tpl-\${zzqq")`);
    assert.equal(badTemplate.code, "E_TEMPLATE_SYNTAX");
    const nul = attempt(`await store.set("T", "fake-nulmark\\u0000x")`);
    assert.equal(nul.code, "E_VALUE_INVALID");

    // A store whose signer .tessera/recipients no longer lists is not read.
    const recipients = join(dir, ".tessera", "recipients");
    const text = readFileSync(recipients, "utf8");
    writeFileSync(recipients, text.replace(/^# tessera-writer:.*$/gm, ""));
    const untrusted = attempt(`await store.names()`);
    assert.equal(untrusted.code, "E_STORE_UNTRUSTED");
    writeFileSync(recipients, text);
    assert.deepEqual(attempt(`await store.names()`), { ok: true });

    const messages = JSON.stringify([locked, lockedWrite, badName, badTemplate, nul, untrusted]);
    for (const value of ["fake-refusal-key", "fake-other", "fake-bad-name", "zzqq", "nulmark"]) {
      assert.ok(!messages.includes(value), `${value} in ${messages}`);
    }
  });
});

describe("importing the library loads no cryptography", () => {
  test("the store's code and age are reached only through import(), never from the entry's static imports", () => {
    const lib = join(ROOT, "dist", "lib");
    const read = (file: string) => readFileSync(join(lib, file), "utf8");
    const staticImports = (file: string) =>
      [...read(file).matchAll(/(?:\bfrom\s*|\bimport\s*)"\.\/([^"]+\.js)"/g)].map((match) => match[1]!);
    const reached = new Set<string>();
    const queue = ["index.js"];
    while (queue.length) {
      const file = queue.shift()!;
      if (reached.has(file)) continue;
      reached.add(file);
      queue.push(...staticImports(file));
    }
    const markers = [
      "function openWorkspaceStore(",
      "function updateStore(",
      "function decryptAge(",
      "Encrypter",
    ];
    const loaded = [...reached].map(read).join("\n");
    const built = readdirSync(lib)
      .filter((file) => file.endsWith(".js"))
      .map(read)
      .join("\n");
    for (const marker of markers) {
      // In the build (so this check is not vacuous), but not in what importing the library loads.
      assert.ok(built.includes(marker), `${marker} is not in dist/lib at all`);
      assert.ok(!loaded.includes(marker), `${marker} is loaded by importing the library`);
    }
  });
});
