/**
 * Property-based tests (fast-check) for the streaming masker (src/formats/mask.ts, with the forms it
 * masks in src/formats/mask-forms.ts and the automaton in src/formats/mask-matcher.ts): the output must
 * not depend on how the child's output is chunked, must contain no secret in any form the encoders
 * below write it (implemented here, independently: Python's, Go's, PHP's, JavaScript's JSON; percent-
 * encoders of both hex cases; base64 inside other bytes; line by line), must leave other text alone,
 * must equal a plain reference masker's, and must hold back no more than a proper prefix of some pattern.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Maskable, Masker, MIN_MASK_LENGTH, maskPatterns } from "../../src/formats/mask.ts";
import { FORMS_PER_LINE, FORMS_PER_SECRET } from "../../src/formats/mask-forms.ts";

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

/** The three plainest forms the masker hides, as bytes (the raw value, JSON-escaped, URL-encoded). */
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

/** Output text: filler and secrets in those three forms, and prefixes of them. */
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

  test("chunking does not change the output (bounded hold-back)", () => {
    fc.assert(
      fc.property(
        secretsOf(fc.oneof(secretUnit, wideUnit, wideUnit)).chain((secrets) =>
          fc.tuple(fc.constant(secrets), textWith(secrets), cuts),
        ),
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

// ---------------------------------------------------------------------------------------------
// Encoders as other programs write a string, implemented here from their documented rules (not
// from src/formats/mask-forms.ts): what a child prints must come out masked.

const hex = (code: number, width: number, upper: boolean) => {
  const digits = code.toString(16).padStart(width, "0");
  return upper ? digits.toUpperCase() : digits;
};

const JSON_SHORT: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** Python's json.dumps(value) with its default ensure_ascii=True: outside ' '..'~' as \uxxxx per UTF-16 unit. */
function pythonJson(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    const code = value.charCodeAt(i);
    out += JSON_SHORT[char] ?? (code >= 0x20 && code <= 0x7e ? char : `\\u${hex(code, 4, false)}`);
  }
  return out;
}

/** Go's json.Marshal (HTML-safe): <, >, &, U+2028, U+2029 and controls as \u00xx; other non-ASCII as is. */
function goJson(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (JSON_SHORT[char]) out += JSON_SHORT[char];
    else if (code < 0x20 || "<>&".includes(char) || code === 0x2028 || code === 0x2029)
      out += `\\u${hex(code, 4, false)}`;
    else out += char;
  }
  return out;
}

/** PHP's json_encode (default flags): "/" as "\/", non-ASCII as \uxxxx per UTF-16 unit. */
function phpJson(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    const code = value.charCodeAt(i);
    if (char === "/") out += "\\/";
    else if (JSON_SHORT[char]) out += JSON_SHORT[char];
    else if (code < 0x20 || code >= 0x80) out += `\\u${hex(code, 4, false)}`;
    else out += char;
  }
  return out;
}

/** Java's Jackson / .NET style: JSON.stringify's escapes with upper-case hex digits. */
function upperHexJson(value: string): string {
  return JSON.stringify(value)
    .slice(1, -1)
    .replace(/\\(u[0-9a-f]{4}|[^u])/g, (sequence, body: string) =>
      body.length === 5 ? `\\u${body.slice(1).toUpperCase()}` : sequence,
    );
}

/** Percent-encoding of the UTF-8 bytes: letters, digits and `safe` kept, space as "+" when `plus`. */
function percent(value: string, safe: string, upper: boolean, plus = false): string {
  let out = "";
  for (const byte of Buffer.from(value)) {
    const char = String.fromCharCode(byte);
    if (byte < 0x80 && (/[A-Za-z0-9]/.test(char) || safe.includes(char))) out += char;
    else if (plus && char === " ") out += "+";
    else out += `%${hex(byte, 2, upper)}`;
  }
  return out;
}

const lowerEscapes = (text: string) => text.replace(/%[0-9A-F]{2}/g, (sequence) => sequence.toLowerCase());

interface Printed {
  /** The text the program prints. */
  text: Buffer;
  /** Strings that must not be in the masked output. */
  secret: string[];
  /** Bytes no base64 run of the output may decode to (base64 encoders). */
  decoded?: Buffer;
}

interface Encoder {
  name: string;
  /** The value as a program prints it; `noise` is random bytes for the encoders that embed the value. */
  print(value: string, noise: [Buffer, Buffer]): Printed;
  /** Whether the masker promises to hide this form of `value` (default: always). */
  applies?(value: string): boolean;
}

const text = (name: string, encode: (value: string) => string): Encoder => ({
  name,
  print: (value) => {
    const encoded = encode(value);
    return { text: Buffer.from(encoded), secret: [encoded] };
  },
});

/** The value's bytes inside other bytes, then base64-encoded (so at any offset of a 3-byte group). */
const base64 = (name: string, encoding: "base64" | "base64url", padding: boolean): Encoder => ({
  name,
  applies: (value) => [...value].length >= 8,
  print: (value, [before, after]) => {
    let encoded = Buffer.concat([before, Buffer.from(value), after]).toString(encoding);
    encoded = padding ? encoded.padEnd(Math.ceil(encoded.length / 4) * 4, "=") : encoded.replace(/=+$/, "");
    return { text: Buffer.from(encoded), secret: [encoded], decoded: Buffer.from(value) };
  },
});

const ENCODERS: readonly Encoder[] = [
  text("raw", (v) => v),
  text("JSON.stringify", (v) => JSON.stringify(v).slice(1, -1)),
  text("Python json.dumps", pythonJson),
  text("Go json.Marshal", goJson),
  text("PHP json_encode", phpJson),
  text("JSON, upper-case hex", upperHexJson),
  text("encodeURIComponent", encodeURIComponent),
  text("encodeURIComponent, lower-case hex", (v) => lowerEscapes(encodeURIComponent(v))),
  text("encodeURI", encodeURI),
  text("Python quote", (v) => percent(v, "_.-~/", true)),
  text("Python quote, lower-case hex", (v) => percent(v, "_.-~/", false)),
  text("Python quote_plus", (v) => percent(v, "_.-~", true, true)),
  text("Python quote_plus, lower-case hex", (v) => percent(v, "_.-~", false, true)),
  text("every byte %XX", (v) => [...Buffer.from(v)].map((byte) => `%${hex(byte, 2, true)}`).join("")),
  base64("base64", "base64", true),
  base64("base64, no padding", "base64", false),
  base64("base64url", "base64url", false),
  base64("base64url, padded", "base64url", true),
  {
    // A logger that prints a multi-line value line by line, each with its prefix.
    name: "line by line with a prefix",
    print: (value) => {
      const lines = value.split(/\r?\n/);
      const printed = lines.map((line) => `[INFO] ${line}\n`).join("");
      const secret = lines.map((line) => line.trim()).filter((line) => line.length >= 4);
      return { text: Buffer.from(printed), secret };
    },
  },
];

/** Characters of secrets for the encoders: every class an encoder treats differently. Never "[" or "]". */
const encodedUnit = fc.oneof(
  { arbitrary: fc.constantFrom("a", "Z", "7", "-", "_", ".", "~"), weight: 6 },
  {
    arbitrary: fc.constantFrom(
      " ",
      "/",
      "<",
      ">",
      "&",
      '"',
      "\\",
      "'",
      "+",
      "%",
      "=",
      "?",
      "#",
      ":",
      "*",
      "!",
    ),
    weight: 4,
  },
  { arbitrary: fc.constantFrom("\n", "\r\n", "\t", "\x01", "\x7f", "\b", "\f"), weight: 2 },
  { arbitrary: fc.constantFrom("ä", "é", "ß", "€", "\u2028", "\u2029", "\ufeff", "\u00a0"), weight: 3 },
  { arbitrary: fc.constantFrom("😀", "𝄞", "🔑"), weight: 2 },
  {
    arbitrary: fc
      .string({ unit: "binary", minLength: 1, maxLength: 1 })
      .filter((c) => c !== "[" && c !== "]"),
    weight: 2,
  },
);

const encodedSecret = fc
  .oneof(
    fc.string({ unit: encodedUnit, minLength: MIN_MASK_LENGTH, maxLength: 24 }),
    // Multi-line values (keys, certificates): lines of letters and symbols, some short or blank.
    fc
      .tuple(
        fc.array(fc.string({ unit: encodedUnit, maxLength: 12 }), { minLength: 2, maxLength: 4 }),
        fc.constantFrom("\n", "\r\n"),
      )
      .map(([lines, eol]) => lines.join(eol)),
  )
  .filter((value) => value.length >= MIN_MASK_LENGTH);

const noise = fc.string({ unit: "binary", maxLength: 6 }).map((s) => Buffer.from(s));
/** Random bytes (0–5 of them) around a value that is then base64-encoded. */
const embedding = fc.tuple(
  fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a)),
);

/** The bytes of every base64 run of `output`, decoded at each of the 4 character offsets. */
function base64Decodings(output: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (const [run] of output.toString("latin1").matchAll(/[A-Za-z0-9+/_-]+/g)) {
    for (let offset = 0; offset < 4; offset++) {
      const part = run.slice(offset, offset + Math.floor((run.length - offset) / 4) * 4);
      if (part.length >= 4) out.push(Buffer.from(part.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
    }
  }
  return out;
}

const ENCODER_RUNS = 1000;
const checked = { secrets: 0, printed: 0, byEncoder: new Map<string, number>() };

describe("properties: masking what other programs print", () => {
  test(`streaming through the masker leaks no secret as ${ENCODERS.length} encoders print it`, () => {
    fc.assert(
      fc.property(
        fc.array(encodedSecret, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(noise, noise, embedding, cuts), {
          minLength: ENCODERS.length,
          maxLength: ENCODERS.length,
        }),
        (values, settings) => {
          const secrets = values.map((value, i): Maskable => ({ name: `S${i}`, value }));
          const markers = replacements(secrets).map((m) => m.toString());
          const patterns = maskPatterns(secrets);
          ENCODERS.forEach((encoder, e) => {
            const [before, after, around, at] = settings[e]!;
            const printed = secrets
              .filter((secret) => encoder.applies?.(secret.value) ?? true)
              .map((secret) => encoder.print(secret.value, around));
            if (printed.length === 0) return;
            const mustHide = printed.flatMap((p) => p.secret);
            // A form that is part of a marker is "found" in correctly masked output.
            fc.pre(mustHide.every((form) => markers.every((marker) => !marker.includes(form))));
            const input = Buffer.concat([before, ...printed.flatMap((p) => [p.text, after])]);
            const masker = new Masker(patterns);
            const output = Buffer.concat([
              ...chunk(input, at).map((piece) => masker.push(piece)),
              masker.end(),
            ]);
            for (const form of mustHide)
              assert.ok(
                !output.includes(form),
                `${encoder.name}: ${JSON.stringify(form)} is in the output ${JSON.stringify(output.toString())}`,
              );
            for (const p of printed)
              if (p.decoded)
                for (const bytes of base64Decodings(output))
                  assert.ok(
                    !bytes.includes(p.decoded),
                    `${encoder.name}: a base64 run decodes to the secret`,
                  );
            checked.printed += printed.length;
            checked.byEncoder.set(encoder.name, (checked.byEncoder.get(encoder.name) ?? 0) + printed.length);
          });
          checked.secrets += secrets.length;
        },
      ),
      { numRuns: ENCODER_RUNS },
    );
    // The counts the README states: at least ENCODER_RUNS secrets, each encoder on most of them.
    assert.ok(checked.secrets >= ENCODER_RUNS, `${checked.secrets} secrets`);
    for (const encoder of ENCODERS)
      assert.ok(
        (checked.byEncoder.get(encoder.name) ?? 0) >= ENCODER_RUNS / 2,
        `${encoder.name}: only ${checked.byEncoder.get(encoder.name)} secrets`,
      );
  });

  test("the masker agrees with a plain reference masker, long patterns and any chunking included", () => {
    // Patterns longer than the automaton's 32-byte keys, sharing long prefixes, over a 2-letter
    // alphabet: occurrences overlap, nest and are cut at every place.
    const piece = fc.string({ unit: fc.constantFrom("a", "b"), minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(piece, piece).map(([p, q]) => p + q),
          { minLength: 1, maxLength: 4 },
        ),
        fc.array(fc.constantFrom("a", "b", "c", "aaaaaaaaaaaaaaaa", "abababababababab"), { maxLength: 40 }),
        cuts,
        (bodies, pieces, at) => {
          const patterns = bodies.map((body, i) => ({
            bytes: Buffer.from(body),
            replacement: Buffer.from(`<${i}>`),
          }));
          const input = Buffer.from(pieces.join(""));
          const masker = new Masker(patterns);
          const output = Buffer.concat([...chunk(input, at).map((p) => masker.push(p)), masker.end()]);
          assert.equal(output.toString(), referenceMask(patterns, input).toString());
        },
      ),
      { numRuns: 1500 },
    );
  });

  test("the same, with the patterns maskPatterns makes of secrets", () => {
    fc.assert(
      fc.property(
        fc
          .array(encodedSecret, { minLength: 1, maxLength: 3 })
          .map((values) => values.map((value, i): Maskable => ({ name: `S${i}`, value })))
          .chain((secrets) => fc.tuple(fc.constant(secrets), textWith(secrets), cuts)),
        ([secrets, input, at]) => {
          const patterns = maskPatterns(secrets);
          assert.equal(
            maskChunked(secrets, chunk(input, at)).toString("latin1"),
            referenceMask(patterns, input).toString("latin1"),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("no pattern is shorter than 4 bytes or blank (but a blank value); no base64 form under 8 characters", () => {
    fc.assert(
      fc.property(encodedSecret, (value) => {
        const patterns = maskPatterns([{ name: "S", value }]).map((p) => p.bytes.toString());
        for (const pattern of patterns) {
          assert.ok(Buffer.byteLength(pattern) >= MIN_MASK_LENGTH, JSON.stringify(pattern));
          // A blank pattern only when the value itself is blank (lines never are).
          assert.ok(pattern.trim().length > 0 || pattern === value, JSON.stringify(pattern));
        }
        if ([...value].length < 8) {
          // Every pattern is then the value, an escaping of it, or of one of its lines.
          const base64Alone = Buffer.from(value).toString("base64");
          assert.ok(!patterns.some((p) => p !== value && base64Alone.includes(p) && p.length < 8));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("mask forms: examples", () => {
  const patternsOf = (value: string) => maskPatterns([{ name: "S", value }]).map((p) => p.bytes.toString());

  test("Python, Go and PHP JSON, quote and quote_plus, lower-case escapes, base64 at each offset", () => {
    const value = "pä/ss <w>&rd 🔑";
    const all = patternsOf(value);
    for (const expected of [
      "p\\u00e4/ss <w>&rd \\ud83d\\udd11", // json.dumps
      "p\\u00E4/ss <w>&rd \\uD83D\\uDD11",
      "pä/ss \\u003cw\\u003e\\u0026rd 🔑", // Go
      "p\\u00e4\\/ss <w>&rd \\ud83d\\udd11", // PHP
      "p%C3%A4/ss%20%3Cw%3E%26rd%20%F0%9F%94%91", // quote
      "p%c3%a4%2fss+%3cw%3e%26rd+%f0%9f%94%91", // quote_plus, lower case
      "p%C3%A4/ss%20%3Cw%3E&rd%20%F0%9F%94%91", // encodeURI
      Buffer.from(value).toString("base64"),
      Buffer.from(value).toString("base64url"),
    ])
      assert.ok(all.includes(expected), `${expected} is not a pattern`);
    for (const offset of [0, 1, 2]) {
      const encoded = Buffer.concat([
        Buffer.alloc(offset, 0xff),
        Buffer.from(value),
        Buffer.from([0xff]),
      ]).toString("base64");
      assert.ok(
        all.some((p) => p.length >= 8 && encoded.includes(p)),
        `no base64 pattern at offset ${offset}`,
      );
    }
  });

  test("lines of a multi-line value of 4 characters or more, trimmed; short and blank lines are not", () => {
    const all = patternsOf("-----BEGIN KEY-----\r\nab\n    \n  MIIEvQIB  \nxyz\n");
    assert.ok(all.includes("-----BEGIN KEY-----"));
    assert.ok(all.includes("MIIEvQIB"));
    for (const short of ["ab", "xyz", "    ", "  MIIEvQIB  "]) assert.ok(!all.includes(short), short);
  });

  test("values under 8 characters get no base64 forms", () => {
    assert.deepEqual(patternsOf("abcdefg").sort(), ["%61%62%63%64%65%66%67", "abcdefg"]);
    assert.ok(patternsOf("abcdefgh").includes("YWJjZGVmZ2"));
  });

  test(`${FORMS_PER_SECRET} encoder forms per secret and ${FORMS_PER_LINE} per line, as the README says`, () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
    assert.match(readme, new RegExp(`${FORMS_PER_SECRET} encoder forms per secret`));
    assert.match(readme, new RegExp(`${FORMS_PER_LINE} for each line`));
    assert.match(readme, new RegExp(`${ENCODER_RUNS} random secrets × ${ENCODERS.length} encoders`));
  });
});

/** The masking the masker must equal: every occurrence of every pattern, by indexOf, merged into runs. */
function referenceMask(patterns: readonly { bytes: Buffer; replacement: Buffer }[], input: Buffer): Buffer {
  const found: [number, number, Buffer][] = [];
  for (const pattern of patterns)
    for (let at = input.indexOf(pattern.bytes); at !== -1; at = input.indexOf(pattern.bytes, at + 1))
      found.push([at, at + pattern.bytes.length, pattern.replacement]);
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const parts: Buffer[] = [];
  let cursor = 0;
  let runEnd = -1;
  for (const [start, end, replacement] of found) {
    if (start < runEnd) {
      runEnd = Math.max(runEnd, end);
      continue;
    }
    if (runEnd > cursor) cursor = runEnd;
    parts.push(input.subarray(cursor, start), replacement);
    cursor = start;
    runEnd = end;
  }
  if (runEnd > cursor) cursor = runEnd;
  parts.push(input.subarray(cursor));
  return Buffer.concat(parts);
}
