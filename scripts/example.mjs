#!/usr/bin/env node
/**
 * Runs Tessera on the bundled example (examples/invoice-copilot): check, explain, run the agent with its
 * variables, then build its Kubernetes objects. The example's .env.example stands in for the git-ignored .env a user would write.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const example = join(root, "examples", "invoice-copilot");
const cli = join(root, "bin", "tessera.cjs");

function step(title, args) {
  console.error(`\n$ tessera ${args.join(" ")}    # ${title}`);
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: example, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

step("validate the Dockfile and the resolution", ["check", "--env-file", ".env.example"]);
step("where each variable comes from (never its value)", ["explain", "--env-file", ".env.example"]);
step("run the agent with its variables injected, secrets masked in its output", [
  "run",
  "--mask",
  "--env-file",
  ".env.example",
  "--",
  "node",
  "show-env.mjs",
]);

// The same manifest, delivered to Kubernetes: written to a temporary directory, so the example stays clean.
const out = mkdtempSync(join(tmpdir(), "tessera-example-"));
try {
  step("the same manifest as Kubernetes objects (the Secret a template without values)", [
    "build",
    "--target",
    "kubernetes",
    "--env-file",
    ".env.example",
    "--out",
    out,
  ]);
  console.error(`\n$ cat ${join(out, "secret.yaml")}`);
  process.stderr.write(readFileSync(join(out, "secret.yaml"), "utf8"));
} finally {
  rmSync(out, { recursive: true, force: true });
}
