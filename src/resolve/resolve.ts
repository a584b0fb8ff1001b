/**
 * Resolution: the precedence merge, interpolation and validation. Pure: it takes the Spec and the
 * gathered layers (data) and returns a Resolution (data); it reads no file and no environment itself.
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
import type { Candidate, LayerStack, Origin, ValueSource } from "../model/layers.js";
import {
  type Declaration,
  effectiveDeclarations,
  type FromRef,
  type ManifestKind,
  refId,
  type Sensitivity,
  type Spec,
} from "../model/spec.js";
import {
  evaluate,
  isAlias,
  isLiteral,
  type Lookup,
  type Need,
  parseTemplate,
  type Reference,
  type Template,
  TemplateReferenceError,
  TemplateSyntaxError,
} from "../model/template.js";
import { Value } from "../model/value.js";

export interface ResolvedVariable {
  name: string;
  lookup: string;
  /** The declared kind, raised to "secret" when the value is built from a secret (see `derived`). */
  kind: Sensitivity;
  /** Declared as config, but its value reads a secret: so it is treated as one. */
  derived?: boolean;
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
  /**
   * Do not fail on a variable whose value cannot be computed (a reference to an unset name, a cycle):
   * leave it out, and let `scopeValue` report it if that name is asked for (`tessera echo '$NAME'`).
   */
  deferErrors?: boolean;
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
        file: at.file || spec?.file,
        line: at.line,
        column: at.column,
      },
    };
  };

  // The candidates of every name in the scope, winner first. A declared name is read the way its
  // declaration says (`from:` included), so that references see exactly the exported value.
  const candidateCache = new Map<string, Candidate[]>();
  const candidatesFor = (name: string): Candidate[] => {
    let list = candidateCache.get(name);
    if (!list) {
      const declared = declaredByLookup.get(name);
      list = declared
        ? declarationCandidates(declared, stack.sources, defaultCandidate)
        : layerCandidates(name, stack.sources);
      candidateCache.set(name, list);
    }
    return list;
  };

  const evaluator = new Evaluator(candidatesFor, (name) => declaredByLookup.get(name));

  const variables: ResolvedVariable[] = [];
  let firstError: TesseraError | undefined;
  for (const declaration of declarations) {
    const ownsScope = declaredByLookup.get(declaration.lookup) === declaration;
    const candidates = ownsScope
      ? candidatesFor(declaration.lookup)
      : declarationCandidates(declaration, stack.sources, defaultCandidate);
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
      if (text === "" && declaration.required) variable.status = "empty";
    } catch (error) {
      if (error instanceof MissingDependency) {
        variable.status = "unresolved";
        variable.dependsOn = error.dependency;
        continue;
      }
      if (input.deferErrors) variable.status = "unresolved";
      else firstError ??= error as TesseraError;
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

function layerCandidates(name: string, sources: readonly ValueSource[]): Candidate[] {
  const out: Candidate[] = [];
  for (const source of sources) out.push(...source.lookup(name));
  return out;
}

/** Candidates for one declaration, winner first: its lookup name in every layer (`from:` honoured), then its default. */
function declarationCandidates(
  declaration: Declaration,
  sources: readonly ValueSource[],
  defaultCandidate: (declaration: Declaration) => Candidate | undefined,
): Candidate[] {
  const from = declaration.from;
  const out: Candidate[] = [];
  for (const source of sources) {
    if (from && source.name === from.source) {
      // A store serves `key` and `property` under one id; a file, the key alone.
      const key = from.key ?? declaration.lookup;
      const id = source.layer === "external" ? refId(key, from.property) : key;
      for (const candidate of source.lookup(id)) out.push({ ...candidate, name: declaration.lookup });
    } else {
      out.push(...source.lookup(declaration.lookup));
    }
  }
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

/**
 * The message of `${X:?message}` as it may be shown: only literal text written in a manifest or a
 * template file. A message that refers to variables could carry their values; text in a value file
 * could be part of a secret. Those are never printed.
 */
export function shownMessage(reference: Reference, origin: "manifest" | "template" | "value"): string {
  const argument = reference.argument ?? [];
  if (argument.length === 0) return "";
  if (origin === "value") return " (message not shown: it is part of a value file)";
  if (!isLiteral(argument)) return " (message not shown: it refers to variables)";
  return `: ${(argument as string[]).join("")}`;
}

interface Found {
  set: boolean;
  value: string;
  /** The value reads (directly or through other values) a secret. */
  sensitive: boolean;
}

interface Frame {
  name: string;
  /** Which candidate of `name` this is (0 = the winner); a self-reference reads the next one. */
  index: number;
  candidate: Candidate;
  run: Generator<Need, string, Lookup>;
  /** Whether any value read so far is sensitive. */
  sensitive: boolean;
}

function key(name: string, index: number): string {
  return index === 0 ? name : `${name}\0${index}`;
}

/**
 * Evaluates templates against the merged scope with memoisation and an explicit stack. A value that
 * refers to its own name (`X=${X:-default}`) reads the value X has in the layers below it.
 */
class Evaluator {
  private readonly memo = new Map<string, Found>();

  constructor(
    private readonly candidates: (name: string) => readonly Candidate[],
    private readonly declared: (name: string) => Declaration | undefined,
  ) {}

  /** The value of a name in the scope; `sensitive` counts the name's own kind as well as what it reads. */
  valueOf(name: string): Found {
    const known = this.memo.get(name);
    if (known) return known;
    const candidate = this.candidates(name)[0];
    if (!candidate) {
      const unset = { set: false, value: "", sensitive: false };
      this.memo.set(name, unset);
      return unset;
    }
    const found = this.evaluate(candidate, name);
    return this.finish(name, 0, candidate, found.value, found.sensitive);
  }

  /** The value of `root` (a candidate of `rootName`), and whether it reads something sensitive. */
  evaluate(root: Candidate, rootName: string): Found {
    if (isLiteral(root.template))
      return { set: true, value: (root.template as string[]).join(""), sensitive: false };
    const rootIndex = this.candidates(rootName).indexOf(root);
    const stack: Frame[] = [
      { name: rootName, index: rootIndex, candidate: root, run: evaluate(root.template), sensitive: false },
    ];
    const active = new Set<string>([key(rootName, rootIndex)]);
    let reply: Lookup | undefined;
    for (;;) {
      const frame = stack[stack.length - 1]!;
      let step: IteratorResult<Need, string>;
      try {
        step = reply === undefined ? frame.run.next() : frame.run.next(reply);
      } catch (error) {
        throw this.explain(error, frame, stack);
      }
      reply = undefined;
      if (step.done) {
        stack.pop();
        active.delete(key(frame.name, frame.index));
        if (stack.length === 0) return { set: true, value: step.value, sensitive: frame.sensitive };
        const found = this.finish(frame.name, frame.index, frame.candidate, step.value, frame.sensitive);
        stack[stack.length - 1]!.sensitive ||= found.sensitive;
        reply = found;
        continue;
      }
      const need = step.value;
      const index = need.name === frame.name && frame.index >= 0 ? frame.index + 1 : 0;
      const needKey = key(need.name, index);
      if (active.has(needKey)) throw this.cycle(stack, need.name);
      const candidate = this.candidates(need.name)[index];
      if (!need.value) {
        // Only set-ness was asked (`${X+alt}`): no value is read, so nothing sensitive flows.
        reply = candidate ? { set: true, value: "" } : UNSET;
        continue;
      }
      const known = this.memo.get(needKey);
      if (known) {
        frame.sensitive ||= known.sensitive;
        reply = known.set ? known : UNSET;
        continue;
      }
      if (!candidate) {
        this.memo.set(needKey, { set: false, value: "", sensitive: false });
        reply = UNSET;
        continue;
      }
      if (isLiteral(candidate.template)) {
        const found = this.finish(
          need.name,
          index,
          candidate,
          (candidate.template as string[]).join(""),
          false,
        );
        frame.sensitive ||= found.sensitive;
        reply = found;
        continue;
      }
      stack.push({ name: need.name, index, candidate, run: evaluate(candidate.template), sensitive: false });
      active.add(needKey);
    }
  }

  /**
   * Memoise a finished value. It is sensitive when it reads something sensitive, or is itself a
   * declared secret, or an undeclared value from a file or a flag (it may be a secret nobody
   * declared); a value from the process environment (HOME, USER…) or declared config is not.
   */
  private finish(name: string, index: number, candidate: Candidate, value: string, reads: boolean): Found {
    const declared = this.declared(name);
    const own = declared ? declared.kind === "secret" : candidate.origin.layer !== "env";
    const found: Found = { set: true, value, sensitive: reads || own };
    this.memo.set(key(name, index), found);
    return found;
  }

  private explain(error: unknown, frame: Frame, stack: readonly Frame[]): unknown {
    if (!(error instanceof TemplateReferenceError)) return error;
    // Through an alias chain (A=$B, B=$C): say how the lookup got here.
    const via =
      stack.length > 1
        ? ` (via ${[...stack.map((entry) => entry.name), error.reference.name].join(" → ")})`
        : "";
    const origin = frame.candidate.origin;
    const location = originLocation(origin);
    const reference = error.reference;
    const where =
      origin.layer === "manifest"
        ? `the ${origin.where.replace(/^.*\((.*)\)$/, "$1")} of ${frame.name}`
        : `the value of ${frame.name}`;
    if (error.kind === "required") {
      const message = shownMessage(reference, origin.layer === "manifest" ? "manifest" : "value");
      return new TesseraError("E_REF_REQUIRED", `${reference.name} is required by ${where}${message}`, {
        location,
        hint: `set ${reference.name}`,
      });
    }
    const declared = this.declared(reference.name);
    if (declared?.required) return new MissingDependency(reference.name);
    if (reference.name === frame.name) {
      return new TesseraError(
        "E_REF_UNSET",
        `${where} refers to ${frame.name} itself, and no lower layer sets ${frame.name}`,
        {
          location,
          hint: `give ${frame.name} a value in a lower layer (a manifest default, say), or write \${${frame.name}:-} if empty is fine`,
        },
      );
    }
    // A name read inside a value that is not declared could be part of a secret (`pa$word`): not shown,
    // unless the whole value is that one reference (an alias, `$OTHER`), which is no secret.
    const hidden = origin.layer !== "manifest" && !declared && !isAlias(frame.candidate.template);
    const character = hidden ? ` (character ${reference.offset + 1} of the value)` : "";
    return new TesseraError(
      "E_REF_UNSET",
      hidden
        ? `${where} refers to a variable that is not set${character}`
        : `${where} refers to ${reference.name}, which is not set${via}`,
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
