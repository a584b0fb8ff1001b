/**
 * YAML with positions (the `yaml` package): every error points at file:line:column.
 * Loaded only on the paths that need it (full manifest parse, YAML value files, check, init).
 */
import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from "yaml";
import { type ErrorCode, type Location, TesseraError } from "../errors.js";

export interface YamlFile {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** Location of a byte offset. */
  at(offset: number): Location;
  /** Location of the node at `path` (the key of the last segment when `key` is true). */
  locate(path: readonly (string | number)[], key?: boolean): Location;
  /**
   * The document (or one node of it) as plain data, aliases expanded. A document that aliases expand
   * beyond MAX_ALIAS_COUNT nodes (a "billion laughs"), or too deep to convert, is an error with the
   * parse's code and a location, never an internal error.
   */
  data(node?: Node | null): unknown;
}

/** How many nodes aliases may expand to, per anchor (the YAML library's own default). */
export const MAX_ALIAS_COUNT = 100;

const MESSAGES: Record<string, string> = {
  DUPLICATE_KEY: "a key appears twice in the same mapping",
  BAD_INDENT: "bad indentation",
  MISSING_CHAR: "a closing quote or bracket is missing",
  MULTILINE_IMPLICIT_KEY: "a key must be on one line (is a colon or quote missing?)",
  BLOCK_AS_IMPLICIT_KEY: "a nested block cannot be a key (is the indentation off?)",
  TAB_AS_INDENT: "tabs cannot indent YAML; use spaces",
  UNEXPECTED_TOKEN: "unexpected text",
  BAD_DQ_ESCAPE: "an invalid escape in a double-quoted string",
  BAD_ALIAS: "a bad alias (*name)",
  BLOCK_IN_FLOW: "a block value inside a flow collection ([ ] or { })",
  MULTIPLE_DOCS: "more than one YAML document (---): one is expected",
  BAD_SCALAR_START: "a plain value cannot start with this character (quote it)",
  TAG_RESOLVE_FAILED: "an unknown tag",
  RESOURCE_EXHAUSTION: "the document is nested too deeply to read",
};

const HINTS: Record<string, string> = {
  DUPLICATE_KEY: "remove or rename one of the two keys",
  RESOURCE_EXHAUSTION: "flatten the structure: no real manifest or value file nests hundreds of levels deep",
};

/**
 * Parse YAML text; a syntax error is a TesseraError with the given code and a location. For files that
 * hold values (`quote: false`), the message is ours alone: the YAML library's own messages may quote
 * the text around the error, which can be part of a secret.
 */
export function parseYaml(
  text: string,
  file: string,
  code: ErrorCode,
  options: { quote?: boolean } = {},
): YamlFile {
  const quote = options.quote ?? true;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Location => {
    const pos = lines.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  const first = doc.errors[0];
  if (first) {
    const friendly = MESSAGES[first.code];
    // The library's message for a stack overflow says only that: ours is the whole story.
    const message =
      quote && first.code !== "RESOURCE_EXHAUSTION"
        ? friendly
          ? `${friendly} (${first.message})`
          : first.message
        : (friendly ?? "syntax error");
    throw new TesseraError(code, `invalid YAML: ${message}`, {
      location: at(first.pos[0]),
      hint:
        HINTS[first.code] ??
        "fix the YAML syntax at this position (a YAML linter or your editor's YAML mode can help)",
      details: doc.errors.slice(1, 5).map((error) => {
        const pos = lines.linePos(error.pos[0]);
        return `also at ${file}:${pos.line}:${pos.col}: ${quote ? error.message : (MESSAGES[error.code] ?? "syntax error")}`;
      }),
    });
  }
  const firstAlias = checkAliases(doc, file, code, quote, at);
  const data = (node: Node | null = doc.contents): unknown => {
    try {
      return node === null ? null : node.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      // The YAML library throws a ReferenceError for too many aliases; a RangeError is a stack overflow.
      if (!(error instanceof ReferenceError || error instanceof RangeError)) throw error;
      const expands = error instanceof ReferenceError;
      throw new TesseraError(
        code,
        expands
          ? `aliases (*name) expand the document beyond ${MAX_ALIAS_COUNT} nodes per anchor: it is refused (a "billion laughs")`
          : "the document is nested too deeply to read",
        {
          location: (expands ? firstAlias : undefined) ?? at(node?.range?.[0] ?? 0),
          hint: expands
            ? "write the values out, or use fewer aliases of large anchors"
            : "flatten the structure: no real manifest or value file nests hundreds of levels deep",
        },
      );
    }
  };
  const locate = (path: readonly (string | number)[], key = false): Location => {
    const node = nodeAt(doc, path, key);
    const range = node?.range;
    if (range) return at(range[0]);
    // Fall back to the closest ancestor that exists.
    for (let depth = path.length - 1; depth >= 0; depth--) {
      const parent = nodeAt(doc, path.slice(0, depth), false);
      if (parent?.range) return at(parent.range[0]);
    }
    return { file, line: 1, column: 1 };
  };
  return { file, doc, lines, at, locate, data };
}

/**
 * Every alias must name an anchor defined before it (as the YAML library resolves them, in document
 * order): one that does not is an error at the alias, not an internal error when the data is read.
 * The location of the first alias is returned (where an expansion that is too large is reported).
 * For value files (`quote` false) the anchor's name is not shown: it is text of the file.
 */
function checkAliases(
  doc: Document.Parsed,
  file: string,
  code: ErrorCode,
  quote: boolean,
  at: (offset: number) => Location,
): Location | undefined {
  /** The node each anchor names so far (a later anchor of the same name replaces it). */
  const anchors = new Map<string, Node>();
  let first: Location | undefined;
  let bad: { source: string; location: Location; recursive: boolean } | undefined;
  try {
    visit(doc, {
      Node(_key, node, path) {
        if (isAlias(node)) {
          const location = at(node.range?.[0] ?? 0);
          first ??= location;
          const target = anchors.get(node.source);
          // An alias inside the node it names would make the data infinite (a cycle).
          if (target === undefined || path.includes(target)) {
            bad = { source: node.source, location, recursive: target !== undefined };
            return visit.BREAK;
          }
          return undefined;
        }
        if (node.anchor) anchors.set(node.anchor, node);
        return undefined;
      },
    });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new TesseraError(code, "the document is nested too deeply to read", {
      location: { file, line: 1, column: 1 },
      hint: "flatten the structure: no real manifest or value file nests hundreds of levels deep",
    });
  }
  if (bad) {
    const alias = `an alias${quote ? ` (*${bad.source})` : ""}`;
    throw new TesseraError(
      code,
      bad.recursive
        ? `${alias} is inside the node its anchor names: the data would be infinite`
        : `${alias} refers to an anchor that is not defined before it`,
      {
        location: bad.location,
        hint: bad.recursive
          ? "an alias (*name) can only repeat a node that is complete before it"
          : "define the anchor (&name) before the alias (*name), or write the value out",
      },
    );
  }
  return first;
}

function nodeAt(doc: Document.Parsed, path: readonly (string | number)[], key: boolean): Node | undefined {
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return undefined;
      if (last && key) return isNode(pair.key) ? pair.key : undefined;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(segment)];
    } else {
      return undefined;
    }
  }
  return isNode(node) ? node : undefined;
}

/**
 * The node a mapping's value (or a list's item) is: an alias stands for the node it names (undefined
 * when no anchor has that name); no node (`KEY:` in some forms) is null.
 */
export function valueNode(value: unknown, doc: Document): Node | null | undefined {
  if (isAlias(value)) return value.resolve(doc);
  return isNode(value) ? value : null;
}

export { isMap, isNode, isPair, isScalar, isSeq };
