/**
 * Resolution: the precedence merge (merge.ts), interpolation (evaluate.ts) and validation. Pure: it
 * takes the Spec and the gathered layers (data) and returns a Resolution (data); it reads no file and
 * no environment itself.
 *
 * For each declared variable the first layer that defines its lookup name wins; manifest values and
 * defaults come last. Interpolation resolves references against the merged scope — every name any
 * layer defines, declared or not, in the same precedence — recursively, on an explicit stack so that
 * chains of any length neither recurse nor overflow, and a cycle is reported with its members.
 *
 * Sensitivity flows with values: a variable declared as config whose value reads a secret (or a value
 * no declaration vouches for, from a file or a flag) is treated as a secret.
 */
import { type Diagnostic, type Location, TesseraError } from "../errors.js";
import type { LayerStack, Origin } from "../model/layers.js";
import type { FromRef, ManifestKind, Sensitivity, Spec } from "../model/spec.js";
import type { Lookup } from "../model/template.js";
import { Value } from "../model/value.js";
import { Evaluator, MissingDependency, originLocation } from "./evaluate.js";
import { mergeScope } from "./merge.js";

export { shownMessage } from "./evaluate.js";

export interface ResolvedVariable {
  name: string;
  lookup: string;
  /** The declared kind, raised to "secret" when the value is built from a secret (see `derived`). */
  kind: Sensitivity;
  /** Declared as config, but its value reads a secret: so it is treated as one. */
  derived?: boolean | undefined;
  required: boolean;
  description?: string | undefined;
  /**
   * set: has a value (empty only when optional); missing: no layer sets it and there is no default
   * (omitted when optional); empty: required but set to ""; unresolved: refers to a missing required variable.
   */
  status: "set" | "missing" | "empty" | "unresolved";
  value?: Value | undefined;
  origin?: Origin | undefined;
  /** Every other candidate, in precedence order. */
  shadowed: Origin[];
  from?: FromRef | undefined;
  declaredAt?: Location | undefined;
  /** For "unresolved": the required variable its value refers to, which is missing. */
  dependsOn?: string | undefined;
}

export interface Resolution {
  manifest?: { file: string; kind: ManifestKind } | undefined;
  profile?: string | undefined;
  /** Every declared variable, in declaration order; those with a `value` are exported. */
  variables: ResolvedVariable[];
  /** Required variables that are missing, empty, or unresolved (in declaration order). */
  missing: ResolvedVariable[];
  warnings: Diagnostic[];
  /** Every place values were looked for, in precedence order (files that do not exist say so). */
  looked: string[];
  /** What each wildcard declaration (`LLM_MODEL_*`) matched. */
  wildcards?: import("./wildcards.js").WildcardMatch[] | undefined;
}

export interface ResolveInput {
  spec?: Spec | undefined;
  profile?: string | undefined;
  stack: LayerStack;
  /**
   * Do not fail on a variable whose value cannot be computed (a reference to an unset name, a cycle):
   * leave it out, and let `scopeValue` report it if that name is asked for (`tessera echo '$NAME'`).
   */
  deferErrors?: boolean | undefined;
  /** --empty-is-unset: an empty value is no value (it does not shadow lower layers). */
  emptyIsUnset?: boolean | undefined;
  /** The names of the process environment a wildcard declaration may match (none is read here). */
  hostNames?: Iterable<string> | undefined;
}

export function resolve(input: ResolveInput): Resolution {
  return resolveWithScope(input).resolution;
}

/** The Resolution, and the merged scope it was computed in (for rendering templates with `expand`). */
export interface ScopedResolution {
  resolution: Resolution;
  /** The value of any name in the merged scope (declared or not); throws like resolution does. */
  scopeValue(name: string): Lookup;
}

export function resolveWithScope(input: ResolveInput): ScopedResolution {
  const { spec, profile, stack } = input;
  // A manifest may say so too (`emptyIsUnset: true`).
  const empty = input.emptyIsUnset || spec?.emptyIsUnset ? "empty" : "set";
  const blank = spec?.blankIsUnset === true;
  // Ploinky's blank rule does not unset a value (a blank one still shadows lower layers): it only makes
  // a required variable missing, below.
  const scope = mergeScope(spec, profile, stack, empty, input.hostNames);
  const evaluator = new Evaluator(scope.candidates, scope.declared);

  const variables: ResolvedVariable[] = [];
  /** The first failure (a TesseraError, or an internal error), thrown after every variable is tried. */
  let firstError: unknown;
  for (const declaration of scope.declarations) {
    const ownsScope = scope.declared(declaration.lookup) === declaration;
    const candidates = scope.candidatesOf(declaration);
    const [winner, ...rest] = candidates;
    const variable: ResolvedVariable = {
      name: declaration.name,
      lookup: declaration.lookup,
      kind: declaration.kind,
      required: declaration.required,
      description: declaration.description,
      status: "set",
      origin: winner?.origin,
      shadowed: rest.map((candidate) => candidate.origin),
      from: declaration.from,
      declaredAt: spec ? declaration.declaredAt : undefined,
    };
    variables.push(variable);
    if (!winner) {
      variable.status = "missing";
      continue;
    }
    try {
      const found = ownsScope
        ? evaluator.valueOf(declaration.lookup)
        : evaluator.evaluate(winner, declaration.lookup);
      const text = found.set ? found.value : "";
      if (text.includes("\0")) {
        throw new TesseraError(
          "E_VALUE_INVALID",
          `${declaration.name} contains a NUL character, which no environment variable can carry`,
          {
            location: originLocation(winner.origin),
            hint: "remove the \\0 escape from the value",
          },
        );
      }
      if (!text.isWellFormed()) {
        throw new TesseraError(
          "E_VALUE_INVALID",
          `${declaration.name} is not well-formed Unicode (a lone surrogate), which no environment variable or file can carry`,
          {
            location: originLocation(winner.origin),
            hint: "remove the \\uD800–\\uDFFF escape from the value",
          },
        );
      }
      variable.value = new Value(text);
      if (declaration.kind === "config" && found.set && found.sensitive) {
        variable.kind = "secret";
        variable.derived = true;
      }
      if ((blank ? text.trim() === "" : text === "") && declaration.required) variable.status = "empty";
    } catch (error) {
      if (error instanceof MissingDependency) {
        variable.status = "unresolved";
        variable.dependsOn = error.dependency;
        continue;
      }
      if (input.deferErrors) variable.status = "unresolved";
      else firstError ??= error;
    }
  }
  if (firstError) throw firstError;

  const missing = variables.filter((variable) => variable.required && variable.status !== "set");
  const warnings = [...stack.warnings];
  for (const variable of variables) {
    if (variable.status === "unresolved" && !variable.required) {
      warnings.push({
        code: "W_OPTIONAL_UNRESOLVED",
        message: `${variable.name} is left out: its value (${variable.origin?.where}) refers to ${variable.dependsOn}, which is missing`,
        location: variable.origin ? originLocation(variable.origin) : undefined,
      });
    }
  }
  const looked = stack.sources.map((source) =>
    source.present ? source.label : `${source.label} (${source.note ?? "not found"})`,
  );
  const resolution: Resolution = {
    manifest: spec ? { file: spec.file, kind: spec.kind } : undefined,
    profile,
    variables,
    missing,
    warnings,
    looked,
    ...(scope.wildcards ? { wildcards: scope.wildcards } : {}),
  };
  const scopeValue = (name: string): Lookup => {
    try {
      return evaluator.valueOf(name);
    } catch (error) {
      if (!(error instanceof MissingDependency)) throw error;
      throw new TesseraError(
        "E_MISSING_REQUIRED",
        `${name} cannot be resolved: it refers to ${error.dependency}, which is required and missing`,
        {
          hint: `set ${error.dependency}`,
        },
      );
    }
  };
  return { resolution, scopeValue };
}
