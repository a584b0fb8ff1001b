/** The pre-commit hook of `tessera scan --install-hook`: written, updated in place, removed; core.hooksPath respected. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { HOOK_MARKER, installHook, uninstallHook } from "../../src/run/scan-hook.ts";
import { project } from "../helpers.ts";

const env = { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: "1" };

function repo(): string {
  const dir = project({});
  assert.equal(spawnSync("git", ["init", "-q"], { cwd: dir, env: { ...env, HOME: dir } }).status, 0);
  return dir;
}

test("without a previous hook: installed, executable, idempotent, and removed entirely", () => {
  const dir = repo();
  const e = { ...env, HOME: dir };
  const first = installHook(dir, e, ["/usr/bin/node", "/opt/tessera.cjs"], ["--env", "prod"]);
  assert.deepEqual([first.chained, first.updated], [false, false]);
  const file = join(dir, ".git", "hooks", "pre-commit");
  const text = readFileSync(file, "utf8");
  assert.ok(text.startsWith("#!/bin/sh\n") && text.includes(HOOK_MARKER));
  assert.match(text, /'\/usr\/bin\/node' '\/opt\/tessera\.cjs' 'scan' '--staged' '--env' 'prod'/);
  assert.ok(statSync(file).mode & 0o100);
  const second = installHook(dir, e, ["/usr/bin/node", "/opt/tessera.cjs"], []);
  assert.deepEqual([second.chained, second.updated], [false, true]);
  assert.equal(existsSync(join(dir, ".git", "hooks", "pre-commit.tessera-chained")), false);
  assert.deepEqual(uninstallHook(dir, e), { file, removed: true, restored: false });
  assert.equal(existsSync(file), false);
});

test("core.hooksPath is where the hook goes", () => {
  const dir = repo();
  const e = { ...env, HOME: dir };
  spawnSync("git", ["config", "core.hooksPath", "githooks"], { cwd: dir, env: e });
  const { file } = installHook(dir, e, ["tessera"], []);
  assert.equal(file, join(dir, "githooks", "pre-commit"));
});
