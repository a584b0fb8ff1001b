/**
 * An optional library a store uses for what Tessera does not do itself (a credential type of a cloud
 * SDK's): loaded only when that credential is in use, from beside Tessera (its own node_modules) or, else,
 * from the project's (the working directory's). Never declared in package.json: nobody installs it who
 * does not need it.
 */
import { createRequire } from "node:module";
import { join } from "node:path";

/** A loader of optional libraries: the module, or undefined when it is not installed. */
export type LoadLibrary = (name: string) => Promise<unknown>;

function notFound(error: unknown): boolean {
  const code = typeof error === "object" && error !== null ? Reflect.get(error, "code") : undefined;
  return code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND";
}

/** The loader for a project in `cwd`. */
export function optionalLibraries(cwd: string): LoadLibrary {
  return async (name) => {
    // A variable, not a literal: the bundler leaves it alone, and the type checker needs no types for it.
    const specifier: string = name;
    try {
      return await import(specifier);
    } catch (error) {
      if (!notFound(error)) throw error;
    }
    try {
      return createRequire(join(cwd, "package.json"))(specifier);
    } catch (error) {
      if (!notFound(error)) throw error;
    }
    return undefined;
  };
}
