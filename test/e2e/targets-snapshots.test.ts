/**
 * Snapshot tests: `tessera build` for every target and mode, on the bundled example and on a fixture
 * with every kind of variable, compared with the files in test/snapshots/ (modes included). A change in
 * output is a visible diff; UPDATE_SNAPSHOTS=1 rewrites the snapshots.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import { ROOT, tessera } from "../helpers.ts";

const SNAPSHOTS = join(ROOT, "test", "snapshots");
const EXAMPLE = join(ROOT, "examples", "invoice-copilot");
const FIXTURE = join(ROOT, "test", "fixtures", "targets");
const UPDATE = process.env.UPDATE_SNAPSHOTS === "1";

interface Case {
  name: string;
  cwd: string;
  args: string[];
}

export const CASES: Case[] = [
  { name: "example-docker", cwd: EXAMPLE, args: ["-t", "docker", "--env-file", ".env.example"] },
  { name: "example-compose", cwd: EXAMPLE, args: ["-t", "compose", "--env-file", ".env.example"] },
  {
    name: "example-kubernetes",
    cwd: EXAMPLE,
    args: ["-t", "kubernetes", "--env-file", ".env.example", "--kustomize"],
  },
  { name: "fixture-docker", cwd: FIXTURE, args: ["-t", "docker"] },
  { name: "fixture-docker-values", cwd: FIXTURE, args: ["-t", "docker", "--with-values"] },
  { name: "fixture-compose-env-file", cwd: FIXTURE, args: ["-t", "compose"] },
  {
    name: "fixture-compose-files-values",
    cwd: FIXTURE,
    args: ["-t", "compose", "--secrets-mode", "files", "--with-values"],
  },
  {
    name: "fixture-kubernetes-refs",
    cwd: FIXTURE,
    args: ["-t", "kubernetes", "--env-style", "refs", "--namespace", "billing"],
  },
  {
    name: "fixture-kubernetes-values",
    cwd: FIXTURE,
    args: ["-t", "kubernetes", "--with-values", "--kustomize"],
  },
  { name: "fixture-external-secrets", cwd: FIXTURE, args: ["-t", "external-secrets"] },
  {
    name: "fixture-external-secrets-cluster",
    cwd: FIXTURE,
    args: [
      "-t",
      "external-secrets",
      "--cluster-store",
      "--namespace",
      "billing",
      "--env-style",
      "refs",
      "--kustomize",
    ],
  },
];

/** Every file below `dir` as path → content, plus a MODES listing (a .gitignore is kept as _gitignore). */
function read(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const modes: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const name = relative(dir, path).replace(/(^|\/)\.gitignore$/, "$1_gitignore");
        if (name === "MODES") continue;
        files.set(name, readFileSync(path, "utf8"));
        modes.push(`${(statSync(path).mode & 0o777).toString(8)} ${name}`);
      }
    }
  };
  walk(dir);
  files.set("MODES", `${modes.sort().join("\n")}\n`);
  return files;
}

export function buildCase(item: Case): string {
  const out = mkdtempSync(join(tmpdir(), `tessera-${item.name}-`));
  const result = tessera(["build", ...item.args, "--out", out], { cwd: item.cwd });
  assert.equal(result.status, 0, `${item.name}: ${result.stderr}`);
  return out;
}

describe("build output is stable (snapshots)", () => {
  for (const item of CASES) {
    test(item.name, () => {
      const out = buildCase(item);
      const got = read(out);
      const dir = join(SNAPSHOTS, item.name);
      if (UPDATE) {
        rmSync(dir, { recursive: true, force: true });
        for (const [name, content] of got) {
          mkdirSync(join(dir, name, ".."), { recursive: true });
          writeFileSync(join(dir, name), content);
        }
        return;
      }
      const want = read(dir);
      want.set("MODES", readFileSync(join(dir, "MODES"), "utf8"));
      assert.deepEqual(
        [...got.keys()].sort(),
        [...want.keys()].sort(),
        `${item.name}: the set of files changed`,
      );
      for (const [name, content] of got)
        assert.equal(content, want.get(name), `${item.name}/${name} changed`);
    });
  }
});
