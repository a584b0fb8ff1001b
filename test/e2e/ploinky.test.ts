/**
 * Ploinky compatibility, end to end: agent manifest.json (env in its three forms, expose, varName),
 * the workspace store as Ploinky's `.ploinky/.secrets` made safe (aliases, import, vars, echo), the
 * docker target fed by `tessera run`, hostile manifests, the host-environment restriction for agents
 * from other repositories, and `tessera expose` editing manifests in place.
 *
 * Every call of one workspace shares one XDG_CONFIG_HOME, so that they share the age identity that
 * opens the store. Values are fake.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createCipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { CLI, cleanEnv, project, type Result, tessera } from "../helpers.ts";
import { assertNoValues, exited, NODE, parseJson } from "./cli-support.ts";

// ---------------------------------------------------------------------------------------------------
// Helpers

type Env = Record<string, string | undefined>;

interface Workspace {
  dir: string;
  /** The config directory (and so the age identity) every call shares. */
  cfg: string;
  /** Run tessera in the workspace (or options.cwd) with the shared identity. */
  t(args: readonly string[], options?: { cwd?: string; env?: Env; input?: string }): Result;
  /** The environment tessera is given for `env` (as cleanEnv builds it). */
  parentEnv(env?: Env): Record<string, string>;
}

function workspace(files: Record<string, string | null> = {}): Workspace {
  const dir = project(files);
  const cfg = project();
  return {
    dir,
    cfg,
    t: (args, options = {}) =>
      tessera(args, {
        cwd: options.cwd ?? dir,
        input: options.input,
        env: { XDG_CONFIG_HOME: cfg, ...options.env },
      }),
    parentEnv: (env = {}) => cleanEnv({ XDG_CONFIG_HOME: cfg, ...env }),
  };
}

function ok(result: Result, what = ""): Result {
  assert.equal(
    result.status,
    0,
    `${what} exited ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
  return result;
}

function fails(result: Result, status: number, code: string, what = ""): Result {
  assert.equal(
    result.status,
    status,
    `${what} should exit ${status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
  assert.match(result.stderr, new RegExp(`error\\[${code}\\]`), what);
  return result;
}

/** Store variables (each `var set NAME VALUE`, quietly). */
function setVars(ws: Workspace, values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values))
    ok(ws.t(["var", "set", "-q", name, value]), `var set ${name}`);
}

const PRINT_ENV = "process.stdout.write(JSON.stringify(process.env))";

/** `tessera run ARGS -- node -e PRINT_ENV`: the child's environment. */
function childEnv(ws: Workspace, args: readonly string[], env: Env = {}): Record<string, string> {
  const result = ok(ws.t(["run", "--no-mask", ...args, "--", NODE, "-e", PRINT_ENV], { env }), "run");
  return parseJson<Record<string, string>>(result.stdout);
}

const sorted = (names: Iterable<string>): string[] => [...names].sort();

/** The keys the child has beyond what tessera itself was given (its credentials are never passed). */
function addedKeys(child: Record<string, string>, parent: Record<string, string>): string[] {
  return sorted(Object.keys(child).filter((name) => !(name in parent)));
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function git(dir: string): void {
  const result = spawnSync("git", ["init", "-q", dir], { encoding: "utf8" });
  // Without git, a .git directory is what marks a repository's root just as well.
  if (result.status !== 0) mkdirSync(join(dir, ".git"), { recursive: true });
}

// ---------------------------------------------------------------------------------------------------
// 1. run with a manifest.json

describe("run with a Ploinky manifest.json", () => {
  const ARRAY_MANIFEST = {
    container: "node:20-alpine",
    env: [
      "FROM_STORE",
      "FROM_DOTENV",
      "FROM_PROCESS",
      "STORE_OVER_DOTENV",
      "WITH_DEFAULT=fake-default-$HOME-${X}",
      "DEFAULT_SHADOWED=fake-default-loses",
      { name: "INSIDE_TOKEN", varName: "OUTSIDE_TOKEN", required: true },
      { name: "OBJ_IN", varName: "OBJ_SRC", value: "fake-obj-default-unused" },
      { name: "OBJ_DEFAULT", value: "fake-obj-default" },
      "NOWHERE",
    ],
    expose: [
      { name: "EXPOSED_REF", ref: "CHAIN_B" },
      { name: "EXPOSED_LITERAL", value: "lit-$CHAIN_A-${CHAIN_A}" },
    ],
  };
  const OBJECT_MANIFEST = {
    container: "node:20-alpine",
    env: {
      OBJ_PLAIN: "fake-obj-plain-default",
      OBJ_MAPPED: { varName: "OUTSIDE_TOKEN", required: true },
      OBJ_NAMED: { name: "OBJ_SRC", default: "fake-named-default-unused" },
      OBJ_NULL: null,
      OBJ_NUMBER: 8080,
    },
    expose: {
      EXP_ALIAS: "$CHAIN_A",
      EXP_BRACED: "${OUTSIDE_TOKEN}",
      EXP_LITERAL: "plain literal",
      EXP_NOT_ALIAS: "pre$CHAIN_A",
      EXP_NUMBER: 42,
    },
  };
  const STORE = {
    CHAIN_A: "$CHAIN_B",
    CHAIN_B: "$CHAIN_C",
    CHAIN_C: "fake-chain-end-7781",
    FROM_STORE: "$CHAIN_A",
    FROM_PROCESS: "fake-store-loses",
    STORE_OVER_DOTENV: "fake-store-wins",
    DEFAULT_SHADOWED: "fake-store-over-default",
    OUTSIDE_TOKEN: "fake-outside-1234",
    UNDECLARED_SECRET: "fake-undeclared-9999",
  };
  const DOTENV = "FROM_DOTENV=fake-dotenv-val\nSTORE_OVER_DOTENV=fake-dotenv-loses\n";
  const PROCESS = { FROM_PROCESS: "fake-process-wins", OBJ_SRC: "fake-obj-src-5555" };

  function setup(): Workspace {
    const ws = workspace({ ".env": DOTENV });
    writeJson(join(ws.dir, "manifest.json"), ARRAY_MANIFEST);
    writeJson(join(ws.dir, "object.json"), OBJECT_MANIFEST);
    setVars(ws, STORE);
    return ws;
  }

  test("array forms: each layer, alias chains, varName; the child gets exactly the declared inside names", () => {
    const ws = setup();
    const env = childEnv(ws, ["--manifest", "manifest.json"], PROCESS);
    assert.equal(env.FROM_STORE, "fake-chain-end-7781", "FROM_STORE = $CHAIN_A → $CHAIN_B → $CHAIN_C");
    assert.equal(env.FROM_DOTENV, "fake-dotenv-val");
    assert.equal(env.FROM_PROCESS, "fake-process-wins", "the process environment beats the store");
    assert.equal(env.STORE_OVER_DOTENV, "fake-store-wins", "the store beats .env");
    assert.equal(env.WITH_DEFAULT, "fake-default-$HOME-${X}", "a default is literal");
    assert.equal(env.DEFAULT_SHADOWED, "fake-store-over-default");
    assert.equal(env.INSIDE_TOKEN, "fake-outside-1234", "looked up under varName");
    assert.equal(env.OBJ_IN, "fake-obj-src-5555", "varName from the process environment beats the value");
    assert.equal(env.OBJ_DEFAULT, "fake-obj-default");
    assert.equal(env.EXPOSED_REF, "fake-chain-end-7781", "ref CHAIN_B → $CHAIN_C");
    assert.equal(env.EXPOSED_LITERAL, "lit-$CHAIN_A-${CHAIN_A}", "an array expose value is literal");
    assert.ok(!("NOWHERE" in env), "an optional variable set nowhere is left out");

    const declared = [
      "FROM_STORE",
      "FROM_DOTENV",
      "STORE_OVER_DOTENV",
      "WITH_DEFAULT",
      "DEFAULT_SHADOWED",
      "INSIDE_TOKEN",
      "OBJ_IN",
      "OBJ_DEFAULT",
      "EXPOSED_REF",
      "EXPOSED_LITERAL",
    ];
    // Everything beyond tessera's own environment is a declared inside name: no store-only variable
    // (CHAIN_*, OUTSIDE_TOKEN, UNDECLARED_SECRET), no lookup name.
    assert.deepEqual(addedKeys(env, ws.parentEnv(PROCESS)), sorted(declared));
    for (const name of ["CHAIN_A", "CHAIN_B", "CHAIN_C", "OUTSIDE_TOKEN", "UNDECLARED_SECRET"]) {
      assert.ok(!(name in env), `${name} (only in the store) reached the child`);
    }
    assert.ok(!("TESSERA_FINGERPRINT_KEY" in env), "tessera's credentials are not passed on");
  });

  test("--pristine: only the declared inside names and the basic variables", () => {
    const ws = setup();
    const env = childEnv(ws, ["--manifest", "manifest.json", "--pristine"], PROCESS);
    const basics = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR"];
    const extra = Object.keys(env).filter((name) => !basics.includes(name));
    assert.deepEqual(
      sorted(extra),
      sorted([
        "FROM_STORE",
        "FROM_DOTENV",
        "FROM_PROCESS",
        "STORE_OVER_DOTENV",
        "WITH_DEFAULT",
        "DEFAULT_SHADOWED",
        "INSIDE_TOKEN",
        "OBJ_IN",
        "OBJ_DEFAULT",
        "EXPOSED_REF",
        "EXPOSED_LITERAL",
      ]),
    );
  });

  test("object forms: NAME: default, {varName}, {name}, null, numbers; expose $X / ${X} aliases, literals", () => {
    const ws = setup();
    const env = childEnv(ws, ["--manifest", "object.json"], PROCESS);
    assert.equal(env.OBJ_PLAIN, "fake-obj-plain-default");
    assert.equal(env.OBJ_MAPPED, "fake-outside-1234");
    assert.equal(env.OBJ_NAMED, "fake-obj-src-5555", "{name} is the lookup name in the object form");
    assert.ok(!("OBJ_NULL" in env), "a null default leaves the variable out");
    assert.equal(env.OBJ_NUMBER, "8080");
    assert.equal(env.EXP_ALIAS, "fake-chain-end-7781");
    assert.equal(env.EXP_BRACED, "fake-outside-1234");
    assert.equal(env.EXP_LITERAL, "plain literal");
    assert.equal(env.EXP_NOT_ALIAS, "pre$CHAIN_A", "only exactly $NAME is an alias");
    assert.equal(env.EXP_NUMBER, "42");
    assert.deepEqual(
      addedKeys(env, ws.parentEnv(PROCESS)),
      sorted([
        "OBJ_PLAIN",
        "OBJ_MAPPED",
        "OBJ_NAMED",
        "OBJ_NUMBER",
        "EXP_ALIAS",
        "EXP_BRACED",
        "EXP_LITERAL",
        "EXP_NOT_ALIAS",
        "EXP_NUMBER",
      ]),
    );
  });

  test("a missing required variable: exit 3 naming the inside and the source name; the child never runs", () => {
    const ws = setup();
    ok(ws.t(["var", "unset", "-q", "OUTSIDE_TOKEN"]));
    const result = fails(
      ws.t(["run", "--manifest", "manifest.json", "--", NODE, "-e", "require('fs').writeFileSync('RAN','')"]),
      3,
      "E_MISSING_REQUIRED",
    );
    assert.match(result.stderr, /INSIDE_TOKEN/);
    assert.match(result.stderr, /INSIDE_TOKEN \(looked up as OUTSIDE_TOKEN\)/);
    assert.ok(!existsSync(join(ws.dir, "RAN")));
    // Setting the inside name does not satisfy the varName mapping.
    fails(
      ws.t(["run", "--manifest", "manifest.json", "--", "true"], { env: { INSIDE_TOKEN: "fake-inside" } }),
      3,
      "E_MISSING_REQUIRED",
    );
  });

  test("an alias whose target is missing is an error naming the chain, never an empty string", () => {
    const ws = setup();
    setVars(ws, { OUTSIDE_TOKEN: "$MIDDLE", MIDDLE: "$GONE_TARGET" });
    const result = fails(
      ws.t(["run", "--manifest", "manifest.json", "--", NODE, "-e", "require('fs').writeFileSync('RAN','')"]),
      4,
      "E_REF_UNSET",
    );
    assert.match(result.stderr, /GONE_TARGET/);
    assert.match(result.stderr, /OUTSIDE_TOKEN → MIDDLE → GONE_TARGET/);
    assert.ok(!existsSync(join(ws.dir, "RAN")));
    // Through an expose ref, the chain starts at the exposed name.
    setVars(ws, { OUTSIDE_TOKEN: "fake-outside-1234", CHAIN_C: "$GONE_END" });
    const exposed = fails(ws.t(["run", "--manifest", "manifest.json", "--", "true"]), 4, "E_REF_UNSET");
    // Through chains of aliases (FROM_STORE = $CHAIN_A, or the expose ref CHAIN_B), the whole chain is named.
    assert.match(exposed.stderr, /(FROM_STORE → CHAIN_A|EXPOSED_REF) → CHAIN_B → CHAIN_C → GONE_END/);
  });

  test("echo '$NAME' without a manifest: a broken chain or a cycle is an error, not an empty line", () => {
    const ws = workspace();
    setVars(ws, { A: "$B", B: "$C" });
    const broken = fails(ws.t(["echo", "$A"]), 4, "E_REF_UNSET");
    assert.equal(broken.stdout, "");
    assert.match(broken.stderr, /A → B → C/);
    setVars(ws, { C: "$A" });
    const cycle = fails(ws.t(["echo", "$A"]), 4, "E_REF_CYCLE");
    assert.equal(cycle.stdout, "");
    assert.match(cycle.stderr, /A → B → C → A/);
  });

  test("an alias cycle: E_REF_CYCLE naming the cycle", () => {
    const ws = setup();
    setVars(ws, { OUTSIDE_TOKEN: "$CYCLE_ONE", CYCLE_ONE: "$CYCLE_TWO", CYCLE_TWO: "$CYCLE_ONE" });
    const result = fails(ws.t(["run", "--manifest", "manifest.json", "--", "true"]), 4, "E_REF_CYCLE");
    assert.match(result.stderr, /CYCLE_ONE → CYCLE_TWO → CYCLE_ONE|CYCLE_TWO → CYCLE_ONE → CYCLE_TWO/);
  });

  test("declared empty (var declare) is passed as an empty value and shadows lower layers; missing is left out", {}, () => {
    const ws = workspace({ ".env": "EMPTY_OVER_DOTENV=fake-dotenv-val\n" });
    writeJson(join(ws.dir, "manifest.json"), {
      env: ["EMPTY_OVER_DEFAULT=fake-default", "EMPTY_OVER_DOTENV", "MISSING_OPT", "REQUIRED_HELPER"],
    });
    ok(ws.t(["var", "declare", "EMPTY_OVER_DEFAULT", "EMPTY_OVER_DOTENV"]));
    const env = childEnv(ws, []);
    assert.equal(env.EMPTY_OVER_DEFAULT, "");
    assert.equal(env.EMPTY_OVER_DOTENV, "");
    assert.ok(!("MISSING_OPT" in env));
    assert.equal(ws.t(["echo", "EMPTY_OVER_DEFAULT"]).stdout, "EMPTY_OVER_DEFAULT=\n");
    fails(ws.t(["echo", "MISSING_OPT"]), 3, "E_VAR_NOT_SET");

    // Required: empty is reported as empty, missing as missing (both exit 3).
    writeJson(join(ws.dir, "manifest.json"), {
      env: [
        { name: "REQ_EMPTY_TOKEN", required: true },
        { name: "REQ_MISSING_TOKEN", required: true },
      ],
    });
    ok(ws.t(["var", "declare", "REQ_EMPTY_TOKEN"]));
    const result = fails(ws.t(["run", "--", "true"]), 3, "E_MISSING_REQUIRED");
    assert.match(result.stderr, /REQ_EMPTY_TOKEN\n\s+set to an empty value by \.tessera\/store\.age/);
    assert.match(result.stderr, /REQ_MISSING_TOKEN\n\s+looked in: /);
  });

  test("echo '$NAME' resolves NAME even when another declared variable is broken", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), { env: ["BROKEN_ALIAS", "GOOD_ONE"] });
    setVars(ws, { BROKEN_ALIAS: "$NOT_THERE", GOOD_ONE: "$GOOD_TARGET", GOOD_TARGET: "fake-good-value" });
    const result = ws.t(["echo", "$GOOD_ONE"]);
    assert.equal(result.status, 0, `echo '$GOOD_ONE' failed because of BROKEN_ALIAS:\n${result.stderr}`);
    assert.equal(result.stdout, "fake-good-value\n");
  });
});

// ---------------------------------------------------------------------------------------------------
// 2. build --target docker

describe("build --target docker with a manifest.json, run through tessera run and a fake docker", () => {
  const TRICKY = "$(touch PWNED_LITERAL); echo \"dq\" 'sq' `touch PWNED_TICK` \\ end";
  const MANIFEST = {
    container: "node:20-alpine",
    env: [
      "API_TOKEN",
      { name: "DB_PASS", varName: "DATABASE_PASSWORD", required: true },
      "REGION=eu-fake-1",
      "MULTI_LINE_SECRET",
      { name: "MODE", value: "production", secret: false },
    ],
    expose: [
      { name: "TRICKY_LITERAL", value: TRICKY },
      { name: "TOKEN_ALIAS", ref: "API_TOKEN" },
    ],
  };
  const SECRETS = {
    API_TOKEN: "fake-api-token-123456",
    DATABASE_PASSWORD: "fake-db-pass-654321",
    MULTI_LINE_SECRET: "fake-line-one\nfake line 'two' \"2\"\r\n",
    UNDECLARED: "fake-undeclared-000111",
  };
  const EXPECTED: Record<string, string> = {
    API_TOKEN: SECRETS.API_TOKEN,
    DB_PASS: SECRETS.DATABASE_PASSWORD,
    REGION: "eu-fake-1",
    MULTI_LINE_SECRET: SECRETS.MULTI_LINE_SECRET,
    MODE: "production",
    TRICKY_LITERAL: TRICKY,
    TOKEN_ALIAS: SECRETS.API_TOKEN,
  };

  /** A directory with a `docker` that records its argv and environment in `call.json` next to it. */
  function fakeDocker(): { bin: string; calls: string } {
    const bin = project({
      "dump.cjs":
        "const fs = require('fs');\n" +
        "fs.writeFileSync(require('path').join(__dirname, 'call.json'), JSON.stringify({ argv: process.argv.slice(2), env: process.env }));\n",
    });
    writeFileSync(join(bin, "docker"), `#!/bin/sh\nexec '${NODE}' '${join(bin, "dump.cjs")}' "$@"\n`);
    chmodSync(join(bin, "docker"), 0o755);
    return { bin, calls: join(bin, "call.json") };
  }

  function setup(): Workspace {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), MANIFEST);
    for (const [name, value] of Object.entries(SECRETS)) {
      ok(ws.t(["var", "set", "-q", name, "--stdin", "--literal"], { input: `${value}\n` }), name);
    }
    return ws;
  }

  test("run.sh is an argv of bare --env NAME, holds no secret value, and docker gets every value", () => {
    const ws = setup();
    const built = ok(
      ws.t(["build", "--target", "docker", "--manifest", "manifest.json", "--name", "demo-agent"]),
      "build",
    );
    assert.match(built.stdout, /deploy\/docker\/run\.sh/);
    const script = readFileSync(join(ws.dir, "deploy/docker/run.sh"), "utf8");
    assertNoValues(
      [script, built.stdout, built.stderr],
      Object.values(SECRETS).map((v) => v.trim()),
    );
    assert.ok(!script.includes("fake-line-one"));
    assert.match(script, /^export MODE=production$/m, "config is exported in the script");
    assert.ok(!/--env [A-Z_]+=/.test(script), "no --env NAME=VALUE in the script");
    assert.ok(statSync(join(ws.dir, "deploy/docker/run.sh")).mode & 0o100, "run.sh is executable");

    const docker = fakeDocker();
    const env = { PATH: `${docker.bin}:${process.env.PATH}` };
    ok(
      ws.t(
        [
          "run",
          "--manifest",
          "manifest.json",
          "--no-mask",
          "--",
          "sh",
          "deploy/docker/run.sh",
          "--network",
          "none",
        ],
        {
          env,
        },
      ),
      "tessera run -- sh run.sh",
    );
    const call = parseJson<{ argv: string[]; env: Record<string, string> }>(
      readFileSync(docker.calls, "utf8"),
    );
    const { argv } = call;
    assert.deepEqual(argv.slice(0, 4), ["run", "--rm", "--name", "demo-agent"]);
    assert.deepEqual(argv.slice(-3), ["--network", "none", "node:20-alpine"]);
    const middle = argv.slice(4, -3);
    assert.equal(middle.length % 2, 0, argv.join(" "));
    const names: string[] = [];
    for (let i = 0; i < middle.length; i += 2) {
      assert.equal(middle[i], "--env", argv.join(" "));
      assert.match(middle[i + 1]!, /^[A-Z_][A-Z0-9_]*$/, "a bare name after --env");
      names.push(middle[i + 1]!);
    }
    assert.deepEqual(sorted(names), sorted(Object.keys(EXPECTED)));
    for (const [name, value] of Object.entries(EXPECTED)) {
      assert.equal(call.env[name], value, `docker's environment: ${name}`);
    }
    assert.ok(!("DATABASE_PASSWORD" in call.env), "the lookup name is not passed");
    assert.ok(!("UNDECLARED" in call.env), "a store-only variable is not passed");
    for (const file of ["PWNED_LITERAL", "PWNED_TICK"]) {
      assert.ok(!existsSync(join(ws.dir, file)), `${file}: the literal was executed`);
    }
    assertNoValues([JSON.stringify(argv)], Object.values(SECRETS));
  });

  test("run.sh outside tessera run stops before docker when a required secret is absent", () => {
    const ws = setup();
    ok(ws.t(["build", "--target", "docker", "--manifest", "manifest.json", "--name", "demo-agent"]));
    const docker = fakeDocker();
    const result = spawnSync("sh", ["deploy/docker/run.sh"], {
      cwd: ws.dir,
      env: { PATH: `${docker.bin}:${process.env.PATH}`, HOME: process.env.HOME ?? "/" },
      encoding: "utf8",
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /DB_PASS is not set/);
    assert.ok(!existsSync(docker.calls), "docker ran without the required secret");
  });
});

// ---------------------------------------------------------------------------------------------------
// 3. Hostile manifests

describe("hostile manifests are refused before anything runs", () => {
  const HOSTILE: { label: string; manifest: Record<string, unknown>; what: RegExp }[] = [
    {
      label: "flag injection in an env name",
      manifest: { env: ["X -v /:/host"] },
      what: /env name "X -v \/:\/host"/,
    },
    {
      label: "shell command in an env name",
      manifest: { env: ["X;touch PWNED;"] },
      what: /env name "X;touch PWNED;"/,
    },
    {
      label: "command substitution",
      manifest: { env: ["$(touch PWNED)=x"] },
      what: /env name "\$\(touch PWNED\)"/,
    },
    { label: "backticks", manifest: { env: ["`touch PWNED`"] }, what: /env name "`touch PWNED`"/ },
    { label: "= in an object entry's name", manifest: { env: [{ name: "A=B" }] }, what: /env name "A=B"/ },
    { label: "a newline in a name", manifest: { env: ["OK\nBAD"] }, what: /env name "OK\\nBAD"/ },
    { label: "an option as a name", manifest: { env: ["--privileged"] }, what: /env name "--privileged"/ },
    {
      label: "a hostile varName",
      manifest: { env: [{ name: "GOOD", varName: "S -v /:/h" }] },
      what: /varName "S -v \/:\/h"/,
    },
    {
      label: "object form key",
      manifest: { env: { "X -v /:/host": "d" } },
      what: /env name "X -v \/:\/host"/,
    },
    {
      label: "object form varName",
      manifest: { env: { GOOD: { varName: "$(touch PWNED)" } } },
      what: /varName "\$\(touch PWNED\)"/,
    },
    {
      label: "array expose name",
      manifest: { expose: [{ name: "E;touch PWNED", value: "v" }] },
      what: /expose name "E;touch PWNED"/,
    },
    {
      label: "array expose ref",
      manifest: { expose: [{ name: "E", ref: "R -v /:/host" }] },
      what: /ref "R -v \/:\/host"/,
    },
    {
      label: "object expose name",
      manifest: { expose: { "E -e X": "$BASE" } },
      what: /expose name "E -e X"/,
    },
    { label: "object expose newline", manifest: { expose: { "E\nF": "v" } }, what: /expose name "E\\nF"/ },
  ];

  for (const { label, manifest, what } of HOSTILE) {
    test(`${label}: exit 4 with the location, for every command`, () => {
      const ws = workspace();
      writeJson(join(ws.dir, "manifest.json"), { container: "node:20-alpine", ...manifest });
      const commands = [
        ["check"],
        ["run", "--", "sh", "-c", "touch RAN"],
        ["build", "--target", "docker"],
        ["export"],
        ["explain"],
      ];
      for (const args of commands) {
        const result = fails(ws.t(args), 4, "E_MANIFEST_INVALID", `${label}: tessera ${args.join(" ")}`);
        assert.match(result.stderr, /manifest\.json:\d+:\d+: /, "the error names the location");
        assert.match(result.stderr, what);
        assert.match(result.stderr, /is not a valid environment variable name/);
        assert.equal(result.stdout, "");
      }
      assert.ok(!existsSync(join(ws.dir, "RAN")), "the command ran");
      assert.ok(!existsSync(join(ws.dir, "PWNED")), "something in the manifest was executed");
      assert.ok(!existsSync(join(ws.dir, "deploy")), "an artifact was written");
    });
  }

  test("the location is the entry's line and column", () => {
    const ws = workspace({
      "manifest.json":
        '{\n  "env": [\n    "GOOD",\n    "X -v /:/host"\n  ],\n  "expose": {\n    "OK": "v",\n    "E;id": "v"\n  }\n}\n',
    });
    const result = fails(ws.t(["check"]), 4, "E_MANIFEST_INVALID");
    assert.match(result.stderr, /manifest\.json:4:5: env name "X -v \/:\/host"/);
    assert.match(result.stderr, /manifest\.json:8:\d+: expose name "E;id"/);
  });

  test("tessera expose refuses hostile names and references (exit 2), leaving the manifest alone", () => {
    const text = '{\n  "env": ["BASE"],\n  "expose": [\n    { "name": "OLD", "ref": "BASE" }\n  ]\n}\n';
    const ws = workspace({ "manifest.json": text });
    const bad: string[][] = [
      ["X -v"],
      ["X -v /:/host"],
      ["X;id;"],
      ["$(id)"],
      ["A=B"],
      ["X\nY"],
      ["-e"],
      [""],
      ["1ABC"],
      ["GOOD", "$X -v /:/host"],
      ["GOOD", "$X;id"],
      ["GOOD", "$(touch PWNED)"],
      ["GOOD", "${X"],
      ["GOOD", "$"],
      ["GOOD", "$1"],
      ["GOOD", "a", "b"],
      ["GOOD", "x", "--remove"],
    ];
    for (const args of bad) {
      const result = ws.t(["expose", ...args]);
      assert.equal(result.status, 2, `expose ${JSON.stringify(args)}: ${result.stderr}`);
      assert.match(result.stderr, /error\[E_USAGE\]/);
      assert.equal(readFileSync(join(ws.dir, "manifest.json"), "utf8"), text, JSON.stringify(args));
    }
    assert.ok(!existsSync(join(ws.dir, "PWNED")));
  });

  test("tessera expose on a manifest with a hostile entry: exit 4, nothing written", () => {
    const text = '{\n  "env": ["X;touch PWNED;"],\n  "expose": []\n}\n';
    const ws = workspace({ "manifest.json": text });
    fails(ws.t(["expose", "GOOD", "fake-value"]), 4, "E_MANIFEST_INVALID");
    assert.equal(readFileSync(join(ws.dir, "manifest.json"), "utf8"), text);
    assert.ok(!existsSync(join(ws.dir, "PWNED")));
  });
});

// ---------------------------------------------------------------------------------------------------
// 4. Host environment restriction

describe("an agent from another repository gets only what the workspace declares from the host", () => {
  const AGENT = { container: "node:20-alpine", env: ["AWS_SECRET_ACCESS_KEY", "OK_VAR"] };
  const HOST = {
    AWS_SECRET_ACCESS_KEY: "fake-aws-secret-424242",
    OK_VAR: "fake-ok-value",
    SOME_HOST_VAR: "fake-host-only-value",
  };
  const BASICS = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR"];

  function setup(agentDir: string): { ws: Workspace; manifest: string } {
    const ws = workspace({ "tessera.yaml": "secrets:\n  optional: [OK_VAR]\n" });
    const manifest = join(agentDir, "manifest.json");
    writeJson(join(ws.dir, manifest), AGENT);
    return { ws, manifest };
  }

  function assertRestricted(ws: Workspace, manifest: string, cwd = ws.dir): void {
    const result = ok(
      ws.t(["run", "--no-mask", "--manifest", manifest, "--", NODE, "-e", PRINT_ENV], { env: HOST, cwd }),
    );
    const env = parseJson<Record<string, string>>(result.stdout);
    assert.equal(env.OK_VAR, "fake-ok-value");
    assert.ok(!("AWS_SECRET_ACCESS_KEY" in env), "the agent got AWS_SECRET_ACCESS_KEY from the host");
    assert.ok(!("SOME_HOST_VAR" in env), "the child environment is not pristine");
    for (const name of Object.keys(env)) {
      assert.ok(BASICS.includes(name) || name === "OK_VAR", `${name} reached a restricted agent`);
    }
    assertNoValues([result.stdout, result.stderr], [HOST.AWS_SECRET_ACCESS_KEY]);
    const explained = ok(ws.t(["explain", "--manifest", manifest], { env: HOST, cwd }));
    assert.match(
      explained.stdout,
      /^# precedence: .*process environment \(only the names the workspace's own manifest declares: the manifest comes from another repository; --allow-host-env\)/m,
    );
    assertNoValues([explained.stdout, explained.stderr], Object.values(HOST));
  }

  function assertAllowed(ws: Workspace, manifest: string, args: string[] = ["--allow-host-env"]): void {
    const env = childEnv(ws, ["--manifest", manifest, ...args], HOST);
    assert.equal(env.OK_VAR, "fake-ok-value");
    assert.equal(env.AWS_SECRET_ACCESS_KEY, "fake-aws-secret-424242");
    assert.equal(env.SOME_HOST_VAR, "fake-host-only-value", "the child environment is pristine");
    const explained = ok(ws.t(["explain", "--manifest", manifest, ...args], { env: HOST }));
    assert.match(explained.stdout, /^# precedence: .*process environment > /m);
    assert.doesNotMatch(explained.stdout, /another repository/);
  }

  test("(a) an agent under .ploinky/repos/: restricted; --allow-host-env lifts it", () => {
    const { ws, manifest } = setup(".ploinky/repos/demo/agent");
    assertRestricted(ws, manifest);
    assertAllowed(ws, manifest);
  });

  test("(a) also when run from the agent's directory inside the workspace", () => {
    const { ws, manifest } = setup(".ploinky/repos/demo/agent");
    mkdirSync(join(ws.dir, ".tessera"), { recursive: true });
    assertRestricted(ws, "manifest.json", join(ws.dir, dirname(manifest)));
  });

  test("(a) a symlink to the agent's directory does not lift the restriction", () => {
    const { ws, manifest } = setup(".ploinky/repos/demo/agent");
    symlinkSync(join(ws.dir, dirname(manifest)), join(ws.dir, "agent-link"));
    assertRestricted(ws, "agent-link/manifest.json");
  });

  test("(a) the host cannot be reached through a ref or a varName either", () => {
    const { ws, manifest } = setup(".ploinky/repos/demo/agent");
    writeJson(join(ws.dir, manifest), {
      env: ["OK_VAR", { name: "MAPPED", varName: "AWS_SECRET_ACCESS_KEY" }],
      expose: [{ name: "LEAK", ref: "SOME_HOST_VAR" }],
    });
    const result = ws.t(["run", "--no-mask", "--manifest", manifest, "--", NODE, "-e", PRINT_ENV], {
      env: HOST,
    });
    assertNoValues([result.stdout, result.stderr], [HOST.AWS_SECRET_ACCESS_KEY, HOST.SOME_HOST_VAR]);
  });

  test("(a) the agent's variables cannot take over the host command tessera runs (PATH, NODE_OPTIONS, DOCKER)", () => {
    const agentDir = ".ploinky/repos/demo/agent";
    const { ws, manifest } = setup(agentDir);
    const agent = join(ws.dir, agentDir);
    writeFileSync(
      join(agent, "evil.cjs"),
      `require("fs").writeFileSync(${JSON.stringify(join(ws.dir, "PWNED_NODE"))}, "")\n`,
    );
    mkdirSync(join(agent, "bin"));
    for (const tool of ["sh", "docker"]) {
      writeFileSync(
        join(agent, "bin", tool),
        `#!/bin/sh\n: > '${join(ws.dir, `PWNED_${tool.toUpperCase()}`)}'\n`,
      );
      chmodSync(join(agent, "bin", tool), 0o755);
    }
    writeJson(join(ws.dir, manifest), {
      container: "node:20-alpine",
      env: [
        "OK_VAR",
        `NODE_OPTIONS=--require ${join(agent, "evil.cjs")}`,
        `PATH=${agentDir}/bin:/usr/bin:/bin`,
        `DOCKER=${join(agent, "bin", "docker")}`,
      ],
    });
    // Every command that would start something with the agent's variables refuses them, naming each.
    for (const args of [
      ["run", "--manifest", manifest, "--", NODE, "-e", "0"],
      ["run", "--manifest", manifest, "--", "sh", "-c", "true"],
      ["build", "--target", "docker", "--manifest", manifest, "--name", "demo"],
      ["deploy", "--target", "docker", "--manifest", manifest, "--name", "demo", "--dry-run"],
    ]) {
      const result = ws.t(args, { env: HOST });
      assert.equal(result.status, 4, `${args.join(" ")}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /E_HOST_VARIABLE\]: .*manifest\.json:\d+:\d+: .*comes from another repository and declares NODE_OPTIONS, PATH, DOCKER, which could steer the programs Tessera starts on this host/,
      );
      assert.match(result.stderr, /hint: deliver it to a container .*pass --allow-host-env if you trust it/);
    }
    assert.equal(existsSync(join(agent, "deploy")), false, "no artifact was written");
    const ran = ["PWNED_NODE", "PWNED_SH", "PWNED_DOCKER"].filter((file) => existsSync(join(ws.dir, file)));
    assert.deepEqual(ran, [], "the agent's manifest ran code on the host");
    // Trusted explicitly, the same manifest runs (and then its PATH is the child's, as asked).
    ok(
      ws.t(["run", "--allow-host-env", "--manifest", manifest, "--", "/bin/sh", "-c", "true"], { env: HOST }),
    );
  });

  test("(b) an agent in a separate git repository outside .ploinky/repos: restricted", () => {
    const { ws, manifest } = setup("agents/demo");
    git(join(ws.dir, "agents/demo"));
    assertRestricted(ws, manifest);
    assertAllowed(ws, manifest);
  });

  test("(b) also when the workspace is a git repository of its own", () => {
    const { ws, manifest } = setup("vendor/demo");
    git(ws.dir);
    git(join(ws.dir, "vendor/demo"));
    assertRestricted(ws, manifest);
  });

  test("(c) a manifest in the workspace's own repository is not restricted", () => {
    const { ws, manifest } = setup("agents/own");
    git(ws.dir);
    assertAllowed(ws, manifest, []);
    const plain = setup("agents/own");
    assertAllowed(plain.ws, plain.manifest, []);
  });
});

// ---------------------------------------------------------------------------------------------------
// 5. tessera expose

describe("tessera expose edits manifest.json in place", () => {
  interface Style {
    label: string;
    /** The file is before + expose + after. */
    before: string;
    expose: string;
    after: string;
    /** The expose text after `tessera expose NEW`. */
    added: string;
    form: "object" | "array";
  }

  function styles(): Style[] {
    const out: Style[] = [];
    const objectStyle = (label: string, nl: string, unit: string, trailing: boolean): Style => ({
      label,
      form: "object",
      before: `{${nl}${unit}"container": "node:20-alpine",${nl}${unit}"env": ["BASE"],${nl}${unit}"expose": `,
      expose: `{${nl}${unit}${unit}"OLD": "$BASE"${nl}${unit}}`,
      after: `,${nl}${unit}"about": "x"${nl}}${trailing ? nl : ""}`,
      added: `{${nl}${unit}${unit}"OLD": "$BASE",${nl}${unit}${unit}"NEW": "$NEW"${nl}${unit}}`,
    });
    const arrayStyle = (label: string, nl: string, unit: string, trailing: boolean): Style => {
      const i2 = unit + unit;
      const i3 = i2 + unit;
      const entry = (name: string, ref: string) =>
        `{${nl}${i3}"name": "${name}",${nl}${i3}"ref": "${ref}"${nl}${i2}}`;
      return {
        label,
        form: "array",
        before: `{${nl}${unit}"container": "node:20-alpine",${nl}${unit}"env": ["BASE"],${nl}${unit}"expose": `,
        expose: `[${nl}${i2}${entry("OLD", "BASE")}${nl}${unit}]`,
        after: `${nl}}${trailing ? nl : ""}`,
        added: `[${nl}${i2}${entry("OLD", "BASE")},${nl}${i2}${entry("NEW", "NEW")}${nl}${unit}]`,
      };
    };
    for (const trailing of [true, false]) {
      const t = trailing ? "trailing newline" : "no trailing newline";
      out.push(objectStyle(`object, 2 spaces, ${t}`, "\n", "  ", trailing));
      out.push(objectStyle(`object, 4 spaces, ${t}`, "\n", "    ", trailing));
      out.push(objectStyle(`object, tabs, ${t}`, "\n", "\t", trailing));
      out.push(objectStyle(`object, CRLF, ${t}`, "\r\n", "  ", trailing));
      out.push(arrayStyle(`array, 2 spaces, ${t}`, "\n", "  ", trailing));
      out.push(arrayStyle(`array, 4 spaces, ${t}`, "\n", "    ", trailing));
      out.push(arrayStyle(`array, tabs, ${t}`, "\n", "\t", trailing));
      out.push(arrayStyle(`array, CRLF, ${t}`, "\r\n", "  ", trailing));
      out.push({
        label: `object, compact, ${t}`,
        form: "object",
        before: '{"container":"node:20-alpine","env":["BASE"],"expose":',
        expose: '{"OLD":"$BASE"}',
        after: `,"about":"x"}${trailing ? "\n" : ""}`,
        added: '{"OLD":"$BASE","NEW":"$NEW"}',
      });
      out.push({
        label: `array, compact, ${t}`,
        form: "array",
        before: '{"container":"node:20-alpine","env":["BASE"],"expose":',
        expose: '[{"name":"OLD","ref":"BASE"}]',
        after: `}${trailing ? "\n" : ""}`,
        added: '[{"name":"OLD","ref":"BASE"},{"name":"NEW","ref":"NEW"}]',
      });
      out.push({
        label: `array, one-line entries, ${t}`,
        form: "array",
        before: '{\n  "container": "node:20-alpine",\n  "env": ["BASE"],\n  "expose": ',
        expose: '[\n    { "name": "OLD", "ref": "BASE" }\n  ]',
        after: `\n}${trailing ? "\n" : ""}`,
        added: '[\n    { "name": "OLD", "ref": "BASE" },\n    { "name": "NEW", "ref": "NEW" }\n  ]',
      });
    }
    return out;
  }

  /** The expose section of `text`, given what must surround it (fails when anything else changed). */
  function exposeOf(text: string, style: Style): string {
    assert.ok(text.startsWith(style.before), `the text before expose changed:\n${JSON.stringify(text)}`);
    assert.ok(text.endsWith(style.after), `the text after expose changed:\n${JSON.stringify(text)}`);
    return text.slice(style.before.length, text.length - style.after.length);
  }

  for (const style of styles()) {
    test(`${style.label}: add, literal, remove; only expose changes; run passes the variable`, () => {
      const original = style.before + style.expose + style.after;
      const ws = workspace({ "manifest.json": original });
      const path = join(ws.dir, "manifest.json");
      chmodSync(path, 0o640);
      setVars(ws, { BASE: "fake-base-value", NEW: "fake-new-value" });

      const added = ok(ws.t(["expose", "NEW"]), "expose NEW");
      assert.match(added.stderr, /NEW exposed as \$NEW/);
      const text = readFileSync(path, "utf8");
      assert.equal(exposeOf(text, style), style.added);
      assert.equal(statSync(path).mode & 0o777, 0o640, "the file mode is kept");
      const env = childEnv(ws, []);
      assert.equal(env.NEW, "fake-new-value");
      assert.equal(env.OLD, "fake-base-value");

      // A literal value (not a reference), then a literal starting with $ ('$$…').
      ok(ws.t(["expose", "LIT", "fake literal $HOME value"]));
      const literal = JSON.parse(exposeOf(readFileSync(path, "utf8"), style)) as unknown;
      if (style.form === "object") {
        assert.deepEqual(literal, { OLD: "$BASE", NEW: "$NEW", LIT: "fake literal $HOME value" });
      } else {
        assert.deepEqual((literal as unknown[]).at(-1), { name: "LIT", value: "fake literal $HOME value" });
      }
      assert.equal(childEnv(ws, []).LIT, "fake literal $HOME value");
      ok(ws.t(["expose", "--remove", "LIT"]));
      assert.equal(exposeOf(readFileSync(path, "utf8"), style), style.added);

      // Removing what was added gives the original bytes back.
      ok(ws.t(["expose", "NEW", "--remove"]));
      assert.equal(readFileSync(path, "utf8"), original);
      assert.ok(!("NEW" in childEnv(ws, [])));
      assert.equal(statSync(path).mode & 0o777, 0o640, "the file mode is kept");
    });
  }

  test("'$$5' is the literal $5; in the object form the expose becomes the array form, same meaning", () => {
    const array = workspace({
      "manifest.json": '{\n  "expose": [\n    { "name": "OLD", "value": "x" }\n  ]\n}\n',
    });
    ok(array.t(["expose", "PRICE", "$$5"]));
    const text = readFileSync(join(array.dir, "manifest.json"), "utf8");
    assert.deepEqual(JSON.parse(text).expose.at(-1), { name: "PRICE", value: "$5" });
    assert.ok(text.endsWith("}\n"));
    assert.equal(childEnv(array, []).PRICE, "$5");

    const object = workspace({
      "manifest.json": '{\n  "env": ["BASE"],\n  "expose": {\n    "OLD": "$BASE",\n    "LIT": "v"\n  }\n}',
    });
    setVars(object, { BASE: "fake-base-value" });
    ok(object.t(["expose", "PRICE", "$$5"]));
    const converted = readFileSync(join(object.dir, "manifest.json"), "utf8");
    assert.deepEqual(JSON.parse(converted).expose, [
      { name: "OLD", ref: "BASE" },
      { name: "LIT", value: "v" },
      { name: "PRICE", value: "$5" },
    ]);
    assert.ok(converted.startsWith('{\n  "env": ["BASE"],\n  "expose": ['));
    assert.ok(converted.endsWith("]\n}"), "no trailing newline added");
    const env = childEnv(object, []);
    assert.equal(env.PRICE, "$5");
    assert.equal(env.OLD, "fake-base-value");
    assert.equal(env.LIT, "v");
  });

  test("explicit '$REF' and '${REF}'; replacing an entry keeps its place", () => {
    const ws = workspace({
      "manifest.json": '{\n  "env": ["BASE"],\n  "expose": {\n    "A": "$BASE",\n    "B": "lit"\n  }\n}\n',
    });
    setVars(ws, { BASE: "fake-base-value", OTHER: "fake-other-value" });
    ok(ws.t(["expose", "A", "$OTHER"]));
    ok(ws.t(["expose", "C", "${BASE}"]));
    assert.equal(
      readFileSync(join(ws.dir, "manifest.json"), "utf8"),
      '{\n  "env": ["BASE"],\n  "expose": {\n    "A": "$OTHER",\n    "B": "lit",\n    "C": "$BASE"\n  }\n}\n',
    );
    const env = childEnv(ws, []);
    assert.equal(env.A, "fake-other-value");
    assert.equal(env.C, "fake-base-value");
  });

  test("no expose key yet: the array form is added as the last member", () => {
    const ws = workspace({ "manifest.json": '{\n  "container": "node:20-alpine"\n}\n' });
    setVars(ws, { TOKEN: "fake-token-value" });
    ok(ws.t(["expose", "TOKEN"]));
    assert.equal(
      readFileSync(join(ws.dir, "manifest.json"), "utf8"),
      '{\n  "container": "node:20-alpine",\n  "expose": [\n    {\n      "name": "TOKEN",\n      "ref": "TOKEN"\n    }\n  ]\n}\n',
    );
    assert.equal(childEnv(ws, []).TOKEN, "fake-token-value");
  });

  test("--manifest elsewhere; a missing manifest is exit 2 E_MANIFEST_NOT_FOUND", () => {
    const ws = workspace({ "agents/a/manifest.json": '{"expose": []}\n' });
    ok(ws.t(["expose", "X", "v", "--manifest", "agents/a/manifest.json"]));
    assert.equal(
      readFileSync(join(ws.dir, "agents/a/manifest.json"), "utf8"),
      '{"expose": [{"name": "X", "value": "v"}]}\n',
    );
    fails(ws.t(["expose", "X"]), 2, "E_MANIFEST_NOT_FOUND");
    fails(ws.t(["expose", "X", "--manifest", "nope/manifest.json"]), 2, "E_MANIFEST_NOT_FOUND");
    assert.ok(!existsSync(join(ws.dir, "manifest.json")), "expose created a manifest");
  });

  test("invalid JSON: exit 4 with a location, file untouched", () => {
    const text = '{\n  "expose": [\n    {"name": "A", "value": "x"},\n  ]\n}\n';
    const ws = workspace({ "manifest.json": text });
    const result = fails(ws.t(["expose", "B"]), 4, "E_MANIFEST_INVALID");
    assert.match(result.stderr, /manifest\.json:\d+:\d+/);
    assert.equal(readFileSync(join(ws.dir, "manifest.json"), "utf8"), text);
  });

  test("10 concurrent exposes of distinct names on one manifest: all 10 are there", async () => {
    const ws = workspace({ "manifest.json": '{\n  "container": "node:20-alpine",\n  "expose": []\n}\n' });
    const path = join(ws.dir, "manifest.json");
    chmodSync(path, 0o600);
    const names = Array.from({ length: 10 }, (_, i) => `CONCURRENT_${i}`);
    const runs = names.map((name) => {
      const child = spawn(process.execPath, ["--", CLI, "expose", name, `fake-value-${name}`], {
        cwd: ws.dir,
        env: cleanEnv({ XDG_CONFIG_HOME: ws.cfg }),
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      return exited(child).then((exit) => ({ name, exit, stderr: () => stderr }));
    });
    for (const run of await Promise.all(runs)) {
      assert.equal(run.exit.code, 0, `${run.name}: ${run.stderr()}`);
    }
    const manifest = JSON.parse(readFileSync(path, "utf8")) as { expose: { name: string; value: string }[] };
    assert.deepEqual(sorted(manifest.expose.map((entry) => entry.name)), sorted(names));
    for (const entry of manifest.expose) assert.equal(entry.value, `fake-value-${entry.name}`);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const env = childEnv(ws, []);
    for (const name of names) assert.equal(env[name], `fake-value-${name}`);
  });
});

// ---------------------------------------------------------------------------------------------------
// 6. Import of a Ploinky .secrets

describe("var import of a real-looking .ploinky/.secrets", () => {
  const LINES = [
    "# This file stores secrets for Ploinky agents.",
    "",
    "API_KEY=fake-api-key-first",
    "  # an indented comment with fake-comment-secret",
    "API_KEY=fake-api-key-second",
    "export EXPORTED=fake-exported-secret",
    "QUOTED=\"fake=quoted\" with=equals 'and single'",
    "ALIAS=$API_KEY",
    "PRE=pre$API_KEY",
    "PATHY=$API_KEY/fake-pathy-tail",
    "TRAIL=fake-trailing-secret   ",
    " SPACED_KEY = fake-spaced value",
    "EMPTY=",
    "=fake-nameless-secret",
    "fake-no-equals-secret",
    "BAD-NAME=fake-bad-name-secret",
    "DOLLAR=$",
    "",
    "LAST=fake-last-no-newline",
  ];
  const EXPECTED = {
    ALIAS: "$API_KEY",
    API_KEY: "fake-api-key-second",
    DOLLAR: "$$",
    EMPTY: "",
    LAST: "fake-last-no-newline",
    PATHY: "$$API_KEY/fake-pathy-tail",
    PRE: "pre$$API_KEY",
    QUOTED: "\"fake=quoted\" with=equals 'and single'",
    SPACED_KEY: " fake-spaced value",
    TRAIL: "fake-trailing-secret   ",
  };
  const lineOf = (start: string): number => LINES.findIndex((line) => line.startsWith(start)) + 1;

  function setup(): Workspace {
    const ws = workspace();
    const file = join(ws.dir, ".ploinky/.secrets");
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(LINES.join("\r\n"), "utf8"));
    return ws;
  }

  test("var import then var export --format json shows exactly the expected templates", () => {
    const ws = setup();
    const imported = ok(ws.t(["var", "import", ".ploinky/.secrets"]), "import");
    assert.equal(imported.stdout, "");
    assert.match(imported.stderr, /imported 10 variables from \.ploinky\/\.secrets \(ploinky\)/);
    const exported = ok(ws.t(["var", "export", "--format", "json"]));
    assert.deepEqual(parseJson(exported.stdout), EXPECTED);
  });

  test("warnings name the lines but never print a value", () => {
    const ws = setup();
    const { stderr } = ok(ws.t(["var", "import", ".ploinky/.secrets"]));
    const at = (start: string) => `.ploinky/.secrets:${lineOf(start)}:`;
    assert.match(stderr, new RegExp(`warning\\[W_NAME_INVALID\\]: ${at("export ")}`));
    assert.match(stderr, new RegExp(`warning\\[W_NAME_INVALID\\]: ${at("BAD-NAME")}`));
    assert.match(stderr, new RegExp(`warning\\[W_NOT_ALIAS\\]: ${at("PATHY")}.*PATHY`));
    assert.match(stderr, new RegExp(`warning\\[W_NOT_ALIAS\\]: ${at("DOLLAR")}.*DOLLAR`));
    assert.match(stderr, new RegExp(`warning\\[W_LINE_SKIPPED\\]: ${at("=fake")}`));
    assert.match(stderr, new RegExp(`warning\\[W_LINE_SKIPPED\\]: ${at("fake-no-equals")}`));
    const values = LINES.flatMap((line) => line.match(/fake-[a-z-]+/g) ?? []);
    assertNoValues([stderr], values);
  });

  test("echo '$NAME' resolves aliases and keeps literals; echo NAME is the stored text; vars shows no value", () => {
    const ws = setup();
    ok(ws.t(["var", "import", ".ploinky/.secrets", "-q"]));
    assert.equal(ok(ws.t(["echo", "$ALIAS"])).stdout, "fake-api-key-second\n");
    assert.equal(ok(ws.t(["echo", "$PRE"])).stdout, "pre$API_KEY\n");
    assert.equal(ok(ws.t(["echo", "$PATHY"])).stdout, "$API_KEY/fake-pathy-tail\n");
    assert.equal(ok(ws.t(["echo", "$TRAIL"])).stdout, "fake-trailing-secret   \n");
    assert.equal(ok(ws.t(["echo", "$QUOTED"])).stdout, `${EXPECTED.QUOTED}\n`);
    assert.equal(ok(ws.t(["echo", "ALIAS"])).stdout, "ALIAS=$API_KEY\n");
    fails(ws.t(["echo", "EXPORTED"]), 3, "E_VAR_NOT_SET");

    for (const args of [["vars"], ["var", "list"], ["var", "list", "--json"]]) {
      const result = ok(ws.t(args));
      const listed = args.includes("--json")
        ? parseJson<{ name: string }[]>(result.stdout).map((row) => row.name)
        : result.stdout
            .trim()
            .split("\n")
            .map((line) => line.split(/\s+/)[0]!);
      assert.deepEqual(listed, Object.keys(EXPECTED).sort(), args.join(" "));
      const values = Object.values(EXPECTED)
        .filter((value) => value.length > 3 && !value.startsWith("$"))
        .map((value) => value.trim());
      assertNoValues([result.stdout, result.stderr], values);
    }
  });

  test("--format ploinky for a file with another name; a dotenv read of the same bytes differs", () => {
    const ws = setup();
    writeFileSync(join(ws.dir, "secrets.txt"), "PRE=pre$X\r\nA=$B\r\n");
    ok(ws.t(["var", "import", "secrets.txt", "--format", "ploinky", "-q"]));
    assert.deepEqual(parseJson(ok(ws.t(["var", "export", "--format", "json"])).stdout), {
      A: "$B",
      PRE: "pre$$X",
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// 7. vars / var list

describe("vars and var list with a manifest.json", () => {
  function setup(): Workspace {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), {
      env: [
        { name: "INSIDE_TOKEN", varName: "OUTSIDE_TOKEN", required: true },
        "SAME_NAME",
        { name: "MODE", value: "dev", secret: false },
      ],
      expose: [{ name: "EXPOSED", ref: "ALIASED" }],
    });
    setVars(ws, {
      OUTSIDE_TOKEN: "fake-outside-value-1",
      SAME_NAME: "fake-same-value-2",
      ALIASED: "$TARGET",
      TARGET: "fake-target-value-3",
      UNUSED: "fake-unused-value-4",
    });
    ok(ws.t(["var", "declare", "EMPTY_ONE"]));
    return ws;
  }
  const VALUES = ["fake-outside-value-1", "fake-same-value-2", "fake-target-value-3", "fake-unused-value-4"];

  test("vars: names, what each is, where the manifest uses it (inside name when it differs); no values", () => {
    const ws = setup();
    for (const args of [["vars"], ["var", "list"]]) {
      const result = ok(ws.t(args));
      assertNoValues([result.stdout, result.stderr], VALUES);
      const rows = new Map(
        result.stdout
          .trim()
          .split("\n")
          .map((line) => [line.split(/\s+/)[0]!, line] as const),
      );
      assert.deepEqual(
        [...rows.keys()],
        ["ALIASED", "EMPTY_ONE", "OUTSIDE_TOKEN", "SAME_NAME", "TARGET", "UNUSED"],
      );
      assert.match(rows.get("ALIASED")!, /alias of TARGET\s+manifest\.json: referenced by EXPOSED/);
      assert.match(rows.get("TARGET")!, /set\s+alias target of ALIASED/);
      assert.match(rows.get("OUTSIDE_TOKEN")!, /set\s+manifest\.json: secret, required as INSIDE_TOKEN/);
      assert.match(rows.get("SAME_NAME")!, /set\s+manifest\.json: config$/);
      assert.match(rows.get("EMPTY_ONE")!, /empty\s+not used by the manifest/);
      assert.match(rows.get("UNUSED")!, /set\s+not used by the manifest/);
    }
  });

  test("--values shows values only on request", () => {
    const ws = setup();
    const result = ok(ws.t(["vars", "--values"]));
    for (const value of VALUES) assert.ok(result.stdout.includes(JSON.stringify(value)), value);
    assert.match(result.stdout, /^ALIASED\s+"\$TARGET"/m);
  });

  test("var list --json: one object per name, value only with --values", () => {
    const ws = setup();
    const rows = parseJson<Record<string, unknown>[]>(ok(ws.t(["var", "list", "--json"])).stdout);
    assert.deepEqual(rows, [
      {
        name: "ALIASED",
        state: "alias of TARGET",
        aliasOf: "TARGET",
        usedBy: ["manifest.json: referenced by EXPOSED"],
      },
      { name: "EMPTY_ONE", state: "empty", usedBy: [] },
      { name: "OUTSIDE_TOKEN", state: "set", usedBy: ["manifest.json: secret, required as INSIDE_TOKEN"] },
      { name: "SAME_NAME", state: "set", usedBy: ["manifest.json: config"] },
      { name: "TARGET", state: "set", usedBy: ["alias target of ALIASED"] },
      { name: "UNUSED", state: "set", usedBy: [] },
    ]);
    const withValues = parseJson<Record<string, unknown>[]>(
      ok(ws.t(["var", "list", "--json", "--values"])).stdout,
    );
    assert.deepEqual(Object.fromEntries(withValues.map((row) => [row.name, row.value])), {
      ALIASED: "$TARGET",
      EMPTY_ONE: "",
      OUTSIDE_TOKEN: "fake-outside-value-1",
      SAME_NAME: "fake-same-value-2",
      TARGET: "fake-target-value-3",
      UNUSED: "fake-unused-value-4",
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// 8. Ploinky as its users run it today (issue 10 §5)

/**
 * `.ploinky/.secrets` as Ploinky writes it since 2026-04, following its algorithm: key = HKDF-SHA256 of
 * SHA-256(seed), empty salt, info "ploinky/storage/secrets/v1"; AES-256-GCM with a 12-byte iv; the file is
 * base64(iv ‖ tag ‖ ciphertext of {"version":1,"secrets":{…}}) and a newline.
 */
function ploinkyEnvelope(secrets: Record<string, string>, seed: string): string {
  const master = createHash("sha256").update(seed, "utf8").digest();
  const key = Buffer.from(
    hkdfSync("sha256", master, Buffer.alloc(0), Buffer.from("ploinky/storage/secrets/v1", "utf8"), 32),
  );
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([
    cipher.update(JSON.stringify({ version: 1, secrets }), "utf8"),
    cipher.final(),
  ]);
  return `${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}\n`;
}

/** Ploinky's derived generated secrets (masterKey.js): HKDF from the derived-master subkey, hex. */
function ploinkyDerived(seed: string, info: string): string {
  const master = createHash("sha256").update(seed, "utf8").digest();
  const derivedMaster = Buffer.from(
    hkdfSync("sha256", master, Buffer.alloc(0), Buffer.from("ploinky/derived-master/v1", "utf8"), 32),
  );
  return Buffer.from(
    hkdfSync("sha256", derivedMaster, Buffer.alloc(0), Buffer.from(info, "utf8"), 32),
  ).toString("hex");
}

describe("var import of an encrypted .ploinky/.secrets", () => {
  const SEED = "fake-master-seed-0123456789abcdef";
  const SECRETS = {
    API_KEY: "fake-api-key-envelope",
    ALIAS: "$API_KEY",
    PRE: "pre$API_KEY",
    MULTI: "fake-line-1\nfake-line-2",
  };
  const EXPECTED = {
    ALIAS: "$API_KEY",
    API_KEY: "fake-api-key-envelope",
    MULTI: "fake-line-1\nfake-line-2",
    PRE: "pre$$API_KEY",
  };

  function setup(seed = SEED, extra: Record<string, string | null> = {}): Workspace {
    const ws = workspace({ ".ploinky/.secrets": ploinkyEnvelope(SECRETS, seed), ...extra });
    return ws;
  }

  test("the key from PLOINKY_MASTER_KEY: every variable is imported, aliases kept, no value printed", () => {
    const ws = setup();
    const result = ok(ws.t(["var", "import", ".ploinky/.secrets"], { env: { PLOINKY_MASTER_KEY: SEED } }));
    assert.match(
      result.stderr,
      /imported 4 variables from \.ploinky\/\.secrets \(ploinky, encrypted; key from PLOINKY_MASTER_KEY in the environment\)/,
    );
    assert.doesNotMatch(result.stderr, /W_LINE_SKIPPED/);
    assertNoValues([result.stdout, result.stderr], [SEED, "fake-api-key-envelope", "fake-line-1"]);
    assert.deepEqual(parseJson(ok(ws.t(["var", "export", "--format", "json"])).stdout), EXPECTED);
    assert.equal(ok(ws.t(["echo", "$ALIAS"])).stdout, "fake-api-key-envelope\n");
  });

  test("the key where Ploinky keeps it: .ploinky/master-key, or PLOINKY_MASTER_KEY in a .env above", () => {
    const inFile = setup(SEED, { ".ploinky/master-key": `${SEED}\n` });
    assert.match(
      ok(inFile.t(["var", "import", ".ploinky/.secrets"])).stderr,
      /imported 4 variables .*key from \.ploinky\/master-key\)/,
    );
    const parent = project({ ".env": `PLOINKY_MASTER_KEY="${SEED}"\n` });
    const nested = join(parent, "workspace");
    mkdirSync(join(nested, ".ploinky"), { recursive: true });
    writeFileSync(join(nested, ".ploinky/.secrets"), ploinkyEnvelope(SECRETS, SEED));
    const cfg = project();
    const result = tessera(["var", "import", ".ploinky/.secrets"], {
      cwd: nested,
      env: { XDG_CONFIG_HOME: cfg },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /imported 4 variables .*key from PLOINKY_MASTER_KEY in \S*\.env\)/);
    assertNoValues([result.stdout, result.stderr], [SEED]);
  });

  test("another key: exit 4 E_KEY_INVALID, nothing imported, neither key nor value printed", () => {
    const ws = setup();
    const result = fails(
      ws.t(["var", "import", ".ploinky/.secrets"], { env: { PLOINKY_MASTER_KEY: "fake-other-seed" } }),
      4,
      "E_KEY_INVALID",
    );
    assert.match(result.stderr, /cannot be decrypted with the Ploinky master key from PLOINKY_MASTER_KEY/);
    assert.doesNotMatch(result.stderr, /imported/);
    assert.ok(!existsSync(join(ws.dir, ".tessera/store.age")), "nothing was written");
    assertNoValues([result.stdout, result.stderr], ["fake-other-seed", SEED, "fake-api-key-envelope"]);
  });

  test("no key anywhere: exit 4 E_KEY_INVALID saying where Ploinky keeps it", () => {
    const ws = setup();
    const result = fails(ws.t(["var", "import", ".ploinky/.secrets"]), 4, "E_KEY_INVALID");
    assert.match(result.stderr, /encrypted by Ploinky, and its master key is not here/);
    assert.match(result.stderr, /PLOINKY_MASTER_KEY/);
    assert.ok(!existsSync(join(ws.dir, ".tessera/store.age")));
  });

  test("a file of which nothing could be read is an error, never 'imported 0 variables'", () => {
    const ws = workspace({ ".ploinky/.secrets": "fake-not-a-line-1\nfake-not-a-line-2\n" });
    const result = fails(ws.t(["var", "import", ".ploinky/.secrets"]), 4, "E_FILE_INVALID");
    assert.match(result.stderr, /no variable could be read from \.ploinky\/\.secrets/);
    assert.doesNotMatch(result.stderr, /imported 0/);
    assert.ok(!existsSync(join(ws.dir, ".tessera/store.age")));
  });
});

describe("${VAR} in container", () => {
  test("build --target docker writes the image expanded from the layers (a runtime:false entry lends its default)", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), {
      container: "registry.example/agent:${IMAGE_TAG}-${FLAVOR}",
      env: [{ name: "IMAGE_TAG", value: "1.0.0", runtime: false }, "FLAVOR=slim", "API_TOKEN"],
    });
    setVars(ws, { API_TOKEN: "fake-token-for-image-test" });
    ok(ws.t(["build", "--target", "docker", "--name", "agent"], { env: { IMAGE_TAG: "2.3.4" } }));
    const script = readFileSync(join(ws.dir, "deploy/docker/run.sh"), "utf8");
    assert.match(script, /registry\.example\/agent:2\.3\.4-slim$/m);
    assert.ok(!script.includes("${IMAGE_TAG}"), "the template is not written as is");
    assert.ok(!/--env IMAGE_TAG/.test(script), "a runtime:false entry is not passed to the agent");
    ok(ws.t(["build", "--target", "docker", "--name", "agent"]));
    assert.match(readFileSync(join(ws.dir, "deploy/docker/run.sh"), "utf8"), /agent:1\.0\.0-slim$/m);
  });
});

describe("wildcard env names", () => {
  test("LLM_MODEL_* passes every matching name of the layers; explain says which matched", () => {
    const ws = workspace({ ".env": "LLM_MODEL_FROM_DOTENV=fake-dotenv-model\n" });
    writeJson(join(ws.dir, "manifest.json"), { env: ["LLM_MODEL_*", "OTHER=fake-other"] });
    setVars(ws, { LLM_MODEL_01: "fake-model-one", UNRELATED: "fake-unrelated" });
    const env = childEnv(ws, ["--pristine"], { LLM_MODEL_HOST: "fake-host-model" });
    assert.equal(env.LLM_MODEL_01, "fake-model-one");
    assert.equal(env.LLM_MODEL_FROM_DOTENV, "fake-dotenv-model");
    assert.equal(env.LLM_MODEL_HOST, "fake-host-model");
    assert.equal(env.OTHER, "fake-other");
    assert.ok(!("UNRELATED" in env));
    const explained = ok(ws.t(["explain", "LLM_MODEL_01"]));
    assert.match(explained.stdout, /LLM_MODEL_01 .*matched LLM_MODEL_\* \(manifest\.json:\d+\)/);
  });

  test("`*` alone: the workspace's names, never the host environment, never an API key", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), { env: ["*"] });
    setVars(ws, { PLAIN_SETTING: "fake-plain", OPENAI_API_KEY: "fake-openai-key" });
    const env = childEnv(ws, ["--pristine"], { HOST_ONLY_SETTING: "fake-host" });
    assert.equal(env.PLAIN_SETTING, "fake-plain");
    assert.ok(!("OPENAI_API_KEY" in env), "Ploinky's `*` never matches an API key");
    assert.ok(!("HOST_ONLY_SETTING" in env), "the host environment is not handed over by `*`");
  });

  test("a wildcard manifest is no longer refused", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), { env: ["LLM_MODEL_*"] });
    const result = ok(ws.t(["check"]), "check");
    assert.doesNotMatch(result.stderr, /wildcard/);
  });
});

describe("a name in both env and expose", () => {
  test("when both read the same variable: accepted, one variable, no warning", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), {
      env: ["ACHILLES_DEBUG"],
      expose: [{ name: "ACHILLES_DEBUG", ref: "ACHILLES_DEBUG" }],
    });
    setVars(ws, { ACHILLES_DEBUG: "fake-debug-on" });
    const result = ok(ws.t(["run", "--no-mask", "--", NODE, "-e", PRINT_ENV]));
    assert.equal(parseJson<Record<string, string>>(result.stdout).ACHILLES_DEBUG, "fake-debug-on");
    assert.doesNotMatch(result.stderr, /declared twice|W_DECLARED_TWICE/);
  });

  function differing(): Workspace {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), {
      env: ["LOG_LEVEL=info", "OPENCODE_API_KEY", "OPENCODE_API_KEY"],
      expose: { LOG_LEVEL: "debug" },
    });
    setVars(ws, { LOG_LEVEL: "fake-trace", OPENCODE_API_KEY: "fake-opencode-key" });
    return ws;
  }

  test("when they differ: the expose value wins, as in Ploinky; an identical duplicate is accepted", () => {
    const env = childEnv(differing(), []);
    assert.equal(env.LOG_LEVEL, "debug");
    assert.equal(env.OPENCODE_API_KEY, "fake-opencode-key");
  });

  test("when they differ, a warning names both places and says which wins", () => {
    const checked = ok(differing().t(["check"]));
    assert.match(
      checked.stderr,
      /W_DECLARED_TWICE\]: manifest\.json:\d+:\d+: LOG_LEVEL is declared at manifest\.json:\d+:\d+ and again in expose: Ploinky passes the expose value last, so it wins/,
    );
    assert.doesNotMatch(checked.stderr, /OPENCODE_API_KEY is declared/);
  });
});

describe("generated secrets", () => {
  const MANIFEST = {
    env: [
      { name: "SHARED_TOKEN", sharedGeneratedSecret: true },
      { name: "OWN_SECRET", generatedSecret: true, required: true },
      { name: "OVERRIDABLE_SECRET", generatedSecret: true, explicitOverride: true },
    ],
  };

  function agents(): { ws: Workspace; a: string; b: string } {
    const ws = workspace();
    const a = join(ws.dir, ".ploinky/repos/fakeRepo/agentA");
    const b = join(ws.dir, ".ploinky/repos/fakeRepo/agentB");
    writeJson(join(a, "manifest.json"), MANIFEST);
    writeJson(join(b, "manifest.json"), MANIFEST);
    return { ws, a, b };
  }

  const hex = /^[0-9a-f]{64}$/;

  test("made once into the workspace store, never printed; shared per workspace, own per agent", {}, () => {
    const { ws } = agents();
    const first = ok(
      ws.t([
        "run",
        "--no-mask",
        "--manifest",
        ".ploinky/repos/fakeRepo/agentA/manifest.json",
        "--",
        NODE,
        "-e",
        PRINT_ENV,
      ]),
    );
    const a = parseJson<Record<string, string>>(first.stdout);
    assert.match(a.SHARED_TOKEN!, hex);
    assert.match(a.OWN_SECRET!, hex);
    assert.match(first.stderr, /generated .*GENERATED__SHARED_TOKEN.* \(made once, never shown/);
    assertNoValues([first.stderr], [a.SHARED_TOKEN!, a.OWN_SECRET!]);
    const again = childEnv(ws, ["--manifest", ".ploinky/repos/fakeRepo/agentA/manifest.json"]);
    assert.equal(again.SHARED_TOKEN, a.SHARED_TOKEN);
    assert.equal(again.OWN_SECRET, a.OWN_SECRET);
    const b = childEnv(ws, ["--manifest", ".ploinky/repos/fakeRepo/agentB/manifest.json"]);
    assert.equal(b.SHARED_TOKEN, a.SHARED_TOKEN, "shared across the agents of the workspace");
    assert.notEqual(b.OWN_SECRET, a.OWN_SECRET, "each agent has its own");
    const listed = ok(ws.t(["var", "list"])).stdout;
    assert.match(listed, /^GENERATED__SHARED_TOKEN\s+set/m);
    assert.match(listed, /^GENERATED__fakeRepo__agentA__OWN_SECRET\s+set/m);
    assertNoValues([listed], [a.SHARED_TOKEN!, a.OWN_SECRET!]);
  });

  test("with Ploinky's master key at hand: the very values Ploinky derives; the operator's value only with explicitOverride", {}, () => {
    const { ws } = agents();
    const seed = "fake-master-seed-for-derivation";
    writeFileSync(join(ws.dir, ".ploinky/master-key"), `${seed}\n`);
    setVars(ws, { SHARED_TOKEN: "fake-operator-shared", OVERRIDABLE_SECRET: "fake-operator-override" });
    const env = childEnv(ws, ["--manifest", ".ploinky/repos/fakeRepo/agentA/manifest.json"]);
    assert.equal(env.SHARED_TOKEN, ploinkyDerived(seed, "ploinky/workspace-secret/SHARED_TOKEN/v1"));
    assert.equal(env.OWN_SECRET, ploinkyDerived(seed, "ploinky/agent-secret/fakeRepo/agentA/OWN_SECRET/v1"));
    assert.equal(env.OVERRIDABLE_SECRET, "fake-operator-override");
  });
});

describe("runtime.resources.env, runtime:false and profile completeness", () => {
  test("templates mean what Ploinky's runtimeResourcePlanner makes of them; runtime:false is not passed", {}, () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), {
      env: [{ name: "HOOK_ONLY", value: "fake-hook-only", runtime: false }, "KEPT=fake-kept"],
      expose: { HOOK_ONLY: "fake-resurrected" },
      runtime: {
        resources: {
          persistentStorage: { key: "agent-data", containerPath: "/data" },
          env: {
            DATA_DIR: "{{STORAGE_CONTAINER_PATH}}/cache",
            FROM_VAR: "{{var:SOME_SETTING}}",
            FROM_UNSET: "x{{var:NOT_SET_ANYWHERE}}y",
            DB_PASSWORD: "{{secret:AGENT_DB_PASSWORD}}",
            KEPT: "fake-resource-wins",
          },
        },
      },
    });
    setVars(ws, { SOME_SETTING: "fake-some-setting" });
    const result = ok(ws.t(["run", "--no-mask", "--pristine", "--", NODE, "-e", PRINT_ENV]));
    const env = parseJson<Record<string, string>>(result.stdout);
    assert.equal(env.DATA_DIR, "/data/cache");
    assert.equal(env.FROM_VAR, "fake-some-setting");
    assert.equal(env.FROM_UNSET, "xy");
    assert.match(env.DB_PASSWORD!, /^[0-9a-f]{64}$/);
    assert.equal(env.KEPT, "fake-resource-wins", "runtime.resources.env is passed after env");
    assert.ok(!("HOOK_ONLY" in env), "runtime:false: not passed, nor an expose of the same name");
    assertNoValues([result.stderr], [env.DB_PASSWORD!]);
    const again = childEnv(ws, ["--pristine"]);
    assert.equal(again.DB_PASSWORD, env.DB_PASSWORD, "{{secret:NAME}} is made once");
    assert.match(ok(ws.t(["var", "list"])).stdout, /^GENERATED__AGENT_DB_PASSWORD\s+set/m);
    setVars(ws, { AGENT_DB_PASSWORD: "fake-operator-db-password" });
    assert.equal(childEnv(ws, ["--pristine"]).DB_PASSWORD, "fake-operator-db-password", "a set NAME wins");
  });

  test("PLOINKY_PROFILE_CONFIG_INCOMPLETE: a required non-sensitive entry without a profile default", {}, () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), {
      env: [
        { name: "KEYCLOAK_URL", required: true },
        { name: "ADMIN_PASSWORD", required: true },
      ],
      profiles: {
        default: {},
        prod: { env: [{ name: "KEYCLOAK_URL", required: true, default: "https://sso.example" }] },
      },
    });
    setVars(ws, { KEYCLOAK_URL: "https://fake.example", ADMIN_PASSWORD: "fake-admin-password" });
    for (const args of [["run", "--", "true"], ["check"], ["build", "--target", "docker"]]) {
      const result = fails(ws.t(args), 4, "E_MANIFEST_INVALID", args.join(" "));
      assert.match(
        result.stderr,
        /manifest\.json:\d+:\d+: PLOINKY_PROFILE_CONFIG_INCOMPLETE: required non-sensitive env entries for .* profile 'default' must define profile defaults: KEYCLOAK_URL \(Ploinky refuses/,
      );
      assert.doesNotMatch(result.stderr, /ADMIN_PASSWORD/, "a secret may go without a default");
    }
    const prod = childEnv(ws, ["--env", "prod"]);
    assert.equal(prod.KEYCLOAK_URL, "https://fake.example", "the profile's default is a default");
  });
});

describe("entries without a name, blank values, profile scalars, sensitivity", () => {
  test("an entry with no name is skipped with a warning at its place, as Ploinky skips it", {}, () => {
    const ws = workspace();
    writeFileSync(
      join(ws.dir, "manifest.json"),
      '{\n  "env": [\n    {"DEMO_VAR": "DEMO_VALUE"},\n    "KEPT=fake-kept"\n  ]\n}\n',
    );
    const result = ok(ws.t(["run", "--no-mask", "--", NODE, "-e", PRINT_ENV]));
    assert.match(result.stderr, /W_ENTRY_SKIPPED\]: manifest\.json:3:5: an env entry without a name/);
    assert.doesNotMatch(result.stderr, /undefined/);
    assert.equal(parseJson<Record<string, string>>(result.stdout).KEPT, "fake-kept");
  });

  test("an entry with no name no longer stops the manifest", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), { env: [{ DEMO_VAR: "DEMO_VALUE" }, "KEPT=fake-kept"] });
    const result = ok(ws.t(["export"]));
    assert.equal(result.stdout, "KEPT=fake-kept\n");
    assert.doesNotMatch(result.stderr, /"undefined"/);
  });

  test("a whitespace-only value of a required variable is missing (exit 3)", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), { env: [{ name: "REQUIRED_TOKEN", required: true }] });
    setVars(ws, { REQUIRED_TOKEN: "   " });
    const result = fails(ws.t(["run", "--", "true"]), 3, "E_MISSING_REQUIRED");
    assert.match(result.stderr, /REQUIRED_TOKEN/);
  });

  test("an empty value of an optional variable is passed and shadows the default, as in Ploinky", {}, () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), { env: ["OPTIONAL_SETTING=fake-default"] });
    ok(ws.t(["var", "declare", "OPTIONAL_SETTING"]));
    assert.equal(childEnv(ws, []).OPTIONAL_SETTING, "");
  });

  test("a profile's object-form scalar is a default: the workspace's value wins (current Ploinky)", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), {
      profiles: { default: { env: { MODE: "fake-profile-default", OTHER: "fake-other-default" } } },
    });
    setVars(ws, { MODE: "fake-operator-mode" });
    const env = childEnv(ws, []);
    assert.equal(env.MODE, "fake-operator-mode");
    assert.equal(env.OTHER, "fake-other-default");
  });

  test("Ploinky's sensitivity rule: LLM_MODEL=4 is config (no W_MASK_SHORT), keys and tokens are secrets", () => {
    const ws = workspace();
    writeJson(join(ws.dir, "manifest.json"), {
      env: [
        "LLM_MODEL=4",
        "OPENAI_API_KEY",
        "GATEWAY_TOKEN",
        { name: "SAYS_SECRET", secret: true },
        "LISTED_IN_PROFILE",
      ],
      profiles: { default: { secrets: ["LISTED_IN_PROFILE"] } },
    });
    setVars(ws, {
      OPENAI_API_KEY: "fake-openai-key-1234",
      GATEWAY_TOKEN: "fake-gateway-token-1234",
      SAYS_SECRET: "fake-says-secret-1234",
      LISTED_IN_PROFILE: "fake-listed-1234",
    });
    const result = ok(ws.t(["run", "--", NODE, "-e", "process.stdout.write(process.env.LLM_MODEL)"]));
    assert.equal(result.stdout, "4");
    assert.doesNotMatch(result.stderr, /W_MASK_SHORT/);
    const explained = parseJson<{ variables: { name: string; kind: string; required: boolean }[] }>(
      ok(ws.t(["explain", "--json"])).stdout,
    );
    const kinds = Object.fromEntries(explained.variables.map((row) => [row.name, row.kind]));
    assert.deepEqual(kinds, {
      LLM_MODEL: "config",
      OPENAI_API_KEY: "secret",
      GATEWAY_TOKEN: "secret",
      SAYS_SECRET: "secret",
      LISTED_IN_PROFILE: "secret",
    });
    assert.ok(explained.variables.find((row) => row.name === "LISTED_IN_PROFILE")?.required);
  });
});
