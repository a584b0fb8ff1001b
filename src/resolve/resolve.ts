/**
 * Resolution: the precedence merge, interpolation and validation. Pure: it takes the Spec and the
 * gathered layers (data) and returns a Resolution (data); it reads no file and no environment itself.
 *
 * For each declared variable the first layer that defines its lookup name wins; manifest values and
 * defaults come last. Interpolation resolves references against the merged scope — every name any
 * layer defines, declared or not, in the same precedence — recursively, on an explicit stack so that
 * chains of any length neither recurse nor overflow, and a cycle is reported with its members.
 */
import { type Diagnostic, type Location, TesseraError } from "../errors.js";
import {
  type Declaration,
  effectiveDeclarations,
  type FromRef,
  type ManifestKind,
  type Sensitivity,
  type Spec,
} from "../manifest/spec.js";
import type { Candidate, LayerStack, Origin, ValueSource } from "../sources/layers.js";
import {
  evaluate,
  isLiteral,
  type Lookup,
  parseTemplate,
  type Template,
  TemplateReferenceError,
  TemplateSyntaxError,
} from "./template.js";
import { Value } from "./value.js";

export interface ResolvedVariable {
  name: string;
  lookup: string;
  kind: Sensitivity;
  required: boolean;
  description?: string;
  /**
   * set: has a value (empty only when optional); missing: no layer sets it and there is no default
   * (omitted when optional); empty: required but set to ""; unresolved: refers to a missing required variable.
   */
  status: "set" | "missing" | "empty" | "unresolved";
  value?: Value;
  origin?: Origin;
  /** Every other candidate, in precedence order. */
  shadowed: Origin[];
  from?: FromRef;
  declaredAt?: Location;
  /** For "unresolved": the required variable its value refers to, which is missing. */
  dependsOn?: string;
}

export interface Resolution {
  manifest?: { file: string; kind: ManifestKind };
  profile?: string;
  /** Every declared variable, in declaration order; those with a `value` are exported. */
  variables: ResolvedVariable[];
  /** Required variables that are missing, empty, or unresolved (in declaration order). */
  missing: ResolvedVariable[];
  warnings: Diagnostic[];
  /** Every place values were looked for, in precedence order (files that do not exist say so). */
  looked: string[];
}

export interface ResolveInput {
  spec?: Spec;
  profile?: string;
  stack: LayerStack;
}

const UNSET: Lookup = { set: false };

/** Thrown inside evaluation when a value refers to a declared required variable that is missing. */
class MissingDependency extends Error {
  constructor(readonly dependency: string) {
    super(`depends on ${dependency}`);
  }
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
  const declarations = spec ? effectiveDeclarations(spec, profile) : implicitDeclarations(stack.sources);
  const declaredByLookup = new Map<string, Declaration>();
  for (const declaration of declarations) {
    if (!declaredByLookup.has(declaration.lookup)) declaredByLookup.set(declaration.lookup, declaration);
  }
  const manifestFile = spec?.file ?? "";
  const defaultCandidate = (declaration: Declaration): Candidate | undefined => {
    if (declaration.value === undefined) return undefined;
    const at = declaration.valueAt ?? declaration.declaredAt;
    const what = declaration.valueKind === "default" ? "default" : "value";
    return {
      name: declaration.lookup,
      template: manifestTemplate(declaration.value, declaration.name, at),
      origin: {
        layer: "manifest",
        where: `${at.file}:${at.line ?? 1} (${what})`,
        file: at.file || manifestFile,
        line: at.line,
        column: at.column,
      },
    };
  };

  const candidateCache = new Map<string, Candidate[]>();
  const candidatesFor = (name: string): Candidate[] => {
    let list = candidateCache.get(name);
    if (!list) {
      list = [];
      for (const source of stack.sources) list.push(...source.lookup(name));
      const declared = declaredByLookup.get(name);
      const fallback = declared ? defaultCandidate(declared) : undefined;
      if (fallback) list.push(fallback);
      candidateCache.set(name, list);
    }
    return list;
  };

  const evaluator = new Evaluator(
    candidatesFor,
    (name) => {
      const declared = declaredByLookup.get(name);
      return declared?.required === true;
    },
    (name) => declaredByLookup.has(name),
  );

  const variables: ResolvedVariable[] = [];
  let firstError: TesseraError | undefined;
  for (const declaration of declarations) {
    const ownsScope = declaredByLookup.get(declaration.lookup) === declaration;
    const candidates = declarationCandidates(
      declaration,
      stack.sources,
      candidatesFor,
      defaultCandidate,
      ownsScope,
    );
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
      const found =
        ownsScope && !declaration.from
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
      variable.value = new Value(text);
      if (text === "" && declaration.required) variable.status = "empty";
    } catch (error) {
      if (error instanceof MissingDependency) {
        variable.status = "unresolved";
        variable.dependsOn = error.dependency;
        continue;
      }
      firstError ??= error as TesseraError;
    }
  }
  if (firstError) throw firstError;

  const missing = variables.filter((variable) => variable.required && variable.status !== "set");
  const looked = stack.sources.map((source) =>
    source.present ? source.label : `${source.label} (not found)`,
  );
  const resolution: Resolution = {
    manifest: spec ? { file: spec.file, kind: spec.kind } : undefined,
    profile,
    variables,
    missing,
    warnings: [...stack.warnings],
    looked,
  };
  return { resolution, scopeValue: (name) => evaluator.valueOf(name) };
}

/** Without a manifest, the variables are those defined by flags and value files (never the environment). */
function implicitDeclarations(sources: readonly ValueSource[]): Declaration[] {
  const names = new Set<string>();
  for (const source of sources) {
    if (source.layer === "env") continue;
    for (const name of source.names()) names.add(name);
  }
  return [...names].map((name) => ({
    name,
    lookup: name,
    kind: "secret" as const,
    required: false,
    declaredAt: { file: "" },
  }));
}

/** Candidates for one declaration, winner first: its lookup name in every layer, `from:` honoured. */
function declarationCandidates(
  declaration: Declaration,
  sources: readonly ValueSource[],
  candidatesFor: (name: string) => Candidate[],
  defaultCandidate: (declaration: Declaration) => Candidate | undefined,
  ownsScope: boolean,
): Candidate[] {
  const from = declaration.from;
  if (!from && ownsScope) return candidatesFor(declaration.lookup);
  const out: Candidate[] = [];
  for (const source of sources) {
    if (from && source.name === from.source) {
      for (const candidate of source.lookup(from.key ?? declaration.lookup))
        out.push({ ...candidate, name: declaration.lookup });
    } else {
      out.push(...source.lookup(declaration.lookup));
    }
  }
  // A declaration that shares its lookup name with an earlier one keeps its own default.
  const own = defaultCandidate(declaration);
  if (own) out.push(own);
  return out;
}

function manifestTemplate(text: string, name: string, at: Location): Template {
  try {
    return parseTemplate(text);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    throw new TesseraError("E_TEMPLATE_SYNTAX", `the value of ${name}: ${error.message}`, {
      location: at,
      hint: "a literal $ is written $$",
    });
  }
}

function originLocation(origin: Origin): Location | undefined {
  if (!origin.file) return undefined;
  const location: Location = { file: origin.file };
  if (origin.line !== undefined) location.line = origin.line;
  if (origin.column !== undefined) location.column = origin.column;
  return location;
}

/** Layers whose text may be secret: errors about them never quote it. */
function isValueText(origin: Origin): boolean {
  return origin.layer !== "manifest";
}

interface Frame {
  name: string;
  /** Which candidate of `name` this is (0 = the winner); a self-reference reads the next one. */
  index: number;
  candidate: Candidate;
  run: Generator<import("./template.js").Need, string, Lookup>;
}

function key(name: string, index: number): string {
  return index === 0 ? name : `${name}\0${index}`;
}

/**
 * Evaluates templates against the merged scope with memoisation and an explicit stack. A value that
 * refers to its own name (`X=${X:-default}`) reads the value X has in the layers below it.
 */
class Evaluator {
  private readonly memo = new Map<string, Lookup>();

  constructor(
    private readonly candidates: (name: string) => readonly Candidate[],
    private readonly isRequired: (name: string) => boolean,
    private readonly isDeclared: (name: string) => boolean,
  ) {}

  valueOf(name: string): Lookup {
    const known = this.memo.get(name);
    if (known) return known;
    const candidate = this.candidates(name)[0];
    const found = candidate ? this.evaluate(candidate, name) : UNSET;
    this.memo.set(name, found);
    return found;
  }

  evaluate(root: Candidate, rootName: string): Lookup {
    if (isLiteral(root.template)) return { set: true, value: (root.template as string[]).join("") };
    const rootIndex = this.candidates(rootName).indexOf(root);
    const stack: Frame[] = [
      { name: rootName, index: rootIndex, candidate: root, run: evaluate(root.template) },
    ];
    const active = new Set<string>([key(rootName, rootIndex)]);
    let reply: Lookup | undefined;
    for (;;) {
      const frame = stack[stack.length - 1]!;
      let step: IteratorResult<import("./template.js").Need, string>;
      try {
        step = reply === undefined ? frame.run.next() : frame.run.next(reply);
      } catch (error) {
        throw this.explain(error, frame);
      }
      reply = undefined;
      if (step.done) {
        stack.pop();
        active.delete(key(frame.name, frame.index));
        const found: Lookup = { set: true, value: step.value };
        if (stack.length === 0) return found;
        if (frame.index >= 0) this.memo.set(key(frame.name, frame.index), found);
        reply = found;
        continue;
      }
      const need = step.value;
      const index = need.name === frame.name && frame.index >= 0 ? frame.index + 1 : 0;
      const needKey = key(need.name, index);
      if (active.has(needKey)) throw this.cycle(stack, need.name);
      const known = this.memo.get(needKey);
      if (known) {
        reply = known;
        continue;
      }
      const candidate = this.candidates(need.name)[index];
      if (!candidate) {
        this.memo.set(needKey, UNSET);
        reply = UNSET;
        continue;
      }
      if (!need.value) {
        reply = { set: true, value: "" }; // only set-ness was asked (`${X+alt}`)
        continue;
      }
      if (isLiteral(candidate.template)) {
        const found: Lookup = { set: true, value: (candidate.template as string[]).join("") };
        this.memo.set(needKey, found);
        reply = found;
        continue;
      }
      stack.push({ name: need.name, index, candidate, run: evaluate(candidate.template) });
      active.add(needKey);
    }
  }

  private explain(error: unknown, frame: Frame): unknown {
    if (!(error instanceof TemplateReferenceError)) return error;
    const origin = frame.candidate.origin;
    const location = originLocation(origin);
    const reference = error.reference;
    const where =
      origin.layer === "manifest"
        ? `the ${origin.where.replace(/^.*\((.*)\)$/, "$1")} of ${frame.name}`
        : `the value of ${frame.name}`;
    if (error.kind === "required") {
      return new TesseraError(
        "E_REF_REQUIRED",
        `${reference.name} is required by ${where}${error.userMessage ? `: ${error.userMessage}` : ""}`,
        { location, hint: `set ${reference.name}` },
      );
    }
    if (this.isRequired(reference.name)) return new MissingDependency(reference.name);
    const hidden = isValueText(origin) && !this.isDeclared(reference.name);
    const character = hidden ? ` (character ${reference.offset + 1} of the value)` : "";
    return new TesseraError(
      "E_REF_UNSET",
      hidden
        ? `${where} refers to a variable that is not set${character}`
        : `${where} refers to ${reference.name}, which is not set`,
      {
        location,
        hint: hidden
          ? "set that variable, write ${NAME:-} if empty is fine, or write a literal $ as $$ (single quotes in .env files are never interpolated)"
          : `set ${reference.name} in some layer, or write \${${reference.name}:-} if empty is fine (or \${${reference.name}:-default})`,
      },
    );
  }

  private cycle(stack: Frame[], name: string): TesseraError {
    const start = stack.findIndex((frame) => frame.name === name);
    const members = stack.slice(start);
    const chain = [...members.map((frame) => frame.name), name].join(" → ");
    return new TesseraError("E_REF_CYCLE", `reference cycle: ${chain}`, {
      location: originLocation(members[0]!.candidate.origin),
      details: members.map((frame) => `${frame.name} is set at ${frame.candidate.origin.where}`),
      hint: "break the cycle: one of these values must not refer back",
    });
  }
}
