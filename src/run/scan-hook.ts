/**
 * The pre-commit hook of `tessera scan --install-hook`: a small sh script that runs
 * `tessera scan --staged` and, when that passes, the hook that was there before (moved aside to
 * pre-commit.tessera-chained, and put back by --uninstall-hook). Installing twice rewrites Tessera's
 * own hook only; a hook Tessera did not write is never deleted.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { git } from "./scan-sources.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The line that marks a hook as Tessera's. */
export const HOOK_MARKER = "# tessera scan --install-hook: blocks a commit that stages a secret value";
const CHAINED = "pre-commit.tessera-chained";

function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The hooks directory git uses for this repository (core.hooksPath respected). */
export function hooksDir(cwd: string, env: Env): string {
  return resolve(cwd, git(["rev-parse", "--git-path", "hooks"], cwd, env).toString("utf8").trim());
}

function isOurs(file: string): boolean {
  return existsSync(file) && readFileSync(file, "utf8").includes(HOOK_MARKER);
}

/**
 * Install the hook. `command` is how to start tessera (node and the CLI script, quoted by us), `args`
 * the flags to pass to `scan --staged` (manifest, profile: never a value).
 */
export function installHook(
  cwd: string,
  env: Env,
  command: readonly string[],
  args: readonly string[],
): { file: string; chained: boolean; updated: boolean } {
  const dir = hooksDir(cwd, env);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "pre-commit");
  const chainedFile = join(dir, CHAINED);
  let updated = false;
  if (existsSync(file)) {
    if (isOurs(file)) updated = true;
    else renameSync(file, chainedFile);
  }
  const run = [...command, "scan", "--staged", ...args].map(quote).join(" ");
  const script = `#!/bin/sh
${HOOK_MARKER}
# (remove with: tessera scan --uninstall-hook; the hook that was here before is ${CHAINED})
${run} || {
  status=$?
  echo "tessera: commit blocked: a secret value is staged (see above); unstage it, or commit with --no-verify if it is a false alarm" >&2
  exit $status
}
chained="$(dirname "$0")/${CHAINED}"
if [ -x "$chained" ]; then exec "$chained" "$@"; fi
exit 0
`;
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return { file, chained: existsSync(chainedFile), updated };
}

/** Remove Tessera's hook and put back the one it chained to; a hook Tessera did not write stays. */
export function uninstallHook(cwd: string, env: Env): { file: string; removed: boolean; restored: boolean } {
  const dir = hooksDir(cwd, env);
  const file = join(dir, "pre-commit");
  const chainedFile = join(dir, CHAINED);
  if (!isOurs(file)) return { file, removed: false, restored: false };
  rmSync(file);
  let restored = false;
  if (existsSync(chainedFile)) {
    renameSync(chainedFile, file);
    restored = true;
  }
  return { file, removed: true, restored };
}
