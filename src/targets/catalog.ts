/**
 * The catalog of deployment targets: the one list `build` and `deploy` read. Each entry (in its target's
 * own file) says which render flags it reads, which files hold values, what its output directory ignores,
 * how it renders and how it is applied. Adding a target: its file, and one line here.
 */
import { TesseraError } from "../errors.js";
import { target as compose } from "./compose.js";
import { target as docker } from "./docker.js";
import { target as externalSecrets } from "./external-secrets.js";
import { target as kubernetes } from "./kubernetes.js";
import type { Target } from "./types.js";

export const TARGETS: readonly Target[] = [docker, compose, kubernetes, externalSecrets];

export const TARGET_NAMES: readonly string[] = TARGETS.map((target) => target.name);

/** The target a --target names, or E_USAGE listing them. */
export function targetNamed(name: string | undefined): Target {
  const hint = `one of ${TARGET_NAMES.join(", ")}`;
  if (!name) throw new TesseraError("E_USAGE", "--target is required", { hint });
  const target = TARGETS.find((entry) => entry.name === name);
  if (!target) throw new TesseraError("E_USAGE", `unknown target ${JSON.stringify(name)}`, { hint });
  return target;
}
