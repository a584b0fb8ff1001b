/**
 * The target catalog and each target's apply, in process against fake Tools: what would run, with which
 * environment and input, and that no value reaches an argument vector, a file or the plan.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { isTesseraError } from "../../src/errors.ts";
import { openPipeline } from "../../src/pipeline/pipeline.ts";
import { runMasked } from "../../src/run/relay.ts";
import { TARGET_NAMES, TARGETS, targetNamed } from "../../src/targets/catalog.ts";
import type { ApplyInput, Step, Target, Tools } from "../../src/targets/types.ts";
import { project } from "../helpers.ts";

const SECRET = "fake-db-password-0001";
const MANIFEST = `service: { name: shop, image: "shop:1" }
config:
  LOG_LEVEL: info
secrets:
  required: [DB_PASSWORD]
`;

const WITH_VAULT = `${MANIFEST}sources:\n  - { type: vault, name: v, address: "https://vault.example.test", path: shop }\n`;

/** A Tools that records everything and runs nothing; `present` are the commands `find` answers for. */
function fakeTools(present: string[][] = [["docker"], ["docker", "compose"], ["kubectl"]]) {
  const log = {
    runs: [] as Step[],
    files: [] as { name: string; content: string }[],
    plan: "",
    done: "",
  };
  const tools: Tools = {
    find: (candidates) => {
      const found = candidates.find((argv) => present.some((have) => have.join(" ") === argv.join(" ")));
      return found && [...found];
    },
    succeeds: (argv) => argv.includes("inspect"),
    async run(step) {
      log.runs.push(step);
    },
    async withFile(name, content, use) {
      log.files.push({ name, content });
      return use(`/private/${name}`);
    },
    plan: (text) => {
      log.plan += text;
    },
    done: (text) => {
      log.done += text;
    },
  };
  return { tools, log };
}

async function applyInput(target: Target, dryRun: boolean, manifest = MANIFEST): Promise<ApplyInput> {
  const dir = project({ "tessera.yaml": manifest, ".env": `DB_PASSWORD=${SECRET}\n` });
  const pipeline = await openPipeline({ cwd: dir, env: {}, external: target.fetchesStores });
  const resolved = await pipeline.resolveFor(target);
  const env = await pipeline.childEnvironment();
  return {
    resolution: resolved.resolution,
    spec: resolved.spec,
    service: { name: "shop", image: "shop:1" },
    withValues: false,
    options: {},
    dryRun,
    env,
    hostEnv: { PATH: "/usr/bin" },
  };
}

describe("the target catalog", () => {
  test("one entry per target, each name once, the names --target accepts", () => {
    assert.deepEqual(TARGET_NAMES, ["docker", "compose", "kubernetes", "external-secrets"]);
    assert.equal(new Set(TARGET_NAMES).size, TARGETS.length);
    for (const name of TARGET_NAMES) assert.equal(targetNamed(name).name, name);
    assert.equal(targetNamed("k8s").name, "kubernetes", "k8s is an alias of kubernetes");
    for (const bad of [undefined, "", "k8", "kube"]) {
      assert.throws(
        () => targetNamed(bad),
        (error) =>
          isTesseraError(error) && error.code === "E_USAGE" && /docker, compose/.test(error.hint ?? ""),
      );
    }
  });

  test("every file a target writes with values is ignored by its output directory's .gitignore", () => {
    for (const target of TARGETS) {
      for (const file of target.valueFiles) {
        const ignored = target.ignores.some((line) =>
          line.startsWith("*") ? file.endsWith(line.slice(1)) : line === file || file.startsWith(line),
        );
        assert.ok(ignored, `${target.name}: ${file} is not in ${target.ignores.join(", ")}`);
      }
      if (target.noValues) assert.deepEqual(target.valueFiles, [], target.name);
    }
  });

  test("a --with-values build writes only value files the target lists (so stale ones can be removed)", async () => {
    for (const target of TARGETS.filter((entry) => !entry.noValues)) {
      const input = await applyInput(target, false);
      const rendered = target.render({ ...input, withValues: true }, {});
      const sensitive = rendered.artifacts.filter((artifact) => artifact.sensitive).map((a) => a.path);
      assert.ok(sensitive.length > 0, target.name);
      for (const path of sensitive) {
        assert.ok(target.valueFiles.includes(path), `${target.name}: ${path} is not in valueFiles`);
        assert.equal(rendered.artifacts.find((a) => a.path === path)!.mode, 0o600);
      }
      const templates = target.render(input, {});
      for (const artifact of templates.artifacts)
        assert.ok(!artifact.content.includes(SECRET), artifact.path);
    }
  });
});

describe("apply, against fake tools", () => {
  test("docker: replaces the container, values only in the engine's environment", async () => {
    const input = await applyInput(targetNamed("docker"), false);
    const { tools, log } = fakeTools();
    await targetNamed("docker").apply!(input, tools);
    assert.deepEqual(
      log.runs.map((step) => step.argv.slice(0, 3)),
      [
        ["docker", "rm", "--force"],
        ["docker", "run", "--detach"],
      ],
    );
    const run = log.runs[1]!;
    assert.ok(run.argv.includes("DB_PASSWORD") && run.argv.at(-1) === "shop:1", run.argv.join(" "));
    assert.ok(!run.argv.join(" ").includes(SECRET));
    assert.equal(run.env.DB_PASSWORD, SECRET);
    assert.equal(run.env.LOG_LEVEL, "info");
    assert.match(log.done, /started container shop \(docker\)/);
  });

  test("docker: podman when docker is absent; neither is E_TOOL_MISSING", async () => {
    const input = await applyInput(targetNamed("docker"), false);
    const podman = fakeTools([["podman"]]);
    await targetNamed("docker").apply!(input, podman.tools);
    assert.equal(podman.log.runs.at(-1)!.argv[0], "podman");
    await assert.rejects(
      targetNamed("docker").apply!(input, fakeTools([]).tools),
      (error) => isTesseraError(error) && error.code === "E_TOOL_MISSING",
    );
  });

  test("compose: a private compose.yaml without values, the values in compose's environment", async () => {
    const input = await applyInput(targetNamed("compose"), false);
    const { tools, log } = fakeTools();
    await targetNamed("compose").apply!(input, tools);
    assert.equal(log.files.length, 1);
    assert.ok(!log.files[0]!.content.includes(SECRET));
    assert.match(log.files[0]!.content, /DB_PASSWORD: "\$\{DB_PASSWORD:\?/);
    const [step] = log.runs;
    assert.deepEqual(step!.argv.slice(0, 4), ["docker", "compose", "--file", "/private/compose.yaml"]);
    assert.equal(step!.env.DB_PASSWORD, SECRET);
    await assert.rejects(
      targetNamed("compose").apply!({ ...input, options: { secretsMode: "files" } }, tools),
      (error) => isTesseraError(error) && error.code === "E_USAGE",
    );
  });

  test("kubernetes: one stream through kubectl's stdin, kubectl's environment without the values", async () => {
    const input = await applyInput(targetNamed("kubernetes"), false);
    const { tools, log } = fakeTools();
    await targetNamed("kubernetes").apply!(input, tools);
    const [step] = log.runs;
    assert.deepEqual(step!.argv, ["kubectl", "apply", "-f", "-"]);
    assert.deepEqual(step!.env, { PATH: "/usr/bin" });
    assert.ok(step!.input!.includes("kind: Secret") && step!.input!.includes("kind: Deployment"));
    assert.ok(!/^# /m.test(step!.input!), "header comments are dropped");
    assert.ok(!step!.input!.includes("---\n---"), "no empty document");
  });

  test("--dry-run: the plan on stdout, nothing run, no value anywhere", async () => {
    for (const target of TARGETS) {
      const input = await applyInput(target, true, target.fetchesStores ? MANIFEST : WITH_VAULT);
      const { tools, log } = fakeTools([]);
      await target.apply!(input, tools);
      assert.equal(log.runs.length, 0, target.name);
      assert.ok(log.plan.length > 0, target.name);
      assert.ok(!log.plan.includes(SECRET), target.name);
    }
  });

  test("external-secrets: config built from a secret is refused before anything renders", async () => {
    const manifest = `service: { name: shop, image: "shop:1" }
sources:
  - { type: vault, name: v, address: "https://vault.example.test" }
config:
  DSN: "postgres://app:\${DB_PASSWORD}@db/shop"
secrets:
  required: [DB_PASSWORD]
`;
    await assert.rejects(
      applyInput(targetNamed("external-secrets"), false, manifest),
      (error) =>
        isTesseraError(error) &&
        error.code === "E_TARGET_INVALID" &&
        /DSN is built from secrets/.test(error.message),
    );
  });
});

describe("the masked relay (run and deploy share it)", () => {
  test("a tool's stdout and stderr reach one stream, the secret masked", async () => {
    const to = new PassThrough();
    let out = "";
    to.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const script = `process.stdout.write("a ${SECRET} b\\n"); process.stderr.write("${SECRET}\\n"); process.exitCode = 3`;
    const { code } = await runMasked(
      { argv: [process.execPath, "-e", script], env: {} },
      [{ name: "DB_PASSWORD", value: SECRET }],
      to,
    );
    assert.equal(code, 3);
    assert.ok(!out.includes(SECRET), out);
    assert.equal(out.split("DB_PASSWORD").length - 1, 2, out);
  });

  test("what it reads on stdin arrives whole; a missing program rejects with ENOENT", async () => {
    const to = new PassThrough();
    let out = "";
    to.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const input = "x".repeat(200_000);
    await runMasked(
      {
        argv: [
          process.execPath,
          "-e",
          "let n=0;process.stdin.on('data',c=>n+=c.length).on('end',()=>console.log(n))",
        ],
        env: {},
        input,
      },
      [],
      to,
    );
    assert.equal(out.trim(), "200000");
    await assert.rejects(
      runMasked({ argv: ["tessera-no-such-program"], env: {} }, [], new PassThrough()),
      (error: NodeJS.ErrnoException) => error.code === "ENOENT",
    );
  });
});
