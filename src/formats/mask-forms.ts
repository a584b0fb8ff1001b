/**
 * The forms a secret value takes in a program's output, each of which `run` masks (src/formats/mask.ts):
 *
 *   - the value itself;
 *   - JSON-escaped, as the common encoders write a string: JavaScript's JSON.stringify, Python's
 *     json.dumps (ensure_ascii: every non-ASCII character as \uXXXX, astral ones as a surrogate pair),
 *     Go's encoding/json (HTML-safe \u003c \u003e \u0026, \u2028 \u2029; also before Go 1.22 and
 *     without HTML escaping), PHP's json_encode (\/, non-ASCII as \uXXXX; also JSON_UNESCAPED_UNICODE),
 *     .NET's System.Text.Json; each with lower- and upper-case hex digits;
 *   - percent-encoded: encodeURIComponent, encodeURI, Python's quote (safe "/") and quote_plus (Go's
 *     QueryEscape), RFC 3986 (PHP's rawurlencode), application/x-www-form-urlencoded (Java's URLEncoder),
 *     PHP's urlencode, and every byte escaped; each with lower- and upper-case hex digits;
 *   - base64 and base64url of values of 8 characters or more: the part of the encoding that the value
 *     alone decides, for each of the three byte offsets it can have in a larger encoded run, and the
 *     value encoded on its own, with and without padding;
 *   - each line of a multi-line value (split on \n and \r\n, surrounding blanks trimmed) that has 4
 *     characters or more, itself and JSON-escaped, so that a value printed line by line with a prefix
 *     is masked too.
 *
 * Loading this module only defines the tables below; forms are computed when asked for (when `run` masks).
 */

/** Values and forms shorter than this are not masked (masking "1" would destroy the output). */
export const MIN_MASK_LENGTH = 4;
/** Values with fewer characters get no base64 forms (a short value's inner base64 chunk is too short). */
export const MIN_BASE64_CHARACTERS = 8;
/** An inner base64 chunk shorter than this is never a pattern (it could match anything base64). */
export const MIN_BASE64_FORM_LENGTH = 8;
/** Lines of a multi-line value shorter than this (once trimmed) are not masked on their own. */
export const MIN_LINE_LENGTH = 4;

interface JsonStyle {
  /** Non-ASCII characters as \uXXXX (astral characters as a surrogate pair). */
  ascii?: boolean;
  /** DEL (U+007F) as \u007f. */
  del?: boolean;
  /** ASCII characters written as \u00XX ('"' included: then not as \"). */
  hex?: string;
  /** "/" as "\/". */
  slash?: boolean;
  /** U+2028 and U+2029 as \u2028 and \u2029. */
  lineTerminators?: boolean;
  /** Backspace and form feed as \u0008 and \u000c instead of \b and \f. */
  longControls?: boolean;
}

/** The JSON string encoders; each is also applied with upper-case hex digits. */
const JSON_STYLES: Readonly<Record<string, JsonStyle>> = {
  // JSON.stringify; also Python with ensure_ascii=False, Rust's serde_json, Java's Jackson (upper case).
  js: {},
  // json.dumps with its default ensure_ascii=True.
  python: { ascii: true, del: true },
  // encoding/json: json.Marshal and Encoder (HTML-safe by default).
  go: { hex: "<>&", lineTerminators: true },
  // encoding/json before Go 1.22 (\b and \f as \u0008, \u000c).
  "go-1.21": { hex: "<>&", lineTerminators: true, longControls: true },
  // Encoder.SetEscapeHTML(false).
  "go-unescaped-html": { lineTerminators: true },
  // json_encode with default flags.
  php: { ascii: true, slash: true },
  // json_encode with JSON_UNESCAPED_UNICODE.
  "php-unescaped-unicode": { slash: true, lineTerminators: true },
  // System.Text.Json with JavaScriptEncoder.Default.
  dotnet: { ascii: true, del: true, hex: "\"<>&'+`" },
};

/** The percent escape of an ASCII character, in the hex case being written ("/": "%2F" or "%2f"). */
type Escape = (char: string) => string;

/** RFC 3986 from encodeURIComponent's output: !'()* escaped too (only -_.~ left of the marks). */
const rfc3986 = (component: string, pct: Escape) =>
  component
    .replaceAll("!", pct("!"))
    .replaceAll("'", pct("'"))
    .replaceAll("(", pct("("))
    .replaceAll(")", pct(")"))
    .replaceAll("*", pct("*"));

interface PercentEncoder {
  /** The characters it writes unlike encodeURIComponent (absent: encodeURIComponent itself). */
  differs?: RegExp;
  /** From encodeURIComponent's output, its escapes in the case `pct` writes. */
  encode(component: string, pct: Escape): string;
}

/**
 * The percent-encoders but "every byte escaped", each applied with upper- and lower-case hex digits,
 * derived from the output of encodeURIComponent (which leaves ASCII letters, digits and -_.!~*'() as
 * they are: a "%" in it always starts an escape, as a "%" in the value is written %25).
 */
const PERCENT_ENCODERS: Readonly<Record<string, PercentEncoder>> = {
  encodeURIComponent: { encode: (component) => component },
  encodeURI: {
    differs: /[;,/?:@&=+$#]/,
    encode: (component, pct) => {
      let uri = component;
      for (const char of ";,/?:@&=+$#") uri = uri.replaceAll(pct(char), char);
      return uri;
    },
  },
  // urllib.parse.quote (safe="/").
  quote: { differs: /[!'()*/]/, encode: (c, pct) => rfc3986(c, pct).replaceAll(pct("/"), "/") },
  // urllib.parse.quote_plus; Go's url.QueryEscape.
  quote_plus: {
    differs: /[!'()* ]/,
    encode: (c, pct) => rfc3986(c, pct).replaceAll(pct(" "), "+"),
  },
  // RFC 3986 unreserved only: PHP's rawurlencode, Python's quote(safe="").
  rfc3986: { differs: /[!'()*]/, encode: rfc3986 },
  // application/x-www-form-urlencoded (WHATWG URLSearchParams, Java's URLEncoder): -_.* kept.
  form: {
    differs: /[!'()~ ]/,
    encode: (c, pct) =>
      rfc3986(c, pct).replaceAll("~", pct("~")).replaceAll(pct("*"), "*").replaceAll(pct(" "), "+"),
  },
  // PHP's urlencode: -_. kept.
  urlencode: {
    differs: /[!'()*~ ]/,
    encode: (c, pct) => rfc3986(c, pct).replaceAll("~", pct("~")).replaceAll(pct(" "), "+"),
  },
};

/** The characters the encoders above escape or unescape, and their escapes in each case (made once). */
const ESCAPED = "!'()*/ ~;,?:@&=+$#";
let escapes: [Escape, Escape] | undefined;

function percentEscapes(): [Escape, Escape] {
  if (!escapes) {
    const upper = new Map<string, string>();
    const lower = new Map<string, string>();
    for (const char of ESCAPED) {
      const hex = char.charCodeAt(0).toString(16).toUpperCase();
      upper.set(char, `%${hex}`);
      lower.set(char, `%${hex.toLowerCase()}`);
    }
    escapes = [(char) => upper.get(char)!, (char) => lower.get(char)!];
  }
  return escapes;
}

/** The percent-encoded forms of a value, upper- and lower-case hex (equal forms more than once). */
function percentForms(value: string, bytes: Buffer): string[] {
  // Every byte escaped (letters and digits too): the only form that differs from a value of
  // letters, digits and -_. alone.
  const everyByte = bytes.toString("hex").replace(/../g, "%$&");
  const out = [everyByte.toUpperCase(), everyByte];
  if (PERCENT_PLAIN.test(value)) return out;
  const upper = encodeURIComponent(value.toWellFormed()); // a lone surrogate: U+FFFD, as in `bytes`
  const lower = upper.replace(/%[0-9A-F]{2}/g, (sequence) => sequence.toLowerCase());
  const [upperEscape, lowerEscape] = percentEscapes();
  for (const { differs, encode } of Object.values(PERCENT_ENCODERS)) {
    if (differs && !differs.test(value)) continue; // as encodeURIComponent writes it
    out.push(encode(upper, upperEscape), encode(lower, lowerEscape));
  }
  return out;
}

/** Printable ASCII that no JSON style escapes. */
const JSON_PLAIN = /^[^\x00-\x1f"\\/<>&'+`\x7f-\uffff]*$/;
/** What only the every-byte percent-encoder escapes. */
const PERCENT_PLAIN = /^[A-Za-z0-9_.-]*$/;

/** Base64 forms: 2 alphabets × (3 inner alignments + the value on its own, padded and not). */
const BASE64_FORMS = 2 * (3 + 2);

/** How many encoder forms each secret value is masked in (before equal forms are merged). */
export const FORMS_PER_SECRET =
  1 + 2 * Object.keys(JSON_STYLES).length + 2 * (Object.keys(PERCENT_ENCODERS).length + 1) + BASE64_FORMS;
/** How many forms each line of a multi-line value is masked in: the line and its JSON encodings. */
export const FORMS_PER_LINE = 1 + 2 * Object.keys(JSON_STYLES).length;

/**
 * The distinct forms of a value to mask, each at least MIN_MASK_LENGTH characters long (the value
 * itself first). Empty for a value shorter than MIN_MASK_LENGTH.
 */
export function secretForms(value: string): string[] {
  if (value.length < MIN_MASK_LENGTH) return [];
  const forms = new Set<string>();
  const add = (form: string, min = MIN_MASK_LENGTH) => {
    if (form.length >= min) forms.add(form);
  };
  add(value);
  for (const form of jsonForms(value)) add(form);
  const bytes = Buffer.from(value);
  for (const form of percentForms(value, bytes)) add(form);
  if (hasCharacters(value, MIN_BASE64_CHARACTERS)) {
    for (const form of base64Forms(bytes)) add(form, MIN_BASE64_FORM_LENGTH);
  }
  if (value.includes("\n")) {
    for (const rawLine of value.split(/\r?\n/)) {
      const line = rawLine.trim();
      if (line.length < MIN_LINE_LENGTH) continue;
      add(line);
      for (const form of jsonForms(line)) add(form);
    }
  }
  return [...forms];
}

/** A value JSON-escaped by each style, with lower- and upper-case hex (equal forms more than once). */
function jsonForms(value: string): string[] {
  if (JSON_PLAIN.test(value)) return []; // every form is the value itself
  // JSON.stringify is the plainest style. Each other style is reduced to what it does to this value's
  // characters (Go before and after 1.22 only differ on \b and \f) and written once per reduction.
  const js = JSON.stringify(value).slice(1, -1);
  const out = js.includes("\\u") ? jsonEscape(value, {}) : [js];
  const nonAscii = /[\x80-\uffff]/.test(value);
  const present = {
    del: value.includes("\x7f"),
    slash: value.includes("/"),
    lineTerminators: /[\u2028\u2029]/.test(value),
    longControls: /[\b\f]/.test(value),
  };
  const written = new Set<string>();
  for (const style of Object.values(JSON_STYLES)) {
    let hex = "";
    for (const char of style.hex ?? "") if (value.includes(char)) hex += char;
    const reduced: JsonStyle = {
      ascii: nonAscii && style.ascii,
      del: present.del && style.del,
      hex,
      slash: present.slash && style.slash,
      // Escaped as non-ASCII anyway by an ASCII-only style.
      lineTerminators: present.lineTerminators && style.lineTerminators && !style.ascii,
      longControls: present.longControls && style.longControls,
    };
    const flags = [reduced.ascii, reduced.del, reduced.slash, reduced.lineTerminators, reduced.longControls];
    const key = flags.map((flag) => (flag ? 1 : 0)).join("") + hex;
    if (key === "00000" || written.has(key)) continue; // as JSON.stringify, or written already
    written.add(key);
    out.push(...jsonEscape(value, reduced));
  }
  return out;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\t": "\\t",
  "\n": "\\n",
  "\f": "\\f",
  "\r": "\\r",
};

/** Characters some style escapes (a surrogate pair is one match). */
const JSON_SPECIAL = /[\ud800-\udbff][\udc00-\udfff]|[^\x20-\x7e]|["\\/<>&'+`]/g;

/**
 * The inside of a JSON string literal for `value` (no quotes), as an encoder of `style` writes it,
 * with lower-case hex digits and with upper-case ones.
 */
function jsonEscape(value: string, style: JsonStyle): [string, string] {
  let lower = "";
  let upper = "";
  let copied = 0; // value[0, copied) is written
  const put = (at: number, length: number, asLower: string, asUpper = asLower) => {
    const plain = value.slice(copied, at);
    lower += plain + asLower;
    upper += plain + asUpper;
    copied = at + length;
  };
  const hex = (at: number, code: number) => {
    const digits = code.toString(16).padStart(4, "0");
    put(at, 1, `\\u${digits}`, `\\u${digits.toUpperCase()}`);
  };
  for (const { 0: char, index: at } of value.matchAll(JSON_SPECIAL)) {
    const code = char.charCodeAt(0);
    if (char.length === 2) {
      // An astral character: a surrogate pair, or as it is.
      if (style.ascii) {
        hex(at, code);
        hex(at + 1, char.charCodeAt(1));
      }
    } else if (code < 0x80) {
      const short = SHORT_ESCAPES[char];
      const long = style.longControls && (code === 0x08 || code === 0x0c);
      if (style.hex?.includes(char) || (code < 0x20 && (!short || long))) hex(at, code);
      else if (short) put(at, 1, short);
      else if (char === "/" && style.slash) put(at, 1, "\\/");
      else if (code === 0x7f && style.del) hex(at, code);
    } else if (
      style.ascii ||
      (style.lineTerminators && (code === 0x2028 || code === 0x2029)) ||
      (code >= 0xd800 && code <= 0xdfff) // a lone surrogate: JSON.stringify escapes it
    )
      hex(at, code);
  }
  const rest = value.slice(copied);
  return [lower + rest, upper + rest];
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Base64 and base64url forms of `bytes` (2 or more). Inside a larger encoded run the value starts at
 * byte offset 0, 1 or 2 of a 3-byte group; for each offset, the characters whose 6 bits all come from
 * the value are the same whatever surrounds it: at offset 0 the start of the value's own encoding; at
 * offset 1 the last two characters of the first group, then the encoding of the value from its third
 * byte; at offset 2 the last character of the first group, then the encoding from its second byte.
 * Plus the value encoded on its own, with and without "=" padding.
 */
function base64Forms(bytes: Buffer): string[] {
  const determined = (encoded: string, length: number) => encoded.slice(0, Math.floor((8 * length) / 6));
  const whole = bytes.toString("base64");
  const [b0, b1] = [bytes[0]!, bytes[1]!];
  const inner = [
    determined(whole, bytes.length),
    BASE64[((b0 & 0x0f) << 2) | (b1 >> 6)]! +
      BASE64[b1 & 0x3f] +
      determined(bytes.toString("base64", 2), bytes.length - 2),
    BASE64[b0 & 0x3f] + determined(bytes.toString("base64", 1), bytes.length - 1),
  ];
  const unpadded = whole.endsWith("==")
    ? whole.slice(0, -2)
    : whole.endsWith("=")
      ? whole.slice(0, -1)
      : whole;
  return [...inner, whole, unpadded].flatMap((form) => [form, toUrl(form)]);
}

function toUrl(base64: string): string {
  return base64.replaceAll("+", "-").replaceAll("/", "_");
}

/** Whether `value` has at least `count` characters (code points). */
function hasCharacters(value: string, count: number): boolean {
  return value.length >= 2 * count || (value.length >= count && [...value].length >= count);
}
