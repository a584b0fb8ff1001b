/**
 * Required variables without a value, in words: why each is not satisfied (never its value), the error
 * that refuses them (E_MISSING_REQUIRED, exit 3), and the warnings `--allow-missing-secrets` turns them
 * into. Shared by the commands (check, build, deploy, run, …) and the library's build().
 */
import { type Diagnostic, TesseraError } from "../errors.js";
import type { Resolution, ResolvedVariable } from "../resolve/resolve.js";

/** Describe why a required variable is not satisfied (never its value): a headline and detail lines. */
export function describeMissing(variable: ResolvedVariable, looked: readonly string[]): string[] {
  const lookedUpAs = variable.lookup !== variable.name ? ` (looked up as ${variable.lookup})` : "";
  const head = `${variable.name}${lookedUpAs}${variable.description ? ` — ${variable.description}` : ""}`;
  if (variable.status === "empty" && variable.origin) {
    const shadowed = variable.shadowed.length
      ? ` (shadowing ${variable.shadowed.map((origin) => origin.where).join(", ")})`
      : "";
    return [head, `  set to an empty value by ${variable.origin.where}${shadowed}`];
  }
  if (variable.status === "unresolved") {
    return [
      head,
      `  its value (${variable.origin?.where}) refers to ${variable.dependsOn}, which is missing`,
    ];
  }
  return [head, `  looked in: ${looked.join(", ")}, manifest default (none)`];
}

/** The error for the resolution's missing required variables: their names and where each was looked for. */
export function missingError(resolution: Resolution): TesseraError {
  const names = resolution.missing.map((variable) => variable.name);
  const details = resolution.missing.flatMap((variable) => describeMissing(variable, resolution.looked));
  const allEmpty = resolution.missing.every((variable) => variable.status === "empty");
  const what = allEmpty ? "empty" : "missing";
  return new TesseraError(
    "E_MISSING_REQUIRED",
    `${names.length === 1 ? "a required variable is" : `${names.length} required variables are`} ${what}: ${names.join(", ")}`,
    {
      details,
      hint: "set them in a git-ignored .env or env.yaml, in the environment, or with --secret NAME=VALUE; --allow-missing-secrets turns this into a warning",
    },
  );
}

/** The warnings `--allow-missing-secrets` lets through, as diagnostics (what the commands print). */
export function missingWarnings(resolution: Resolution): Diagnostic[] {
  return resolution.missing.map((variable) => {
    const [head, ...rest] = describeMissing(variable, resolution.looked);
    const detail = rest.map((line) => line.trim()).join("; ");
    return {
      code: "W_MISSING_REQUIRED",
      message: `required variable ${head} is missing (allowed by --allow-missing-secrets)${detail ? `: ${detail}` : ""}`,
    };
  });
}
