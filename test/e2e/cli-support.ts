/** Small helpers shared by the end-to-end tests (not a test file itself). */
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { startTessera } from "../helpers.ts";

/** Parse stdout as JSON, failing the test with the text when it is not JSON. */
export function parseJson<T = Record<string, unknown>>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    assert.fail(`not valid JSON (${(error as Error).message}):\n${text}`);
  }
}

/** Assert that none of `values` appears in any of the texts. */
export function assertNoValues(texts: readonly string[], values: readonly string[]): void {
  for (const text of texts) {
    for (const value of values) {
      assert.ok(!text.includes(value), `the value ${JSON.stringify(value)} appeared in:\n${text}`);
    }
  }
}

/** The child command `node`: this very Node binary, so that tests do not depend on PATH. */
export const NODE = process.execPath;

export interface Collected {
  stdout: string;
  stderr: string;
}

/** Collect a spawned process's output as it arrives. */
export function collect(child: ChildProcess): Collected {
  const out: Collected = { stdout: "", stderr: "" };
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    out.stdout += chunk;
  });
  child.stderr?.on("data", (chunk: string) => {
    out.stderr += chunk;
  });
  return out;
}

/** Resolve once `pattern` has appeared on the process's stdout (fails after `timeout` ms). */
export function waitForStdout(
  child: ChildProcess,
  collected: Collected,
  pattern: RegExp,
  timeout = 10_000,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const check = () => {
      if (pattern.test(collected.stdout)) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolvePromise();
      }
    };
    const onData = () => setImmediate(check);
    const timer = setTimeout(() => {
      child.stdout?.off("data", onData);
      reject(
        new Error(
          `timed out waiting for ${pattern}; stdout:\n${collected.stdout}\nstderr:\n${collected.stderr}`,
        ),
      );
    }, timeout);
    child.stdout?.on("data", onData);
    check();
  });
}

/** The exit of a spawned process. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolvePromise({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once("close", (code, signal) => resolvePromise({ code, signal }));
  });
}

/** True when util-linux `script` can give a command a pseudo-terminal here. */
export function hasScript(): boolean {
  const probe = spawnSync("script", ["-qec", "true", "/dev/null"], { stdio: "ignore", timeout: 5000 });
  return probe.status === 0;
}

/** Quote for POSIX sh. */
export function sh(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Start `tessera ARGS` as the leader of its own process group, so that killGroup() can also reap a child
 * that outlived it (an orphan would hold our pipes open).
 */
export function startTesseraGroup(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
) {
  return startTessera(args, { ...options, detached: true });
}

/** SIGKILL a process group started by startTesseraGroup (no error if it is gone). */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}
