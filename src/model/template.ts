/**
 * The Compose interpolation syntax, our own implementation.
 *
 *   $VAR  ${VAR}                      the value; an unset VAR is an error (Tessera's one deliberate
 *                                      difference from Compose, which substitutes "")
 *   ${VAR:-d} / ${VAR-d}              d when VAR is unset or empty / unset
 *   ${VAR:?msg} / ${VAR?msg}          error with msg when VAR is unset or empty / unset
 *   ${VAR:+alt} / ${VAR+alt}          alt when VAR is set and non-empty / set, else ""
 *   $$                                a literal $
 *
 * Defaults and alternatives are templates themselves (nesting), evaluated only when chosen.
 * A `$` that starts none of the forms above (`$ `, `$-`, a trailing `$`) is literal text, as in Compose;
 * `${` that does not form a valid braced expression is a syntax error.
 */

export type Operator = ":-" | "-" | ":?" | "?" | ":+" | "+";

export interface Reference {
  readonly name: string;
  readonly operator?: Operator | undefined;
  /** The default or alternative, or for the `?` forms the error message: a template, evaluated lazily. */
  readonly argument?: Template | undefined;
  /** Offset of the `$` in the source text. */
  readonly offset: number;
  /** The source text of the whole expression, e.g. `${DB_PASS:-x}`: may be part of a secret, never print it. */
  readonly text: string;
}

export type Part = string | Reference;
export type Template = readonly Part[];

/** A syntax error; the message never quotes the text (it may be part of a secret), only the offset. */
export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "TemplateSyntaxError";
  }
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Parse `text` into a template. Throws TemplateSyntaxError with the offset of the bad expression. */
export function parseTemplate(text: string): Template {
  if (!text.includes("$")) return text === "" ? [] : [text];
  return parseParts(text, 0, text.length, 0);
}

/** Defaults nest at most this deep (Compose sets no limit; 64 levels is far beyond any real use). */
export const MAX_NESTING = 64;

/** A template with no references. */
export function literal(text: string): Template {
  return text === "" ? [] : [text];
}

/** Parse text[start, end) into parts; offsets stay relative to the whole text. */
function parseParts(text: string, start: number, end: number, depth: number): Part[] {
  const parts: Part[] = [];
  let buffer = "";
  let i = start;
  while (i < end) {
    const c = text[i]!;
    if (c !== "$") {
      buffer += c;
      i++;
      continue;
    }
    const next = i + 1 < end ? text[i + 1] : undefined;
    if (next === "$") {
      buffer += "$";
      i += 2;
      continue;
    }
    if (i + 1 < end && NAME_START.test(next!)) {
      let j = i + 2;
      while (j < end && NAME_CHAR.test(text[j]!)) j++;
      if (buffer) parts.push(buffer);
      buffer = "";
      parts.push({ name: text.slice(i + 1, j), offset: i, text: text.slice(i, j) });
      i = j;
      continue;
    }
    if (next === "{") {
      if (buffer) parts.push(buffer);
      buffer = "";
      const [reference, after] = parseBraced(text, i, end, depth);
      parts.push(reference);
      i = after;
      continue;
    }
    // A lone `$` (followed by a non-name character or nothing) is literal text.
    buffer += "$";
    i++;
  }
  if (buffer) parts.push(buffer);
  return parts;
}

/**
 * Parse `${...}` starting at the `$` at `dollar`; return the reference and the index after it.
 * The extent follows Compose exactly: a braced expression lies on one line; with an operator, the
 * candidate text runs to the last `}` on the line, and the operand ends at the first `}` that balances
 * the opening brace (a `{` counts one level and skips the character after it), else at that last `}`.
 */
function parseBraced(text: string, dollar: number, end: number, depth: number): [Reference, number] {
  if (depth >= MAX_NESTING)
    throw new TemplateSyntaxError(
      `\${...} expressions are nested more than ${MAX_NESTING} levels deep`,
      dollar,
    );
  const open = dollar + 1;
  let i = dollar + 2;
  if (i >= end || !NAME_START.test(text[i]!)) {
    throw new TemplateSyntaxError(
      i < end && text[i] === "}"
        ? "empty ${} expression: a variable name is required"
        : "invalid ${...} expression: a variable name must start with a letter or _",
      dollar,
    );
  }
  while (i < end && NAME_CHAR.test(text[i]!)) i++;
  const name = text.slice(dollar + 2, i);
  if (i < end && text[i] === "}") return [{ name, offset: dollar, text: text.slice(dollar, i + 1) }, i + 1];
  let operator: Operator | undefined;
  for (const candidate of [":-", ":?", ":+", "-", "?", "+"] as const) {
    if (text.startsWith(candidate, i) && i + candidate.length <= end) {
      operator = candidate;
      break;
    }
  }
  let lineEnd = text.indexOf("\n", dollar);
  if (lineEnd === -1 || lineEnd > end) lineEnd = end;
  const lastBrace = text.lastIndexOf("}", lineEnd - 1);
  if (lastBrace < i)
    throw new TemplateSyntaxError("unterminated ${ expression: no closing } on the same line", dollar);
  if (!operator) {
    throw new TemplateSyntaxError(
      "invalid ${...} expression: after the name expect }, :-, -, :?, ?, :+ or +",
      dollar,
    );
  }
  const operandStart = i + operator.length;
  let close = lastBrace;
  let level = 0;
  for (let j = open; j <= lastBrace; j++) {
    const c = text[j];
    if (c === "{") {
      level++;
      j++;
    } else if (c === "}") {
      level--;
      if (level === 0) {
        close = j;
        break;
      }
    }
  }
  if (close < operandStart) close = lastBrace;
  const argument = parseParts(text, operandStart, close, depth + 1);
  return [{ name, operator, argument, offset: dollar, text: text.slice(dollar, close + 1) }, close + 1];
}

/** Every variable name a template may reference, defaults and alternatives included. */
export function referencedNames(template: Template, into: Set<string> = new Set()): Set<string> {
  for (const part of template) {
    if (typeof part === "string") continue;
    into.add(part.name);
    if (part.argument) referencedNames(part.argument, into);
  }
  return into;
}

/** A template written back as text that parses to the same template: literal `$` as `$$`. */
export function templateText(template: Template): string {
  return template
    .map((part) => (typeof part === "string" ? part.replaceAll("$", () => "$$") : part.text))
    .join("");
}

/** A template with no references: its text is its parts joined. */
export function isLiteral(template: Template): template is readonly string[] {
  return template.every((part) => typeof part === "string");
}

/** What the evaluator learns about a referenced variable. */
export type Lookup = { readonly set: false } | { readonly set: true; readonly value: string };

/** A question from the evaluator: is `name` set, and (when `value`) what is its value? */
export interface Need {
  readonly name: string;
  readonly value: boolean;
  readonly reference: Reference;
}

export type ReferenceErrorKind = "unset" | "required";

export class TemplateReferenceError extends Error {
  constructor(
    readonly kind: ReferenceErrorKind,
    readonly reference: Reference,
    /** For `required`: the user's message from `${VAR:?message}` (manifest text, not a value). */
    readonly userMessage?: string,
  ) {
    super(
      kind === "unset" ? `reference to ${reference.name}, which is not set` : `${reference.name} is required`,
    );
    this.name = "TemplateReferenceError";
  }
}

/**
 * Evaluate a template. It yields a Need whenever it must know about a variable and expects the
 * Lookup back, so that the caller can resolve variables on an explicit stack (no recursion) and
 * detect cycles. Throws TemplateReferenceError for an unset reference or a failed `?` check.
 */
export function* evaluate(template: Template): Generator<Need, string, Lookup> {
  let out = "";
  for (const part of template) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    const operator = part.operator;
    const needsValue = operator !== "+";
    const found: Lookup = yield { name: part.name, value: needsValue, reference: part };
    const isSet = found.set;
    const isNonEmpty = found.set && found.value !== "";
    switch (operator) {
      case undefined:
        if (!found.set) throw new TemplateReferenceError("unset", part);
        out += found.value;
        break;
      case ":-":
        out += isNonEmpty ? found.value : yield* evaluate(part.argument ?? []);
        break;
      case "-":
        out += isSet ? found.value : yield* evaluate(part.argument ?? []);
        break;
      case ":?":
        if (!isNonEmpty)
          throw new TemplateReferenceError("required", part, yield* evaluate(part.argument ?? []));
        out += found.value;
        break;
      case "?":
        if (!isSet) throw new TemplateReferenceError("required", part, yield* evaluate(part.argument ?? []));
        out += found.value;
        break;
      case ":+":
        if (isNonEmpty) out += yield* evaluate(part.argument ?? []);
        break;
      case "+":
        if (isSet) out += yield* evaluate(part.argument ?? []);
        break;
    }
  }
  return out;
}

/** Evaluate with a plain lookup function (no variable-to-variable resolution). */
export function render(template: Template, lookup: (name: string) => string | undefined): string {
  const run = evaluate(template);
  let step = run.next();
  while (!step.done) {
    const value = lookup(step.value.name);
    step = run.next(value === undefined ? { set: false } : { set: true, value });
  }
  return step.value;
}

/** A value that is exactly one plain reference (`$OTHER`, `${OTHER}`): an alias. */
export function isAlias(template: Template): template is readonly [Reference] {
  const only = template.length === 1 ? template[0] : undefined;
  return typeof only === "object" && only.operator === undefined;
}
