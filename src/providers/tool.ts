/** Running a store's command-line tool (op, pass, keepassxc-cli): an argument vector, never a shell. */
import { spawn } from "node:child_process";
import { ProviderError } from "./types.js";

export interface ToolOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** Kept for classifying the failure; never shown (a tool may echo a value). */
  stderr: string;
}

export interface ToolOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal: AbortSignal;
  /** Written to the tool's stdin (a password), never put on its command line or in its environment. */
  input?: string;
  /** How to say the tool is missing: its name as users know it, and how to install it. */
  missing: { what: string; hint: string };
}

/** Runs `command args`; its output comes back whatever its exit status. Abort: the caller's timeout reports it. */
export function runTool(command: string, args: readonly string[], options: ToolOptions): Promise<ToolOutput> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      signal: options.signal,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    if (options.input !== undefined && child.stdin) {
      child.stdin.on("error", () => {}); // it may exit before reading its input
      child.stdin.end(options.input);
    }
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.name === "AbortError") return; // the timeout reports it
      fail(
        new ProviderError(
          "failed",
          error.code === "ENOENT"
            ? `${options.missing.what} was not found`
            : `${options.missing.what} cannot run (${error.code})`,
          { hint: options.missing.hint },
        ),
      );
    });
    child.on("close", (code, signalName) =>
      done({
        code,
        signal: signalName,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString("utf8"),
      }),
    );
  });
}
