/**
 * Streaming masking of secret values in a child's output. Works on bytes (a UTF-8 character split
 * across chunks is no problem), is correct across chunk boundaries, and holds back only the shortest
 * tail that could still become a secret (so prompts and partial lines flow through at once).
 *
 * Besides the value itself it masks the forms a value commonly takes in logs: JSON-escaped and
 * URL-encoded. Values shorter than MIN_MASK_LENGTH are not masked (masking "1" would destroy the
 * output); `run` warns about them.
 */

export const MIN_MASK_LENGTH = 4;

export interface Maskable {
  name: string;
  value: string;
}

interface Pattern {
  bytes: Buffer;
  replacement: Buffer;
}

/** The byte patterns to mask for a set of secrets (longest first). */
export function maskPatterns(secrets: readonly Maskable[]): Pattern[] {
  const seen = new Map<string, Pattern>();
  for (const { name, value } of secrets) {
    if (value.length < MIN_MASK_LENGTH) continue;
    const replacement = Buffer.from(`[masked:${name}]`);
    const forms = [value, JSON.stringify(value).slice(1, -1), safeEncode(value)];
    for (const form of forms) {
      if (form && form.length >= MIN_MASK_LENGTH && !seen.has(form)) {
        seen.set(form, { bytes: Buffer.from(form), replacement });
      }
    }
  }
  return [...seen.values()].sort((a, b) => b.bytes.length - a.bytes.length);
}

function safeEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return ""; // lone surrogates
  }
}

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
    const emitEnd = final ? buffer.length : this.partialFrom(buffer);
    if (emitEnd === 0) {
      this.held = Buffer.from(buffer); // nothing is decided yet: the state stays as it is
      return EMPTY;
    }
    const runs = this.maskedRuns(buffer);
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

  /** Maximal runs of masked bytes [start, end, marker], sorted; `covered` bytes at the start count as masked. */
  private maskedRuns(buffer: Buffer): [number, number, Buffer][] {
    const found: [number, number, Buffer][] = [];
    for (const pattern of this.patterns) {
      let at = buffer.indexOf(pattern.bytes);
      while (at !== -1) {
        found.push([at, at + pattern.bytes.length, pattern.replacement]);
        at = buffer.indexOf(pattern.bytes, at + 1);
      }
    }
    if (this.covered > 0) found.push([0, this.covered, EMPTY]);
    if (found.length === 0) return found;
    // By start; at equal starts the longest pattern (they are sorted longest first) names the run.
    found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const runs: [number, number, Buffer][] = [];
    for (const occurrence of found) {
      const last = runs[runs.length - 1];
      if (last && occurrence[0] < last[1]) last[1] = Math.max(last[1], occurrence[1]);
      else runs.push([...occurrence]);
    }
    return runs;
  }

  /** The smallest index where the rest of the buffer is a proper prefix of some pattern (else the length). */
  private partialFrom(buffer: Buffer): number {
    let best = buffer.length;
    for (const { bytes } of this.patterns) {
      const first = bytes[0]!;
      const earliest = Math.max(0, buffer.length - bytes.length + 1);
      for (
        let at = buffer.indexOf(first, earliest);
        at !== -1 && at < best;
        at = buffer.indexOf(first, at + 1)
      ) {
        const tail = buffer.length - at;
        if (tail < bytes.length && buffer.compare(bytes, 0, tail, at, buffer.length) === 0) {
          best = at;
          break;
        }
      }
    }
    return best;
  }
}

const EMPTY = Buffer.alloc(0);
