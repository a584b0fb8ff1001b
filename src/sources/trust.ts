/**
 * Whose manifest is this? A manifest from another repository (a Ploinky agent cloned under
 * `.ploinky/repos/`, or any manifest whose git repository is not the workspace's) is not trusted to pick
 * variables out of the host environment: an agent's manifest could otherwise list AWS_SECRET_ACCESS_KEY,
 * GITHUB_TOKEN or SSH_AUTH_SOCK and receive them silently (Ploinky's weakness W7). For such a manifest
 * the process-environment layer answers only the names the workspace's own manifest declares, and
 * `tessera run` gives the child a pristine environment, unless the user passes --allow-host-env.
 */
import { statSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";

/** The nearest directory, from `dir` upwards, with a `.git` (directory or file), if any. */
function gitRoot(dir: string): string | undefined {
  let here = resolve(dir);
  for (;;) {
    if (statSync(`${here}${sep}.git`, { throwIfNoEntry: false })) return here;
    const up = dirname(here);
    if (up === here) return undefined;
    here = up;
  }
}

export function isForeignManifest(manifestPath: string, workspaceRoot: string): boolean {
  const path = resolve(manifestPath);
  if (path.includes(`${sep}.ploinky${sep}repos${sep}`)) return true;
  const own = gitRoot(dirname(path));
  return own !== undefined && own !== gitRoot(workspaceRoot);
}
