/**
 * Layer 6 around the providers, through the `exec` provider (a command that prints JSON, which records
 * each time it runs): which store is asked for what (from: references, searched names, nothing a higher
 * layer already sets, the next store only for what the first lacks), fields interpolated, --secrets-from,
 * the encrypted cache and --offline, the failure classes and their exit codes, retries and timeouts,
 * value-file overrides of stores, store credentials kept from children, and the external-secrets target
 * fetching nothing. Each provider has its own tests (provider-*.test.ts).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";

/** A command printing `values` as JSON and appending a line to `log` each time it runs. */
function printer(dir: string, name: string, values: Record<string, unknown>, extra = ""): string[] {
  const script = join(dir, `${name}.cjs`);
  writeFileSync(
    script,
    `require("fs").appendFileSync(${JSON.stringify(join(dir, `${name}.log`))}, "ran\\n");\n${extra}process.stdout.write(${JSON.stringify(JSON.stringify(values))});\n`,
  );
  return [process.execPath, script];
}

const runs = (dir: string, name: string) =>
  existsSync(join(dir, `${name}.log`))
    ? readFileSync(join(dir, `${name}.log`), "utf8").split("\n").length - 1
    : 0;

function setup(manifest: (dir: string) => string, files: Record<string, string> = {}) {
  const dir = project(files);
  const home = mkdtempSync(join(tmpdir(), "tessera-external-home-"));
  writeFileSync(join(dir, "tessera.yaml"), manifest(dir));
  const run = (args: string[], env: Record<string, string> = {}) =>
    tessera(args, {
      cwd: dir,
      env: { XDG_CONFIG_HOME: join(home, "config"), TESSERA_CACHE_DIR: join(home, "cache"), ...env },
    });
  return { dir, home, run };
}

const manifest = (command: string[], extra = "") =>
  `secrets:\n  required: [A]\nsources:\n  - { type: exec, name: s, ${extra}command: ${JSON.stringify(command)} }\n`;

const json = (result: { status: number | null; stdout: string; stderr: string }) => {
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, string>;
};

describe("what is asked of which store", () => {
  test("from: names one store and key; other names are searched store by store; higher layers win unasked", () => {
    const { dir, run } = setup(
      (d) => `secrets:
  required:
    - A
    - B
    - name: C
      from: { source: second, key: SPECIAL, property: field }
  optional: [D, E]
sources:
  - { type: exec, name: first, command: ${JSON.stringify(printer(d, "first", { A: "a-first", B: "b-first", SPECIAL: "not-this" }))} }
  - { type: exec, name: second, command: ${JSON.stringify(printer(d, "second", { A: "a-second", D: "d-second", SPECIAL: { field: "c-value" } }))} }
`,
      { ".env": "B=b-dotenv\n" },
    );
    assert.deepEqual(json(run(["export", "--format", "json"])), {
      A: "a-first",
      B: "b-dotenv",
      C: "c-value",
      D: "d-second",
    });
    assert.equal(runs(dir, "first"), 1);
    assert.equal(runs(dir, "second"), 1);
    const explained = run(["explain", "A", "C", "D"]);
    assert.equal(explained.status, 0, explained.stderr);
    assert.match(
      explained.stdout,
      /A {2}secret, required\n {2}✓ exec source "first" A {2}\(external store\)/,
    );
    assert.match(
      explained.stdout,
      /C {2}secret, required\n {2}✓ exec source "second" SPECIAL#field {2}\(external store\)/,
    );
    assert.ok(!/a-first|c-value|d-second/.test(explained.stdout), "explain shows no value");
  });

  test("nothing is fetched when higher layers set every name", () => {
    const { dir, run } = setup(
      (d) =>
        `secrets:\n  required: [A]\nsources:\n  - { type: exec, name: s, command: ${JSON.stringify(printer(d, "s", { A: "x" }))} }\n`,
    );
    assert.deepEqual(json(run(["export", "--format", "json"], { A: "from-env" })), { A: "from-env" });
    assert.equal(runs(dir, "s"), 0);
    const explained = run(["explain"], { A: "from-env" });
    assert.match(explained.stdout, /exec source "s" \(nothing to look up\)/);
  });

  test("fields are interpolated from higher layers, TESSERA_ENV being the profile", () => {
    const { run } = setup(
      (d) =>
        `secrets:\n  required: [A]\nprofiles:\n  staging: {}\nsources:\n  - { type: exec, name: s, command: [${JSON.stringify(process.execPath)}, "-e", "process.stdout.write(JSON.stringify({A: '\${GREETING}-\${TESSERA_ENV:-none}'}))"] }\n`.replace(
          "${d}",
          d,
        ),
      { ".env": "GREETING=hello\n" },
    );
    assert.deepEqual(json(run(["export", "--format", "json"])), { A: "hello-none" });
    assert.deepEqual(json(run(["export", "--format", "json", "--env", "staging"])), { A: "hello-staging" });
  });

  test("--secrets-from limits the stores used (and names an unknown one)", () => {
    const { dir, run } = setup(
      (d) => `secrets:\n  optional: [A]\nsources:
  - { type: exec, name: one, command: ${JSON.stringify(printer(d, "one", { A: "from-one" }))} }
  - { type: exec, name: two, command: ${JSON.stringify(printer(d, "two", { A: "from-two" }))} }
`,
    );
    assert.deepEqual(json(run(["export", "--format", "json", "--secrets-from", "two"])), { A: "from-two" });
    assert.equal(runs(dir, "one"), 0);
    const unknown = run(["export", "--secrets-from", "twoo"]);
    assert.equal(unknown.status, 2);
    assert.match(
      unknown.stderr,
      /--secrets-from twoo: no external store has that name\n {2}hint: did you mean two\?/,
    );
  });

  test("store values are literal: $X stays $X", () => {
    const { run } = setup(
      (d) =>
        `secrets:\n  required: [A]\nsources:\n  - { type: exec, name: s, command: ${JSON.stringify(printer(d, "s", { A: "p$X${Y}$$z\n'\"é" }))} }\n`,
    );
    assert.deepEqual(json(run(["export", "--format", "json"])), { A: "p$X${Y}$$z\n'\"é" });
  });

  test("format: dotenv output is data too: references kept as written, $$ is $, quotes as in the dialect", () => {
    const { run } = setup((d) => {
      const script = join(d, "env.cjs");
      writeFileSync(
        script,
        `process.stdout.write(${JSON.stringify("A=p$X${Y}\nB='single $Z'\nC=\"two\\nlines $$W\"\n# comment\n")});\n`,
      );
      return `secrets:\n  required: [A, B, C]\nsources:\n  - { type: exec, name: s, format: dotenv, command: ${JSON.stringify([process.execPath, script])} }\n`;
    });
    assert.deepEqual(json(run(["export", "--format", "json"])), {
      A: "p$X${Y}",
      B: "single $Z",
      C: "two\nlines $W",
    });
  });
});

describe("cache and --offline", () => {
  test("a cached store is not asked again within maxAge; --offline uses the cache and says its age", () => {
    const { dir, home, run } = setup(
      (d) =>
        `secrets:\n  required: [A]\nsources:\n  - { type: exec, name: s, cache: { maxAge: 10m }, command: ${JSON.stringify(printer(d, "s", { A: "fake-cached-value" }))} }\n`,
    );
    assert.deepEqual(json(run(["export", "--format", "json"])), { A: "fake-cached-value" });
    assert.deepEqual(json(run(["export", "--format", "json"])), { A: "fake-cached-value" });
    assert.equal(runs(dir, "s"), 1, "the second run read the cache");
    const cached = readdirSync(join(home, "cache")).filter((name) => name.startsWith("fetched-"));
    assert.equal(cached.length, 1);
    const file = readFileSync(join(home, "cache", cached[0]!), "utf8");
    assert.match(file, /^-----BEGIN AGE ENCRYPTED FILE-----/);
    assert.ok(!file.includes("fake-cached-value"), "the cache is encrypted");
    const offline = run(["explain", "--offline"]);
    assert.equal(offline.status, 0, offline.stderr);
    assert.match(offline.stdout, /exec source "s" A \(cached, \d+s old\)/);
    assert.match(
      offline.stderr,
      /warning\[W_OFFLINE\]: .*exec source "s" served from its cache, fetched \d+s ago/,
    );
    assert.equal(runs(dir, "s"), 1);
  });

  test("--offline without a cache is E_SOURCE_OFFLINE (exit 5) naming the store", () => {
    const { dir, run } = setup(
      (d) =>
        `secrets:\n  required: [A]\nsources:\n  - { type: exec, name: s, command: ${JSON.stringify(printer(d, "s", { A: "x" }))} }\n`,
    );
    const result = run(["export", "--offline"]);
    assert.equal(result.status, 5);
    assert.match(
      result.stderr,
      /E_SOURCE_OFFLINE\]: tessera\.yaml:\d+:\d+: --offline: exec source "s" has no cache/,
    );
    assert.equal(runs(dir, "s"), 0);
  });
});

describe("failures", () => {
  test("a command that is not there: E_SOURCE_INVALID (exit 4) at the source's line", () => {
    const { run } = setup(() => manifest(["/nonexistent/tessera-test-command"]));
    const result = run(["export"]);
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /E_SOURCE_INVALID\]: tessera\.yaml:4:5: exec source "s": the command \/nonexistent\/tessera-test-command was not found/,
    );
  });

  test("a command that fails: E_SOURCE_FAILED (exit 5), its output never shown", () => {
    const { run } = setup(() =>
      manifest([
        process.execPath,
        "-e",
        "console.error('fake-secret-in-stderr'); console.log('fake-secret-in-stdout'); process.exit(3)",
      ]),
    );
    const result = run(["export"]);
    assert.equal(result.status, 5);
    assert.match(result.stderr, /E_SOURCE_FAILED\]: .*exec source "s": the command .* exited with status 3/);
    assert.ok(!result.stderr.includes("fake-secret-in"), result.stderr);
  });

  test("a store that does not answer in time is retried, then E_SOURCE_UNREACHABLE (exit 5), within a bounded time", () => {
    // The command is a tiny shell script that notes each run before it hangs: the attempts are counted by
    // what it saw, and a one-second timeout leaves it ample time to start even on a busy machine.
    const { dir, run } = setup((d) => {
      const script = join(d, "slow.sh");
      writeFileSync(script, `echo ran >> ${JSON.stringify(join(d, "slow.log"))}\nexec sleep 30\n`);
      return manifest(["/bin/sh", script], "timeout: 1s, ");
    });
    const started = Date.now();
    const result = run(["export"]);
    const took = Date.now() - started;
    assert.equal(result.status, 5, result.stderr);
    assert.match(result.stderr, /E_SOURCE_UNREACHABLE\]: .*exec source "s": no answer within 1000 ms/);
    // Three timeouts at least; the upper bound only catches a hang (the sleep is 30 s).
    assert.ok(took >= 3000 && took < 25_000, `took ${took} ms`);
    assert.equal(runs(dir, "slow"), 3, "three attempts");
  });

  test("output that is not JSON: E_SOURCE_INVALID, quoting nothing of it", () => {
    const { run } = setup(() => manifest([process.execPath, "-e", "console.log('fake-plain-output')"]));
    const result = run(["export"]);
    assert.equal(result.status, 4);
    assert.match(result.stderr, /did not print JSON/);
    assert.ok(!result.stderr.includes("fake-plain-output"));
  });
});

describe("stores in value files", () => {
  test("env.yaml changes a manifest store's fields, or adds a store before the manifest's", () => {
    const { dir, run } = setup(
      (d) =>
        `secrets:\n  required: [A]\n  optional: [B]\nsources:\n  - { type: exec, name: s, command: ${JSON.stringify(printer(d, "manifest", { A: "from-manifest-command" }))} }\n`,
    );
    writeFileSync(
      join(dir, "env.yaml"),
      `sources:\n  - { name: s, command: ${JSON.stringify(printer(dir, "local", { A: "from-local-command" }))} }\n  - { type: exec, name: extra, command: ${JSON.stringify(printer(dir, "extra", { B: "from-extra" }))} }\n`,
    );
    assert.deepEqual(json(run(["export", "--format", "json"])), { A: "from-local-command", B: "from-extra" });
    assert.equal(runs(dir, "manifest"), 0);
    const explained = run(["explain"]);
    assert.match(explained.stdout, /exec source "extra" > exec source "s"/);
  });

  test("a value file cannot change a store's type; a bad field is reported in the value file", () => {
    const { dir, run } = setup(() => manifest([process.execPath, "-e", "0"]));
    writeFileSync(join(dir, "env.yaml"), "sources:\n  - { name: s, type: pass }\n");
    const typed = run(["check"]);
    assert.equal(typed.status, 4);
    assert.match(
      typed.stderr,
      /E_VALUES_INVALID\]: env\.yaml:2:\d+: the store "s" is a exec source in the manifest; a value file cannot change its type/,
    );
    writeFileSync(join(dir, "env.yaml"), "sources:\n  - { name: s, format: xml }\n");
    const field = run(["check"]);
    assert.equal(field.status, 4);
    assert.match(field.stderr, /E_VALUES_INVALID\]: env\.yaml:2:\d+: the store "s": /);
  });
});

describe("credentials and targets", () => {
  test("a store's credentials are not passed on to a child, unless declared", () => {
    const { run } = setup(
      (d) => `secrets:\n  required: [A]\nsources:
  - { type: vault, name: v, address: "http://127.0.0.1:9", path: app }
  - { type: exec, name: s, command: ${JSON.stringify(printer(d, "s", { A: "x" }))} }
`,
    );
    const printEnv = [process.execPath, "-e", "process.stdout.write(JSON.stringify(process.env))"];
    const result = run(["run", "--secrets-from", "s", "--", ...printEnv], {
      VAULT_TOKEN: "fake-vault-token",
      OTHER_VAR: "kept",
    });
    const env = json(result);
    assert.equal(env.VAULT_TOKEN, undefined);
    assert.equal(env.OTHER_VAR, "kept");
    assert.equal(env.A, "x");
  });

  test("the external-secrets target fetches nothing (the operator reads the stores)", () => {
    const { dir, run } = setup(
      (d) => `service: { name: app, image: app:1 }\nsecrets:\n  required: [A]\nsources:
  - { type: vault, name: v, address: "http://127.0.0.1:9", path: app }
  - { type: exec, name: s, command: ${JSON.stringify(printer(d, "s", { A: "x" }))} }
`,
    );
    const result = run(["build", "-t", "external-secrets"]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(runs(dir, "s"), 0);
  });
});
