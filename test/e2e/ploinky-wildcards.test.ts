/**
 * Ploinky wildcard env names (`LLM_MODEL_*`, used by Ploinky's own test agents), end to end: every
 * matching name of the workspace's layers (and of the host, for a pattern with a prefix) is passed on,
 * and `explain` says which matched, never their values.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { cleanEnv, project, tessera } from "../helpers.ts";
import { assertNoValues, parseJson } from "./cli-support.ts";

describe("Ploinky wildcard env names", () => {
  const files = {
    "agent/manifest.json": JSON.stringify({ container: "node:20", env: ["LLM_MODEL_*", "PLAIN"] }),
    "agent/.env": "LLM_MODEL_A=fake-model-a\nLLM_MODEL_B=fake-model-b\nOTHER=fake-other\nPLAIN=fake-plain\n",
  };

  test("every matching name is exported; other names are not; explain lists the matches", () => {
    const dir = project(files);
    const cwd = `${dir}/agent`;
    const env = { LLM_MODEL_HOST: "fake-model-host", UNRELATED: "fake-unrelated" };
    const exported = tessera(["export", "-f", "json"], { cwd, env });
    assert.equal(exported.status, 0, exported.stderr);
    assert.deepEqual(parseJson(exported.stdout), {
      LLM_MODEL_A: "fake-model-a",
      LLM_MODEL_B: "fake-model-b",
      LLM_MODEL_HOST: "fake-model-host",
      PLAIN: "fake-plain",
    });
    const explained = tessera(["explain"], { cwd, env });
    assert.equal(explained.status, 0, explained.stderr);
    assert.match(
      explained.stdout,
      /^# LLM_MODEL_\* \(manifest\.json:1\) matched LLM_MODEL_A, LLM_MODEL_B, LLM_MODEL_HOST$/m,
    );
    const json = parseJson<{ wildcards: { pattern: string; matched: string[] }[] }>(
      tessera(["explain", "--json"], { cwd, env }).stdout,
    );
    assert.deepEqual(
      json.wildcards.map((w) => [w.pattern, w.matched]),
      [["LLM_MODEL_*", ["LLM_MODEL_A", "LLM_MODEL_B", "LLM_MODEL_HOST"]]],
    );
    assertNoValues([explained.stdout, explained.stderr], ["fake-model-a", "fake-model-b", "fake-model-host"]);
  });

  test("vars says which pattern takes a stored name, and a name no pattern takes is not used", () => {
    const dir = project(files);
    const cwd = `${dir}/agent`;
    const env = cleanEnv();
    for (const [name, value] of [
      ["LLM_MODEL_C", "fake-model-c"],
      ["OTHER_NAME", "fake-other-name"],
      ["LLM_MODEL_TOKEN", "fake-model-token"],
    ] as const) {
      const set = tessera(["var", "set", name, value], { cwd, env });
      assert.equal(set.status, 0, set.stderr);
    }
    const listed = tessera(["vars"], { cwd, env });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /^LLM_MODEL_C +set +manifest\.json: matched by LLM_MODEL_\* \(config\)$/m);
    assert.match(listed.stdout, /^OTHER_NAME +set +not used by the manifest$/m);
    // The kind the expansion gives a matched name: Ploinky's rule by name.
    assert.match(
      listed.stdout,
      /^LLM_MODEL_TOKEN +set +manifest\.json: matched by LLM_MODEL_\* \(secret\)$/m,
    );
    assertNoValues([listed.stdout, listed.stderr], ["fake-model-c", "fake-other-name", "fake-model-token"]);
  });

  test("a foreign agent's wildcard is judged by the names it matched: run, export and build refuse NODE_OPTIONS", () => {
    const agent = ".ploinky/repos/demo/agent";
    const dir = project({
      [`${agent}/manifest.json`]: JSON.stringify({ container: "node:20", env: ["NODE_*", "OK_VAR"] }),
      ".env": "NODE_OPTIONS=--require ./fake-evil.cjs\nOK_VAR=fake-ok\n",
    });
    // The agent comes from another repository (its own git repository inside the workspace).
    for (const where of [dir, join(dir, agent)]) {
      spawnSync("git", ["init", "-q"], { cwd: where });
    }
    const manifest = `${agent}/manifest.json`;
    for (const args of [
      ["run", "--manifest", manifest, "--", "true"],
      ["export", "--manifest", manifest],
      ["build", "-t", "docker", "--manifest", manifest, "--name", "demo"],
    ]) {
      const result = tessera(args, { cwd: dir });
      assert.equal(result.status, 4, `${args[0]}: ${result.stderr}`);
      assert.match(result.stderr, /E_HOST_VARIABLE\]: .*declares NODE_OPTIONS, which could steer/);
      assert.equal(result.stdout, "", `${args[0]} printed nothing`);
    }
    assert.equal(existsSync(join(dir, agent, "deploy")), false, "no artifact was written");
  });
});
