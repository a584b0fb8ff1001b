/** File helpers shared by every command: atomic writes, paths as the user sees them, private caches. */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { TesseraError } from "./errors.js";

/** A path as the user would type it: relative to the cwd when it is inside it, else absolute. */
export function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !rel.startsWith("/") ? rel : path;
}

/**
 * Write a file atomically: an exclusive (`wx`) temporary file in the same directory, fsync, rename.
 * (The suffix need not be unpredictable: `wx` never opens an existing file. node:crypto would cost
 * ~2.5 ms of start-up on the run path.)
 */
export function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o600): void {
  const suffix = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  const temp = join(dirname(path), `.${basename(path)}.${suffix}.tmp`);
  const fd = openSync(temp, "wx", mode);
  try {
    try {
      writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Write a file the user named on the command line (atomically); a bad path is a usage error. */
export function writeOutputFile(cwd: string, path: string, content: string | Uint8Array, mode = 0o600): void {
  try {
    writeFileAtomic(resolve(cwd, path), content, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? `the directory ${dirname(path) || "."} does not exist`
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : `${code ?? "error"}`;
    throw new TesseraError("E_OUTPUT_UNWRITABLE", `cannot write ${path}: ${why}`, {
      hint: "the path is relative to the current directory",
    });
  }
}

/**
 * Whether a cache directory can be trusted: it exists (or is created) owned by this user and is not
 * writable by anyone else. Anything a cache returns runs (code) or steers resolution (a Spec), so a
 * directory another user could write to is never used.
 */
export function privateDirectory(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return ownedPrivately(statSync(dir));
  } catch {
    return false;
  }
}

/** An open file (or a directory's stat) owned by this user and not writable by group or others. */
export function ownedPrivately(stat: { uid: number; mode: number }): boolean {
  const uid = typeof process.getuid === "function" ? process.getuid() : stat.uid;
  return stat.uid === uid && (stat.mode & 0o022) === 0;
}
