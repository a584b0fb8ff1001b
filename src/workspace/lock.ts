/**
 * The store's lock: a file beside it, created exclusively (O_EXCL), holding who holds it (pid, the
 * process's start time, host, a random token).
 *
 * Waiters queue, first come first served: each one that finds the lock taken (or others waiting) creates
 * a ticket beside it, `<lock>.<time>-<token>.lock` (ignored by git like the lock), and only the first
 * ticket in the queue tries the lock; its holder removes its ticket once it has the lock. So a process
 * that writes again right after releasing queues behind everyone already waiting, instead of winning
 * the race against sleepers again and again (with 20 writers on a loaded machine that starved some past
 * the timeout). Waiters touch their ticket as they poll; a ticket whose process is gone (same host), or
 * not touched for QUEUE_STALE_MS (a stopped or vanished waiter), is removed by the waiter behind it.
 * The timeout counts while the queue does not move: a waiter gives up (E_STORE_BUSY) only when one
 * holder keeps the lock, or the head of the queue does not take it, for that long.
 *
 * A lock whose holder is gone (same host, and the pid is not running or is a different process, told
 * apart by its start time in /proc) is stale. It is broken under a second exclusive file, the breaker,
 * so that two waiters cannot both break it, and none can break a fresh lock taken in between: the
 * breaker re-reads the lock and removes it only if it still holds the same token. A breaker left by a
 * process that died while breaking is itself stale after BREAKER_STALE_MS. A lock from another host
 * (a shared file system) cannot be checked and is considered stale after FOREIGN_STALE_MS.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { TesseraError } from "../errors.js";

const BREAKER_STALE_MS = 10_000;
const FOREIGN_STALE_MS = 10 * 60_000;
const QUEUE_STALE_MS = 10_000;

interface Holder {
  pid: number;
  start: string;
  host: string;
  since: number;
  token: string;
}

export interface LockOptions {
  /** How long the queue may stand still before giving up (default: 30 s; see {@link lockTimeout}). */
  timeoutMs?: number;
  /** What is locked, for the error: "the workspace store .tessera/store.age". */
  what: string;
}

/** Run `body` holding the lock at `path`; the lock is released however body ends. */
export async function withLock<T>(path: string, options: LockOptions, body: () => Promise<T>): Promise<T> {
  const token = await acquire(path, options);
  try {
    return await body();
  } finally {
    release(path, token);
  }
}

/** This process's start time (clock ticks since boot), which tells a reused pid from the holder. */
function startTime(pid: number | "self"): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, "utf8")) as Holder;
    return typeof holder.pid === "number" && typeof holder.token === "string" ? holder : undefined;
  } catch {
    return undefined;
  }
}

function alive(holder: Holder): boolean {
  if (holder.host !== hostname()) return Date.now() - holder.since < FOREIGN_STALE_MS;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const start = startTime(holder.pid);
  return start === undefined || holder.start === "" || start === holder.start;
}

function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** How long to wait for a lock: TESSERA_LOCK_TIMEOUT (seconds, e.g. 0 to fail at once in CI), else 30 s. */
export function lockTimeout(env: Readonly<Record<string, string | undefined>>): number {
  const seconds = Number(env.TESSERA_LOCK_TIMEOUT);
  return env.TESSERA_LOCK_TIMEOUT !== undefined && Number.isFinite(seconds) && seconds >= 0
    ? seconds * 1000
    : 30_000;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The queue's tickets for the lock at `path`, oldest first (names sort by time). */
function tickets(path: string): string[] {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  return names
    .filter(
      (name) => name.startsWith(prefix) && /^\d{17}-[0-9a-f]{24}\.lock$/.test(name.slice(prefix.length)),
    )
    .sort();
}

/** Whether a ticket's waiter is gone: its process has ended, or it stopped touching the ticket. */
function ticketGone(file: string): boolean {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) return false; // already removed: the next listing shows it
  if (Date.now() - stat.mtimeMs > QUEUE_STALE_MS) return true;
  const holder = readHolder(file);
  return holder !== undefined && holder.host === hostname() && !alive(holder);
}

function busy(path: string, options: LockOptions, ahead: number): TesseraError {
  const holder = readHolder(path);
  const who = holder
    ? ` by process ${holder.pid}${holder.host === hostname() ? "" : ` on ${holder.host}`} since ${new Date(holder.since).toISOString()}`
    : "";
  const queue = ahead ? ` (${ahead} writer${ahead === 1 ? "" : "s"} waiting ahead of this one)` : "";
  return new TesseraError("E_STORE_BUSY", `${options.what} is locked${who}${queue}`, {
    hint: `wait for that process to finish; if it is gone for good, remove ${path}`,
  });
}

async function acquire(path: string, options: LockOptions): Promise<string> {
  const token = randomBytes(12).toString("hex");
  const me: Holder = { pid: process.pid, start: startTime("self") ?? "", host: hostname(), since: 0, token };
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Nobody waiting: take a free lock at once, without a ticket.
  me.since = Date.now();
  if (tickets(path).length === 0 && createExclusive(path, JSON.stringify(me))) {
    removeStaleBreaker(`${path}.break`);
    return token;
  }
  // Microseconds of wall-clock time: comparable between processes, so the names sort in order of arrival.
  const arrival = Math.round((performance.timeOrigin + performance.now()) * 1000);
  const name = `${basename(path)}.${String(arrival).padStart(17, "0")}-${token}.lock`;
  const ticket = join(dirname(path), name);
  createExclusive(ticket, JSON.stringify(me));
  let moved = Date.now();
  let state = "";
  let delay = 2;
  try {
    for (;;) {
      // Still here: touch the ticket (or put it back, keeping its place, if it was taken for stale).
      try {
        utimesSync(ticket, new Date(), new Date());
      } catch {
        createExclusive(ticket, JSON.stringify(me));
      }
      const queue = tickets(path);
      const ahead = queue.slice(0, Math.max(0, queue.indexOf(name)));
      let holder: Holder | undefined;
      if (ahead.length) {
        if (ticketGone(join(dirname(path), ahead[0]!))) {
          rmSync(join(dirname(path), ahead[0]!), { force: true });
          continue;
        }
      } else {
        me.since = Date.now();
        if (createExclusive(path, JSON.stringify(me))) {
          removeStaleBreaker(`${path}.break`); // left by a process killed between its two removals
          return token;
        }
        holder = readHolder(path);
        // Unreadable: being written this instant, or garbage left by a crash mid-write (then stale by age).
        const stale = holder
          ? !alive(holder)
          : Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) >
            BREAKER_STALE_MS;
        if (stale && breakStale(path, holder?.token)) continue;
      }
      // The queue moves when a ticket ahead leaves or the lock changes hands.
      const now = `${ahead.length} ${ahead[0] ?? ""} ${holder?.token ?? ""}`;
      if (now !== state) {
        state = now;
        moved = Date.now();
      } else if (Date.now() - moved > timeoutMs) {
        throw busy(path, options, ahead.length);
      }
      // The head polls the lock quickly; the others more slowly the further back they are.
      const wait = ahead.length ? Math.min(10 * ahead.length, 250) : delay;
      await sleep(wait + Math.random() * wait);
      delay = ahead.length ? 2 : Math.min(delay * 2, 25);
    }
  } finally {
    rmSync(ticket, { force: true });
  }
}

/** Break a stale lock under the breaker; false when another process is breaking it (then wait). */
function breakStale(path: string, token: string | undefined): boolean {
  const breaker = `${path}.break`;
  if (!createExclusive(breaker, String(process.pid))) return removeStaleBreaker(breaker);
  try {
    if (readHolder(path)?.token === token) rmSync(path, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
  return true;
}

/** A breaker older than BREAKER_STALE_MS belongs to a process that died while breaking: remove it. */
function removeStaleBreaker(breaker: string): boolean {
  const stat = statSync(breaker, { throwIfNoEntry: false });
  if (!stat || Date.now() - stat.mtimeMs <= BREAKER_STALE_MS) return false;
  rmSync(breaker, { force: true });
  return true;
}

function release(path: string, token: string): void {
  if (readHolder(path)?.token === token) rmSync(path, { force: true });
}
