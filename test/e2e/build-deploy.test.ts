/**
 * `tessera build` and `tessera deploy` as a user runs them: where files go and with which modes, what is
 * printed where (paths on stdout, to-dos and warnings on stderr), value files git-ignored and removed when
 * no longer wanted, clear errors with documented exit codes, the service taken from each manifest kind,
 * and deploy's hand-over to kubectl (a recording stand-in: the values go through the pipe, never to disk,
 * and what the tool prints is masked and kept off stdout). The real engines are in targets-consumers.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import YAML from "yaml";
import { missingProgram, project, tessera } from "../helpers.ts";

const MANIFEST = `service: { name: shop, image: registry.example.test/shop:1, port: 8080 }
secrets:
  required:
    - name: DB_PASSWORD
  optional:
    - name: SENTRY_DSN
config:
  LOG_LEVEL: info
`;
const DB_PASSWORD = "fake-db-password-8c1e";
const ENV = `DB_PASSWORD=${DB_PASSWORD}\n`;

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** Every file under dir (relative paths), for "nothing else was written" checks. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (here: string) => {
    for (const entry of readdirSync(here, { withFileTypes: true })) {
      const path = join(here, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("build", () => {
  test("writes deploy/<target>/ next to the manifest, lists the files on stdout and the to-dos on stderr", () => {
    const dir = project({ "app/tessera.yaml": MANIFEST, "app/.env": ENV });
    const result = tessera(["build", "-t", "docker", "--manifest", "app/tessera.yaml"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "app/deploy/docker/run.sh\n");
    assert.match(
      result.stderr,
      /tessera: to do: run the script through `tessera run --manifest app\/tessera\.yaml -- app\/deploy\/docker\/run\.sh`/,
    );
    assert.deepEqual(files(join(dir, "app", "deploy", "docker")), [
      ".gitignore",
      ".tessera-outputs",
      "run.sh",
    ]);
    assert.equal(mode(join(dir, "app", "deploy", "docker", "run.sh")), 0o755);
    assert.ok(!readFileSync(join(dir, "app", "deploy", "docker", "run.sh"), "utf8").includes(DB_PASSWORD));
  });

  test("--with-values: value files are 0600 and git-ignored, the rest 0644; a later build without values removes them", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const first = tessera(["build", "-t", "kubernetes", "--with-values", "-o", "k8s"], { cwd: dir });
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(first.stdout.split("\n").filter(Boolean), [
      "k8s/deployment.yaml",
      "k8s/configmap.yaml",
      "k8s/secret.values.yaml",
    ]);
    assert.equal(mode(join(dir, "k8s", "secret.values.yaml")), 0o600);
    assert.equal(mode(join(dir, "k8s", "deployment.yaml")), 0o644);
    assert.equal(
      readFileSync(join(dir, "k8s", ".gitignore"), "utf8"),
      "# files with values: never commit them\n*.values.yaml\n",
    );
    assert.ok(readFileSync(join(dir, "k8s", "secret.values.yaml"), "utf8").includes(DB_PASSWORD));

    const second = tessera(["build", "-t", "kubernetes", "-o", "k8s"], { cwd: dir });
    assert.equal(second.status, 0, second.stderr);
    assert.match(
      second.stderr,
      /tessera: removed k8s\/secret\.values\.yaml: it held values from an earlier --with-values build/,
    );
    assert.deepEqual(files(join(dir, "k8s")), [
      ".gitignore",
      ".tessera-outputs",
      "configmap.yaml",
      "deployment.yaml",
      "secret.yaml",
    ]);
    for (const file of files(join(dir, "k8s"))) {
      assert.ok(
        !readFileSync(join(dir, "k8s", file), "utf8").includes(DB_PASSWORD),
        `${file} holds no value`,
      );
    }
  });

  test("a value file git already tracks is not written again (the .gitignore cannot help then)", (t) => {
    if (spawnSync("git", ["--version"]).status !== 0) return missingProgram(t, "git");
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const git = (...args: string[]) =>
      spawnSync("git", ["-c", "user.email=t@example.test", "-c", "user.name=t", ...args], {
        cwd: dir,
        encoding: "utf8",
      });
    git("init", "-q");
    const first = tessera(["build", "-t", "docker", "--with-values"], { cwd: dir });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(git("status", "--porcelain", "--untracked-files=all").stdout.includes("docker.env"), false);
    git("add", "-f", "deploy/docker/docker.env");
    const before = readFileSync(join(dir, "deploy", "docker", "docker.env"), "utf8");
    writeFileSync(join(dir, ".env"), "DB_PASSWORD=fake-db-password-changed\n");
    const second = tessera(["build", "-t", "docker", "--with-values"], { cwd: dir });
    assert.equal(second.status, 4, second.stderr);
    assert.match(
      second.stderr,
      /error\[E_OUTPUT_NOT_IGNORED\]: deploy\/docker\/docker\.env would hold values inside a git work tree without being ignored/,
    );
    assert.equal(
      readFileSync(join(dir, "deploy", "docker", "docker.env"), "utf8"),
      before,
      "nothing written",
    );
    assert.doesNotMatch(second.stderr, /fake-db-password/);
  });

  test("a missing required secret stops the build (exit 3) before anything is written; --allow-missing-secrets leaves an empty slot", () => {
    const dir = project({ "tessera.yaml": MANIFEST });
    const result = tessera(["build", "-t", "compose"], { cwd: dir });
    assert.equal(result.status, 3);
    assert.match(result.stderr, /DB_PASSWORD/);
    assert.equal(result.stdout, "");
    assert.equal(existsSync(join(dir, "deploy")), false);

    const allowed = tessera(["build", "-t", "kubernetes", "--allow-missing-secrets"], { cwd: dir });
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stderr, /DB_PASSWORD/);
    const secret = YAML.parse(readFileSync(join(dir, "deploy", "kubernetes", "secret.yaml"), "utf8"));
    assert.deepEqual(secret.stringData, { DB_PASSWORD: "" });
  });

  test("usage mistakes are exit 2, target mistakes exit 4, each with the way out", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const cases: [string[], number, RegExp][] = [
      [
        ["build"],
        2,
        /E_USAGE\]: --target is required\n {2}hint: one of docker, compose, kubernetes, external-secrets/,
      ],
      [["build", "-t", "nomad"], 2, /unknown target "nomad"/],
      [
        ["build", "-t", "compose", "--secrets-mode", "vault"],
        2,
        /--secrets-mode takes env-file or files, not "vault"/,
      ],
      [["build", "-t", "kubernetes", "--env-style", "x"], 2, /--env-style takes envFrom or refs/],
      [["build", "-t", "kubernetes", "--name", "Shop_API"], 4, /the service name "Shop_API"|Shop_API/],
      [["build", "-t", "kubernetes", "--namespace", "-bad-"], 4, /namespace/],
      [["build", "-t", "external-secrets"], 4, /E_TARGET_INVALID\]: no external store is declared/],
      [
        ["build", "-t", "external-secrets", "--with-values"],
        2,
        /--with-values does not apply to external-secrets/,
      ],
      [
        ["deploy", "-t", "compose", "--secrets-mode", "files"],
        2,
        /deploy --target compose uses the env-file mode/,
      ],
      [["deploy", "-t", "kubernetes", "--kustomize"], 2, /--kustomize/],
    ];
    for (const [args, status, message] of cases) {
      const result = tessera(args, { cwd: dir });
      assert.equal(result.status, status, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
      assert.equal(result.stdout, "", `${args.join(" ")}: nothing on stdout`);
    }
    assert.equal(existsSync(join(dir, "deploy")), false, "no failed build wrote anything");
  });

  test("config built from a secret is delivered as a secret by every target, never as config", () => {
    const dir = project({
      "tessera.yaml": `${MANIFEST}  DATABASE_URL: postgres://app:\${DB_PASSWORD}@db/app\n`,
      ".env": ENV,
    });
    const k8s = tessera(["build", "-t", "kubernetes", "--with-values", "-o", "k8s"], { cwd: dir });
    assert.equal(k8s.status, 0, k8s.stderr);
    const configMap = YAML.parse(readFileSync(join(dir, "k8s", "configmap.yaml"), "utf8"));
    const secret = YAML.parse(readFileSync(join(dir, "k8s", "secret.values.yaml"), "utf8"));
    assert.deepEqual(Object.keys(configMap.data), ["LOG_LEVEL"]);
    assert.equal(secret.stringData.DATABASE_URL, `postgres://app:${DB_PASSWORD}@db/app`);

    const compose = tessera(["build", "-t", "compose", "-o", "compose"], { cwd: dir });
    assert.equal(compose.status, 0, compose.stderr);
    const text = readFileSync(join(dir, "compose", "compose.yaml"), "utf8");
    assert.ok(!text.includes(DB_PASSWORD));
    assert.equal(YAML.parse(text).services.shop.environment.DATABASE_URL, "${DATABASE_URL}");

    const docker = tessera(["build", "-t", "docker", "-o", "docker"], { cwd: dir });
    assert.equal(docker.status, 0, docker.stderr);
    const script = readFileSync(join(dir, "docker", "run.sh"), "utf8");
    assert.ok(!script.includes(DB_PASSWORD));
    assert.doesNotMatch(script, /export DATABASE_URL/);

    // For ESO it is refused: found in the environment (derived), missing (unresolved), behind a default, or
    // through other config.
    const store = "sources:\n  - { type: aws-ssm, region: eu-west-1, path: /shop/ }\n";
    const cases: [string, string][] = [
      ["  DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app\n", ENV],
      ["  DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app\n", ""],
      ["  DATABASE_URL: postgres://app:${DB_PASSWORD:-none}@db/app\n", ""],
      ["  DATABASE_URL: postgres://${CREDS}@db/app\n  CREDS: app:${DB_PASSWORD}\n", ""],
    ];
    for (const [config, env] of cases) {
      const eso = tessera(["build", "-t", "external-secrets"], {
        cwd: project({ "tessera.yaml": `${MANIFEST}${config}${store}`, ".env": env }),
      });
      assert.equal(eso.status, 4, `${config}: ${eso.stderr}`);
      assert.match(
        eso.stderr,
        /E_TARGET_INVALID\]: DATABASE_URL.* built from secrets by interpolation, which the External Secrets Operator cannot do/,
      );
      assert.doesNotMatch(eso.stderr, /warning/, "no warning that it is left out: it is an error");
    }
  });

  test("the service comes from each kind of manifest: tessera.yaml service:, Dockfile agent/expose, Ploinky container", () => {
    const dockfile = project({
      "Dockfile.yaml": `version: "1.0"
agent:
  name: research-agent
  entrypoint: app.main:agent
  framework: langgraph
expose:
  port: 8088
secrets:
  required:
    - name: OPENAI_API_KEY
`,
      ".env": "OPENAI_API_KEY=fake-openai-key-0001\n",
    });
    const built = tessera(["build", "-t", "kubernetes"], { cwd: dockfile });
    assert.equal(built.status, 0, built.stderr);
    const deployment = YAML.parse(
      readFileSync(join(dockfile, "deploy", "kubernetes", "deployment.yaml"), "utf8"),
    );
    assert.equal(deployment.metadata.name, "research-agent");
    assert.equal(deployment.spec.template.spec.containers[0].image, "dockrion/research-agent:dev");
    assert.deepEqual(deployment.spec.template.spec.containers[0].ports, [{ containerPort: 8088 }]);

    const parent = project({
      "notes-agent/manifest.json": JSON.stringify({ container: "node:20-alpine", env: { NOTES_TOKEN: "" } }),
    });
    const ploinky = tessera(["build", "-t", "compose", "--allow-missing-secrets"], {
      cwd: join(parent, "notes-agent"),
    });
    assert.equal(ploinky.status, 0, ploinky.stderr);
    const compose = YAML.parse(
      readFileSync(join(parent, "notes-agent", "deploy", "compose", "compose.yaml"), "utf8"),
    );
    assert.deepEqual(Object.keys(compose.services), ["notes-agent"]);
    assert.equal(compose.services["notes-agent"].image, "node:20-alpine");

    const flags = tessera(
      ["build", "-t", "docker", "--name", "other", "--image", "example.test/other:2", "-o", "o"],
      { cwd: dockfile },
    );
    assert.equal(flags.status, 0, flags.stderr);
    assert.match(
      readFileSync(join(dockfile, "o", "run.sh"), "utf8"),
      /--name other .* example\.test\/other:2\n$/,
    );
  });
});

/** A stand-in kubectl that records its arguments and stdin, prints a line, and exits as told. */
function fakeKubectl(script = ""): { path: string; log: string } {
  const bin = mkdtempSync(join(tmpdir(), "tessera-fake-kubectl-"));
  scratch.push(bin);
  const log = join(bin, "log");
  writeFileSync(
    join(bin, "kubectl"),
    `#!/bin/sh
case "$1" in version) exit 0 ;; esac
printf '%s\\n' "$*" > ${JSON.stringify(log)}.args
env > ${JSON.stringify(log)}.env
${script || `cat > ${JSON.stringify(log)}.stdin\necho "secret/shop-secrets configured"`}
`,
  );
  chmodSync(join(bin, "kubectl"), 0o755);
  return { path: `${bin}:${process.env.PATH}`, log };
}

describe("deploy to kubernetes (kubectl stand-in)", () => {
  test("the objects, the Secret with its values, go through kubectl's stdin; nothing is written; stdout stays empty", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const kubectl = fakeKubectl();
    const result = tessera(["deploy", "-t", "kubernetes", "--namespace", "shop"], {
      cwd: dir,
      env: { PATH: kubectl.path },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /secret\/shop-secrets configured/);
    assert.equal(readFileSync(`${kubectl.log}.args`, "utf8"), "apply -f -\n");
    const docs = YAML.parseAllDocuments(readFileSync(`${kubectl.log}.stdin`, "utf8")).map((doc) =>
      doc.toJS(),
    );
    assert.deepEqual(
      docs.map((doc) => doc.kind),
      ["Deployment", "ConfigMap", "Secret"],
    );
    assert.ok(docs.every((doc) => doc.metadata.namespace === "shop"));
    assert.deepEqual(docs[2].stringData, { DB_PASSWORD });
    assert.match(docs[0].spec.template.metadata.annotations["checksum/secret"], /^[0-9a-f]{64}$/);
    assert.deepEqual(files(dir), [".env", "tessera.yaml"], "no file was written");
    assert.ok(
      !readFileSync(`${kubectl.log}.env`, "utf8").includes(DB_PASSWORD),
      "kubectl's environment holds no value",
    );
  });

  test("what kubectl prints is masked", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const kubectl = fakeKubectl(
      `cat >/dev/null\necho "rejected: ${DB_PASSWORD}" >&2\necho "ok ${DB_PASSWORD}"`,
    );
    const result = tessera(["deploy", "-t", "kubernetes"], { cwd: dir, env: { PATH: kubectl.path } });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.stderr.includes(DB_PASSWORD));
    assert.match(result.stderr, /rejected: \[masked:DB_PASSWORD\]/);
    assert.match(result.stderr, /ok \[masked:DB_PASSWORD\]/);
    assert.equal(result.stdout, "");
  });

  test("kubectl failing, or leaving before it read its input, is E_DEPLOY_FAILED (exit 5)", () => {
    // Objects larger than a pipe's buffer, so that a kubectl that leaves early breaks the pipe mid-write.
    const big = Array.from({ length: 3 }, (_, i) => `  BIG${i}: ${"x".repeat(100_000)}`).join("\n");
    const dir = project({ "tessera.yaml": `${MANIFEST}${big}\n`, ".env": ENV });
    for (const script of [
      'cat >/dev/null\necho "error: no cluster" >&2\nexit 1',
      'echo "error: bad flag" >&2\nexit 1',
      "kill -9 $$",
    ]) {
      const kubectl = fakeKubectl(script);
      const result = tessera(["deploy", "-t", "kubernetes"], { cwd: dir, env: { PATH: kubectl.path } });
      assert.equal(result.status, 5, result.stderr);
      assert.match(
        result.stderr,
        /error\[E_DEPLOY_FAILED\]: kubectl apply failed \((exit 1|killed by SIGKILL)\)/,
      );
    }
  });

  test("no kubectl: E_TOOL_MISSING (exit 5) naming what to install", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const empty = mkdtempSync(join(tmpdir(), "tessera-empty-path-"));
    scratch.push(empty);
    const result = tessera(["deploy", "-t", "kubernetes"], { cwd: dir, env: { PATH: empty } });
    assert.equal(result.status, 5);
    assert.match(
      result.stderr,
      /error\[E_TOOL_MISSING\]: kubectl is not available\n {2}hint: install kubectl \(Debian: apt-get install kubernetes-client\)/,
    );
  });

  test("--dry-run prints the objects without any value and runs nothing", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const kubectl = fakeKubectl();
    const result = tessera(["deploy", "-t", "kubernetes", "--dry-run"], {
      cwd: dir,
      env: { PATH: kubectl.path },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.stdout.includes(DB_PASSWORD));
    const docs = YAML.parseAllDocuments(result.stdout).map((doc) => doc.toJS());
    assert.deepEqual(docs.find((doc) => doc.kind === "Secret").stringData, { DB_PASSWORD: "" });
    assert.match(
      result.stdout,
      /# then: kubectl apply -f - \(the Secret with its values, through a pipe\)\n$/,
    );
    assert.equal(existsSync(`${kubectl.log}.args`), false);
  });

  test("external-secrets: the operator's objects go to kubectl, with no value anywhere", () => {
    const dir = project({
      "tessera.yaml": `${MANIFEST}sources:\n  - { type: aws-ssm, name: params, region: eu-west-1, path: /shop/ }\n`,
    });
    const kubectl = fakeKubectl();
    const result = tessera(["deploy", "-t", "external-secrets"], { cwd: dir, env: { PATH: kubectl.path } });
    assert.equal(result.status, 0, result.stderr);
    const docs = YAML.parseAllDocuments(readFileSync(`${kubectl.log}.stdin`, "utf8")).map((doc) =>
      doc.toJS(),
    );
    assert.deepEqual(
      docs.map((doc) => doc.kind),
      ["SecretStore", "ExternalSecret", "Deployment", "ConfigMap"],
    );
    assert.ok(
      docs.every((doc) => doc !== null),
      "no empty document between objects",
    );
    assert.deepEqual(
      docs[1].spec.data.map((entry: { remoteRef: { key: string } }) => entry.remoteRef.key),
      ["/shop/DB_PASSWORD", "/shop/SENTRY_DSN"],
    );
  });
});

describe("deploy to docker and compose: the plan", () => {
  test("docker --dry-run: no value on the command line", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const result = tessera(["deploy", "-t", "docker", "--dry-run"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stdout,
      "docker rm --force shop   # if a container of that name exists\n" +
        "docker run --detach --name shop --publish 8080:8080 --env LOG_LEVEL --env DB_PASSWORD registry.example.test/shop:1\n",
    );
  });

  test("compose --dry-run: the compose file with guards, no value", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const result = tessera(["deploy", "-t", "compose", "--dry-run"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.stdout.includes(DB_PASSWORD));
    const compose = YAML.parse(result.stdout.slice(0, result.stdout.indexOf("# then")));
    assert.match(compose.services.shop.environment.DB_PASSWORD, /^\$\{DB_PASSWORD:\?DB_PASSWORD is a secret/);
    assert.equal(compose.services.shop.environment.LOG_LEVEL, "info");
  });
});
