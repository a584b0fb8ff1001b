/**
 * A small JSON scanner: it reads a text into a tree of values with their ranges ([start, end) offsets
 * into the text), accepts exactly what JSON.parse accepts (up to MAX_JSON_DEPTH levels of nesting:
 * deeper is a problem of its own, not a stack overflow), and names the first syntax problem and its
 * offset. Node's JSON.parse messages carry no position (and quote the text), so a failed parse is
 * located with findJsonSyntaxError; the expose editor (json-edit.ts) edits a manifest by these ranges.
 */

export interface JsonSyntaxProblem {
  offset: number;
  message: string;
}

/** The first syntax problem of a text, thrown by scanJson. */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** The first syntax problem of a JSON text, or undefined when JSON.parse accepts it. */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  try {
    scanJson(text);
    return undefined;
  } catch (error) {
    if (error instanceof JsonSyntaxError) return { offset: error.offset, message: error.message };
    throw error;
  }
}

/** The tree of a JSON document that starts at `start` (after a BOM, say); throws JsonSyntaxError. */
export function scanJson(text: string, start = 0): JsonNode {
  return new Scanner(text, start).document();
}

export interface Span {
  start: number;
  end: number;
}
export interface ObjectNode extends Span {
  kind: "object";
  members: Member[];
}
export interface ArrayNode extends Span {
  kind: "array";
  items: JsonNode[];
}
export interface ScalarNode extends Span {
  kind: "string" | "number" | "literal";
}
export type JsonNode = ObjectNode | ArrayNode | ScalarNode;
export interface Member {
  /** The key's string token, quotes included. */
  key: Span;
  value: JsonNode;
}

/** Arrays and objects nest at most this deep (the scanner recurses; no real manifest comes close). */
export const MAX_JSON_DEPTH = 1000;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

class Scanner {
  private i: number;
  private depth = 0;
  constructor(
    private readonly text: string,
    start: number,
  ) {
    this.i = start;
  }

  document(): JsonNode {
    const root = this.value();
    this.space();
    if (this.i < this.text.length) this.error(`unexpected ${this.describe()} after the end of the document`);
    return root;
  }

  private error(message: string, at = this.i): never {
    throw new JsonSyntaxError(message, at);
  }

  private describe(): string {
    const code = this.text.codePointAt(this.i);
    return code === undefined ? "end of file" : `'${String.fromCodePoint(code)}'`;
  }

  private space(): void {
    const text = this.text;
    let i = this.i;
    for (let c = text[i]; c === " " || c === "\t" || c === "\n" || c === "\r"; c = text[++i]);
    this.i = i;
  }

  private value(): JsonNode {
    this.space();
    const c = this.text[this.i];
    if (c === "{" || c === "[") {
      if (this.depth >= MAX_JSON_DEPTH)
        this.error(`arrays and objects nested more than ${MAX_JSON_DEPTH} levels deep`);
      this.depth++;
      const node = c === "{" ? this.object() : this.array();
      this.depth--;
      return node;
    }
    if (c === '"') return this.string();
    if (c === "t") return this.literal("true");
    if (c === "f") return this.literal("false");
    if (c === "n") return this.literal("null");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    return this.error(`unexpected ${this.describe()}: expected a value`);
  }

  private literal(word: string): ScalarNode {
    const start = this.i;
    if (!this.text.startsWith(word, start)) this.error(`unexpected ${this.describe()}: expected a value`);
    this.i += word.length;
    return { kind: "literal", start, end: this.i };
  }

  private number(): ScalarNode {
    const start = this.i;
    NUMBER.lastIndex = start;
    if (!NUMBER.test(this.text)) this.error(`unexpected ${this.describe()}: expected a value`);
    this.i = NUMBER.lastIndex;
    return { kind: "number", start, end: this.i };
  }

  private string(): ScalarNode {
    const text = this.text;
    const start = this.i;
    let i = start + 1;
    for (;;) {
      if (i >= text.length) this.error("unterminated string", start);
      const code = text.charCodeAt(i);
      if (code === 0x22) break; // "
      if (code < 0x20) {
        this.error("a control character (such as a line break) inside a string must be escaped", i);
      }
      if (code === 0x5c) {
        // backslash
        const next = text[i + 1];
        if (next === "u") {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) this.error("invalid \\u escape", i);
          i += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) this.error("invalid escape in a string", i);
        i += 2;
        continue;
      }
      i++;
    }
    this.i = i + 1;
    return { kind: "string", start, end: this.i };
  }

  private object(): ObjectNode {
    const start = this.i++;
    const members: Member[] = [];
    this.space();
    if (this.text[this.i] === "}") return { kind: "object", start, end: ++this.i, members };
    for (;;) {
      this.space();
      const c = this.text[this.i];
      if (c !== '"')
        this.error(c === "}" ? "trailing comma before }" : `unexpected ${this.describe()}: expected a "key"`);
      const key = this.string();
      this.space();
      if (this.text[this.i] !== ":") this.error(`unexpected ${this.describe()}: expected ':' after the key`);
      this.i++;
      members.push({ key, value: this.value() });
      this.space();
      const after = this.text[this.i];
      if (after === ",") {
        this.i++;
        continue;
      }
      if (after === "}") return { kind: "object", start, end: ++this.i, members };
      this.error(`unexpected ${this.describe()}: expected ',' or '}'`);
    }
  }

  private array(): ArrayNode {
    const start = this.i++;
    const items: JsonNode[] = [];
    this.space();
    if (this.text[this.i] === "]") return { kind: "array", start, end: ++this.i, items };
    for (;;) {
      this.space();
      if (this.text[this.i] === "]") this.error("trailing comma before ]");
      items.push(this.value());
      this.space();
      const after = this.text[this.i];
      if (after === ",") {
        this.i++;
        continue;
      }
      if (after === "]") return { kind: "array", start, end: ++this.i, items };
      this.error(`unexpected ${this.describe()}: expected ',' or ']'`);
    }
  }
}

/**
 * The span of the node at `path` in a scanned tree: an object's member by key (the last of duplicate
 * keys, the one JSON.parse keeps), an array's item by index; the member's key with `key`. Where the
 * path leaves the tree, the closest ancestor that exists.
 */
export function spanAt(text: string, root: JsonNode, path: readonly (string | number)[], key = false): Span {
  let node: JsonNode = root;
  for (let i = 0; i < path.length; i++) {
    const segment = String(path[i]);
    if (node.kind === "object") {
      let found: Member | undefined;
      for (const member of node.members) if (keyText(text, member.key) === segment) found = member;
      if (!found) return node;
      if (key && i === path.length - 1) return found.key;
      node = found.value;
    } else if (node.kind === "array" && /^[0-9]+$/.test(segment)) {
      const item = node.items[Number(segment)];
      if (!item) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
}

function keyText(text: string, span: Span): string {
  const key: unknown = JSON.parse(text.slice(span.start, span.end));
  return typeof key === "string" ? key : "";
}
