/** Shared helpers: temporary projects and running the built CLI as a user would. */
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after } from "node:test";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The tessera command as installed (the launcher in bin/, which runs dist/cli.cjs with a code cache). */
export const CLI = join(ROOT, "bin", "tessera.cjs");

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory with the given files (path → content; content null makes a directory). */
export function project(files: Record<string, string | null> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "tessera-test-"));
  made.push(dir);
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    if (content === null) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    if (path.endsWith(".sh")) chmodSync(full, 0o755);
  }
  return dir;
}

/** A clean environment for the CLI: no TESSERA_* from the caller, a private cache and config dir. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "LANG", "TMPDIR"]) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const cache = mkdtempSync(join(tmpdir(), "tessera-cache-"));
  made.push(cache);
  base.TESSERA_CACHE_DIR = cache;
  base.XDG_CONFIG_HOME = cache;
  base.TESSERA_FINGERPRINT_KEY = "test-fingerprint-key";
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `tessera ARGS` synchronously in `cwd`. */
export function tessera(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined>; input?: string } = { cwd: ROOT },
): Result {
  const result: SpawnSyncReturns<string> = spawnSync(process.execPath, ["--", CLI, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    input: options.input ?? "",
    encoding: "utf8",
    // Only catches a hang: a busy machine starts the CLI slowly.
    timeout: 120_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Run `tessera ARGS` in `cwd` without blocking this process (so that a fake server in the test can answer
 * and count while tessera runs); resolves when it exits.
 */
export function tesseraAsync(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): Promise<Result> {
  const child = spawn(process.execPath, ["--", CLI, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/**
 * Start `tessera ARGS` without waiting (for signal tests). With `detached`, tessera leads its own process
 * group, so that the whole group (a child that outlived it included) can be killed at once.
 */
export function startTessera(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined>; detached?: boolean },
) {
  return spawn(process.execPath, ["--", CLI, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
}

/** A program a test needs is not installed: a failure in CI (`CI=true`), a skip elsewhere. */
export function missingProgram(t: { skip(message?: string): void }, program: string): void {
  if (process.env.CI === "true")
    throw new Error(`${program} is not installed (required in CI: bash scripts/test-all.sh installs it)`);
  t.skip(`${program} is not installed`);
}
