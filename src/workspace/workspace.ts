/**
 * Where the workspace store lives: `.tessera/` in the nearest directory, from the current one upwards,
 * that has one (so a command run from a subdirectory finds it, instead of starting a second store);
 * without one, the current directory (a first write creates it there). No crypto here: the hot path
 * asks only whether a store exists before it loads anything else.
 */
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const STORE_DIR = ".tessera";
export const STORE_FILE = "store.age";
export const RECIPIENTS_FILE = "recipients";

export interface Workspace {
  /** The directory holding `.tessera/`. */
  root: string;
  /** `.tessera/` */
  dir: string;
  /** `.tessera/store.age` */
  file: string;
}

export function workspaceAt(root: string): Workspace {
  const dir = join(root, STORE_DIR);
  return { root, dir, file: join(dir, STORE_FILE) };
}

/**
 * The workspace for `cwd`: the nearest ancestor with a `.tessera/` directory, else `cwd` itself. The
 * search does not climb out of a project into the home directory: below $HOME it stops under it, so a
 * stray ~/.tessera never becomes every project's store.
 */
export function findWorkspace(cwd: string, home: string | undefined): Workspace {
  const start = resolve(cwd);
  let here = start;
  for (;;) {
    if (statSync(join(here, STORE_DIR), { throwIfNoEntry: false })?.isDirectory()) return workspaceAt(here);
    const up = dirname(here);
    if (up === here || (home && up === resolve(home) && start !== resolve(home))) return workspaceAt(start);
    here = up;
  }
}

/** Whether the workspace has a store file. */
export function storeExists(workspace: Workspace): boolean {
  return statSync(workspace.file, { throwIfNoEntry: false })?.isFile() ?? false;
}
