/**
 * The evaluator: the values of the merged scope. Templates are evaluated with memoisation on an
 * explicit stack, so that chains of any length neither recurse nor overflow; a cycle is reported with
 * its members, and a reference to a missing required variable as a MissingDependency. Sensitivity
 * flows with values: a value that reads a secret (or a value no declaration vouches for, from a file
 * or a flag) is sensitive.
 */
import { type Location, TesseraError } from "../errors.js";
import type { Candidate, Origin } from "../model/layers.js";
import type { Declaration } from "../model/spec.js";
import {
  evaluate,
  isAlias,
  isLiteral,
  type Lookup,
  type Need,
  type Reference,
  TemplateReferenceError,
} from "../model/template.js";

const UNSET: Lookup = { set: false };

/** Thrown inside evaluation when a value refers to a declared required variable that is missing. */
export class MissingDependency extends Error {
  constructor(readonly dependency: string) {
    super(`depends on ${dependency}`);
  }
}

/** The file position of an origin, for an error (none when it has no file, as the environment). */
export function originLocation(origin: Origin): Location | undefined {
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
  return `: ${argument.join("")}`;
}

export interface Found {
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
export class Evaluator {
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
    if (isLiteral(root.template)) return { set: true, value: root.template.join(""), sensitive: false };
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
        const found = this.finish(need.name, index, candidate, candidate.template.join(""), false);
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
    // A name read inside a value from a value file is text of that file: a password that starts with
    // `$` reads as a reference to the rest of it. It is named only when it is a declared or a defined
    // name (nobody's password), else by its position in the value.
    const fromValueFile = origin.layer === "values" || origin.layer === "dotenv";
    const known = this.declared(reference.name) !== undefined || this.candidates(reference.name).length > 0;
    const position = ` (character ${reference.offset + 1} of the value)`;
    if (error.kind === "required") {
      const message = shownMessage(reference, origin.layer === "manifest" ? "manifest" : "value");
      if (fromValueFile && !known) {
        return new TesseraError(
          "E_REF_REQUIRED",
          `${where} requires a variable that is not set${position}${message}`,
          {
            location,
            hint: "set that variable, or write a literal $ as $$ (single quotes in .env files are never interpolated)",
          },
        );
      }
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
    // Elsewhere (the workspace store, a flag) a name that is not declared is still not shown when it is
    // read inside a value, which could be part of a secret (`pa$word`), unless the whole value is that
    // one reference (an alias, `$OTHER`, as `tessera var set` writes one).
    const hidden = fromValueFile
      ? !known
      : origin.layer !== "manifest" && !declared && !isAlias(frame.candidate.template);
    return new TesseraError(
      "E_REF_UNSET",
      hidden
        ? `${where} refers to a variable that is not set${position}`
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
