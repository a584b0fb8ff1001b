/**
 * What a variable's name may be, by who carries it.
 *
 *   isEnvName         the environment, Compose and its dotenv files: ASCII letters, digits, `_ . - [ ]`,
 *                     not starting with a digit (compose-go's dotenv drops those keys) — `VAR.WITH.DOTS`,
 *                     `VAR-WITH-DASHES`, `a[1]`. Compose also takes non-ASCII letters; Tessera's names
 *                     are ASCII on purpose (they are written into files and YAML keys of every target).
 *   isShellName       a POSIX shell: `[A-Za-z_][A-Za-z0-9_]*`. Only these can be `export`ed, read as
 *                     `$NAME`, or survive dash (Debian's /bin/sh drops other names from the environment
 *                     it passes on).
 *   isKubernetesEnvName  a container's `env[].name` and a ConfigMap or Secret key used for it:
 *                     `[-._a-zA-Z][-._a-zA-Z0-9]*` (no brackets).
 *
 * Every shell name is a Kubernetes name, and every Kubernetes name is an environment name.
 */

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME = /^[A-Za-z_.\-[\]][A-Za-z0-9_.\-[\]]*$/;
const KUBERNETES_ENV_NAME = /^[-._A-Za-z][-._A-Za-z0-9]*$/;

/** A name the environment, Compose and dotenv files carry (`VAR.WITH.DOTS` included). */
export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/** A name a POSIX shell can export and expand. */
export function isShellName(name: string): boolean {
  return SHELL_NAME.test(name);
}

/** A name Kubernetes accepts for a container's variable (and as the ConfigMap or Secret key behind it). */
export function isKubernetesEnvName(name: string): boolean {
  return KUBERNETES_ENV_NAME.test(name);
}

/**
 * Why text is not a variable name, without repeating the text (what was typed where a name belongs may
 * be a value given in the wrong place: `var set VALUE NAME`).
 */
export function invalidNameMessage(name: unknown): string {
  if (typeof name !== "string") return `the name is a ${typeof name}, not a string`;
  if (name === "") return "the name is empty";
  const length = `${name.length} character${name.length === 1 ? "" : "s"}`;
  if (/^[0-9]/.test(name)) return `the name given (${length}) starts with a digit: it is not a variable name`;
  return `the name given (${length}) holds characters other than letters, digits and _: it is not a variable name`;
}
