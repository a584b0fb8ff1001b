/**
 * Running a child with the resolved variables: environment assembly, signal forwarding, exit status,
 * and masking of secret values in output that does not go to a terminal.
 */
import { spawn } from "node:child_process";
import { existsSync, fstatSync, readFileSync, statSync } from "node:fs";
import type { Writable } from "node:stream";
import { TesseraError } from "../errors.js";
import { type Maskable, MIN_MASK_LENGTH } from "../formats/mask.js";
import { mark, report } from "../timing.js";
import { maskerFor, type Pump, pump } from "./relay.js";

export type MaskMode = "auto" | "always" | "never";

export interface RunChildOptions {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  secrets: readonly Maskable[];
  mask: MaskMode;
  /** Where the child's masked output is relayed (the CLI's own stdout and stderr). */
  output: { stdout: Writable; stderr: Writable };
}

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2"] as const;

/**
 * Signals a terminal sends to its whole foreground process group (Ctrl-C, Ctrl-\\): when Tessera is in
 * that group, the child (which shares it) already has them, and forwarding would deliver them twice
 * (many programs take a second Ctrl-C as "force quit"). Sent any other way (kill, a supervisor,
 * `docker kill -s INT`) they are forwarded like the rest.
 */
const KEYBOARD_SIGNALS = new Set<string>(["SIGINT", "SIGQUIT"]);

/** After the child exits, how long its pipes may still be drained (a grandchild may hold them open). */
const DRAIN_MS = 200;

/** Whether this process is in the foreground process group of a terminal (Linux: /proc/self/stat). */
async function inTerminalForeground(): Promise<boolean> {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // pid (comm) state ppid pgrp session tty_nr tpgid …; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    const ttyNr = Number(fields[4]);
    const tpgid = Number(fields[5]);
    return ttyNr !== 0 && tpgid === pgrp;
  } catch {
    // No /proc (macOS…): a terminal on any standard stream means the keyboard reaches the child.
    const { isatty } = await import("node:tty");
    return isatty(0) || isatty(1) || isatty(2);
  }
}

let running = 0;

/** True while `runChild` relays a child's output (the CLI then leaves EPIPE on its streams to it). */
export function isRelaying(): boolean {
  return running > 0;
}

/** Linux refuses a single environment string (NAME=value and its NUL) longer than 128 KiB (MAX_ARG_STRLEN). */
export const MAX_ENV_STRING = 128 * 1024;

export function checkEnvironmentSizes(env: Record<string, string>): void {
  for (const [name, value] of Object.entries(env)) {
    if (Buffer.byteLength(name) + Buffer.byteLength(value) + 2 > MAX_ENV_STRING) {
      throw new TesseraError(
        "E_VALUE_UNREPRESENTABLE",
        `${name} is longer than 128 KiB, which Linux cannot pass in an environment`,
        {
          hint: "pass such a value as a file (tessera expand -o FILE, or --target compose --secrets-mode files)",
        },
      );
    }
  }
}

/** Start the child, forward signals, mask output where needed; resolves to the exit status. */
export async function runChild(options: RunChildOptions): Promise<number> {
  checkEnvironmentSizes(options.env);
  const wantOut = options.mask !== "never" && (await shouldMask(1, options.mask));
  const wantErr = options.mask !== "never" && (await shouldMask(2, options.mask));
  // Whether anything is long enough to mask is cheap to know; the patterns (every encoded form of every
  // secret) are built after the child has started, so it does not wait for them. Its output arrives on a
  // later turn of the event loop, when the maskers are in place.
  const maskable = options.secrets.some((secret) => secret.value.length >= MIN_MASK_LENGTH);
  const maskOut = wantOut && maskable;
  const maskErr = wantErr && maskable;
  return new Promise((resolvePromise, reject) => {
    running++;
    // Handlers first: a signal that arrived before them would end Tessera and orphan the child.
    let child: ReturnType<typeof spawn> | undefined;
    const forward = (signal: NodeJS.Signals) => () => {
      if (!KEYBOARD_SIGNALS.has(signal)) {
        child?.kill(signal);
        return;
      }
      void inTerminalForeground().then((foreground) => {
        if (!foreground) child?.kill(signal);
      });
    };
    const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      for (const [signal, handler] of handlers) process.off(signal, handler);
      running--;
      return true;
    };

    mark("spawn");
    child = spawn(options.command, options.args, {
      env: options.env,
      stdio: ["inherit", maskOut ? "pipe" : "inherit", maskErr ? "pipe" : "inherit"],
    });

    // The patterns are made when the child first prints (never, for a child that prints nothing).
    const makeMasker = maskerFor(options.secrets);
    const pumps: Pump[] = [];
    const brokenPipe = () => child?.kill("SIGPIPE");
    if (maskOut && child.stdout)
      pumps.push(pump(child.stdout, options.output.stdout, makeMasker, brokenPipe));
    if (maskErr && child.stderr)
      pumps.push(pump(child.stderr, options.output.stderr, makeMasker, brokenPipe));

    child.once("error", (error: NodeJS.ErrnoException) => {
      if (!settle()) return;
      for (const relay of pumps) relay.stop();
      reject(spawnError(error, options.command));
    });
    child.once("exit", (code, signal) => {
      mark("child exited");
      report();
      if (!settle()) return;
      // What the child wrote is drained; a grandchild that keeps the pipe open is not waited for.
      const drained = Promise.all(pumps.map((relay) => relay.done));
      const timer = setTimeout(() => {
        for (const relay of pumps) relay.stop();
      }, DRAIN_MS);
      drained.then(async () => {
        clearTimeout(timer);
        if (code !== null) resolvePromise(code);
        else resolvePromise(128 + (signal ? ((await import("node:os")).constants.signals[signal] ?? 0) : 0));
      }, reject);
    });
  });
}

/**
 * Mask a stream unless it is a terminal (auto), or unless it is /dev/null (nothing to protect). A pipe
 * or a file is decided by fstat alone; node:tty (~2 ms to load) is asked only about a character device.
 */
async function shouldMask(fd: 1 | 2, mode: MaskMode): Promise<boolean> {
  let stat: ReturnType<typeof fstatSync>;
  try {
    stat = fstatSync(fd);
  } catch {
    return false;
  }
  if (!stat.isCharacterDevice()) return true;
  try {
    if (stat.rdev === statSync("/dev/null").rdev) return false;
  } catch {
    // no /dev/null: fall through
  }
  if (mode === "always") return true;
  const { isatty } = await import("node:tty");
  return !isatty(fd);
}

function spawnError(error: NodeJS.ErrnoException, command: string): Error {
  if (error.code === "ENOENT") {
    if (command.includes("/") && existsSync(command)) {
      return new TesseraError(
        "E_COMMAND_NOT_FOUND",
        `${command} exists, but the interpreter named on its #! line was not found`,
        {
          hint: "check the script's first line (for example #!/usr/bin/env node) and that the interpreter is installed",
        },
      );
    }
    return new TesseraError("E_COMMAND_NOT_FOUND", `command not found: ${command}`, {
      hint: command.includes("/")
        ? "check the path"
        : "check the spelling, and that it is on the PATH the command gets",
    });
  }
  if (error.code === "EACCES") {
    return new TesseraError("E_COMMAND_NOT_EXECUTABLE", `command is not executable: ${command}`, {
      hint: "check the file's execute permission",
    });
  }
  return error;
}
