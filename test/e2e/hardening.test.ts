/** Regression tests for the findings of the core review: leaks, caches, `from:`, run, messages. */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CLI, cleanEnv, project, tessera } from "../helpers.ts";

const SECRET = "hunter2-very-secret-fake";

describe("no value in messages", () => {
  test("a ${X:?message} that refers to a secret is not printed", () => {
    const dir = project({
      "tessera.yaml": 'secrets: [DB_PASSWORD]\nconfig:\n  URL: "${MISSING:?${DB_PASSWORD}}"\n',
      ".env": `DB_PASSWORD=${SECRET}\n`,
    });
    for (const args of [["check"], ["check", "--json"], ["run", "--", "true"]]) {
      const result = tessera(args, { cwd: dir });
      assert.equal(result.status, 3, args.join(" "));
      assert.ok(!`${result.stdout}${result.stderr}`.includes(SECRET), `${args.join(" ")} leaked the value`);
      assert.match(result.stdout + result.stderr, /message not shown: it refers to variables/);
    }
  });

  test("a literal ${X:?message} in the manifest is printed", () => {
    const dir = project({ "tessera.yaml": 'config:\n  REGION: "${CLOUD_REGION:?set the region}"\n' });
    assert.match(
      tessera(["check"], { cwd: dir }).stderr,
      /CLOUD_REGION is required by the value of REGION: set the region/,
    );
  });

  test("--secret NAME VALUE (a space for the =) never echoes the value", () => {
    const dir = project({ "tessera.yaml": "secrets: [DB_PASSWORD]\n", "t.txt": "x\n" });
    for (const command of [["export"], ["expand"], ["explain"], ["check"], ["run"]]) {
      const args = [
        ...command,
        "--secret",
        "DB_PASSWORD",
        SECRET,
        ...(command[0] === "run" ? ["--", "true"] : []),
      ];
      const result = tessera(args, { cwd: dir });
      assert.equal(result.status, 2, command[0]);
      assert.ok(!`${result.stdout}${result.stderr}`.includes(SECRET), `${command[0]} echoed the value`);
      assert.match(result.stderr, /--secret needs NAME=VALUE/);
    }
  });

  test("a YAML value file's syntax error quotes no part of the file", () => {
    for (const text of [`PASS: "${SECRET}\\xZQ-tail"\n`, `PASS: |x9${SECRET}\n  v\n`]) {
      const dir = project({ "tessera.yaml": "secrets: [PASS]\n", "env.yaml": text });
      const result = tessera(["check"], { cwd: dir });
      assert.equal(result.status, 4);
      assert.match(result.stderr, /E_VALUES_INVALID/);
      assert.ok(!result.stderr.includes(SECRET) && !result.stderr.includes("xZQ"), result.stderr);
    }
  });

  test("a command that is not found does not print the child's PATH", () => {
    const dir = project({ "tessera.yaml": "secrets: [PATH]\n" });
    const result = tessera(["run", "--secret", `PATH=/${SECRET}`, "--", "no-such-command-xyz"], { cwd: dir });
    assert.equal(result.status, 127);
    assert.ok(!result.stderr.includes(SECRET));
  });
});

describe("sensitivity follows values", () => {
  test("config built from a secret is treated as a secret", () => {
    const dir = project({
      "tessera.yaml":
        "secrets: [DB_PASSWORD]\nconfig:\n  DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app\n  LOG_LEVEL: info\n",
      ".env": `DB_PASSWORD=${SECRET}\n`,
    });
    const config = tessera(["export", "--only", "config"], { cwd: dir });
    assert.equal(config.stdout, "LOG_LEVEL=info\n");
    assert.match(
      tessera(["explain", "DATABASE_URL"], { cwd: dir }).stdout,
      /declared as config, but its value is built from a secret/,
    );
    const masked = tessera(["run", "--", "sh", "-c", 'echo "$DATABASE_URL"'], { cwd: dir });
    assert.equal(masked.stdout, "[masked:DATABASE_URL]\n");
    const json = JSON.parse(tessera(["check", "--json"], { cwd: dir }).stdout) as {
      variables: { name: string; kind: string }[];
    };
    assert.equal(json.variables.find((variable) => variable.name === "DATABASE_URL")?.kind, "secret");
  });

  test("config built from the process environment stays config", () => {
    const dir = project({ "tessera.yaml": "config:\n  DATA_DIR: ${BASE_DIR}/data\n" });
    const result = tessera(["export", "--only", "config"], { cwd: dir, env: { BASE_DIR: "/srv" } });
    assert.equal(result.stdout, "DATA_DIR=/srv/data\n");
  });
});

describe("from: and interpolation", () => {
  test("a value read through from: is what references see", () => {
    const dir = project({
      "tessera.yaml":
        "sources:\n  - { type: dotenv, path: secrets/team.env, name: team }\nsecrets:\n  required:\n    - name: TEAM_TOKEN\n      from: { source: team, key: SHARED_TOKEN }\nconfig:\n  AUTH_HEADER: Bearer ${TEAM_TOKEN}\n",
      "secrets/team.env": "SHARED_TOKEN=from-the-team\n",
      ".env": "TEAM_TOKEN=other\n",
    });
    // The named source ranks before the automatic .env in the dotenv layer; references agree with it.
    const result = tessera(["export", "--format", "json"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      TEAM_TOKEN: "from-the-team",
      AUTH_HEADER: "Bearer from-the-team",
    });
    const teamOnly = project({
      "tessera.yaml":
        "sources:\n  - { type: dotenv, path: team.env, name: team }\nsecrets:\n  required:\n    - name: TEAM_TOKEN\n      from: { source: team, key: SHARED_TOKEN }\nconfig:\n  AUTH_HEADER: Bearer ${TEAM_TOKEN}\n",
      "team.env": "SHARED_TOKEN=from-the-team\n",
    });
    assert.deepEqual(JSON.parse(tessera(["export", "--format", "json"], { cwd: teamOnly }).stdout), {
      TEAM_TOKEN: "from-the-team",
      AUTH_HEADER: "Bearer from-the-team",
    });
  });

  test("from: property on a file source is refused", () => {
    const dir = project({
      "tessera.yaml":
        "sources:\n  - { type: dotenv, path: team.env, name: team }\nsecrets:\n  required:\n    - name: T\n      from: { source: team, key: K, property: nope }\n",
    });
    const result = tessera(["check"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /property selects a field of a structured \(JSON\) secret in an external store/,
    );
  });

  test("expand reports a missing dependency as missing (exit 3), not as an internal error", () => {
    const dir = project({ "tessera.yaml": 'secrets: [A]\nconfig:\n  B: "x${A}"\n' });
    const result = tessera(["expand", "--allow-missing-secrets", "-q"], { cwd: dir, input: "${B}\n" });
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /E_MISSING_REQUIRED.*B cannot be resolved: it refers to A/);
  });

  test("a self-reference with nothing below says so", () => {
    const dir = project({
      "tessera.yaml": "config:\n  PYTHONPATH: { description: x }\n",
      ".env": "PYTHONPATH=./src:${PYTHONPATH}\n",
    });
    const result = tessera(["check"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /refers to PYTHONPATH itself, and no lower layer sets PYTHONPATH/);
  });
});

describe("run", () => {
  test("with masking, a background grandchild holding the pipe does not keep tessera waiting", () => {
    const dir = project({});
    const started = Date.now();
    const result = tessera(
      ["run", "--secret", "S=fake-value-1234", "--", "sh", "-c", "sleep 3 & echo started"],
      { cwd: dir },
    );
    assert.equal(result.status, 0);
    assert.equal(result.stdout, "started\n");
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  test("a held partial secret flushed into a closed pipe ends quietly", () => {
    const dir = project({});
    const result = spawnSync(
      "sh",
      [
        "-c",
        `"${process.execPath}" -- "${CLI}" run --secret S=hunter22 -- sh -c 'sleep .3; printf hunt' | true; echo "rc=$?"`,
      ],
      { cwd: dir, env: cleanEnv(), encoding: "utf8" },
    );
    assert.doesNotMatch(result.stderr, /Unhandled 'error'|EPIPE|E_INTERNAL/);
  });

  test("after the child is gone, a signal to tessera is not swallowed", async () => {
    const dir = project({});
    const child = spawn(
      process.execPath,
      ["--", CLI, "run", "--secret", "S=fake-value-1234", "--", "sh", "-c", "sleep 5 & echo started"],
      {
        cwd: dir,
        env: cleanEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const status = await exited;
    assert.equal(status, 0, "tessera ends with the child, not with the grandchild");
  });
});

describe("caches are trusted only when private", () => {
  test("a spec cache entry writable by others is ignored", () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-cache-"));
    const dir = project({ "tessera.yaml": "secrets: [A]\n", ".env": "A=fake-a\n" });
    assert.equal(tessera(["export"], { cwd: dir, env: { TESSERA_CACHE_DIR: cache } }).status, 0);
    const [entry] = readdirSync(cache).filter((name) => name.startsWith("spec-"));
    assert.ok(entry, "a spec cache entry was made");
    const path = join(cache, entry!);
    // A tampered entry that turns A into config and adds a variable:
    const data = JSON.parse(readFileSync(path, "utf8"));
    data.spec.variables[0].kind = "config";
    data.spec.variables.push({ ...data.spec.variables[0], name: "PLANTED", lookup: "A" });
    writeFileSync(path, JSON.stringify(data));
    chmodSync(path, 0o666);
    const result = tessera(["export", "--only", "secrets"], { cwd: dir, env: { TESSERA_CACHE_DIR: cache } });
    assert.equal(result.stdout, "A=fake-a\n", "the world-writable entry was not used");
  });

  test("a cache directory writable by others is not used for code", () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-cache-"));
    chmodSync(cache, 0o777);
    const dir = project({});
    assert.equal(tessera(["--version"], { cwd: dir, env: { TESSERA_CACHE_DIR: cache } }).status, 0);
    assert.deepEqual(
      readdirSync(cache).filter((name) => name.startsWith("code-")),
      [],
    );
  });
});

describe("odd inputs get clear errors", () => {
  test("a value file that is not a regular file", () => {
    const dir = project({ "tessera.yaml": "secrets:\n  optional: [A]\n" });
    symlinkSync("/dev/null", join(dir, "env.yaml"));
    const result = tessera(["check"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /E_FILE_INVALID.*env\.yaml is not a regular file/);
  });

  test("profile names that are Object prototype keys are just names", () => {
    const dir = project({ "tessera.yaml": "secrets:\n  optional: [A]\n" });
    for (const profile of ["constructor", "toString", "hasOwnProperty"]) {
      // Not known (the manifest's profiles object does not own them): an unknown profile, not a crash.
      const unknown = tessera(["check", "-q", "--env", profile], { cwd: dir });
      assert.equal(unknown.status, 4, `${profile}: ${unknown.stderr}`);
      assert.match(unknown.stderr, /error\[E_PROFILE_UNKNOWN\]/);
      writeFileSync(join(dir, `.env.${profile}`), "A=fake-a\n");
      const known = tessera(["check", "-q", "--env", profile], { cwd: dir });
      assert.equal(known.status, 0, `${profile}: ${known.stderr}`);
    }
  });

  test("a Dockfile secret name that is not a string", () => {
    const dir = project({ "Dockfile.yaml": "secrets:\n  required:\n    - name: 123\n" });
    assert.match(tessera(["check"], { cwd: dir }).stderr, /a secret name must be a string/);
  });

  test("an alias in a value file stands for its anchor", () => {
    const dir = project({
      "tessera.yaml": "secrets: [A, B]\n",
      "env.yaml": "A: &shared fake-shared\nB: *shared\n",
    });
    assert.equal(tessera(["export"], { cwd: dir }).stdout, "A=fake-shared\nB=fake-shared\n");
  });

  test("combined short flags", () => {
    const dir = project({ "tessera.yaml": "secrets:\n  optional: [A]\n" });
    const result = tessera(["check", "-qh"], { cwd: dir });
    assert.equal(result.status, 0);
    assert.match(result.stdout, /Usage: tessera check/);
  });

  test("all problems of a manifest together, an unknown source type among them", () => {
    const dir = project({
      "tessera.yaml":
        "secrets: [A, A]\nsources:\n  - { type: hashivault, path: x }\nconfig:\n  B: x\n  unknwn: {}\n",
    });
    const result = tessera(["check"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /hashivault/);
    assert.match(result.stderr, /vault/);
    assert.match(result.stderr, /declared twice/);
  });

  test("Ploinky: value before default in the array form", () => {
    const both = project({
      "manifest.json": JSON.stringify({
        env: [{ name: "BOTH", value: "from-value", default: "from-default" }],
      }),
    });
    assert.equal(tessera(["export"], { cwd: both }).stdout, "BOTH=from-value\n");
    // Wildcards are expanded now: test/e2e/ploinky-wildcards.test.ts.
  });
});
