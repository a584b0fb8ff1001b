/**
 * `tessera run`: what the child receives (variables, arguments, stdin, environment under --pristine),
 * what never reaches it (Tessera's own credentials), and that stdout carries only the child's stdout.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { constants } from "node:os";
import { describe, test } from "node:test";
import { CLI, cleanEnv, project, tessera } from "../helpers.ts";
import { NODE, parseJson, sh } from "./cli-support.ts";

const MANIFEST = `secrets:
  required:
    - name: API_KEY
  optional:
    - name: OPT_TOKEN
config:
  REGION: { required: true }
  LOG_LEVEL: info
`;

/** A child that prints its whole environment as JSON. */
const PRINT_ENV = "print-env.mjs";
const PRINT_ENV_SOURCE = "process.stdout.write(JSON.stringify(process.env));\n";

function dir(files: Record<string, string> = {}): string {
  return project({
    "tessera.yaml": MANIFEST,
    ".env": "API_KEY=fake-api-key-1234\nREGION=eu-fake-1\n",
    [PRINT_ENV]: PRINT_ENV_SOURCE,
    ...files,
  });
}

function childEnv(
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Record<string, string> {
  const result = tessera(["run", "--no-mask", ...args, "--", NODE, PRINT_ENV], { cwd, env });
  assert.equal(result.status, 0, result.stderr);
  return parseJson<Record<string, string>>(result.stdout);
}

describe("run: the child's environment", () => {
  test("the child gets every resolved variable, with the right value", () => {
    const env = childEnv([], dir({ "env.yaml": "OPT_TOKEN: fake-opt-5678\n" }));
    assert.equal(env.API_KEY, "fake-api-key-1234");
    assert.equal(env.OPT_TOKEN, "fake-opt-5678");
    assert.equal(env.REGION, "eu-fake-1");
    assert.equal(env.LOG_LEVEL, "info");
  });

  test("an optional variable without a value is left out (not set to empty)", () => {
    const env = childEnv([], dir());
    assert.ok(!("OPT_TOKEN" in env));
  });

  test("the parent's environment is passed on, resolved variables override it", () => {
    const env = childEnv([], dir(), { PARENT_ONLY: "fake-parent-1", LOG_LEVEL: "fake-from-env" });
    assert.equal(env.PARENT_ONLY, "fake-parent-1");
    assert.equal(env.LOG_LEVEL, "fake-from-env");
  });

  test("--pristine: only the resolved variables plus PATH, HOME, USER, LANG, LC_ALL, TERM, TMPDIR", () => {
    const parent = {
      PARENT_ONLY: "fake-parent-1",
      USER: "fake-user",
      TERM: "fake-term",
      LC_ALL: "C",
      LANG: "C.UTF-8",
      TMPDIR: "/tmp",
      HOME: "/fake/home",
      SHELL: "/bin/fake-shell",
    };
    const env = childEnv(["--pristine"], dir(), parent);
    const expected = [
      "PATH",
      "HOME",
      "USER",
      "LANG",
      "LC_ALL",
      "TERM",
      "TMPDIR",
      "API_KEY",
      "REGION",
      "LOG_LEVEL",
    ];
    assert.deepEqual(Object.keys(env).sort(), expected.sort());
    assert.equal(env.HOME, "/fake/home");
    assert.equal(env.USER, "fake-user");
    assert.equal(env.TERM, "fake-term");
    assert.equal(env.PATH, process.env.PATH);
  });

  test("TESSERA_FINGERPRINT_KEY and TESSERA_AGE_KEY never reach the child", () => {
    const credentials = {
      TESSERA_FINGERPRINT_KEY: "fake-fp-key-0000",
      TESSERA_AGE_KEY: "AGE-SECRET-KEY-FAKE",
    };
    for (const flags of [[], ["--pristine"]]) {
      const env = childEnv(flags, dir(), credentials);
      assert.ok(!("TESSERA_FINGERPRINT_KEY" in env), `${flags}: fingerprint key leaked`);
      assert.ok(!("TESSERA_AGE_KEY" in env), `${flags}: age key leaked`);
      assert.ok(!JSON.stringify(env).includes("fake-fp-key-0000"));
      assert.ok(!JSON.stringify(env).includes("AGE-SECRET-KEY-FAKE"));
    }
  });

  test("without a manifest, --secret and .env variables are passed on", () => {
    const cwd = project({ ".env": "FROM_DOTENV=fake-dotenv-1\n", [PRINT_ENV]: PRINT_ENV_SOURCE });
    const env = childEnv(["--secret", "FROM_FLAG=fake-flag-1"], cwd);
    assert.equal(env.FROM_DOTENV, "fake-dotenv-1");
    assert.equal(env.FROM_FLAG, "fake-flag-1");
  });

  test("with a manifest, an undeclared --secret is not passed on (and a warning says so)", () => {
    const cwd = dir();
    const result = tessera(["run", "--secret", "UNDECLARED_X=fake-x-1234", "--", NODE, PRINT_ENV], { cwd });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!("UNDECLARED_X" in parseJson(result.stdout)));
    assert.match(
      result.stderr,
      /warning\[W_SECRET_UNDECLARED\]: --secret UNDECLARED_X: UNDECLARED_X is not declared/,
    );
  });

  test("values with interpolation resolve before the child sees them", () => {
    const cwd = dir({
      ".env": "API_KEY=fake-api-key-1234\nREGION=eu-${ZONE:-fake}-1\nLOG_LEVEL=${LEVEL}\n",
    });
    const env = childEnv([], cwd, { LEVEL: "fake-warn" });
    assert.equal(env.REGION, "eu-fake-1");
    assert.equal(env.LOG_LEVEL, "fake-warn");
  });
});

describe("run: the command line and stdio", () => {
  test("arguments reach the child verbatim, with or without --, flags after the command included", () => {
    const cwd = dir({ "args.mjs": "process.stdout.write(JSON.stringify(process.argv.slice(2)));\n" });
    const args = ["a b", "--secret", "X=1", "-q", "$HOME", "'quoted'", "", "--"];
    for (const separator of [["--"], []]) {
      const result = tessera(["run", ...separator, NODE, "args.mjs", ...args], { cwd });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(parseJson(result.stdout), args);
    }
  });

  test("stdin is passed to the child", () => {
    const result = tessera(["run", "--", "cat"], { cwd: dir(), input: "line one\nline two\n" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "line one\nline two\n");
  });

  test("stdout carries only the child's stdout; the child's stderr and Tessera's warnings go to stderr", () => {
    const cwd = dir({
      "both.mjs":
        'process.stdout.write("to-stdout 1\\n"); process.stderr.write("to-stderr\\n"); process.stdout.write("to-stdout 2\\n");\n',
    });
    const result = tessera(
      ["run", "--secret", "UNDECLARED_X=fake-x-1234", "--secret", "OPT_TOKEN=abc", "--", NODE, "both.mjs"],
      { cwd },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "to-stdout 1\nto-stdout 2\n");
    assert.match(result.stderr, /warning\[W_SECRET_UNDECLARED\]/);
    assert.match(result.stderr, /warning\[W_MASK_SHORT\]/);
    assert.match(result.stderr, /^to-stderr$/m);
  });

  test("--allow-missing-secrets: the warning goes to stderr, the child runs, stdout stays clean", () => {
    const cwd = project({ "tessera.yaml": MANIFEST, "hello.mjs": 'console.log("hello");\n' });
    const result = tessera(["run", "--allow-missing-secrets", "--", NODE, "hello.mjs"], { cwd });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "hello\n");
    assert.match(result.stderr, /warning\[W_MISSING_REQUIRED\]: required variable API_KEY/);
    assert.match(result.stderr, /warning\[W_MISSING_REQUIRED\]: required variable REGION/);
  });

  test("-q silences Tessera's warnings but not the child", () => {
    const cwd = dir({ "err.mjs": 'console.error("child-err");\n' });
    const result = tessera(["run", "-q", "--secret", "UNDECLARED_X=1", "--", NODE, "err.mjs"], { cwd });
    assert.equal(result.status, 0);
    assert.equal(result.stderr, "child-err\n");
  });

  test("a failing child: its status, and not a word from Tessera", () => {
    const cwd = dir({ "fail.mjs": 'console.error("boom"); process.exit(3);\n' });
    const result = tessera(["run", "--", NODE, "fail.mjs"], { cwd });
    assert.equal(
      result.status,
      3,
      "the child's 3, which is also Tessera's 'missing' code: only stderr tells",
    );
    assert.equal(result.stderr, "boom\n");
  });

  test("the bundled example runs: show-env prints what the agent received", () => {
    const cwd = project({});
    const example = new URL("../../examples/invoice-copilot/", import.meta.url).pathname;
    const result = tessera(
      [
        "run",
        "--manifest",
        `${example}Dockfile.yaml`,
        "--secret",
        "OPENAI_API_KEY=fake-openai-1234",
        "--secret",
        "MY_AGENT_KEY=fake-agent-5678",
        "--",
        NODE,
        `${example}show-env.mjs`,
      ],
      { cwd },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^OPENAI_API_KEY\s+fak… \(16 characters\)$/m);
    assert.match(result.stdout, /^MY_AGENT_KEY\s+fak… \(15 characters\)$/m);
    assert.match(result.stdout, /^LANGFUSE_SECRET\s+\(empty\)$/m);
    assert.match(result.stdout, /^LANGFUSE_HOST\s+\(not set\)$/m);
    assert.ok(!result.stdout.includes("fake-openai-1234") && !result.stdout.includes("fake-agent-5678"));
  });
});

describe("run: the reader of stdout goes away (| head)", () => {
  /** `tessera ARGS | READER` in bash (a real pipe): tessera's exit status and stderr. */
  function piped(args: string[], reader: string, cwd: string) {
    const command = [process.execPath, CLI, ...args].map(sh).join(" ");
    const result = spawnSync(
      "bash",
      ["-c", `${command} | ${reader} >/dev/null; echo "status=\${PIPESTATUS[0]}" >&2`],
      {
        cwd,
        env: cleanEnv(),
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    const match = /status=(\d+)\n$/.exec(result.stderr);
    assert.ok(match, result.stderr);
    return { status: Number(match[1]), stderr: result.stderr.slice(0, match.index) };
  }
  const cwd = () =>
    project({ "tessera.yaml": MANIFEST, ".env": "API_KEY=fake-api-key-1234\nREGION=eu-fake-1\n" });
  const YES = ["--", "sh", "-c", 'exec yes "y $API_KEY"'];

  test("without masking, the child (yes) dies of SIGPIPE and tessera reports 128+13", () => {
    const result = piped(["run", "--no-mask", ...YES], "head -n 1", cwd());
    assert.equal(result.status, 128 + constants.signals.SIGPIPE);
    assert.equal(result.stderr, "");
  });

  test("with masking, tessera stops quietly too (no crash, no stack trace)", () => {
    const result = piped(["run", ...YES], "head -n 1", cwd());
    assert.doesNotMatch(result.stderr, /Unhandled 'error' event|EPIPE|E_INTERNAL/);
    assert.equal(result.status, 128 + constants.signals.SIGPIPE);
  });

  test("export into a closed pipe exits quietly", () => {
    const result = piped(["export"], "true", cwd());
    assert.doesNotMatch(result.stderr, /Unhandled 'error' event|EPIPE|E_INTERNAL/);
    assert.notEqual(result.status, 1);
  });
});

describe("runChild as a library", () => {
  test("many runs in one process add no listener to stdout or stderr", async () => {
    const { runChild } = await import("../../src/run/run.ts");
    const before = [process.stdout.listenerCount("error"), process.stderr.listenerCount("error")];
    for (let i = 0; i < 15; i++) {
      const code = await runChild({
        command: process.execPath,
        args: ["-e", ""],
        env: { PATH: process.env.PATH ?? "" },
        secrets: [{ name: "T", value: "fake-secret-value" }],
        mask: "always",
        output: { stdout: process.stdout, stderr: process.stderr },
      });
      assert.equal(code, 0);
    }
    const after = [process.stdout.listenerCount("error"), process.stderr.listenerCount("error")];
    // At most the one quiet listener per stream that stays for a late EPIPE.
    assert.ok(after[0]! - before[0]! <= 1 && after[1]! - before[1]! <= 1, `${before} -> ${after}`);
  });
});
