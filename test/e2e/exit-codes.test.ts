/**
 * Every documented exit status, through the built binary: 0 ok, 2 usage, 3 missing required,
 * 4 invalid input, 126/127 for run's command, the child's own status, and 128+N for a child killed by
 * signal N. Errors go to stderr in the `tessera: error[CODE]: …` form and nothing goes to stdout.
 */
import assert from "node:assert/strict";
import { constants } from "node:os";
import { describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";

const MANIFEST = "secrets:\n  required:\n    - name: API_KEY\n      description: the fake API key\n";

function expectError(result: ReturnType<typeof tessera>, status: number, code: string): void {
  assert.equal(result.status, status, `expected exit ${status}, got ${result.status}:\n${result.stderr}`);
  assert.equal(result.stdout, "", "nothing on stdout for an error");
  assert.match(result.stderr, new RegExp(`^tessera: error\\[${code}\\]: `, "m"));
}

describe("exit codes", () => {
  test("0: success for every command", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": "API_KEY=fake-api-1234\n",
      "t.tpl": "${API_KEY}\n",
    });
    for (const args of [
      ["check"],
      ["explain"],
      ["export"],
      ["expand", "t.tpl"],
      ["schema"],
      ["help"],
      ["version"],
      ["run", "--", "true"],
    ]) {
      const result = tessera(args, { cwd: dir });
      assert.equal(result.status, 0, `${args.join(" ")}: ${result.stderr}`);
    }
  });

  test("2: usage errors (unknown command, unknown flag, missing value, no command for run)", () => {
    const dir = project({});
    expectError(tessera(["nope"], { cwd: dir }), 2, "E_USAGE");
    expectError(tessera(["check", "--bogus"], { cwd: dir }), 2, "E_USAGE");
    expectError(tessera(["export", "--format"], { cwd: dir }), 2, "E_USAGE");
    expectError(tessera(["run"], { cwd: dir }), 2, "E_USAGE");
    expectError(tessera(["check", "--env", "not a profile"], { cwd: dir }), 2, "E_USAGE");
  });

  test("2: a --manifest or --values file that does not exist", () => {
    const dir = project({});
    const manifest = tessera(["check", "--manifest", "missing.yaml"], { cwd: dir });
    expectError(manifest, 2, "E_MANIFEST_NOT_FOUND");
    assert.match(manifest.stderr, /manifest missing\.yaml not found/);
    const values = tessera(["export", "--values", "missing.yaml"], { cwd: dir });
    expectError(values, 2, "E_FILE_NOT_FOUND");
    assert.match(values.stderr, /value file missing\.yaml not found/);
  });

  test("2: an --env-file that does not exist is Tessera's own error", () => {
    const result = tessera(["export", "--env-file", "missing.env"], { cwd: project({}) });
    expectError(result, 2, "E_FILE_NOT_FOUND");
    assert.match(result.stderr, /env file missing\.env not found/);
  });

  test("3: a missing required variable, for every resolving command", () => {
    const dir = project({ "tessera.yaml": MANIFEST, "t.tpl": "x\n" });
    for (const args of [["check"], ["export"], ["expand", "t.tpl"], ["run", "--", "true"]]) {
      const result = tessera(args, { cwd: dir });
      expectError(result, 3, "E_MISSING_REQUIRED");
    }
  });

  test("4: invalid input (manifest, value file, dotenv syntax, template syntax, reference cycle)", () => {
    expectError(
      tessera(["check"], { cwd: project({ "tessera.yaml": "secrets: [\n" }) }),
      4,
      "E_MANIFEST_SYNTAX",
    );
    expectError(
      tessera(["check"], { cwd: project({ "tessera.yaml": "secret:\n  required: [A]\n" }) }),
      4,
      "E_MANIFEST_INVALID",
    );
    expectError(
      tessera(["check"], { cwd: project({ "tessera.yaml": MANIFEST, "env.yaml": "- a list\n" }) }),
      4,
      "E_VALUES_INVALID",
    );
    const dotenv = tessera(["check"], {
      cwd: project({ "tessera.yaml": MANIFEST, ".env": 'OK=1\nAPI_KEY="fake-unterminated\n' }),
    });
    expectError(dotenv, 4, "E_DOTENV_SYNTAX");
    assert.match(dotenv.stderr, /\.env:2: unterminated double-quoted value for API_KEY/);
    expectError(tessera(["expand"], { cwd: project({}), input: "${}" }), 4, "E_TEMPLATE_SYNTAX");
    const cycle = tessera(["check"], {
      cwd: project({ "tessera.yaml": MANIFEST, ".env": "API_KEY=${OTHER}\nOTHER=${API_KEY}\n" }),
    });
    expectError(cycle, 4, "E_REF_CYCLE");
    assert.match(cycle.stderr, /reference cycle: API_KEY → OTHER → API_KEY/);
  });

  test("127: run's command is not found", () => {
    const result = tessera(["run", "--", "tessera-no-such-command-xyz", "arg"], { cwd: project({}) });
    expectError(result, 127, "E_COMMAND_NOT_FOUND");
    assert.match(result.stderr, /command not found: tessera-no-such-command-xyz/);
    const path = tessera(["run", "--", "./missing/script.sh"], { cwd: project({}) });
    expectError(path, 127, "E_COMMAND_NOT_FOUND");
  });

  test("126: run's command is not executable (no x bit, or a directory)", () => {
    const dir = project({ "plain.txt": "echo hi\n", "adir/keep": "" });
    expectError(tessera(["run", "--", "./plain.txt"], { cwd: dir }), 126, "E_COMMAND_NOT_EXECUTABLE");
    expectError(tessera(["run", "--", "./adir"], { cwd: dir }), 126, "E_COMMAND_NOT_EXECUTABLE");
  });

  test("the child's exit status is passed through (0, 1, 7, 42, 255)", () => {
    const dir = project({});
    for (const code of [0, 1, 7, 42, 255]) {
      const result = tessera(["run", "--", "sh", "-c", `exit ${code}`], { cwd: dir });
      assert.equal(result.status, code);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr, "", "tessera adds nothing when the child fails");
    }
  });

  test("128+N: the child is killed by signal N", () => {
    const dir = project({});
    for (const signal of ["SIGKILL", "SIGTERM", "SIGSEGV", "SIGUSR1"] as const) {
      const result = tessera(["run", "--", "sh", "-c", `kill -${signal.slice(3)} $$`], { cwd: dir });
      assert.equal(result.status, 128 + constants.signals[signal], signal);
      assert.equal(result.signal, null, "tessera itself exits normally");
    }
  });

  test("128+N also while the child's output is being masked", () => {
    const dir = project({ "tessera.yaml": MANIFEST });
    const result = tessera(
      ["run", "--secret", "API_KEY=fake-api-1234", "--", "sh", "-c", 'echo "$API_KEY"; kill -TERM $$'],
      { cwd: dir },
    );
    assert.equal(result.status, 128 + constants.signals.SIGTERM);
    assert.equal(result.stdout, "[masked:API_KEY]\n");
  });
});
