/**
 * Property-based tests (fast-check) for the streaming masker (src/run/mask.ts): the output must not
 * depend on how the child's output is chunked, must contain no secret, must leave other text alone,
 * and must hold back no more than a proper prefix of some pattern.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Maskable, Masker, MIN_MASK_LENGTH, maskPatterns } from "../../src/formats/mask.ts";

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Secret characters: a tiny alphabet (so secrets overlap and repeat), JSON- and URL-escaped
 * characters, multi-byte UTF-8 (2, 3 and 4 bytes). Never `[` or `]`, the marker's brackets. */
const secretUnit = fc.oneof(
  { arbitrary: fc.constantFrom("a", "b"), weight: 4 },
  { arbitrary: fc.constantFrom('"', "\\", "\n", "\t", "\x01", " ", "/", "%", "+", "&", "="), weight: 2 },
  { arbitrary: fc.constantFrom("é", "€", "😀", "\u2028", "\ufeff"), weight: 2 },
  {
    arbitrary: fc
      .string({ unit: "binary", minLength: 1, maxLength: 1 })
      .filter((c) => c !== "[" && c !== "]"),
    weight: 2,
  },
);

/** Secrets with a wide alphabet: they rarely overlap one another. */
const wideUnit = fc
  .string({ unit: "binary", minLength: 1, maxLength: 1 })
  .filter((c) => c !== "[" && c !== "]" && c !== "\0");

const secretValue = (u: fc.Arbitrary<string>) =>
  fc
    .string({ unit: u, minLength: MIN_MASK_LENGTH, maxLength: 10 })
    .filter((v) => v.length >= MIN_MASK_LENGTH);

/** Every form the masker is meant to hide, as bytes (the raw value, JSON-escaped, URL-encoded). */
function forms(value: string): Buffer[] {
  const out = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
  return out.filter((form) => form.length >= MIN_MASK_LENGTH).map((form) => Buffer.from(form));
}

function replacements(secrets: readonly Maskable[]): Buffer[] {
  return secrets.map((secret) => Buffer.from(`[masked:${secret.name}]`));
}

/**
 * 1–4 secrets. A secret that is a substring of a replacement marker ("asked", "d:S0") would be
 * "found" in correctly masked output, so such secrets are left out.
 */
const secretsOf = (u: fc.Arbitrary<string>) =>
  fc
    .array(secretValue(u), { minLength: 1, maxLength: 4 })
    .map((values): Maskable[] => values.map((value, i) => ({ name: `S${i}`, value })))
    .filter((secrets) => {
      const markers = replacements(secrets);
      return secrets.every((secret) =>
        forms(secret.value).every((form) => markers.every((m) => !m.includes(form))),
      );
    });

/** Output text: filler and secrets in their three forms, and prefixes of them. */
function textWith(secrets: readonly Maskable[]): fc.Arbitrary<Buffer> {
  const all = secrets.flatMap((secret) => forms(secret.value));
  const piece = fc.oneof(
    fc.constantFrom(...all),
    fc.tuple(fc.constantFrom(...all), fc.nat()).map(([form, n]) => form.subarray(0, n % form.length)), // a proper prefix (bytes: may cut a character)
    fc.string({ unit: secretUnit, maxLength: 6 }).map((s) => Buffer.from(s)),
    fc.string({ unit: "binary", maxLength: 6 }).map((s) => Buffer.from(s)),
  );
  return fc.array(piece, { maxLength: 12 }).map((pieces) => Buffer.concat(pieces));
}

/** Cut points: random ones (empty chunks included) or every byte on its own. */
const cuts = fc.oneof(
  { arbitrary: fc.constant("bytes" as const), weight: 1 },
  { arbitrary: fc.array(fc.nat(), { maxLength: 12 }), weight: 4 },
);

function chunk(buffer: Buffer, at: "bytes" | number[]): Buffer[] {
  if (at === "bytes") return [...buffer].map((byte) => Buffer.from([byte]));
  const points = at.map((n) => (buffer.length === 0 ? 0 : n % (buffer.length + 1))).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    out.push(buffer.subarray(start, point));
    start = point;
  }
  out.push(buffer.subarray(start));
  return out;
}

function held(masker: Masker): Buffer {
  return (masker as unknown as { held: Buffer }).held;
}

function maskWhole(secrets: readonly Maskable[], text: Buffer): Buffer {
  const masker = new Masker(maskPatterns(secrets));
  return Buffer.concat([masker.push(text), masker.end()]);
}

function maskChunked(secrets: readonly Maskable[], chunks: readonly Buffer[]): Buffer {
  const patterns = maskPatterns(secrets);
  const longest = Math.max(...patterns.map((pattern) => pattern.bytes.length));
  const masker = new Masker(patterns);
  const out: Buffer[] = [];
  for (const piece of chunks) {
    out.push(masker.push(piece));
    // Held-back data is bounded, and is only ever a tail that could still become a pattern.
    const rest = held(masker);
    assert.ok(rest.length < longest, `held ${rest.length} bytes, longest pattern ${longest}`);
    if (rest.length > 0)
      assert.ok(
        patterns.some(
          (pattern) =>
            pattern.bytes.length > rest.length && pattern.bytes.subarray(0, rest.length).equals(rest),
        ),
        "held bytes are a proper prefix of some pattern",
      );
  }
  out.push(masker.end());
  assert.equal(held(masker).length, 0);
  return Buffer.concat(out);
}

function assertNoSecret(secrets: readonly Maskable[], output: Buffer, label: string): void {
  for (const secret of secrets)
    for (const form of forms(secret.value))
      assert.ok(
        !output.includes(form),
        `${label}: ${secret.name} (${JSON.stringify(form.toString())}) is in the output`,
      );
}

/** True when some pattern's proper suffix is a proper prefix of some pattern (itself included). */
function overlapping(secrets: readonly Maskable[]): boolean {
  const bytes = maskPatterns(secrets).map((pattern) => pattern.bytes);
  for (const p of bytes)
    for (const q of bytes)
      for (let k = 1; k < Math.min(p.length, q.length); k++)
        if (p.subarray(p.length - k).equals(q.subarray(0, k))) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------

describe("properties: masking (mask.ts)", () => {
  test("masking in one piece leaves no secret, in any of its forms", () => {
    fc.assert(
      fc.property(
        secretsOf(secretUnit).chain((secrets) => fc.tuple(fc.constant(secrets), textWith(secrets))),
        ([secrets, text]) => {
          assertNoSecret(secrets, maskWhole(secrets, text), "whole");
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("chunking does not change the output when no pattern overlaps another (bounded hold-back)", () => {
    fc.assert(
      fc.property(
        secretsOf(fc.oneof(secretUnit, wideUnit, wideUnit))
          .filter((secrets) => !overlapping(secrets))
          .chain((secrets) => fc.tuple(fc.constant(secrets), textWith(secrets), cuts)),
        ([secrets, text, at]) => {
          const whole = maskWhole(secrets, text);
          const chunked = maskChunked(secrets, chunk(text, at));
          assertNoSecret(secrets, chunked, "chunked");
          assert.deepEqual(chunked.toString("latin1"), whole.toString("latin1"));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("chunking does not change the output, for any secrets (overlapping ones included)", () => {
    // Independent arbitraries over a two-letter alphabet: secrets overlap often and fast-check
    // shrinks to a minimal case (secret "aaaa", text "aaaaa" cut after 4 bytes).
    const ab = fc.string({ unit: fc.constantFrom("a", "b"), minLength: MIN_MASK_LENGTH, maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(ab, { minLength: 1, maxLength: 3 }),
        fc.string({ unit: fc.constantFrom("a", "a", "b", "c"), maxLength: 24 }),
        fc.oneof(fc.constant("bytes" as const), fc.array(fc.nat(), { maxLength: 12 })),
        (values, text, at) => {
          const secrets = values.map((value, i) => ({ name: `S${i}`, value }));
          const input = Buffer.from(text);
          const whole = maskWhole(secrets, input);
          const chunked = maskChunked(secrets, chunk(input, at));
          assert.equal(chunked.toString(), whole.toString());
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("text containing no secret passes through unchanged, whatever the chunking", () => {
    // The text is made of proper prefixes of the patterns (so the masker holds data back) joined by
    // a separator that no pattern contains ("|": URL-encoded as %7C, never JSON-escaped).
    fc.assert(
      fc.property(
        secretsOf(secretUnit.filter((c) => c !== "|")).chain((secrets) => {
          const all = secrets.flatMap((secret) => forms(secret.value));
          const prefix = fc
            .tuple(fc.constantFrom(...all), fc.nat())
            .map(([form, n]) => form.subarray(0, n % form.length));
          const text = fc
            .array(fc.oneof(prefix, fc.constant(Buffer.from("|"))), { maxLength: 16 })
            .map((pieces) => Buffer.concat(pieces.flatMap((p) => [p, Buffer.from("|")])));
          return fc.tuple(fc.constant(secrets), text, cuts);
        }),
        ([secrets, text, at]) => {
          // A prefix of one form can be another form (the raw `x\\` is a prefix of the JSON `x\\\\`).
          fc.pre(maskPatterns(secrets).every((pattern) => !text.includes(pattern.bytes)));
          assert.ok(maskWhole(secrets, text).equals(text));
          assert.ok(maskChunked(secrets, chunk(text, at)).equals(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("text with no secret at all passes through, arbitrary text and chunking", () => {
    fc.assert(
      fc.property(
        secretsOf(wideUnit),
        fc.string({ unit: "binary", maxLength: 60 }).map((s) => Buffer.from(s)),
        cuts,
        (secrets, text, at) => {
          fc.pre(maskPatterns(secrets).every((pattern) => !text.includes(pattern.bytes)));
          assert.ok(maskChunked(secrets, chunk(text, at)).equals(text));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
