/**
 * The one masked relay: a child's output passes through the masker on its way to our streams. `run`
 * relays its child's stdout and stderr through it; `deploy` relays the tools it runs (to stderr).
 */
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { type Maskable, Masker, maskPatterns } from "../formats/mask.js";

export interface Pump {
  /** Resolves when the stream ended (or was stopped). */
  done: Promise<void>;
  /** Stop relaying: flush what the masker holds and close our end of the pipe. */
  stop(): void;
}

/**
 * Relay a child's stream through the masker. When our side is closed (EPIPE: `tessera run … | head`),
 * the child gets SIGPIPE, exactly as it would have without Tessera in between (its pipe to us is a
 * socket, which would otherwise report "connection reset").
 */
export function pump(from: Readable, to: Writable, makeMasker: () => Masker, onClosed: () => void): Pump {
  // Made on the first chunk: a child that prints nothing costs no pattern at all.
  let made: Masker | undefined;
  const masker = () => {
    made ??= makeMasker();
    return made;
  };
  let finish!: () => void;
  const done = new Promise<void>((resolveDone) => {
    finish = resolveDone;
  });
  let closed = false;
  let ended = false;
  // An EPIPE can be reported after the last write: one quiet listener stays on each stream for good
  // (once per stream, so that a library running many children adds no listener per run).
  if (!quieted.has(to)) {
    quieted.add(to);
    to.on("error", () => {});
  }
  const onError = () => {
    to.off("error", onError);
    if (closed) return;
    closed = true;
    onClosed();
    from.destroy();
    finish();
  };
  to.on("error", onError);
  const end = () => {
    if (ended) return;
    ended = true;
    if (!closed) {
      const rest = made ? made.end() : Buffer.alloc(0);
      if (rest.length > 0) to.write(rest);
    }
    to.off("error", onError);
    finish();
  };
  from.on("data", (chunk: Buffer) => {
    if (closed) return;
    const out = masker().push(chunk);
    if (out.length > 0 && !to.write(out)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  });
  from.once("end", end);
  from.once("error", end);
  return {
    done,
    stop: () => {
      end();
      from.destroy();
    },
  };
}

const quieted = new WeakSet<Writable>();

/**
 * Maskers for these secrets, sharing one set of patterns made when the first one is asked for (the
 * first time a child prints): a child that prints nothing costs no pattern at all.
 */
export function maskerFor(secrets: readonly Maskable[]): () => Masker {
  let patterns: ReturnType<typeof maskPatterns> | undefined;
  return () => {
    patterns ??= maskPatterns(secrets);
    return new Masker(patterns);
  };
}

export interface MaskedStep {
  argv: readonly string[];
  env: Record<string, string>;
  /** Written to the program's stdin, then closed; absent: stdin is /dev/null. */
  input?: string;
}

/**
 * Run a program with both its output streams masked and relayed to `to`. Resolves with its exit code
 * (null when a signal ended it, named in `signal`); rejects with the spawn error (ENOENT: not installed).
 */
export function runMasked(
  step: MaskedStep,
  secrets: readonly Maskable[],
  to: Writable,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(step.argv[0]!, step.argv.slice(1), {
      env: step.env,
      stdio: [step.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const makeMasker = maskerFor(secrets);
    const pumps = [child.stdout!, child.stderr!].map((from) => pump(from, to, makeMasker, () => {}));
    if (step.input !== undefined && child.stdin) {
      // A tool that exits before reading everything (a bad flag, no cluster) closes the pipe: its exit
      // status tells what happened, not our EPIPE.
      child.stdin.on("error", () => {});
      child.stdin.end(step.input);
    }
    child.once("error", (error) => {
      for (const relay of pumps) relay.stop();
      reject(error);
    });
    child.once("close", (code, signal) => {
      void Promise.all(pumps.map((relay) => relay.done)).then(() => resolvePromise({ code, signal }));
    });
  });
}
