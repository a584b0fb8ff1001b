/**
 * The CI recipes as their runners would execute them: action.yml's steps (a composite GitHub Action) run
 * with bash, inputs passed the way the runner does (through `env:` only), and the GitLab CI template's
 * scripts run with sh; `npm` is a stand-in that records what it was asked to install, `tessera` the
 * built CLI. `export --format github-env` is read back with GitHub's rules.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { CLI, project, ROOT } from "../helpers.ts";
import { readGithubEnv } from "../support/github-env.ts";
import { assertNoValues } from "./cli-support.ts";

const KEY = "sk-fake-ci-key-4242";
const PEM = "-----BEGIN FAKE KEY-----\nAAAAfakefakefake\n-----END FAKE KEY-----";

/** A bin directory with `tessera` (the built CLI) and an `npm` that records its arguments. */
function tools(dir: string): string {
  const bin = join(dir, ".bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "tessera"), `#!/bin/sh\nexec "${process.execPath}" -- "${CLI}" "$@"\n`);
  writeFileSync(join(bin, "npm"), `#!/bin/sh\nprintf '%s\\n' "$*" >> "${join(dir, "npm-calls")}"\n`);
  chmodSync(join(bin, "tessera"), 0o755);
  chmodSync(join(bin, "npm"), 0o755);
  return bin;
}

interface Step {
  run: string;
  env?: Record<string, string>;
  shell: string;
}

/** Run action.yml's steps as the runner does: `${{ inputs.x }}` only in `env:`, each step with bash -e. */
function runAction(dir: string, inputs: Record<string, string>, env: Record<string, string>) {
  const action = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as {
    inputs: Record<string, { default?: string }>;
    runs: { using: string; steps: Step[] };
  };
  assert.equal(action.runs.using, "composite");
  const input = (name: string) => inputs[name] ?? action.inputs[name]?.default ?? "";
  const bin = tools(dir);
  const results = [];
  for (const step of action.runs.steps) {
    assert.ok(!step.run.includes("${{"), "no expression is pasted into a script");
    const stepEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(step.env ?? {}))
      stepEnv[key] = value.replace(/\$\{\{\s*inputs\.([a-z-]+)\s*\}\}/g, (_m, name: string) => input(name));
    const result = spawnSync("bash", ["--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step.run], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, TESSERA_CACHE_DIR: "off", ...env, ...stepEnv },
    });
    results.push(result);
    if (result.status !== 0) break;
  }
  return results;
}

describe("action.yml (a composite GitHub Action)", () => {
  const manifest =
    "secrets: [OPENAI_API_KEY, TLS_KEY]\nconfig:\n  LOG_LEVEL: info\nprofiles:\n  production: {}\n";

  test("installs tessera-cli, checks, and exports to $GITHUB_ENV with every secret masked", () => {
    const dir = project({ "tessera.yaml": manifest });
    const githubEnv = join(dir, "github-env");
    writeFileSync(githubEnv, "");
    const steps = runAction(
      dir,
      { env: "production", command: "export", "export-to-github-env": "true" },
      // What Actions gives for `LOG_LEVEL: ${{ vars.LOG_LEVEL }}` when the variable is not set: empty.
      { GITHUB_ENV: githubEnv, OPENAI_API_KEY: KEY, TLS_KEY: PEM, LOG_LEVEL: "" },
    );
    assert.deepEqual(
      steps.map((step) => step.status),
      [0, 0],
      steps.map((step) => step.stderr).join("\n"),
    );
    assert.match(readFileSync(join(dir, "npm-calls"), "utf8"), /install --global .*"?tessera-cli@0\.1"?/);
    const values = readGithubEnv(readFileSync(githubEnv, "utf8"));
    assert.equal(values.get("OPENAI_API_KEY"), KEY);
    assert.equal(values.get("TLS_KEY"), PEM);
    assert.equal(
      values.get("LOG_LEVEL"),
      "info",
      "--empty-is-unset: the empty CI variable leaves the default",
    );
    const check = steps[1]!;
    assert.ok(check.stderr.includes(`::add-mask::${KEY}\n`));
    for (const line of PEM.split("\n")) assert.ok(check.stderr.includes(`::add-mask::${line}\n`), line);
    assert.doesNotMatch(check.stderr, /::add-mask::info/, "config is not masked");
    assert.equal(check.stdout, "", "stdout went to $GITHUB_ENV");
  });

  test("a missing secret fails the check step (exit 3) before anything is built; an unknown command is refused", () => {
    const dir = project({ "tessera.yaml": manifest });
    const failed = runAction(
      dir,
      { env: "production", command: "deploy", target: "kubernetes" },
      { TLS_KEY: PEM },
    );
    assert.equal(failed.at(-1)!.status, 3);
    assert.match(failed.at(-1)!.stderr, /OPENAI_API_KEY/);
    assertNoValues([failed.at(-1)!.stderr], [PEM]);
    const unknown = runAction(dir, { command: "publish" }, { TLS_KEY: PEM, OPENAI_API_KEY: KEY });
    assert.equal(unknown.at(-1)!.status, 2);
    assert.match(unknown.at(-1)!.stdout, /::error::unknown command input: publish/);
  });

  test("inputs cannot inject shell code: they are data in the environment", () => {
    const dir = project({ "tessera.yaml": manifest });
    const steps = runAction(dir, { env: '$(touch "$HOME/pwned")' }, { OPENAI_API_KEY: KEY, TLS_KEY: PEM });
    assert.equal(steps.at(-1)!.status, 2, "the profile name is refused as a name");
    assert.throws(() => readFileSync(join(dir, "pwned")));
  });
});

describe("ci/gitlab-ci.yml (a GitLab CI template)", () => {
  test("the check and deploy jobs run with sh, as the node:alpine image's shell would", () => {
    const template = parse(readFileSync(join(ROOT, "ci", "gitlab-ci.yml"), "utf8")) as Record<
      string,
      { script?: string[]; before_script?: string[]; variables?: Record<string, string>; extends?: string }
    >;
    const dir = project({
      "tessera.yaml":
        "service: { name: agent, image: agent:1 }\nsecrets: [OPENAI_API_KEY]\nconfig:\n  LOG_LEVEL: info\nprofiles:\n  production: {}\n",
    });
    const bin = tools(dir);
    const job = (name: string) => {
      const own = template[name]!;
      const base = own.extends ? template[own.extends]! : {};
      return {
        script: [...(base.before_script ?? []), ...(own.script ?? [])],
        variables: { ...base.variables, ...own.variables },
      };
    };
    const run = (name: string, env: Record<string, string>) => {
      const { script, variables } = job(name);
      return spawnSync("sh", ["-e", "-c", script.join("\n")], {
        cwd: dir,
        encoding: "utf8",
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          HOME: dir,
          TESSERA_CACHE_DIR: "off",
          ...variables,
          ...env,
        },
      });
    };
    const checked = run(".tessera-check", { TESSERA_ENV: "production", OPENAI_API_KEY: KEY, LOG_LEVEL: "" });
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(readFileSync(join(dir, "npm-calls"), "utf8"), /tessera-cli@0\.1/);
    const typo = run(".tessera-check", { TESSERA_ENV: "prodution", OPENAI_API_KEY: KEY });
    assert.equal(typo.status, 4);
    assert.match(typo.stderr, /did you mean --env production/);
    const noTarget = run(".tessera-deploy", { TESSERA_ENV: "production", OPENAI_API_KEY: KEY });
    assert.notEqual(noTarget.status, 0);
    assert.match(noTarget.stderr, /set TESSERA_TARGET/);
  });
});
