/**
 * The catalog of deployment targets: the one list `build` and `deploy` read. Each entry (in its target's
 * own file) says which render flags it reads, which files hold values, what its output directory ignores,
 * how it renders and how it is applied. Adding a target: its file, and one line here.
 */
import { closest, TesseraError } from "../errors.js";
import { target as compose } from "./compose.js";
import { target as docker } from "./docker.js";
import { target as externalSecrets } from "./external-secrets.js";
import { target as kubernetes } from "./kubernetes.js";
import type { Target } from "./types.js";

export const TARGETS: readonly Target[] = [docker, compose, kubernetes, externalSecrets];

export const TARGET_NAMES: readonly string[] = TARGETS.map((target) => target.name);

/** Other names a --target accepts, each for one target: kubectl's own short name for Kubernetes. */
export const TARGET_ALIASES: Readonly<Record<string, string>> = { k8s: "kubernetes" };

/** The names for help and hints, then the aliases: `docker, …, external-secrets; or k8s for kubernetes`. */
export function targetList(): string {
  const aliases = Object.entries(TARGET_ALIASES).map(([alias, name]) => `${alias} for ${name}`);
  return `${TARGET_NAMES.join(", ")}${aliases.length ? `; or ${aliases.join(", ")}` : ""}`;
}

/** The canonical name of a target name or alias (`k8s` → `kubernetes`); anything else unchanged. */
export function canonicalTarget(name: string): string {
  return Object.hasOwn(TARGET_ALIASES, name) ? TARGET_ALIASES[name]! : name;
}

/** The target a --target names (a name or an alias), or E_USAGE listing them. */
export function targetNamed(name: string | undefined): Target {
  const hint = `one of ${targetList()}`;
  if (!name) throw new TesseraError("E_USAGE", "--target is required", { hint });
  const canonical = canonicalTarget(name);
  const target = TARGETS.find((entry) => entry.name === canonical);
  if (!target) {
    const suggestion = closest(name, [...TARGET_NAMES, ...Object.keys(TARGET_ALIASES)]);
    throw new TesseraError("E_USAGE", `unknown target ${JSON.stringify(name)}`, {
      hint: suggestion ? `did you mean ${suggestion}? ${hint}` : hint,
    });
  }
  return target;
}
