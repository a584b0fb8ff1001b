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

export class Masker {
  private held: Buffer = Buffer.alloc(0);

  constructor(private readonly patterns: readonly Pattern[]) {}

  /** Bytes that can be written now; the rest is held until more input (or end()) decides it. */
  push(chunk: Buffer): Buffer {
    const buffer = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const [out, rest] = this.process(buffer, false);
    this.held = rest;
    return out;
  }

  /** Everything still held, masked; call once at end of stream. */
  end(): Buffer {
    const [out] = this.process(this.held, true);
    this.held = Buffer.alloc(0);
    return out;
  }

  private process(buffer: Buffer, final: boolean): [Buffer, Buffer] {
    if (buffer.length === 0) return [buffer, buffer];
    const intervals = this.matches(buffer);
    let emitEnd = final ? buffer.length : this.partialFrom(buffer, 0);
    // A match that started before the held tail is complete: emit through its end.
    for (let changed = true; changed; ) {
      changed = false;
      for (const [start, end] of intervals) {
        if (start < emitEnd && end > emitEnd) {
          emitEnd = final ? end : this.partialFrom(buffer, end);
          changed = true;
        }
      }
    }
    const parts: Buffer[] = [];
    let cursor = 0;
    for (const [start, end, replacement] of intervals) {
      if (start >= emitEnd) break;
      if (start > cursor) parts.push(buffer.subarray(cursor, start));
      parts.push(replacement);
      cursor = end;
    }
    if (cursor < emitEnd) parts.push(buffer.subarray(cursor, emitEnd));
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return [out, Buffer.from(buffer.subarray(emitEnd))];
  }

  /** Every occurrence of every pattern, merged into disjoint intervals sorted by start. */
  private matches(buffer: Buffer): [number, number, Buffer][] {
    const found: [number, number, Buffer][] = [];
    for (const pattern of this.patterns) {
      let at = buffer.indexOf(pattern.bytes);
      while (at !== -1) {
        found.push([at, at + pattern.bytes.length, pattern.replacement]);
        at = buffer.indexOf(pattern.bytes, at + 1);
      }
    }
    if (found.length <= 1) return found;
    found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const merged: [number, number, Buffer][] = [found[0]!];
    for (const interval of found.slice(1)) {
      const last = merged[merged.length - 1]!;
      if (interval[0] < last[1]) last[1] = Math.max(last[1], interval[1]);
      else merged.push(interval);
    }
    return merged;
  }

  /** The smallest index ≥ from where the rest of the buffer is a proper prefix of some pattern. */
  private partialFrom(buffer: Buffer, from: number): number {
    let best = buffer.length;
    for (const { bytes } of this.patterns) {
      const first = bytes[0]!;
      const earliest = Math.max(from, buffer.length - bytes.length + 1);
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
