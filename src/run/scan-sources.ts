/**
 * What `tessera scan` reads: the files git tracks, the paths given (walked, .git skipped), what is staged
 * for the next commit, the blobs of the last commits. git runs with gitEnvironment (no credential, no
 * resolved value) and its output is read as bytes.
 */
import { spawnSync } from "node:child_process";
import { lstatSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { TesseraError } from "../errors.js";
import { gitEnvironment } from "../pipeline/child-env.js";

type Env = Readonly<Record<string, string | undefined>>;

/** Default bound of --history. */
export const DEFAULT_MAX_COMMITS = 500;

export function git(args: readonly string[], cwd: string, env: Env, input?: string): Buffer {
  const result = spawnSync("git", args, {
    cwd,
    env: gitEnvironment(env),
    input,
    maxBuffer: 1 << 30,
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new TesseraError(missing ? "E_TOOL_MISSING" : "E_DEPLOY_FAILED", `git ${args[0]} could not run`, {
      hint: missing ? "install git, or give the paths to scan" : undefined,
    });
  }
  if (result.status !== 0) {
    const notRepo = /not a git repository/i.test(result.stderr.toString());
    throw new TesseraError("E_USAGE", `git ${args[0]} failed${notRepo ? ": not a git repository" : ""}`, {
      hint: notRepo ? "run in a git repository, or give the paths to scan" : undefined,
    });
  }
  return result.stdout;
}

function splitZ(bytes: Buffer): string[] {
  return bytes
    .toString("utf8")
    .split("\0")
    .filter((part) => part !== "");
}

/** The top of the work tree `cwd` is in. */
export function gitTop(cwd: string, env: Env): string {
  return git(["rev-parse", "--show-toplevel"], cwd, env).toString("utf8").trim();
}

/** Regular files git tracks under cwd, as paths relative to cwd (deleted files and links left out). */
export function trackedFiles(cwd: string, env: Env): string[] {
  return splitZ(git(["ls-files", "-z"], cwd, env)).filter((path) => isFile(join(cwd, path)));
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** The regular files of the paths given (directories walked, .git skipped), relative to cwd. */
export function walkPaths(cwd: string, paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (full: string) => {
    const stat = lstatSync(full);
    if (stat.isFile()) out.push(relative(cwd, full) || full);
    else if (stat.isDirectory()) {
      for (const entry of readdirSync(full, { withFileTypes: true }).sort((a, b) =>
        a.name < b.name ? -1 : 1,
      )) {
        if (entry.name === ".git") continue;
        walk(join(full, entry.name));
      }
    }
  };
  for (const path of paths) {
    const full = resolve(cwd, path);
    try {
      lstatSync(full);
    } catch {
      throw new TesseraError("E_FILE_NOT_FOUND", `${path} not found`);
    }
    walk(full);
  }
  return out;
}

export interface Blob {
  /** Path relative to the top of the work tree. */
  path: string;
  commit?: string;
  content: Buffer;
}

/** What is staged for the next commit (added, copied, modified, renamed): the index's version. */
export function stagedBlobs(cwd: string, env: Env): Blob[] {
  const top = gitTop(cwd, env);
  const paths = splitZ(git(["diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"], top, env));
  if (paths.length === 0) return [];
  // Blob ids of the staged versions (mode oid stage\tpath), then their contents in one batch.
  const entries = splitZ(
    git(["ls-files", "-s", "-z", "--", ...paths.map((p) => `:(literal)${p}`)], top, env),
  );
  const wanted: { path: string; oid: string }[] = [];
  for (const entry of entries) {
    const tab = entry.indexOf("\t");
    const [mode, oid] = entry.slice(0, tab).split(" ");
    if (!mode?.startsWith("100") || !oid) continue; // links and submodules: no content to scan
    wanted.push({ path: entry.slice(tab + 1), oid });
  }
  const contents = catBlobs(
    top,
    env,
    wanted.map((w) => w.oid),
  );
  return wanted.map(({ path, oid }) => ({ path, content: contents.get(oid) ?? Buffer.alloc(0) }));
}

/**
 * The file versions the last `maxCommits` commits (from HEAD, newest first) added or modified, each once,
 * with the oldest of those commits that introduced it.
 */
export function historyBlobs(cwd: string, env: Env, maxCommits: number): { blobs: Blob[]; commits: number } {
  const top = gitTop(cwd, env);
  const hasHead = spawnSync("git", ["rev-parse", "--verify", "-q", "HEAD"], {
    cwd: top,
    env: gitEnvironment(env),
  });
  if (hasHead.status !== 0) return { blobs: [], commits: 0 };
  const commits = git(["rev-list", `--max-count=${maxCommits}`, "HEAD"], top, env)
    .toString("utf8")
    .split("\n")
    .filter(Boolean);
  if (commits.length === 0) return { blobs: [], commits: 0 };
  const raw = git(
    ["diff-tree", "--stdin", "-r", "-m", "--root", "-z", "--no-renames", "--diff-filter=AM"],
    top,
    env,
    `${commits.join("\n")}\n`,
  );
  const tokens = raw.toString("utf8").split("\0");
  const introduced = new Map<string, { path: string; commit: string }>(); // oid\0path → oldest commit
  let commit = "";
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (/^[0-9a-f]{40,64}$/.test(token.trim())) {
      commit = token.trim();
      continue;
    }
    if (!token.startsWith(":")) continue;
    const fields = token.slice(1).split(" ");
    const mode = fields[1]!;
    const oid = fields[3]!;
    const path = tokens[++i]!;
    if (!mode.startsWith("100")) continue;
    introduced.set(`${oid}\0${path}`, { path, commit }); // walked newest first: the last one is the oldest
  }
  const keys = [...introduced.keys()];
  const contents = catBlobs(
    top,
    env,
    keys.map((key) => key.slice(0, key.indexOf("\0"))),
  );
  const blobs = keys.map((key) => {
    const { path, commit: introducedBy } = introduced.get(key)!;
    return {
      path,
      commit: introducedBy,
      content: contents.get(key.slice(0, key.indexOf("\0"))) ?? Buffer.alloc(0),
    };
  });
  return { blobs, commits: commits.length };
}

/** The contents of blobs by id, through `git cat-file --batch` (a few hundred at a time). */
function catBlobs(top: string, env: Env, oids: readonly string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const unique = [...new Set(oids)];
  for (let from = 0; from < unique.length; from += 256) {
    const batch = unique.slice(from, from + 256);
    const bytes = git(["cat-file", "--batch"], top, env, `${batch.join("\n")}\n`);
    let at = 0;
    while (at < bytes.length) {
      const eol = bytes.indexOf(10, at);
      if (eol === -1) break;
      const header = bytes.toString("utf8", at, eol).split(" ");
      at = eol + 1;
      if (header[1] === "missing" || header.length < 3) continue;
      const size = Number(header[2]);
      out.set(header[0]!, bytes.subarray(at, at + size));
      at += size + 1;
    }
  }
  return out;
}
