/**
 * A resolved value. It prints as [redacted] through String(), JSON.stringify and console.log / util.inspect,
 * so that logging a Resolution by accident shows no secret; `reveal()` is the one explicit way out.
 */
const inspect = Symbol.for("nodejs.util.inspect.custom");

export class Value {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  /** The value itself: call only where the value must go (a child's environment, an explicit export). */
  reveal(): string {
    return this.#text;
  }

  get isEmpty(): boolean {
    return this.#text === "";
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect](): string {
    return "[redacted]";
  }
}
