/** Key Vault's secret names: what a key may be, and the secret a searched variable is. */
import { ProviderError } from "../types.js";

const NAME = /^[0-9A-Za-z-]{1,127}$/;

export interface Target {
  name: string;
  version?: string;
}

/** Key Vault's rule for a key: NAME or NAME/VERSION, a NAME of 1-127 letters, digits and -. */
export function targetProblem(key: string): boolean {
  const [name = "", version, extra] = key.split("/");
  return (
    !NAME.test(name) || extra !== undefined || (version !== undefined && !/^[0-9A-Za-z]+$/.test(version))
  );
}

/** The secret a searched variable is: prefix + NAME, every _ written - (Key Vault names hold no _). */
export function searchedName(prefix: string | undefined, name: string): string {
  return `${prefix ?? ""}${name}`.replaceAll("_", "-");
}

export function target(key: string): Target {
  if (targetProblem(key)) {
    throw new ProviderError("invalid", `${key} is not a Key Vault secret name`, {
      hint: "secret names are 1-127 letters, digits and - (optionally NAME/VERSION)",
    });
  }
  const [name = "", version] = key.split("/");
  return version === undefined ? { name } : { name, version };
}
