/**
 * Editing the top-level `expose` of a Ploinky manifest.json without re-serializing the file.
 *
 * Ploinky rewrites the whole manifest with JSON.stringify(…, null, 2): it re-indents it, turns an
 * object-form `expose` into the array form and drops the trailing newline. setExpose changes only the
 * text of the `expose` value (or, when there is none, inserts one member after the last top-level
 * value); every other byte of the file is kept: indentation (spaces, tabs or none), newline style
 * (LF, CRLF), trailing newline or not, a leading BOM, key order, and the form of `expose`.
 *
 * The text is read by the JSON scanner of json-syntax.ts (scanJson), which records where every value
 * starts and ends. Its syntax problems are thrown as JsonEditError with the conventions used wherever
 * findJsonSyntaxError's offset is shown: line and column are 1-based, columns count UTF-16 code units,
 * a line ends at "\n" (CRLF counts once).
 */
import {
  type ArrayNode,
  type JsonNode,
  JsonSyntaxError,
  type Member,
  type ObjectNode,
  type Span,
  scanJson,
} from "./json-syntax.js";

/** Where an exposed variable takes its value from: a workspace variable, or a literal value. */
export type ExposeSource = { ref: string } | { value: string };

export class JsonEditError extends Error {
  override name = "JsonEditError";
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

/**
 * Set (source given) or remove (source null) the expose entry NAME in a manifest.json text; returns
 * the new text.
 * - Object form (`"expose": {"NAME": "$REF" | "value"}`, a string starting with `$` is a reference):
 *   a ref is written `"NAME": "$REF"`, a value `"NAME": "value"`. A literal value that starts with `$`
 *   cannot be written in this form (Ploinky would read it as a reference), so in that case the whole
 *   expose value is rewritten in the array form, with the same meaning for every other entry: a
 *   string "$X" becomes {"name", "ref": "X"}, any other value {"name", "value"} (strings and numbers
 *   keep their text, nested arrays and objects are laid out like the entries; of duplicate keys the
 *   last one wins, as in JSON.parse), in the order of the object, laid out like the object's members
 *   (each entry as JSON.stringify would write it, in the file's indentation, when they are on lines
 *   of their own).
 * - Array form (`"expose": [{"name", "ref"} | {"name", "value"}]`): the entry is written as exactly
 *   `{"name": "NAME", "ref": "REF"}` or `{"name": "NAME", "value": "value"}`.
 * - An existing entry for NAME is replaced in place, in its own layout (the first one; later
 *   duplicates of NAME are removed; in the object form only its value text is replaced). Otherwise the
 *   entry is appended after the last one, in the style of the existing entries: the separator between
 *   the last two entries, and the layout (one-line or multi-line, spacing, indentation) of the last
 *   entry with two keys or more.
 * - No `expose` key: `"expose": [ … ]` (array form, as Ploinky writes it) is added as the last
 *   top-level key, in the file's indentation and newline style (one line if the top-level object is
 *   on one line). Removing the last entry leaves an empty `[]` / `{}`.
 * - Removing a name that is not there returns the text unchanged.
 * - Duplicate top-level `expose` keys: JSON.parse keeps the last one, so the last one is edited.
 * Strings are written with JSON.stringify, so any value (quotes, backslashes, control characters,
 * U+2028, emoji, lone surrogates) is encoded correctly.
 *
 * Throws JsonEditError (with `line` and `column`, 1-based) when the text is not valid JSON, the top
 * level is not an object, `expose` is neither an array nor an object, or an array entry is not an
 * object.
 */
export function setExpose(text: string, name: string, source: ExposeSource | null): string {
  const doc = new ManifestText(text);
  const root = doc.root;
  let member: Member | undefined;
  for (const candidate of root.members) if (doc.key(candidate) === "expose") member = candidate;
  if (!member) return source ? apply(text, [doc.addExpose(name, source)]) : text;
  const expose = member.value;
  if (expose.kind === "array") return apply(text, doc.editArray(member, expose, name, source));
  if (expose.kind === "object") return apply(text, doc.editObject(member, expose, name, source));
  throw doc.error("expose must be an array of {name, value | ref} or an object {NAME: value}", expose.start);
}

// ---------------------------------------------------------------------------------------------------
// The edits.

interface Edit extends Span {
  insert: string;
}

/** Applies non-overlapping edits (offsets into the original text). */
function apply(text: string, edits: Edit[]): string {
  let out = text;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, edit.start) + edit.insert + out.slice(edit.end);
  }
  return out;
}

/** How an object is written: `{` open KEY colon VALUE sep KEY colon VALUE close `}`. */
interface ObjectStyle {
  open: string;
  colon: string;
  sep: string;
  close: string;
}

/** A pair of JSON texts: a key (quoted) and its value. */
type Pair = [key: string, value: string];

const quote = (value: string): string => JSON.stringify(value);
const hasBreak = (text: string): boolean => /[\r\n]/.test(text);

/**
 * The indentation of the last line of `gap` (the text between two tokens, a comma included), or
 * undefined when it has no line break.
 */
function afterBreak(gap: string): string | undefined {
  const at = Math.max(gap.lastIndexOf("\n"), gap.lastIndexOf("\r"));
  return at < 0 ? undefined : /^[ \t]*/.exec(gap.slice(at + 1))![0];
}

function renderObject(style: ObjectStyle, pairs: Pair[]): string {
  const body = pairs.map(([key, value]) => key + style.colon + value).join(style.sep);
  return "{" + style.open + body + style.close + "}";
}

function entryPairs(name: string, source: ExposeSource): Pair[] {
  return [
    [quote("name"), quote(name)],
    "ref" in source ? [quote("ref"), quote(source.ref)] : [quote("value"), quote(source.value)],
  ];
}

/** The span of a container's child: an array item, or an object member from its key to its value. */
function childSpans(node: ObjectNode | ArrayNode): Span[] {
  return node.kind === "array"
    ? node.items
    : node.members.map((member) => ({ start: member.key.start, end: member.value.end }));
}

/**
 * Removes some children of a container with their separators: the leading run of removed children
 * up to the next kept one, every other removed child with the separator before it (so the text after
 * the last child, and before the first kept one, stays); all of them: the container becomes empty.
 */
function removals(container: Span, children: Span[], removed: ReadonlySet<number>): Edit[] {
  if (removed.size === 0) return [];
  if (removed.size === children.length)
    return [{ start: container.start + 1, end: container.end - 1, insert: "" }];
  let firstKept = 0;
  while (removed.has(firstKept)) firstKept++;
  const edits: Edit[] = [];
  if (firstKept > 0) edits.push({ start: children[0]!.start, end: children[firstKept]!.start, insert: "" });
  for (const index of removed) {
    if (index > firstKept)
      edits.push({ start: children[index - 1]!.end, end: children[index]!.end, insert: "" });
  }
  return edits;
}

/** The file-wide defaults, for what has no example to copy. */
interface Layout {
  /** The file's line break ("\n" when it has none). */
  nl: string;
  /** One level of indentation. */
  unit: string;
  /** Whether the top-level object has its members on their own lines. */
  multiLine: boolean;
  /** Between a key and its value (with the colon). */
  colon: string;
  /** Between two members of a one-line object (with the comma). */
  comma: string;
}

class ManifestText {
  /** The top-level object (anything else is refused when the text is read). */
  readonly root: ObjectNode;
  private layoutCache: Layout | undefined;
  private readonly bom: number;

  constructor(private readonly text: string) {
    this.bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    let root: JsonNode;
    try {
      root = scanJson(text, this.bom);
    } catch (error) {
      if (error instanceof JsonSyntaxError) this.error(error.message, error.offset);
      throw error;
    }
    if (root.kind !== "object") this.error("the top level of manifest.json must be an object", root.start);
    this.root = root;
  }

  error(message: string, at: number): never {
    const before = this.text.slice(0, at);
    const lineStart = before.lastIndexOf("\n") + 1;
    const line = lineStart === 0 ? 1 : before.split("\n").length;
    throw new JsonEditError(message, line, at - Math.max(lineStart, this.bom) + 1);
  }

  private slice(start: number, end: number): string {
    return this.text.slice(start, end);
  }

  /** The text of a string token (a key, or a value of kind "string"). */
  private decode(span: Span): string {
    const value: unknown = JSON.parse(this.slice(span.start, span.end));
    if (typeof value !== "string") throw new TypeError("not a JSON string token");
    return value;
  }

  key(member: Member): string {
    return this.decode(member.key);
  }

  /** The leading whitespace of the line that holds `offset`. */
  private lineIndent(offset: number): string {
    let start = offset;
    while (start > 0 && this.text[start - 1] !== "\n" && this.text[start - 1] !== "\r") start--;
    return /^[ \t]*/.exec(this.slice(start, offset))![0];
  }

  /** The layout of an object that has members. */
  private styleOf(node: ObjectNode): ObjectStyle {
    const first = node.members[0]!;
    const last = node.members.at(-1)!;
    const second = node.members[1];
    const open = this.slice(node.start + 1, first.key.start);
    const colon = this.slice(first.key.end, first.value.start);
    const sep = second ? this.slice(first.value.end, second.key.start) : this.deriveSep(open, colon);
    return { open, colon, sep, close: this.slice(last.value.end, node.end - 1) };
  }

  /** The separator for a container that has one child, from the whitespace before it. */
  private deriveSep(open: string, colon: string): string {
    const indent = afterBreak(open);
    if (indent !== undefined) return "," + open.slice(open.search(/[\r\n]/));
    return "," + (open !== "" ? open : colon.endsWith(" ") ? " " : "");
  }

  /** The separator to put before a child appended to a container that has children. */
  private containerSep(node: ObjectNode | ArrayNode): string {
    const children = childSpans(node);
    const n = children.length;
    if (n >= 2) return this.slice(children[n - 2]!.end, children[n - 1]!.start);
    return this.deriveSep(this.slice(node.start + 1, children[0]!.start), this.layout().colon);
  }

  /** Where a child appended after `last` with separator `sep` starts its line. */
  private appendedIndent(sep: string, last: Span): string {
    return afterBreak(sep) ?? this.lineIndent(last.start);
  }

  private layout(): Layout {
    if (this.layoutCache) return this.layoutCache;
    const root = this.root;
    const [first, second] = root.members;
    const nl = /\r\n|\n|\r/.exec(this.text)?.[0] ?? "\n";
    const multiLine = hasBreak(this.slice(root.start + 1, first ? first.key.start : root.end - 1));
    const rootColon = first ? this.slice(first.key.end, first.value.start) : "";
    const colon = first && !hasBreak(rootColon) ? rootColon : multiLine ? ": " : ":";
    const rootSep = first && second ? this.slice(first.value.end, second.key.start) : "";
    const comma = rootSep && !hasBreak(rootSep) ? rootSep : "," + (colon.endsWith(" ") ? " " : "");
    this.layoutCache = { nl, unit: this.unit(root), multiLine, colon, comma };
    return this.layoutCache;
  }

  /** One level of indentation: that of the expose entries if any, else of the top-level keys. */
  private unit(root: ObjectNode): string {
    const nested = (outer: string, gap: string): string | undefined => {
      const inner = afterBreak(gap);
      return inner !== undefined && inner.length > outer.length && inner.startsWith(outer)
        ? inner.slice(outer.length)
        : undefined;
    };
    let expose: Member | undefined;
    for (const member of root.members) if (this.key(member) === "expose") expose = member;
    const value = expose?.value;
    if (expose && value && (value.kind === "array" || value.kind === "object")) {
      const first = childSpans(value)[0];
      const found =
        first && nested(this.lineIndent(expose.key.start), this.slice(value.start + 1, first.start));
      if (found) return found;
    }
    const first = root.members[0];
    const found = first && nested(this.lineIndent(root.start), this.slice(root.start + 1, first.key.start));
    return found ?? "  ";
  }

  /** The default layout of an object (an expose entry) whose line starts with `indent`. */
  private defaultStyle(indent: string, colon = this.layout().colon): ObjectStyle {
    const { multiLine, comma } = this.layout();
    return multiLine ? this.multiLineStyle(indent, colon) : { open: "", colon, sep: comma, close: "" };
  }

  /**
   * The text between the brackets of an empty container that gets children: one per line, one level
   * deeper than `indent` (the indentation of the container's line), or all on one line.
   */
  private fill(indent: string, children: (indent: string) => string[]): string {
    const { nl, unit, multiLine, comma } = this.layout();
    if (!multiLine) return children(indent).join(comma);
    const inner = indent + unit;
    return nl + inner + children(inner).join("," + nl + inner) + nl + indent;
  }

  addExpose(name: string, source: ExposeSource): Edit {
    const root = this.root;
    const last = root.members.at(-1);
    const array = (indent: string) =>
      "[" +
      this.fill(indent, (inner) => [renderObject(this.defaultStyle(inner), entryPairs(name, source))]) +
      "]";
    if (!last) {
      const insert = this.fill(this.lineIndent(root.start), (inner) => [
        quote("expose") + this.layout().colon + array(inner),
      ]);
      return { start: root.start + 1, end: root.end - 1, insert };
    }
    const sep = this.containerSep(root);
    const colon = this.slice(last.key.end, last.value.start);
    const insert = sep + quote("expose") + colon + array(this.appendedIndent(sep, last.key));
    return { start: last.value.end, end: last.value.end, insert };
  }

  editArray(member: Member, expose: ArrayNode, name: string, source: ExposeSource | null): Edit[] {
    const items = expose.items.map((item) =>
      item.kind === "object"
        ? item
        : this.error("an expose entry must be an object: {name, value} or {name, ref}", item.start),
    );
    const matches: number[] = [];
    items.forEach((item, index) => {
      if (this.entryName(item) === name) matches.push(index);
    });
    if (!source) return removals(expose, items, new Set(matches));
    const [first, ...duplicates] = matches;
    if (first !== undefined) {
      const item = items[first]!;
      const insert = renderObject(this.styleOf(item), entryPairs(name, source));
      return [{ start: item.start, end: item.end, insert }, ...removals(expose, items, new Set(duplicates))];
    }
    const last = items.at(-1);
    if (!last) {
      const insert = this.fill(this.lineIndent(member.key.start), (inner) => [
        renderObject(this.defaultStyle(inner), entryPairs(name, source)),
      ]);
      return [{ start: expose.start + 1, end: expose.end - 1, insert }];
    }
    const sample =
      items.findLast((item) => item.members.length >= 2) ?? items.findLast((item) => item.members.length > 0);
    const sep = this.containerSep(expose);
    const style = sample ? this.styleOf(sample) : this.defaultStyle(this.appendedIndent(sep, last));
    return [{ start: last.end, end: last.end, insert: sep + renderObject(style, entryPairs(name, source)) }];
  }

  /** The name of an array entry: its (last) "name" key, when that is a string. */
  private entryName(entry: ObjectNode): string | undefined {
    let name: string | undefined;
    for (const member of entry.members) {
      if (this.key(member) === "name")
        name = member.value.kind === "string" ? this.decode(member.value) : undefined;
    }
    return name;
  }

  editObject(member: Member, expose: ObjectNode, name: string, source: ExposeSource | null): Edit[] {
    const members = expose.members;
    const matches = members.flatMap((candidate, index) => (this.key(candidate) === name ? [index] : []));
    if (!source) return removals(expose, childSpans(expose), new Set(matches));
    if ("value" in source && source.value.startsWith("$")) {
      return [{ start: expose.start, end: expose.end, insert: this.toArray(member, expose, name, source) }];
    }
    const value = quote("ref" in source ? "$" + source.ref : source.value);
    const [first, ...duplicates] = matches;
    if (first !== undefined) {
      const target = members[first]!.value;
      return [
        { start: target.start, end: target.end, insert: value },
        ...removals(expose, childSpans(expose), new Set(duplicates)),
      ];
    }
    const last = members.at(-1);
    if (!last) {
      const insert = this.fill(this.lineIndent(member.key.start), () => [
        quote(name) + this.layout().colon + value,
      ]);
      return [{ start: expose.start + 1, end: expose.end - 1, insert }];
    }
    const sep = this.containerSep(expose);
    const colon = this.slice(last.key.end, last.value.start);
    return [{ start: last.value.end, end: last.value.end, insert: sep + quote(name) + colon + value }];
  }

  /** The object-form expose rewritten as an array with the same meaning, and NAME set to `source`. */
  private toArray(member: Member, expose: ObjectNode, name: string, source: ExposeSource): string {
    if (expose.members.length === 0) {
      const entry = (inner: string) => [renderObject(this.defaultStyle(inner), entryPairs(name, source))];
      return "[" + this.fill(this.lineIndent(member.key.start), entry) + "]";
    }
    // Laid out like the object: its members become the entries.
    const style = this.styleOf(expose);
    const indent = afterBreak(style.open);
    const entryStyle: ObjectStyle =
      indent !== undefined
        ? this.multiLineStyle(indent, style.colon)
        : {
            open: "",
            colon: style.colon,
            sep: hasBreak(style.sep) ? this.layout().comma : style.sep,
            close: "",
          };
    const order: string[] = [];
    const values = new Map<string, JsonNode>();
    for (const candidate of expose.members) {
      const key = this.key(candidate);
      if (!values.has(key)) order.push(key);
      values.set(key, candidate.value);
    }
    if (!values.has(name)) order.push(name);
    const entries = order.map((key): string => {
      const value = values.get(key);
      if (key === name || !value) return renderObject(entryStyle, entryPairs(name, source));
      if (value.kind === "string") {
        const text = this.decode(value);
        if (text.startsWith("$")) {
          return renderObject(entryStyle, [
            [quote("name"), quote(key)],
            [quote("ref"), quote(text.slice(1))],
          ]);
        }
      }
      const nested = indent === undefined ? undefined : indent + this.layout().unit;
      return renderObject(entryStyle, [
        [quote("name"), quote(key)],
        [quote("value"), this.relayout(value, nested, entryStyle.colon, entryStyle.sep)],
      ]);
    });
    return "[" + style.open + entries.join(style.sep) + style.close + "]";
  }

  private multiLineStyle(indent: string, colon: string): ObjectStyle {
    const { nl, unit } = this.layout();
    return { open: nl + indent + unit, colon, sep: "," + nl + indent + unit, close: nl + indent };
  }

  /**
   * A value moved to a new place: strings, numbers and keys as written; containers laid out as
   * JSON.stringify would, one child a line one level deeper than `indent` (the indentation of the
   * line the value is on), or on one line (`indent` undefined) with `colon` and `comma`.
   */
  private relayout(node: JsonNode, indent: string | undefined, colon: string, comma: string): string {
    if (node.kind !== "object" && node.kind !== "array") return this.slice(node.start, node.end);
    const inner = indent === undefined ? undefined : indent + this.layout().unit;
    const children =
      node.kind === "array"
        ? node.items.map((item) => this.relayout(item, inner, colon, comma))
        : node.members.map(
            (member) =>
              this.slice(member.key.start, member.key.end) +
              colon +
              this.relayout(member.value, inner, colon, comma),
          );
    const [open, close] = node.kind === "array" ? ["[", "]"] : ["{", "}"];
    if (children.length === 0) return open + close;
    if (indent === undefined) return open + children.join(comma) + close;
    const nl = this.layout().nl;
    return open + nl + inner + children.join("," + nl + inner) + nl + indent + close;
  }
}
