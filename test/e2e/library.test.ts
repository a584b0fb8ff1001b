/**
 * The library as a consumer uses it, by its package name, against the built dist/: the README's library
 * examples and uses of load() and openStore() compiled by tsc under `--strict --exactOptionalPropertyTypes`
 * (the ES module and the CommonJS declarations); openStore() through import and require(), sharing one
 * store with `tessera var` (same lock, same signature, same trust check); build() writing what
 * `tessera build` writes, with its refusals; importing the library loads no cryptography and no target.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
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
import { cleanEnv, missingProgram, project, ROOT, tessera } from "../helpers.ts";

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
  build,
  type BuildOptions,
  type BuildResult,
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
  type WrittenFile,
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

const buildOptions: BuildOptions = {
  target: "kubernetes",
  cwd: maybe,
  profile: maybe,
  out: maybe,
  withValues: flag,
  service: { name: maybe, image: undefined, namespace: maybe },
  render: { kustomize: flag, envStyle: undefined, secretsMode: "files", refreshInterval: maybe },
  allowMissingSecrets: flag,
};
const built: BuildResult = await build(buildOptions);
const builtFiles: WrittenFile[] = built.files;
const valueFiles: string[] = built.files.filter((file) => file.sensitive && file.mode === 0o600).map((file) => file.path);
const stale: boolean[] = built.removed.map((file) => file.sensitive);
const renamed: string | undefined = built.service.renamed?.from;
const missingNames: string[] = built.missing.map((variable) => variable.name);
const todo: string[] = [...built.notes, ...built.warnings.map((warning) => warning.code)];
const shortest = await build({ target: "docker" });
export { again, builtFiles, child, entry, error, feature, missingNames, names, paths, port, removed, renamed, resolution, shortest, stale, text, todo, valueFiles, warning, where };
`;

/** The same through require(), against the CommonJS declarations. */
const CONSUMER_CJS = `import tessera = require("tessera-cli");

export async function main(cwd: string | undefined): Promise<string[]> {
  const store = await tessera.openStore({ cwd, env: process.env, notice: undefined });
  await store.set("X", "fake", { literal: undefined });
  const config = await tessera.load({ cwd, profile: undefined });
  const built = await tessera.build({ target: "compose", cwd, out: undefined, render: { secretsMode: undefined } });
  return [...(await store.names()), ...Object.keys(config), ...built.written];
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
        [...block.matchAll(/\b(build|load|openPipeline|openStore)\(/g)].map((match) => match[1]),
      ),
    );
    assert.deepEqual(
      [...imported].sort(),
      ["build", "load", "openPipeline", "openStore"],
      "the README shows build(), load(), openPipeline() and openStore()",
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

const DB_PASSWORD = "fake-lib-build-db-5e1f";
const SENTRY_DSN = "fake-lib-build-dsn-a27c";
const LOG_LEVEL = "fake-lib-build-level-90d3";
const BUILD_VALUES = [DB_PASSWORD, SENTRY_DSN, LOG_LEVEL];

const BUILD_MANIFEST = `service: { name: Shop_API, image: registry.example.test/shop:1, port: 8080 }
secrets:
  required:
    - name: DB_PASSWORD
  optional:
    - name: SENTRY_DSN
config:
  LOG_LEVEL: ${LOG_LEVEL}
profiles:
  production: {}
`;
const BUILD_ENV = `DB_PASSWORD=${DB_PASSWORD}\nSENTRY_DSN=${SENTRY_DSN}\n`;

interface BuildOutcome {
  ok: boolean;
  result?: {
    target: string;
    out: string;
    manifest: string | null;
    profile: string | null;
    withValues: boolean;
    written: string[];
    removed: { path: string; sensitive: boolean }[];
    files: { path: string; name: string; kind: string; mode: number; sensitive: boolean }[];
    service: { name: string; image: string; namespace?: string; renamed?: { from: string; to: string } };
    notes: string[];
    warnings: { code: string; message: string }[];
    missing: { name: string }[];
  };
  code?: string;
  message?: string;
  hint?: string;
  details?: string[];
}

/** Call build(options) (a JavaScript expression) in `dir`, through import or require(); its result or its error, as JSON. */
function libraryBuild(dir: string, options: string, kind: "module" | "commonjs" = "module"): BuildOutcome {
  const body = `try {
  const result = await build(${options});
  console.log(JSON.stringify({ ok: true, result }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, code: error.code, message: error.message, hint: error.hint ?? "", details: error.details ?? [] }));
}`;
  const code =
    kind === "module"
      ? `import { build } from "tessera-cli";\n${body}`
      : `const { build } = require("tessera-cli");\n(async () => {\n${body}\n})();`;
  const result = spawnSync(process.execPath, [`--input-type=${kind}`, "-e", code], {
    cwd: dir,
    env: cleanEnv(),
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, "", "build() prints nothing");
  return JSON.parse(result.stdout) as BuildOutcome;
}

/** Every file and directory under `dir`: its mode, and a file's content. */
function tree(dir: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    const mode = (statSync(path).mode & 0o777).toString(8);
    if (entry.isDirectory()) {
      out[`${prefix}${entry.name}/`] = mode;
      Object.assign(out, tree(path, `${prefix}${entry.name}/`));
    } else out[`${prefix}${entry.name}`] = `${mode} ${readFileSync(path, "utf8")}`;
  }
  return out;
}

function buildProject(extra: Record<string, string> = {}): string {
  return consumer({ "tessera.yaml": BUILD_MANIFEST, ".env": BUILD_ENV, ...extra });
}

function git(dir: string, ...args: string[]) {
  return spawnSync("git", ["-c", "user.email=t@example.test", "-c", "user.name=t", ...args], {
    cwd: dir,
    encoding: "utf8",
  });
}

const hasGit = spawnSync("git", ["--version"]).status === 0;

describe("build() against dist/", () => {
  test("writes what `tessera build` writes for the same options: the same files, modes and contents, the same report", () => {
    const cases: { flags: string[]; options: string; out?: string; manifest?: string }[] = [
      {
        flags: [
          "-t",
          "kubernetes",
          "--env",
          "production",
          "--with-values",
          "--kustomize",
          "--env-style",
          "refs",
        ],
        options: `{ target: "kubernetes", profile: "production", withValues: true, render: { kustomize: true, envStyle: "refs" } }`,
      },
      {
        flags: ["-t", "kubernetes", "--namespace", "shop-ns", "--image", "shop:2", "-o", "out/k8s"],
        options: `{ target: "kubernetes", service: { namespace: "shop-ns", image: "shop:2" }, out: "out/k8s", cwd: process.cwd() }`,
        out: "out",
      },
      {
        flags: ["-t", "compose", "--with-values", "--secrets-mode", "files", "--name", "shop"],
        options: `{ target: "compose", withValues: true, service: { name: "shop" }, render: { secretsMode: "files" } }`,
      },
      {
        // The to-do's command repeats what chose the values.
        flags: ["-t", "docker", "--env", "production", "--manifest", "tessera.yaml", "--values", "prod.yaml"],
        options: `{ target: "docker", profile: "production", manifest: "tessera.yaml", values: ["prod.yaml"] }`,
      },
      {
        flags: ["-t", "external-secrets", "--cluster-store", "--refresh-interval", "5m"],
        options: `{ target: "external-secrets", render: { clusterStore: true, refreshInterval: "5m" } }`,
        // The operator reads the store: nothing is fetched from it here.
        manifest: `${BUILD_MANIFEST}sources:\n  - { type: vault, name: payments, address: "https://vault.example.test:8200", path: shop/api, auth: { method: kubernetes, role: shop-api } }\n`,
      },
    ];
    for (const { flags, options, out = "deploy", manifest = BUILD_MANIFEST } of cases) {
      const files = { "tessera.yaml": manifest, "prod.yaml": "LOG_LEVEL: fake-lib-build-prod-level\n" };
      const viaCli = buildProject(files);
      const viaLibrary = buildProject(files);
      const cli = tessera(["build", ...flags, "--json"], { cwd: viaCli });
      assert.equal(cli.status, 0, `${flags.join(" ")}: ${cli.stderr}`);
      // The text output too: the paths on stdout.
      const text = tessera(["build", ...flags], { cwd: buildProject(files) });
      assert.equal(text.status, 0, text.stderr);
      const outcome = libraryBuild(viaLibrary, options);
      assert.equal(outcome.ok, true, `${options}: ${outcome.message}`);
      const result = outcome.result!;

      const written = tree(join(viaLibrary, out));
      assert.ok(Object.keys(written).length > 3, `${options} wrote files`);
      assert.deepEqual(
        written,
        tree(join(viaCli, out)),
        `${options}: the same files as tessera build ${flags.join(" ")}`,
      );

      const report = JSON.parse(cli.stdout);
      assert.equal(result.target, report.target);
      assert.equal(result.out, report.out);
      assert.equal(result.manifest, report.manifest);
      assert.equal(result.profile ?? null, report.profile);
      assert.equal(result.withValues, report.withValues);
      assert.deepEqual(
        result.written,
        text.stdout.trim().split("\n"),
        "written: the paths tessera build prints",
      );
      assert.deepEqual(
        result.files.map((file) => ({
          path: file.path,
          values: file.sensitive,
          mode: file.mode.toString(8).padStart(4, "0"),
        })),
        report.written.map((file: { path: string; values: boolean; mode: string }) => ({
          path: file.path,
          values: file.values,
          mode: file.mode,
        })),
      );
      assert.equal(result.service.name, report.service.name);
      assert.deepEqual(result.service.renamed ?? null, report.service.renamed);
      assert.deepEqual(
        result.notes,
        report.todo.map((todo: { message: string }) => todo.message),
        "the to-dos, their commands with --env as the CLI's",
      );
      if (options.includes("prod.yaml"))
        assert.ok(
          result.notes.some((note) =>
            note.includes("--env production --manifest tessera.yaml --values prod.yaml"),
          ),
          result.notes.join("\n"),
        );
      assert.deepEqual(
        result.warnings.map((warning) => [warning.code, warning.message]),
        report.warnings.map((warning: { code: string; message: string }) => [warning.code, warning.message]),
      );
      assertNoValue(JSON.stringify(result.files) + result.notes.join("\n"));
    }
  });

  test("refuses a file it did not write: E_OUTPUT_EXISTS, nothing written", () => {
    const dir = buildProject({ "deploy/docker/run.sh": "#!/bin/sh\necho mine\n" });
    const before = tree(join(dir, "deploy"));
    const outcome = libraryBuild(dir, `{ target: "docker", withValues: true }`);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.code, "E_OUTPUT_EXISTS");
    assert.match(outcome.message!, /deploy\/docker\/run\.sh exists and was not written by tessera build/);
    assert.deepEqual(tree(join(dir, "deploy")), before, "nothing written, nothing removed");
    assertNoValue(JSON.stringify(outcome));
  });

  test("a build without values removes the value file of an earlier build with values", () => {
    const dir = buildProject();
    const first = libraryBuild(dir, `{ target: "docker", withValues: true }`);
    assert.equal(first.ok, true, first.message);
    assert.ok(existsSync(join(dir, "deploy", "docker", "docker.env")));
    const second = libraryBuild(dir, `{ target: "docker" }`);
    assert.equal(second.ok, true, second.message);
    assert.deepEqual(second.result!.removed, [{ path: "deploy/docker/docker.env", sensitive: true }]);
    assert.equal(existsSync(join(dir, "deploy", "docker", "docker.env")), false);
    assert.deepEqual(second.result!.written, ["deploy/docker/run.sh"]);
    assert.equal(
      readFileSync(join(dir, "deploy", "docker", ".tessera-outputs"), "utf8").includes("docker.env"),
      false,
      "the record no longer lists it",
    );
  });

  test("value files are 0600 and git-ignored; where git tracks one, E_OUTPUT_NOT_IGNORED and nothing written", (t) => {
    if (!hasGit) return missingProgram(t, "git");
    const dir = buildProject();
    git(dir, "init", "-q");
    const first = libraryBuild(dir, `{ target: "compose", withValues: true }`);
    assert.equal(first.ok, true, first.message);
    assert.deepEqual(
      first.result!.files.filter((file) => file.sensitive).map((file) => [file.path, file.mode]),
      [["deploy/compose/secrets.env", 0o600]],
    );
    // Secret files (readable by the container's user, as Docker's own are 0444) in a 0700 directory.
    const files = libraryBuild(
      dir,
      `{ target: "compose", withValues: true, out: "deploy/compose-files", render: { secretsMode: "files" } }`,
    );
    assert.equal(files.ok, true, files.message);
    assert.equal(statSync(join(dir, "deploy", "compose-files", "secrets")).mode & 0o777, 0o700);
    const valueFiles = [...first.result!.files, ...files.result!.files].filter((file) => file.sensitive);
    assert.ok(valueFiles.length >= 3, JSON.stringify(valueFiles));
    for (const file of valueFiles) {
      assert.equal(statSync(join(dir, file.path)).mode & 0o777, file.mode, file.path);
      assert.equal(git(dir, "check-ignore", "-q", file.path).status, 0, `${file.path} is ignored`);
    }
    const status = git(dir, "status", "--porcelain", "--untracked-files=all").stdout;
    assert.doesNotMatch(status, /secrets/, status);

    const docker = libraryBuild(dir, `{ target: "docker", withValues: true }`);
    assert.equal(docker.ok, true, docker.message);
    git(dir, "add", "-f", "deploy/docker/docker.env");
    const before = readFileSync(join(dir, "deploy", "docker", "docker.env"), "utf8");
    writeFileSync(join(dir, ".env"), `DB_PASSWORD=${DB_PASSWORD}-changed\n`);
    const refused = libraryBuild(dir, `{ target: "docker", withValues: true }`);
    assert.equal(refused.ok, false);
    assert.equal(refused.code, "E_OUTPUT_NOT_IGNORED");
    assert.match(refused.message!, /deploy\/docker\/docker\.env would hold values inside a git work tree/);
    assert.equal(
      readFileSync(join(dir, "deploy", "docker", "docker.env"), "utf8"),
      before,
      "nothing written",
    );
    assertNoValue(JSON.stringify(refused));
  });

  test("require(): the CommonJS build writes the same", () => {
    const viaImport = buildProject();
    const viaRequire = buildProject();
    const options = `{ target: "kubernetes", withValues: true, profile: "production" }`;
    const imported = libraryBuild(viaImport, options);
    const required = libraryBuild(viaRequire, options, "commonjs");
    assert.equal(required.ok, true, required.message);
    assert.deepEqual(required.result, imported.result);
    assert.deepEqual(tree(join(viaRequire, "deploy")), tree(join(viaImport, "deploy")));
    assert.equal(
      statSync(join(viaRequire, "deploy", "kubernetes", "secret.values.yaml")).mode & 0o777,
      0o600,
    );
  });

  test("missing required variables: the CLI's E_MISSING_REQUIRED, or returned with allowMissingSecrets", () => {
    const dir = consumer({ "tessera.yaml": BUILD_MANIFEST });
    const refused = libraryBuild(dir, `{ target: "docker" }`);
    assert.equal(refused.code, "E_MISSING_REQUIRED");
    const cli = tessera(["build", "-t", "docker", "--json"], { cwd: dir });
    const report = JSON.parse(cli.stdout);
    assert.equal(refused.message, report.error.message, "the same error as tessera build");
    assert.equal(refused.hint, report.error.hint);
    assert.equal(existsSync(join(dir, "deploy")), false, "nothing written");

    const allowed = libraryBuild(dir, `{ target: "docker", allowMissingSecrets: true }`);
    assert.equal(allowed.ok, true, allowed.message);
    assert.deepEqual(
      allowed.result!.missing.map((variable) => variable.name),
      ["DB_PASSWORD"],
    );
    assert.ok(allowed.result!.warnings.some((warning) => warning.code === "W_MISSING_REQUIRED"));
  });

  test("no value in any error message", () => {
    const dir = buildProject({ "deploy/compose/compose.yaml": "mine\n" });
    const attempts = [
      `{ target: "compose", withValues: true }`,
      `{ target: "compose", render: { secretsMode: "volumes" } }`,
      `{ target: "kubernetes", render: { envStyle: "sideways" } }`,
      `{ target: "external-secrets", withValues: true }`,
      `{ target: "nomad" }`,
      `{ target: "docker", manifest: "missing.yaml" }`,
      `{ target: "docker", profile: "nowhere" }`,
      `{ target: "kubernetes", service: { name: "Not_A_Label" } }`,
      `{ target: "docker", secrets: ["DB_PASSWORD"] }`,
    ];
    const codes: string[] = [];
    for (const options of attempts) {
      const outcome = libraryBuild(dir, options);
      assert.equal(outcome.ok, false, options);
      codes.push(outcome.code!);
      assertNoValue([outcome.message, outcome.hint, ...(outcome.details ?? [])].join("\n"));
    }
    assert.deepEqual(codes, [
      "E_OUTPUT_EXISTS",
      "E_USAGE",
      "E_USAGE",
      "E_USAGE",
      "E_USAGE",
      "E_MANIFEST_NOT_FOUND",
      "E_PROFILE_UNKNOWN",
      "E_TARGET_INVALID",
      "E_USAGE",
    ]);
    assert.equal(existsSync(join(dir, "deploy", "compose", ".tessera-outputs")), false, "nothing written");
  });
});

function assertNoValue(text: string): void {
  for (const value of BUILD_VALUES) assert.ok(!text.includes(value), `${value} in ${text}`);
}

/** The code importing dist/lib/index.js loads (its static imports, followed), and all of dist/lib. */
function libraryCode(): { loaded: string; built: string } {
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
  return {
    loaded: [...reached].map(read).join("\n"),
    built: readdirSync(lib)
      .filter((file) => file.endsWith(".js"))
      .map(read)
      .join("\n"),
  };
}

function assertLazy(markers: readonly string[]): void {
  const { loaded, built } = libraryCode();
  for (const marker of markers) {
    // In the build (so this check is not vacuous), but not in what importing the library loads.
    assert.ok(built.includes(marker), `${marker} is not in dist/lib at all`);
    assert.ok(!loaded.includes(marker), `${marker} is loaded by importing the library`);
  }
}

describe("importing the library loads no cryptography and no target", () => {
  test("the store's code and age are reached only through import(), never from the entry's static imports", () => {
    assertLazy([
      "function openWorkspaceStore(",
      "function updateStore(",
      "function decryptAge(",
      "Encrypter",
    ]);
  });

  test("the targets, build() and the output writer are reached only through import()", () => {
    assertLazy(["function targetNamed(", "function buildTarget(", "function writeOutputs("]);
  });
});
