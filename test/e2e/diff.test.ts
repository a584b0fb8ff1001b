/**
 * `tessera diff` as a user runs it: two profiles, two value files, two directories of rendered
 * Kubernetes objects, and the manifest against live objects through stand-in `kubectl` and `docker`
 * programs that record their arguments and environment and print canned JSON. Exit 0 when the sides
 * are the same, 6 when they differ, 5 when the tool is missing; no output ever holds a value.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";
import { assertNoValues, parseJson, sh } from "./cli-support.ts";

const STAGING_PASSWORD = "fake-staging-password-3b7d";
const PRODUCTION_PASSWORD = "fake-production-password-91ce";
const STAGING_DSN = "https://fake-dsn-a1f2.example.test/1";
const LOG_LEVEL = "loglevel-fake-info-77";
const LIVE_LOG_LEVEL = "loglevel-fake-debug-55";
const LEGACY = "fake-legacy-token-0d0d";
const VALUES = [STAGING_PASSWORD, PRODUCTION_PASSWORD, STAGING_DSN, LOG_LEVEL, LIVE_LOG_LEVEL, LEGACY];

const MANIFEST = `service: { name: shop, image: registry.example.test/shop:1 }
secrets:
  required:
    - name: DB_PASSWORD
  optional:
    - name: SENTRY_DSN
config:
  LOG_LEVEL: ${LOG_LEVEL}
profiles:
  staging: {}
  production: {}
`;

function shop(extra: Record<string, string> = {}): string {
  return project({
    "tessera.yaml": MANIFEST,
    ".env.staging": `DB_PASSWORD=${STAGING_PASSWORD}\nSENTRY_DSN=${STAGING_DSN}\n`,
    ".env.production": `DB_PASSWORD=${PRODUCTION_PASSWORD}\n`,
    ...extra,
  });
}

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

interface Line {
  symbol: string;
  name: string;
  text: string;
}

/** The variable lines of the text output, by name. */
function lines(stdout: string): Map<string, Line> {
  const out = new Map<string, Line>();
  for (const text of stdout.split("\n")) {
    const match = /^([=~<>]) (\S+)/.exec(text);
    if (match) out.set(match[2]!, { symbol: match[1]!, name: match[2]!, text });
  }
  return out;
}

/**
 * A stand-in tool on PATH: appends its arguments (one line per call) to LOG.args, its environment to
 * LOG.env, then runs `script` (sh, with "$@" the arguments).
 */
function fakeTool(name: string, script: string): { path: string; log: string } {
  const bin = mkdtempSync(join(tmpdir(), `tessera-fake-${name}-`));
  scratch.push(bin);
  const log = join(bin, "log");
  writeFileSync(
    join(bin, name),
    `#!/bin/sh
printf '%s\\n' "$*" >> ${JSON.stringify(log)}.args
env > ${JSON.stringify(log)}.env
${script}
`,
  );
  chmodSync(join(bin, name), 0o755);
  return { path: `${bin}:${process.env.PATH}`, log };
}

/** A command printing `data` (JSON) on stdout. */
function printJson(data: unknown): string {
  return `printf '%s\\n' ${sh(JSON.stringify(data))}`;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

describe("diff of two profiles", () => {
  test("per variable: same, different value, only in one; exit 6; never a value", () => {
    const dir = shop();
    const result = tessera(["diff", "--env", "staging", "--env", "production"], { cwd: dir });
    assert.equal(result.status, 6, result.stderr);
    const rows = lines(result.stdout);
    assert.equal(rows.get("DB_PASSWORD")?.symbol, "~");
    assert.match(rows.get("DB_PASSWORD")!.text, /value differs/);
    assert.match(
      rows.get("DB_PASSWORD")!.text,
      /\.env\.staging:1 fp [0-9a-f]{10} \| \.env\.production:1 fp [0-9a-f]{10}/,
    );
    assert.equal(rows.get("SENTRY_DSN")?.symbol, "<");
    assert.match(rows.get("SENTRY_DSN")!.text, /only in staging/);
    assert.equal(rows.get("LOG_LEVEL")?.symbol, "=");
    assert.match(result.stdout, /^--- staging\n\+\+\+ production\n/);
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("the same values: exit 0", () => {
    const dir = shop({ ".env.production": `DB_PASSWORD=${STAGING_PASSWORD}\nSENTRY_DSN=${STAGING_DSN}\n` });
    const result = tessera(["diff", "--env", "staging", "--env", "production"], { cwd: dir });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.deepEqual(
      [...lines(result.stdout).values()].map((line) => line.symbol),
      ["=", "=", "="],
    );
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("a missing required secret is a state to report, not an error; --json", () => {
    const dir = shop({ ".env.production": "" });
    const result = tessera(["diff", "--env", "staging", "--env", "production", "--json"], { cwd: dir });
    assert.equal(result.status, 6, result.stderr);
    const json = parseJson<{
      differ: boolean;
      variables: {
        name: string;
        status: string;
        changes: string[];
        left?: { state: string };
        right?: { state: string };
      }[];
    }>(result.stdout);
    assert.equal(json.differ, true);
    const db = json.variables.find((row) => row.name === "DB_PASSWORD")!;
    assert.equal(db.status, "left-only");
    assert.equal(db.right?.state, "missing");
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("different sensitivity or requiredness is a difference even with the same value", () => {
    const dir = project({
      "tessera.yaml": `service: { name: shop, image: registry.example.test/shop:1 }
secrets:
  required:
    - name: DB_PASSWORD
profiles:
  staging: {}
  production:
    secrets:
      optional:
        - name: DB_PASSWORD
`,
      ".env.staging": `DB_PASSWORD=${STAGING_PASSWORD}\n`,
      ".env.production": `DB_PASSWORD=${STAGING_PASSWORD}\n`,
    });
    const result = tessera(["diff", "--env", "staging", "--env", "production", "--json"], { cwd: dir });
    const json = parseJson<{ variables: { name: string; changes: string[] }[] }>(result.stdout);
    const db = json.variables.find((row) => row.name === "DB_PASSWORD");
    assert.equal(result.status, 6, result.stderr);
    assert.deepEqual(db?.changes, ["required"]);
    assert.match(
      lines(tessera(["diff", "--env", "staging", "--env", "production"], { cwd: dir }).stdout).get(
        "DB_PASSWORD",
      )!.text,
      /required → optional/,
    );
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("one --env alone is a usage error (exit 2)", () => {
    const result = tessera(["diff", "--env", "staging"], { cwd: shop() });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /give --env twice/);
  });
});

describe("diff of two files", () => {
  test("two dotenv files: a review of a change without seeing it", () => {
    const dir = project({
      ".env.production": `DB_PASSWORD=${STAGING_PASSWORD}\nLOG_LEVEL=${LOG_LEVEL}\n`,
      ".env.production.new": `LOG_LEVEL=${LOG_LEVEL}\nDB_PASSWORD=${PRODUCTION_PASSWORD}\nLEGACY=${LEGACY}\n`,
    });
    const result = tessera(["diff", ".env.production", ".env.production.new"], { cwd: dir });
    assert.equal(result.status, 6, result.stderr);
    const rows = lines(result.stdout);
    assert.equal(rows.get("DB_PASSWORD")?.symbol, "~");
    assert.equal(rows.get("LOG_LEVEL")?.symbol, "=");
    assert.equal(rows.get("LEGACY")?.symbol, ">");
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("a dotenv file, a YAML value file and a JSON file holding the same values are the same (exit 0)", () => {
    const dir = project({
      ".env": `DB_PASSWORD=${STAGING_PASSWORD}\nLOG_LEVEL='${LOG_LEVEL}'\n`,
      "env.yaml": `secrets:\n  DB_PASSWORD: ${STAGING_PASSWORD}\nconfig:\n  LOG_LEVEL: "${LOG_LEVEL}"\n`,
      "values.json": JSON.stringify({ LOG_LEVEL, DB_PASSWORD: STAGING_PASSWORD }),
    });
    for (const [a, b] of [
      [".env", "env.yaml"],
      ["env.yaml", "values.json"],
    ] as const) {
      const result = tessera(["diff", a, b], { cwd: dir });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assertNoValues([result.stdout, result.stderr], VALUES);
    }
  });

  test("two directories of rendered Kubernetes objects (build --with-values per profile)", () => {
    const dir = shop();
    for (const profile of ["staging", "production"]) {
      const build = tessera(
        ["build", "-t", "kubernetes", "--with-values", "--env", profile, "-o", `k8s-${profile}`],
        { cwd: dir },
      );
      assert.equal(build.status, 0, build.stderr);
    }
    const result = tessera(["diff", "k8s-staging", "k8s-production", "--json"], { cwd: dir });
    assert.equal(result.status, 6, result.stderr);
    const json = parseJson<{ variables: { name: string; status: string; left?: { kind?: string } }[] }>(
      result.stdout,
    );
    const status = Object.fromEntries(json.variables.map((row) => [row.name, row.status]));
    assert.deepEqual(status, { LOG_LEVEL: "same", DB_PASSWORD: "differs", SENTRY_DSN: "left-only" });
    assert.equal(json.variables.find((row) => row.name === "LOG_LEVEL")?.left?.kind, "config");
    assertNoValues([result.stdout, result.stderr], VALUES);

    const same = tessera(["diff", "k8s-staging", "k8s-staging"], { cwd: dir });
    assert.equal(same.status, 0, same.stderr);
    assertNoValues([same.stdout, same.stderr], VALUES);
  });

  test("a file that does not exist: E_FILE_NOT_FOUND (exit 2)", () => {
    const result = tessera(["diff", ".env", ".env.nope"], { cwd: project({ ".env": "A=fake\n" }) });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /E_FILE_NOT_FOUND/);
  });
});

describe("diff --live (stand-in kubectl and docker)", () => {
  const SECRET = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "shop-secrets" },
    data: { DB_PASSWORD: b64(PRODUCTION_PASSWORD), LEGACY_TOKEN: b64(LEGACY) },
  };
  const CONFIG = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "shop-config" },
    data: { LOG_LEVEL: LIVE_LOG_LEVEL },
  };

  test("kubernetes: kubectl get secret/configmap NAME -o json, keys compared by fingerprint; credentials stripped", () => {
    const dir = shop();
    const kubectl = fakeTool(
      "kubectl",
      `case "$2" in secret) ${printJson(SECRET)} ;; configmap) ${printJson(CONFIG)} ;; esac`,
    );
    const result = tessera(["diff", "--live", "kubernetes", "--env", "production"], {
      cwd: dir,
      env: { PATH: kubectl.path, TESSERA_AGE_KEY: "AGE-SECRET-KEY-FAKE" },
    });
    assert.equal(result.status, 6, result.stderr);
    assert.equal(
      readFileSync(`${kubectl.log}.args`, "utf8"),
      "get secret shop-secrets -o json\nget configmap shop-config -o json\n",
    );
    const env = readFileSync(`${kubectl.log}.env`, "utf8");
    assert.ok(!/^TESSERA_AGE_KEY=/m.test(env), "the age key is not passed to kubectl");
    assert.ok(!/^TESSERA_FINGERPRINT_KEY=/m.test(env), "the fingerprint key is not passed to kubectl");
    assertNoValues([env], VALUES);
    const rows = lines(result.stdout);
    assert.equal(rows.get("DB_PASSWORD")?.symbol, "=");
    assert.equal(rows.get("LOG_LEVEL")?.symbol, "~");
    assert.equal(rows.get("LEGACY_TOKEN")?.symbol, ">");
    assert.equal(rows.has("SENTRY_DSN"), false, "an optional variable without a value is not carried");
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("kubernetes (named k8s): the same keys and values exit 0; --namespace and --name choose the objects", () => {
    const dir = shop();
    const secret = {
      ...SECRET,
      metadata: { name: "web-secrets" },
      data: { DB_PASSWORD: b64(PRODUCTION_PASSWORD) },
    };
    const config = { ...CONFIG, metadata: { name: "web-config" }, data: { LOG_LEVEL } };
    const kubectl = fakeTool(
      "kubectl",
      `case "$2" in secret) ${printJson(secret)} ;; configmap) ${printJson(config)} ;; esac`,
    );
    const result = tessera(
      ["diff", "--live", "k8s", "--env", "production", "--name", "web", "--namespace", "shop-prod", "--json"],
      { cwd: dir, env: { PATH: kubectl.path } },
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(
      readFileSync(`${kubectl.log}.args`, "utf8"),
      "get secret web-secrets -o json --namespace shop-prod\nget configmap web-config -o json --namespace shop-prod\n",
    );
    assert.equal(parseJson<{ differ: boolean }>(result.stdout).differ, false);
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("kubernetes: TESSERA_ENV picks the profile; a config key found in the Secret is a kind difference", () => {
    const dir = shop();
    const secret = { ...SECRET, data: { DB_PASSWORD: b64(PRODUCTION_PASSWORD), LOG_LEVEL: b64(LOG_LEVEL) } };
    const kubectl = fakeTool(
      "kubectl",
      `case "$2" in secret) ${printJson(secret)} ;; configmap) ${printJson({ ...CONFIG, data: {} })} ;; esac`,
    );
    const result = tessera(["diff", "--live", "kubernetes", "--allow-missing-secrets"], {
      cwd: dir,
      env: { PATH: kubectl.path, TESSERA_ENV: "production" },
    });
    assert.equal(result.status, 6, result.stderr);
    assert.match(result.stdout, /^--- manifest \(--env production\)\n\+\+\+ cluster\n/);
    const rows = lines(result.stdout);
    assert.equal(rows.get("DB_PASSWORD")?.symbol, "=");
    assert.equal(rows.get("LOG_LEVEL")?.symbol, "~");
    assert.match(rows.get("LOG_LEVEL")!.text, /config → secret/);
    assert.doesNotMatch(rows.get("LOG_LEVEL")!.text, /value differs/);
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("kubernetes: an object that does not exist is reported, its keys missing live", () => {
    const dir = shop();
    const kubectl = fakeTool(
      "kubectl",
      `case "$2" in secret) echo 'Error from server (NotFound): secrets "shop-secrets" not found' >&2; exit 1 ;; configmap) ${printJson({ ...CONFIG, data: { LOG_LEVEL } })} ;; esac`,
    );
    const result = tessera(["diff", "--live", "kubernetes", "--env", "production"], {
      cwd: dir,
      env: { PATH: kubectl.path },
    });
    assert.equal(result.status, 6, result.stderr);
    assert.match(result.stdout, /the Secret shop-secrets does not exist/);
    assert.equal(lines(result.stdout).get("DB_PASSWORD")?.symbol, "<");
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("kubectl failing otherwise: exit 5, nothing of its output relayed", () => {
    const dir = shop();
    const kubectl = fakeTool("kubectl", `echo "denied ${LEGACY}" >&2; exit 1`);
    const result = tessera(["diff", "--live", "kubernetes", "--env", "production"], {
      cwd: dir,
      env: { PATH: kubectl.path },
    });
    assert.equal(result.status, 5);
    assert.match(result.stderr, /E_DEPLOY_FAILED/);
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("no kubectl, no docker: E_TOOL_MISSING (exit 5)", () => {
    const dir = shop();
    const empty = mkdtempSync(join(tmpdir(), "tessera-empty-path-"));
    scratch.push(empty);
    for (const live of ["kubernetes", "docker", "compose"]) {
      const result = tessera(["diff", "--live", live, "--env", "production"], {
        cwd: dir,
        env: { PATH: empty },
      });
      assert.equal(result.status, 5, result.stderr);
      assert.match(result.stderr, /error\[E_TOOL_MISSING\]: (kubectl|docker) is not available/);
    }
  });

  test("docker with only podman installed: podman inspect NAME, as deploy falls back to podman", () => {
    const dir = shop();
    const container = { Name: "shop", Config: { Env: [`DB_PASSWORD=${STAGING_PASSWORD}`] } };
    const podman = fakeTool("podman", printJson([container]));
    // A PATH with podman and the programs the stand-in uses, and no docker.
    const bin = podman.path.split(":")[0]!;
    symlinkSync("/usr/bin/env", join(bin, "env"));
    const result = tessera(["diff", "--live", "docker", "--env", "production"], {
      cwd: dir,
      env: { PATH: bin },
    });
    assert.equal(result.status, 6, result.stderr);
    assert.equal(readFileSync(`${podman.log}.args`, "utf8"), "inspect shop\n");
    assert.equal(lines(result.stdout).get("DB_PASSWORD")?.symbol, "~");
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("docker: docker inspect NAME, the declared names of the container's environment compared", () => {
    const dir = shop();
    const container = {
      Name: "/shop",
      Config: {
        Env: ["PATH=/usr/local/bin:/usr/bin", `DB_PASSWORD=${STAGING_PASSWORD}`, `LOG_LEVEL=${LOG_LEVEL}`],
      },
    };
    const docker = fakeTool("docker", printJson([container]));
    const result = tessera(["diff", "--live", "docker", "--env", "production"], {
      cwd: dir,
      env: { PATH: docker.path },
    });
    assert.equal(result.status, 6, result.stderr);
    assert.equal(readFileSync(`${docker.log}.args`, "utf8"), "inspect shop\n");
    const rows = lines(result.stdout);
    assert.equal(rows.get("DB_PASSWORD")?.symbol, "~");
    assert.equal(rows.get("LOG_LEVEL")?.symbol, "=");
    assert.equal(rows.has("PATH"), false);
    assert.match(result.stdout, /1 other variable .* not compared/);
    assertNoValues([result.stdout, result.stderr], VALUES);

    const same = fakeTool(
      "docker",
      printJson([
        { ...container, Config: { Env: [`DB_PASSWORD=${PRODUCTION_PASSWORD}`, `LOG_LEVEL=${LOG_LEVEL}`] } },
      ]),
    );
    const again = tessera(["diff", "--live", "docker", "--env", "production"], {
      cwd: dir,
      env: { PATH: same.path },
    });
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assertNoValues([again.stdout, again.stderr], VALUES);
  });

  test("compose: the service's containers by label, each inspected and compared", () => {
    const dir = shop();
    const containers = [
      {
        Name: "/shop-shop-1",
        Config: { Env: [`DB_PASSWORD=${PRODUCTION_PASSWORD}`, `LOG_LEVEL=${LOG_LEVEL}`] },
      },
      { Name: "/shop-shop-2", Config: { Env: [`LOG_LEVEL=${LIVE_LOG_LEVEL}`] } },
    ];
    const docker = fakeTool(
      "docker",
      `case "$1" in ps) printf 'c0ffee01\\nc0ffee02\\n' ;; inspect) ${printJson(containers)} ;; esac`,
    );
    const result = tessera(["diff", "--live", "compose", "--env", "production", "--json"], {
      cwd: dir,
      env: { PATH: docker.path },
    });
    assert.equal(result.status, 6, result.stderr);
    assert.equal(
      readFileSync(`${docker.log}.args`, "utf8"),
      "ps --quiet --filter label=com.docker.compose.project=shop --filter label=com.docker.compose.service=shop\ninspect c0ffee01 c0ffee02\n",
    );
    const json = parseJson<{ comparisons: { differ: boolean; right: { label: string } }[] }>(result.stdout);
    assert.deepEqual(
      json.comparisons.map((comparison) => [comparison.right.label, comparison.differ]),
      [
        ["container shop-shop-1", false],
        ["container shop-shop-2", true],
      ],
    );
    assertNoValues([result.stdout, result.stderr], VALUES);
  });

  test("compose without a running container: reported, exit 6", () => {
    const dir = shop();
    const docker = fakeTool("docker", `case "$1" in ps) ;; *) exit 1 ;; esac`);
    const result = tessera(["diff", "--live", "compose", "--env", "production"], {
      cwd: dir,
      env: { PATH: docker.path },
    });
    assert.equal(result.status, 6, result.stderr);
    assert.match(result.stdout, /no container of the compose service shop/);
    assert.equal(existsSync(`${docker.log}.args`), true);
    assertNoValues([result.stdout, result.stderr], VALUES);
  });
});
