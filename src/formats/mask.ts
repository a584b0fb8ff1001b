/**
 * Streaming masking of secret values in a child's output. Works on bytes (a UTF-8 character split
 * across chunks is no problem), is correct across chunk boundaries, and holds back only the shortest
 * tail that could still become a secret (so prompts and partial lines flow through at once).
 *
 * Besides the value itself it masks the forms a value commonly takes in logs (src/formats/mask-forms.ts):
 * JSON-escaped and percent-encoded as the common encoders write them, base64 and base64url, and each
 * line of a multi-line value. Values shorter than MIN_MASK_LENGTH are not masked (masking "1" would
 * destroy the output); `run` warns about them.
 *
 * Nothing is computed until asked: `run` calls maskPatterns only when some output is masked, and the
 * automaton that finds the patterns (src/formats/mask-matcher.ts) is built on the first output.
 */
import { MIN_MASK_LENGTH, secretForms } from "./mask-forms.js";
import { Matcher } from "./mask-matcher.js";

export { MIN_MASK_LENGTH };

export interface Maskable {
  name: string;
  value: string;
}

interface Pattern {
  bytes: Buffer;
  replacement: Buffer;
}

/** The byte patterns to mask for a set of secrets (longest first; a form two secrets share is the first's). */
export function maskPatterns(secrets: readonly Maskable[]): Pattern[] {
  const seen = new Map<string, Pattern>();
  for (const { name, value } of secrets) {
    if (value.length < MIN_MASK_LENGTH) continue;
    const replacement = Buffer.from(`[masked:${name}]`);
    for (const form of secretForms(value)) {
      if (!seen.has(form)) seen.set(form, { bytes: Buffer.from(form), replacement });
    }
  }
  // Longest first, bucketed by length (no comparator calls: cheaper than sort() in a cold process).
  const byLength: Pattern[][] = [];
  for (const pattern of seen.values()) (byLength[pattern.bytes.length] ??= []).push(pattern);
  const patterns: Pattern[] = [];
  for (let length = byLength.length - 1; length >= MIN_MASK_LENGTH; length--) {
    const bucket = byLength[length];
    if (bucket) for (const pattern of bucket) patterns.push(pattern);
  }
  return patterns;
}

/** One automaton per pattern list (run's stdout and stderr maskers share it). */
const matchers = new WeakMap<readonly Pattern[], Matcher>();

/**
 * A byte is masked when any occurrence of any pattern covers it; overlapping occurrences form one run,
 * replaced by one marker (the pattern of the occurrence that starts the run; adjacent occurrences keep
 * a marker each). Streaming output is
 * identical to masking the whole text at once: a byte is written only when no occurrence that could
 * still cover it is unfinished, which holds back fewer bytes than the longest pattern.
 */
export class Masker {
  private held: Buffer = Buffer.alloc(0);
  /** Bytes at the start of `held` already covered by an occurrence whose marker was written. */
  private covered = 0;

  constructor(private readonly patterns: readonly Pattern[]) {}

  /** Bytes that can be written now; the rest is held until more input (or end()) decides it. */
  push(chunk: Buffer): Buffer {
    const buffer = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    return this.process(buffer, false);
  }

  /** Everything still held, masked; call once at end of stream. */
  end(): Buffer {
    const out = this.process(this.held, true);
    this.held = Buffer.alloc(0);
    this.covered = 0;
    return out;
  }

  /** Bytes not yet written (for tests: always fewer than the longest pattern). */
  get pending(): number {
    return this.held.length;
  }

  private process(buffer: Buffer, final: boolean): Buffer {
    if (this.patterns.length === 0) {
      this.held = EMPTY;
      return buffer;
    }
    const { occurrences, partialFrom } = this.matcher().scan(buffer);
    const emitEnd = final ? buffer.length : partialFrom;
    if (emitEnd === 0) {
      this.held = Buffer.from(buffer); // nothing is decided yet: the state stays as it is
      return EMPTY;
    }
    const runs = this.maskedRuns(occurrences);
    const parts: Buffer[] = [];
    let cursor = 0;
    let covered = 0;
    for (const [start, end, replacement] of runs) {
      if (start >= emitEnd) break;
      if (start > cursor) parts.push(buffer.subarray(cursor, start));
      // A run that continues one whose marker was already written gets no second marker.
      if (!(start === 0 && this.covered > 0)) parts.push(replacement);
      cursor = Math.min(end, emitEnd);
      if (end > emitEnd) covered = end - emitEnd;
    }
    if (cursor < emitEnd) parts.push(buffer.subarray(cursor, emitEnd));
    this.held = Buffer.from(buffer.subarray(emitEnd));
    this.covered = covered;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private matcher(): Matcher {
    let matcher = matchers.get(this.patterns);
    if (!matcher) {
      matcher = new Matcher(this.patterns.map((pattern) => pattern.bytes));
      matchers.set(this.patterns, matcher);
    }
    return matcher;
  }

  /**
   * Maximal runs of masked bytes [start, end, marker], sorted, from occurrences (flat start, end,
   * pattern triples sorted by start, longest first); `covered` bytes at the start count as masked.
   */
  private maskedRuns(occurrences: readonly number[]): [number, number, Buffer][] {
    const runs: [number, number, Buffer][] = [];
    if (this.covered > 0) runs.push([0, this.covered, EMPTY]);
    for (let k = 0; k < occurrences.length; k += 3) {
      const start = occurrences[k]!;
      const end = occurrences[k + 1]!;
      const last = runs[runs.length - 1];
      if (last && start < last[1]) last[1] = Math.max(last[1], end);
      else runs.push([start, end, this.patterns[occurrences[k + 2]!]!.replacement]);
    }
    return runs;
  }
}

const EMPTY = Buffer.alloc(0);
