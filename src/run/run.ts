/**
 * Running a child with the resolved variables: environment assembly, signal forwarding, exit status,
 * and masking of secret values in output that does not go to a terminal.
 */
import { spawn } from "node:child_process";
import { existsSync, fstatSync, statSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { TesseraError } from "../errors.js";
import type { Resolution } from "../resolve/resolve.js";
import { mark, report } from "../timing.js";
import { type Maskable, Masker, maskPatterns } from "./mask.js";

/** Kept from the parent environment under --pristine. */
export const PRISTINE_KEEP = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR"] as const;

/**
 * Variables Tessera itself uses to reach keys and stores: never passed on to a child unless the
 * manifest declares them. (Providers add their credential names here when they are used.)
 */
export const TESSERA_CREDENTIALS = new Set<string>(["TESSERA_AGE_KEY", "TESSERA_FINGERPRINT_KEY"]);

export interface ChildEnvironmentOptions {
  pristine?: boolean;
}

/** The child's environment: the parent's (or a minimal set) plus every resolved variable. */
export function childEnvironment(
  resolution: Resolution,
  parent: Readonly<Record<string, string | undefined>>,
  options: ChildEnvironmentOptions = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  if (options.pristine) {
    for (const name of PRISTINE_KEEP) {
      const value = parent[name];
      if (value !== undefined) env[name] = value;
    }
  } else {
    for (const [name, value] of Object.entries(parent)) {
      if (value !== undefined && !TESSERA_CREDENTIALS.has(name)) env[name] = value;
    }
  }
  for (const variable of resolution.variables) {
    if (variable.value !== undefined) env[variable.name] = variable.value.reveal();
  }
  return env;
}

/** The secret values to mask (config values are not masked). */
export function secretsToMask(resolution: Resolution): Maskable[] {
  const out: Maskable[] = [];
  for (const variable of resolution.variables) {
    if (variable.kind === "secret" && variable.value !== undefined) {
      out.push({ name: variable.name, value: variable.value.reveal() });
    }
  }
  return out;
}

export type MaskMode = "auto" | "always" | "never";

export interface RunChildOptions {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  secrets: readonly Maskable[];
  mask: MaskMode;
}

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2"] as const;

/**
 * Signals a terminal sends to the whole foreground process group (Ctrl-C, Ctrl-\): the child, which
 * shares that group, already has them, so forwarding them again would deliver them twice (and many
 * programs treat a second Ctrl-C as "force quit"). They are forwarded only when Tessera has no terminal.
 */
const KEYBOARD_SIGNALS = new Set<string>(["SIGINT", "SIGQUIT"]);

/** Start the child, forward signals, mask output where needed; resolves to the exit status. */
export async function runChild(options: RunChildOptions): Promise<number> {
  const wantOut = options.mask !== "never" && (await shouldMask(1, options.mask));
  const wantErr = options.mask !== "never" && (await shouldMask(2, options.mask));
  const patterns = wantOut || wantErr ? maskPatterns(options.secrets) : [];
  const maskOut = wantOut && patterns.length > 0;
  const maskErr = wantErr && patterns.length > 0;
  return new Promise((resolvePromise, reject) => {
    running++;
    // Handlers first: a signal that arrived before them would end Tessera and orphan the child.
    let child: ReturnType<typeof spawn> | undefined;
    const forward = (signal: NodeJS.Signals) => () => {
      if (!KEYBOARD_SIGNALS.has(signal)) {
        child?.kill(signal);
        return;
      }
      // node:tty costs ~2 ms to load: only when a keyboard signal actually arrives.
      void import("node:tty").then(({ isatty }) => {
        if (!(isatty(0) || isatty(1) || isatty(2))) child?.kill(signal); // else the child got it from the terminal
      });
    };
    const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const cleanup = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      running--;
    };
    mark("spawn");
    child = spawn(options.command, options.args, {
      env: options.env,
      stdio: ["inherit", maskOut ? "pipe" : "inherit", maskErr ? "pipe" : "inherit"],
    });

    const streams: Promise<void>[] = [];
    const brokenPipe = () => child?.kill("SIGPIPE");
    if (maskOut && child.stdout)
      streams.push(pump(child.stdout, process.stdout, new Masker(patterns), brokenPipe));
    if (maskErr && child.stderr)
      streams.push(pump(child.stderr, process.stderr, new Masker(patterns), brokenPipe));

    child.once("error", (error: NodeJS.ErrnoException) => {
      cleanup();
      reject(spawnError(error, options.command, options.env));
    });
    child.once("close", (code, signal) => {
      mark("child exited");
      report();
      cleanup();
      Promise.all(streams).then(async () => {
        if (code !== null) resolvePromise(code);
        else resolvePromise(128 + (signal ? ((await import("node:os")).constants.signals[signal] ?? 0) : 0));
      }, reject);
    });
  });
}

let running = 0;

/** True while `runChild` relays a child's output (the CLI then leaves EPIPE on its streams to it). */
export function isRelaying(): boolean {
  return running > 0;
}

/**
 * Relay a child's stream through the masker. When our side is closed (EPIPE: `tessera run … | head`),
 * the child gets SIGPIPE, exactly as it would have without Tessera in between (its pipe to us is a
 * socket, which would otherwise report "connection reset").
 */
function pump(from: Readable, to: Writable, masker: Masker, onClosed: () => void): Promise<void> {
  return new Promise((resolvePromise) => {
    let closed = false;
    const onError = () => {
      if (closed) return;
      closed = true;
      onClosed();
      from.destroy();
      resolvePromise();
    };
    to.on("error", onError);
    from.on("data", (chunk: Buffer) => {
      if (closed) return;
      const out = masker.push(chunk);
      if (out.length > 0 && !to.write(out)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
    from.once("end", () => {
      if (!closed) {
        const rest = masker.end();
        if (rest.length > 0) to.write(rest);
      }
      to.off("error", onError);
      resolvePromise();
    });
    from.once("error", () => resolvePromise());
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

function spawnError(error: NodeJS.ErrnoException, command: string, env: Record<string, string>): Error {
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
        : `check the spelling; it was searched in PATH=${env.PATH ?? "(unset)"}`,
    });
  }
  if (error.code === "EACCES") {
    return new TesseraError("E_COMMAND_NOT_EXECUTABLE", `command is not executable: ${command}`, {
      hint: "check the file's execute permission",
    });
  }
  return error;
}
