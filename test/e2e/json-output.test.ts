/**
 * `--json` on build, deploy and init, and errors as JSON on explain and check (usage errors included):
 * stdout is exactly one JSON document (what was written and removed, warnings, to-dos, the tool run or
 * the plan), the human summary stays off stderr, errors have the shape `check --json` prints with the
 * documented exit codes, and no value (secret or config) is ever in the JSON, --with-values or not.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { missingProgram, project, type Result, tessera } from "../helpers.ts";
import { assertNoValues, parseJson } from "./cli-support.ts";

const DB_PASSWORD = "fake-db-password-json-4c7d";
const PROD_PASSWORD = "fake-prod-password-json-91e2";
const SENTRY_DSN = "fake-sentry-dsn-json-0b5a";
const LOG_LEVEL = "fake-log-level-json-3f18";
const SECRETS = [DB_PASSWORD, PROD_PASSWORD, SENTRY_DSN];
const VALUES = [...SECRETS, LOG_LEVEL];

const MANIFEST = `service: { name: shop, image: registry.example.test/shop:1, port: 8080 }
secrets:
  required:
    - name: DB_PASSWORD
  optional:
    - name: SENTRY_DSN
config:
  LOG_LEVEL: ${LOG_LEVEL}
`;
const ENV = `DB_PASSWORD=${DB_PASSWORD}\nSENTRY_DSN=${SENTRY_DSN}\n`;

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

interface Written {
  path: string;
  role: string;
  values: boolean;
  mode: string;
}
interface Removed {
  path: string;
  role: string;
  values: boolean;
}
interface Warning {
  code: string;
  message: string;
  location: string | null;
}
interface Todo {
  message: string;
  commands: string[];
}
interface BuildReport {
  ok: true;
  command: "build";
  target: string;
  manifest: string | null;
  profile: string | null;
  out: string;
  withValues: boolean;
  service: { name: string; namespace: string | null; renamed: { from: string; to: string } | null };
  written: Written[];
  removed: Removed[];
  warnings: Warning[];
  todo: Todo[];
}
interface DeployReport {
  ok: true;
  command: "deploy";
  target: string;
  dryRun: boolean;
  tool: string | null;
  steps: { command: string; exit: number }[];
  result: string | null;
  plan: {
    commands: { command: string; note: string | null }[];
    objects: { kind: string; name: string | null; namespace: string | null }[];
  } | null;
  written: Written[];
  removed: Removed[];
  warnings: Warning[];
  todo: Todo[];
}
interface ErrorReport {
  ok: false;
  error: { code: string; message: string; location: string | null; hint: string | null };
}

/**
 * Run tessera and check what every --json run must hold to: stdout is one JSON document and holds no
 * value (secret or config); stderr holds no secret value.
 */
function json<T>(args: string[], options: { cwd: string; env?: Record<string, string> }): [T, Result] {
  const result = tessera(args, options);
  const report = parseJson<T>(result.stdout);
  assertNoValues([result.stdout], VALUES);
  assertNoValues([result.stderr], SECRETS);
  return [report, result];
}

/** The human summary of build and init (paths on stdout, "to do", "removed", "wrote") is not printed. */
function noSummary(result: Result): void {
  assert.doesNotMatch(result.stderr, /to do:|removed |wrote tessera\.yaml|review the guesses/);
  assert.match(result.stdout, /^\{\n/);
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, "0");

describe("build --json", () => {
  test("docker: the files with their roles, the to-do as a command that keeps --env", () => {
    const dir = project({
      "tessera.yaml": MANIFEST,
      ".env": ENV,
      ".env.production": `DB_PASSWORD=${PROD_PASSWORD}\n`,
    });
    const [report, result] = json<BuildReport>(["build", "-t", "docker", "--env", "production", "--json"], {
      cwd: dir,
    });
    assert.equal(result.status, 0, result.stderr);
    noSummary(result);
    assert.equal(report.ok, true);
    assert.equal(report.command, "build");
    assert.equal(report.target, "docker");
    assert.equal(report.manifest, "tessera.yaml");
    assert.equal(report.profile, "production");
    assert.equal(report.out, "deploy/docker");
    assert.equal(report.withValues, false);
    assert.deepEqual(report.service, { name: "shop", namespace: null, renamed: null });
    assert.deepEqual(report.written, [
      { path: "deploy/docker/run.sh", role: "artifact", values: false, mode: "0755" },
      { path: "deploy/docker/.gitignore", role: "gitignore", values: false, mode: "0644" },
      { path: "deploy/docker/.tessera-outputs", role: "record", values: false, mode: "0644" },
    ]);
    for (const file of report.written) assert.equal(mode(join(dir, file.path)), file.mode, file.path);
    assert.deepEqual(report.removed, []);
    // SENTRY_DSN comes from .env, a file for every profile: a warning in the report, not on stderr.
    assert.deepEqual(report.warnings, [
      {
        code: "W_GENERIC_VALUE",
        message:
          'SENTRY_DSN comes from .env:2, a file for every profile, in a build for profile "production"',
        location: ".env:2",
      },
    ]);
    assert.doesNotMatch(result.stderr, /W_GENERIC_VALUE/);
    assert.equal(report.todo.length, 1);
    assert.deepEqual(report.todo[0]!.commands, ["tessera run --env production -- deploy/docker/run.sh"]);
    assert.match(report.todo[0]!.message, /^run the script through `tessera run --env production -- /);
  });

  test("docker --with-values: the value file is 0600 and said to hold values; a build without values removes it", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const [first, firstResult] = json<BuildReport>(["build", "-t", "docker", "--with-values", "--json"], {
      cwd: dir,
    });
    assert.equal(firstResult.status, 0, firstResult.stderr);
    noSummary(firstResult);
    assert.equal(first.withValues, true);
    assert.deepEqual(
      first.written.map((file) => [file.path, file.role, file.values, file.mode]),
      [
        ["deploy/docker/run.sh", "artifact", false, "0755"],
        ["deploy/docker/docker.env", "value-file", true, "0600"],
        ["deploy/docker/.gitignore", "gitignore", false, "0644"],
        ["deploy/docker/.tessera-outputs", "record", false, "0644"],
      ],
    );
    assert.equal(mode(join(dir, "deploy/docker/docker.env")), "0600");
    // The values are in the value file the user asked for, never on stdout.
    assert.ok(readFileSync(join(dir, "deploy/docker/docker.env"), "utf8").includes(DB_PASSWORD));
    assert.deepEqual(first.todo, []);

    const [second, secondResult] = json<BuildReport>(["build", "-t", "docker", "--json"], { cwd: dir });
    assert.equal(secondResult.status, 0, secondResult.stderr);
    noSummary(secondResult);
    assert.deepEqual(second.removed, [
      { path: "deploy/docker/docker.env", role: "value-file", values: true },
    ]);
    assert.equal(existsSync(join(dir, "deploy/docker/docker.env")), false);
    assert.ok(!second.written.some((file) => file.values));
  });

  test("kubernetes: with values, then without (the value file removed), then with --kustomize", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const [first, firstResult] = json<BuildReport>(
      ["build", "-t", "kubernetes", "--with-values", "-o", "k8s", "--json"],
      { cwd: dir },
    );
    assert.equal(firstResult.status, 0, firstResult.stderr);
    noSummary(firstResult);
    assert.deepEqual(
      first.written.map((file) => [file.path, file.role, file.values]),
      [
        ["k8s/deployment.yaml", "artifact", false],
        ["k8s/configmap.yaml", "artifact", false],
        ["k8s/secret.values.yaml", "value-file", true],
        ["k8s/.gitignore", "gitignore", false],
        ["k8s/.tessera-outputs", "record", false],
      ],
    );
    assert.equal(first.written.find((file) => file.values)?.mode, "0600");

    const [second, secondResult] = json<BuildReport>(["build", "-t", "kubernetes", "-o", "k8s", "--json"], {
      cwd: dir,
    });
    assert.equal(secondResult.status, 0, secondResult.stderr);
    assert.deepEqual(second.removed, [{ path: "k8s/secret.values.yaml", role: "value-file", values: true }]);
    assert.deepEqual(
      second.written.map((file) => file.path),
      ["k8s/deployment.yaml", "k8s/configmap.yaml", "k8s/secret.yaml", "k8s/.tessera-outputs"],
      "the .gitignore is unchanged, so not written again",
    );
    assert.deepEqual(
      second.todo.map((todo) => todo.commands),
      [["tessera deploy --target kubernetes"]],
    );
    assert.match(
      second.todo[0]!.message,
      /^the Secret shop-secrets is a template: fill DB_PASSWORD, SENTRY_DSN/,
    );

    const [third] = json<BuildReport>(["build", "-t", "kubernetes", "-o", "k8s", "--kustomize", "--json"], {
      cwd: dir,
    });
    assert.deepEqual(
      third.written.find((file) => file.role === "kustomization")?.path,
      "k8s/kustomization.yaml",
    );
    assert.deepEqual(third.removed, []);
  });

  test("a renamed service and missing secrets allowed: in the JSON, not on stderr", () => {
    const dir = project({
      "tessera.yaml": MANIFEST.replace("name: shop", "name: shopFront"),
    });
    const [report, result] = json<BuildReport>(
      ["build", "-t", "kubernetes", "--allow-missing-secrets", "--json"],
      { cwd: dir },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.deepEqual(report.service, {
      name: "shop-front",
      namespace: null,
      renamed: { from: "shopFront", to: "shop-front" },
    });
    assert.deepEqual(
      report.warnings.map((warning) => warning.code),
      ["W_MISSING_REQUIRED"],
    );
    assert.match(report.warnings[0]!.message, /^required variable DB_PASSWORD is missing/);
    assert.ok(report.todo.some((todo) => /no value was found for DB_PASSWORD/.test(todo.message)));
  });

  test("errors: the JSON error of check --json on stdout, the documented exit code, nothing written", () => {
    const dir = project({ "tessera.yaml": MANIFEST });
    const cases: [string[], number, string][] = [
      [["build", "-t", "docker", "--json"], 3, "E_MISSING_REQUIRED"],
      [["build", "--json"], 2, "E_USAGE"],
      [["build", "-t", "nomad", "--json"], 2, "E_USAGE"],
      [["build", "-t", "docker", "--json", "--no-such-flag"], 2, "E_USAGE"],
      [
        ["build", "-t", "kubernetes", "--name", "Shop_API", "--json", "--allow-missing-secrets"],
        4,
        "E_TARGET_INVALID",
      ],
      [["build", "-t", "docker", "--manifest", "missing.yaml", "--json"], 2, "E_MANIFEST_NOT_FOUND"],
    ];
    for (const [args, status, code] of cases) {
      const [report, result] = json<ErrorReport>(args, { cwd: dir });
      assert.equal(result.status, status, `${args.join(" ")}: ${result.stderr}`);
      assert.equal(report.ok, false, args.join(" "));
      assert.equal(report.error.code, code, args.join(" "));
      assert.deepEqual(Object.keys(report.error), ["code", "message", "location", "hint"]);
      assert.match(result.stderr, new RegExp(`error\\[${code}\\]`), args.join(" "));
    }
    assert.equal(existsSync(join(dir, "deploy")), false, "no failed build wrote anything");
  });

  test("a bad --out (below a regular file): E_OUTPUT_UNWRITABLE as JSON naming it, exit 2, never E_INTERNAL", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV, afile: "mine\n" });
    const [report, result] = json<ErrorReport>(
      ["build", "-t", "kubernetes", "--out", "afile/sub", "--json"],
      {
        cwd: dir,
      },
    );
    assert.equal(result.status, 2, result.stderr);
    assert.equal(report.ok, false);
    assert.equal(report.error.code, "E_OUTPUT_UNWRITABLE");
    assert.equal(report.error.message, "cannot write to afile/sub: afile is a file");
    assert.match(report.error.hint ?? "", /move afile away, or build into another directory with --out DIR/);
    assert.equal(readFileSync(join(dir, "afile"), "utf8"), "mine\n");
  });

  test("without --json, stdout is still the list of paths", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const result = tessera(["build", "-t", "docker"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "deploy/docker/run.sh\n");
    assert.match(
      result.stderr,
      /tessera: to do: run the script through `tessera run -- deploy\/docker\/run\.sh`/,
    );
  });
});

describe("init --json", () => {
  test("a .env: the manifest and .gitignore written, names and kinds, lines skipped by number, the to-do", () => {
    const stray = "fake-stray-token-json-77aa";
    const dir = project({
      ".env": `DB_PASSWORD=${DB_PASSWORD}\nLOG_LEVEL=${LOG_LEVEL}\n${stray}\n`,
    });
    const [report, result] = json<{
      ok: true;
      command: "init";
      manifest: string;
      replaced: boolean;
      sources: string[];
      variables: { name: string; kind: string; required: boolean }[];
      written: Written[];
      removed: Removed[];
      gitignoreAdded: string[];
      skipped: { file: string; lines: number[] }[];
      warnings: Warning[];
      todo: Todo[];
    }>(["init", "--json"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    noSummary(result);
    assert.equal(result.stderr, "");
    assertNoValues([result.stdout, result.stderr], [stray]);
    assert.equal(report.command, "init");
    assert.equal(report.manifest, "tessera.yaml");
    assert.equal(report.replaced, false);
    assert.deepEqual(report.sources, [".env"]);
    assert.deepEqual(report.variables, [
      { name: "DB_PASSWORD", kind: "secret", required: true },
      { name: "LOG_LEVEL", kind: "config", required: true },
    ]);
    assert.deepEqual(report.written, [
      { path: "tessera.yaml", role: "manifest", values: false, mode: "0644" },
      { path: ".gitignore", role: "gitignore", values: false, mode: "0644" },
    ]);
    assert.ok(existsSync(join(dir, "tessera.yaml")));
    assert.deepEqual(report.removed, []);
    assert.ok(report.gitignoreAdded.includes(".env"));
    assert.deepEqual(report.skipped, [{ file: ".env", lines: [3] }]);
    assert.deepEqual(report.warnings, []);
    assert.deepEqual(report.todo, [
      {
        message: "review the guesses (secret or config, required or optional), then run `tessera check`",
        commands: ["tessera check"],
      },
    ]);

    const [again, againResult] = json<ErrorReport>(["init", "--json"], { cwd: dir });
    assert.equal(againResult.status, 4);
    assert.equal(again.error.code, "E_OUTPUT_EXISTS");
    assert.equal(again.error.hint, "use --force to replace it");

    const [forced] = json<{ replaced: boolean; written: Written[] }>(["init", "--force", "--json"], {
      cwd: dir,
    });
    assert.equal(forced.replaced, true);
    assert.deepEqual(
      forced.written.map((file) => file.path),
      ["tessera.yaml"],
      "the .gitignore has the patterns already",
    );
  });

  test("a value file git tracks: W_VALUE_FILE_TRACKED in the report's warnings, not on stderr", (t) => {
    if (spawnSync("git", ["--version"]).status !== 0) return missingProgram(t, "git");
    const dir = project({ ".env": `DB_PASSWORD=${DB_PASSWORD}\n` });
    const git = (...args: string[]) =>
      spawnSync("git", ["-c", "user.email=t@example.test", "-c", "user.name=t", ...args], { cwd: dir });
    git("init", "-q");
    git("add", "-f", ".env");
    const [report, result] = json<{ warnings: Warning[] }>(["init", "--json"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.deepEqual(
      report.warnings.map((warning) => [warning.code, warning.location]),
      [["W_VALUE_FILE_TRACKED", ".env"]],
    );
    assert.match(report.warnings[0]!.message, /git rm --cached \.env/);
  });

  test("--from a directory, or a .gitignore that is one: E_FILE_INVALID naming it, exit 4, no tessera.yaml", () => {
    const cases: [Record<string, string | null>, string[], string][] = [
      [{ somedir: null }, ["--from", "somedir"], "somedir is a directory, not a file to read names from"],
      [{ ".env": ENV, ".gitignore": null }, [], ".gitignore is a directory, not a file"],
    ];
    for (const [files, args, message] of cases) {
      const dir = project(files);
      const [report, result] = json<ErrorReport>(["init", ...args, "--json"], { cwd: dir });
      assert.equal(result.status, 4, result.stderr);
      assert.equal(report.error.code, "E_FILE_INVALID");
      assert.equal(report.error.message, message);
      assert.equal(existsSync(join(dir, "tessera.yaml")), false, "nothing written");
      const text = tessera(["init", ...args], { cwd: dir });
      assert.equal(text.status, 4, text.stderr);
      assert.match(text.stderr, new RegExp(`error\\[E_FILE_INVALID\\]: ${message.replace(".", "\\.")}`));
    }
  });

  test("nothing to start from: E_FILE_NOT_FOUND as JSON, exit 2", () => {
    const [report, result] = json<ErrorReport>(["init", "--json"], { cwd: project({}) });
    assert.equal(result.status, 2);
    assert.equal(report.error.code, "E_FILE_NOT_FOUND");
  });
});

/**
 * A stand-in for a deploy tool: it answers probes, records its arguments, and prints what it was given
 * (its input, DB_PASSWORD from its environment: masked by tessera) and a line of its own.
 */
function fakeTool(name: string, probe: string): { path: string; args: string } {
  const bin = mkdtempSync(join(tmpdir(), `tessera-fake-${name}-`));
  scratch.push(bin);
  const args = join(bin, "args");
  writeFileSync(
    join(bin, name),
    `#!/bin/sh
case "$1" in ${probe}) exit 0 ;; esac
printf '%s\\n' "$*" >> ${JSON.stringify(args)}
cat >&2
echo "the tool saw $DB_PASSWORD" >&2
echo "applied by ${name}"
`,
  );
  chmodSync(join(bin, name), 0o755);
  return { path: `${bin}:${process.env.PATH}`, args };
}

describe("deploy --json", () => {
  test("--dry-run docker: the commands of the plan, no value, nothing run", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const docker = fakeTool("docker", "--version|container");
    const [report, result] = json<DeployReport>(["deploy", "-t", "docker", "--dry-run", "--json"], {
      cwd: dir,
      env: { PATH: docker.path },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.equal(report.command, "deploy");
    assert.equal(report.target, "docker");
    assert.equal(report.dryRun, true);
    assert.equal(report.tool, "docker");
    assert.deepEqual(report.steps, []);
    assert.equal(report.result, null);
    assert.deepEqual(report.plan, {
      commands: [
        { command: "docker rm --force shop", note: "if a container of that name exists" },
        {
          command:
            "docker run --detach --name shop --publish 8080:8080 --env LOG_LEVEL --env DB_PASSWORD --env SENTRY_DSN registry.example.test/shop:1",
          note: null,
        },
      ],
      objects: [],
    });
    assert.deepEqual([report.written, report.removed, report.warnings, report.todo], [[], [], [], []]);
    assert.equal(existsSync(docker.args), false, "docker was not run");
  });

  test("--dry-run kubernetes and compose: the objects by kind and name, never their content", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const kubectl = fakeTool("kubectl", "version");
    const [kube, kubeResult] = json<DeployReport>(
      ["deploy", "-t", "kubernetes", "--namespace", "shop", "--dry-run", "--json"],
      { cwd: dir, env: { PATH: kubectl.path } },
    );
    assert.equal(kubeResult.status, 0, kubeResult.stderr);
    assert.equal(kube.tool, "kubectl");
    assert.deepEqual(kube.plan?.objects, [
      { kind: "Deployment", name: "shop", namespace: "shop" },
      { kind: "ConfigMap", name: "shop-config", namespace: "shop" },
      { kind: "Secret", name: "shop-secrets", namespace: "shop" },
    ]);
    assert.deepEqual(kube.plan?.commands, [
      { command: "kubectl apply -f -", note: "the Secret with its values, through a pipe" },
    ]);
    assert.equal(existsSync(kubectl.args), false, "kubectl was not run");

    const [compose, composeResult] = json<DeployReport>(["deploy", "-t", "compose", "--dry-run", "--json"], {
      cwd: dir,
    });
    assert.equal(composeResult.status, 0, composeResult.stderr);
    assert.equal(compose.tool, "docker compose");
    assert.deepEqual(compose.plan?.objects, [{ kind: "compose service", name: "shop", namespace: null }]);
    assert.match(
      compose.plan!.commands[0]!.command,
      /^docker compose --file compose\.yaml --project-name shop up --detach$/,
    );
    assert.equal(compose.plan!.commands[0]!.note, "with the secrets in its environment");
  });

  test("kubernetes with a stand-in kubectl: the tool and the command it ran; its output masked on stderr", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const kubectl = fakeTool("kubectl", "version");
    const [report, result] = json<DeployReport>(["deploy", "-t", "kubernetes", "--json"], {
      cwd: dir,
      env: { PATH: kubectl.path },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(report.dryRun, false);
    assert.equal(report.tool, "kubectl");
    assert.deepEqual(report.steps, [{ command: "kubectl apply -f -", exit: 0 }]);
    assert.equal(report.plan, null);
    assert.equal(readFileSync(kubectl.args, "utf8"), "apply -f -\n");
    // What the tool prints (here the objects it read, the Secret with its values) is relayed to stderr,
    // masked; stdout is the report alone.
    assert.match(result.stderr, /DB_PASSWORD: \[masked:DB_PASSWORD\]/);
    assert.match(result.stderr, /applied by kubectl/);
  });

  test("docker with a stand-in docker: the commands run and what the target reports", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const docker = fakeTool("docker", "--version|container");
    const [report, result] = json<DeployReport>(["deploy", "-t", "docker", "--json"], {
      cwd: dir,
      env: { PATH: docker.path },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(report.tool, "docker");
    assert.deepEqual(
      report.steps.map((step) => step.command),
      [
        "docker rm --force shop",
        "docker run --detach --name shop --publish 8080:8080 --env LOG_LEVEL --env DB_PASSWORD --env SENTRY_DSN registry.example.test/shop:1",
      ],
    );
    assert.equal(report.result, "started container shop (docker)");
    assert.match(result.stderr, /the tool saw \[masked:DB_PASSWORD\]/);
    assert.doesNotMatch(result.stderr, /started container/, "the summary is in the JSON, not on stderr");
  });

  test("errors: a missing tool is E_TOOL_MISSING (exit 5), a failing one E_DEPLOY_FAILED (exit 5), as JSON", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const empty = mkdtempSync(join(tmpdir(), "tessera-empty-path-"));
    scratch.push(empty);
    const [missing, missingResult] = json<ErrorReport>(["deploy", "-t", "kubernetes", "--json"], {
      cwd: dir,
      env: { PATH: empty },
    });
    assert.equal(missingResult.status, 5);
    assert.equal(missing.error.code, "E_TOOL_MISSING");
    assert.match(missing.error.hint ?? "", /install kubectl/);

    const bin = mkdtempSync(join(tmpdir(), "tessera-failing-kubectl-"));
    scratch.push(bin);
    writeFileSync(
      join(bin, "kubectl"),
      `#!/bin/sh\ncase "$1" in version) exit 0 ;; esac\ncat >/dev/null\necho "no cluster for $DB_PASSWORD" >&2\nexit 1\n`,
    );
    chmodSync(join(bin, "kubectl"), 0o755);
    const [failed, failedResult] = json<ErrorReport>(["deploy", "-t", "kubernetes", "--json"], {
      cwd: dir,
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(failedResult.status, 5);
    assert.equal(failed.error.code, "E_DEPLOY_FAILED");
    assert.match(failed.error.message, /kubectl apply failed \(exit 1\)/);
  });
});

describe("explain --json errors", () => {
  test("a manifest that is not there: E_MANIFEST_NOT_FOUND as JSON on stdout, exit 2", () => {
    const dir = project({ ".env": ENV });
    const [report, result] = json<ErrorReport>(["explain", "--json", "--manifest", "missing.yaml"], {
      cwd: dir,
    });
    assert.equal(result.status, 2);
    assert.equal(report.ok, false);
    assert.equal(report.error.code, "E_MANIFEST_NOT_FOUND");
    assert.match(report.error.message, /missing\.yaml/);
    assert.match(result.stderr, /error\[E_MANIFEST_NOT_FOUND\]/);
  });

  test("an unknown profile: E_PROFILE_UNKNOWN as JSON on stdout, exit 4", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const [report, result] = json<ErrorReport>(["explain", "DB_PASSWORD", "--env", "nowhere", "--json"], {
      cwd: dir,
    });
    assert.equal(result.status, 4);
    assert.equal(report.error.code, "E_PROFILE_UNKNOWN");
    assert.match(report.error.message, /nowhere/);
    assert.equal(typeof report.error.hint, "string");
  });

  test("without --json, the error stays on stderr only", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const result = tessera(["explain", "--env", "nowhere"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /error\[E_PROFILE_UNKNOWN\]/);
  });
});

describe("check --json usage errors", () => {
  test("an unknown option, a bad --secret, a stray argument: the JSON error on stdout, exit 2, never the value", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const cases: [string[], RegExp][] = [
      [["check", "--json", "--no-such-flag"], /unknown option --no-such-flag/],
      [["check", "--no-such-flag", "--json"], /unknown option --no-such-flag/],
      // A forgotten NAME= leaves the value itself as the argument; a space for the = leaves it after.
      [["check", "--json", "--secret", DB_PASSWORD], /--secret needs NAME=VALUE/],
      [["check", "--json", "--secret", "DB_PASSWORD", PROD_PASSWORD], /--secret needs NAME=VALUE/],
      [["check", "--json", "--secret", `NOT-A-NAME=${PROD_PASSWORD}`], /--secret needs NAME=VALUE/],
      [["check", "--json", "stray"], /unexpected argument "stray"/],
    ];
    for (const [args, message] of cases) {
      const [report, result] = json<ErrorReport>(args, { cwd: dir });
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.equal(report.ok, false, args.join(" "));
      assert.equal(report.error.code, "E_USAGE", args.join(" "));
      assert.deepEqual(Object.keys(report.error), ["code", "message", "location", "hint"]);
      assert.match(report.error.message, message, args.join(" "));
      assert.equal(typeof report.error.hint, "string", args.join(" "));
      assert.match(result.stderr, /error\[E_USAGE\]/, args.join(" "));
      assertNoValues([result.stderr], [PROD_PASSWORD]);
    }
  });

  test("without --json, a usage error stays on stderr only", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const result = tessera(["check", "--no-such-flag"], { cwd: dir });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /error\[E_USAGE\]: unknown option --no-such-flag/);
  });
});
