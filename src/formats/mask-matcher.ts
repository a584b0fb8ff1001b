/**
 * Finding many byte patterns at once (for the masker, src/formats/mask.ts): an Aho–Corasick automaton
 * over the first KEY_LENGTH bytes of each pattern, so that one pass over the text finds every
 * occurrence of every pattern whatever their number, and the automaton's size does not grow with the
 * patterns' length (a long pattern is confirmed by comparing its remaining bytes where its key ends).
 *
 * The trie is built breadth first over the sorted keys, so that a node's children are consecutive and
 * every table is a typed array.
 */

/** Bytes of each pattern in the automaton; the rest is compared where this much matched. */
const KEY_LENGTH = 16;

export interface Scan {
  /** Occurrences as flat triples: start, end, pattern index; sorted by start, longest first. */
  occurrences: number[];
  /**
   * The smallest index from which the rest of the text is a proper prefix of some pattern (the text's
   * length when there is none): what follows could still complete an occurrence there.
   */
  partialFrom: number;
}

export class Matcher {
  private readonly patterns: readonly Buffer[];
  /** Pattern indexes grouped by key, keys sorted; a node's terminal patterns are a range of it. */
  private readonly order: Int32Array;
  /** Root transitions (0: stay at the root). */
  private readonly rootNext = new Int32Array(256);
  private readonly childStart: Int32Array;
  private readonly childCount: Int32Array;
  private readonly label: Uint8Array;
  private readonly depth: Int32Array;
  private readonly fail: Int32Array;
  /** [termFrom, termTo): the patterns (in `order`) whose key ends at this node. */
  private readonly termFrom: Int32Array;
  private readonly termTo: Int32Array;
  /** The node itself when some key ends there, else the nearest such node on its failure chain (0: none). */
  private readonly output: Int32Array;
  /** The depth of the longest suffix of this node's path that is a proper prefix of some key. */
  private readonly hold: Int32Array;

  constructor(patterns: readonly Buffer[]) {
    this.patterns = patterns;
    // Keys as latin1 strings (one character per byte): their natural order is the bytes' order.
    const byKey = new Map<string, number[]>();
    patterns.forEach((pattern, index) => {
      const key = pattern.toString("latin1", 0, KEY_LENGTH);
      const same = byKey.get(key);
      if (same) same.push(index);
      else byKey.set(key, [index]);
    });
    const keys = [...byKey.keys()].sort();
    /** keyFirst[u]: where the patterns of keys[u] start in `order` (they end at keyFirst[u + 1]). */
    const keyFirst = new Int32Array(keys.length + 1);
    const order = new Int32Array(patterns.length);
    let size = 1;
    keys.forEach((key, u) => {
      const indexes = byKey.get(key)!;
      keyFirst[u + 1] = keyFirst[u]! + indexes.length;
      order.set(indexes, keyFirst[u]!);
      size += key.length;
    });
    this.order = order;
    const from = new Int32Array(size); // the range of `keys` that start with the node's path
    const to = new Int32Array(size);
    const childStart = new Int32Array(size);
    const childCount = new Int32Array(size);
    const label = new Uint8Array(size);
    const depth = new Int32Array(size);
    const termFrom = new Int32Array(size);
    const termTo = new Int32Array(size);
    to[0] = keys.length;
    let nodes = 1;
    for (let node = 0; node < nodes; node++) {
      const d = depth[node]!;
      let j = from[node]!;
      const end = to[node]!;
      if (j < end && keys[j]!.length === d) {
        // The key equal to the path sorts first: its patterns end (or are confirmed) here.
        termFrom[node] = keyFirst[j]!;
        termTo[node] = keyFirst[j + 1]!;
        j++;
      }
      childStart[node] = nodes;
      while (j < end) {
        const byte = keys[j]!.charCodeAt(d);
        let k = j + 1;
        while (k < end && keys[k]!.charCodeAt(d) === byte) k++;
        label[nodes] = byte;
        depth[nodes] = d + 1;
        from[nodes] = j;
        to[nodes] = k;
        nodes++;
        j = k;
      }
      childCount[node] = nodes - childStart[node]!;
    }
    this.childStart = childStart;
    this.childCount = childCount;
    this.label = label;
    this.depth = depth;
    this.termFrom = termFrom;
    this.termTo = termTo;
    for (let c = childStart[0]!; c < childStart[0]! + childCount[0]!; c++) this.rootNext[label[c]!] = c;

    // Failure links, breadth first (node numbers are in breadth-first order).
    const fail = new Int32Array(nodes);
    const output = new Int32Array(nodes);
    const hold = new Int32Array(nodes);
    this.fail = fail;
    for (let node = 0; node < nodes; node++) {
      const first = childStart[node]!;
      for (let c = first; c < first + childCount[node]!; c++) {
        if (node === 0) continue; // fail[c] = 0
        let f = fail[node]!;
        let next = this.child(f, label[c]!);
        while (next === 0 && f !== 0) {
          f = fail[f]!;
          next = this.child(f, label[c]!);
        }
        fail[c] = next;
      }
      if (node > 0) {
        output[node] = termTo[node]! > termFrom[node]! ? node : output[fail[node]!]!;
        hold[node] = childCount[node]! > 0 ? depth[node]! : hold[fail[node]!]!;
      }
    }
    this.output = output;
    this.hold = hold;
  }

  /** The child of `node` by `byte`, 0 when there is none. */
  private child(node: number, byte: number): number {
    if (node === 0) return this.rootNext[byte]!;
    const first = this.childStart[node]!;
    const last = first + this.childCount[node]!;
    for (let c = first; c < last; c++) {
      const l = this.label[c]!;
      if (l === byte) return c;
      if (l > byte) return 0;
    }
    return 0;
  }

  /** Every occurrence of every pattern in `text`, and where a still partial occurrence may start. */
  scan(text: Buffer): Scan {
    const { patterns, order, rootNext, childStart, childCount, label, depth, fail, termFrom, termTo } = this;
    const { output, hold } = this;
    const occurrences: number[] = [];
    let sorted = true;
    let lastStart = -1;
    let lastEnd = 0;
    let partialFrom = text.length;
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const byte = text[i]!;
      for (;;) {
        if (state === 0) {
          state = rootNext[byte]!;
          break;
        }
        const first = childStart[state]!;
        const last = first + childCount[state]!;
        let next = 0;
        for (let c = first; c < last; c++) {
          const l = label[c]!;
          if (l >= byte) {
            if (l === byte) next = c;
            break;
          }
        }
        if (next !== 0) {
          state = next;
          break;
        }
        state = fail[state]!;
      }
      // Every key that ends here, longest (earliest start) first.
      for (let node = output[state]!; node !== 0; node = output[fail[node]!]!) {
        const keyLength = depth[node]!;
        const start = i + 1 - keyLength;
        for (let t = termFrom[node]!; t < termTo[node]!; t++) {
          const index = order[t]!;
          const pattern = patterns[index]!;
          let end = start + pattern.length;
          if (pattern.length > keyLength) {
            // A long pattern: its key matched; compare the rest (as far as the text goes).
            const available = Math.min(end, text.length);
            if (text.compare(pattern, keyLength, available - start, i + 1, available) !== 0) continue;
            if (end > text.length) {
              if (start < partialFrom) partialFrom = start;
              continue;
            }
          } else end = i + 1;
          if (start < lastStart || (start === lastStart && end > lastEnd)) sorted = false;
          lastStart = start;
          lastEnd = end;
          occurrences.push(start, end, index);
        }
      }
    }
    const tail = text.length - hold[state]!;
    if (tail < partialFrom) partialFrom = tail;
    if (!sorted) sortOccurrences(occurrences);
    return { occurrences, partialFrom };
  }
}

/** Sort flat (start, end, index) triples by start, then longest first. */
function sortOccurrences(flat: number[]): void {
  const count = flat.length / 3;
  const ids = Array.from({ length: count }, (_, i) => i);
  ids.sort((a, b) => flat[3 * a]! - flat[3 * b]! || flat[3 * b + 1]! - flat[3 * a + 1]!);
  const copy = flat.slice();
  for (let k = 0; k < count; k++) {
    const id = ids[k]!;
    flat[3 * k] = copy[3 * id]!;
    flat[3 * k + 1] = copy[3 * id + 1]!;
    flat[3 * k + 2] = copy[3 * id + 2]!;
  }
}
