/**
 * The engine of `tessera scan`: find where secret values leaked, never saying what they are.
 *
 * Every secret value of MIN_SCAN_LENGTH characters or more is turned into the forms masking already
 * builds (../formats/mask-forms.ts: the value, JSON-escaped, percent-encoded, base64 and base64url at
 * the three alignments) plus hex in both cases; all forms of all values go into one Aho–Corasick
 * automaton (../formats/mask-matcher.ts), so that each file is read once, in chunks, whatever the
 * number of values. A finding names the place, the variable, the form and the layer the value came
 * from: never the value, nor any part of it.
 */
import { createReadStream, readFileSync, statSync } from "node:fs";
import { secretForms } from "../formats/mask-forms.js";
import { Matcher } from "../formats/mask-matcher.js";

/** Values shorter than this are not looked for (too many false alarms). */
export const MIN_SCAN_LENGTH = 6;
/** Bytes read at a time from a file. */
export const CHUNK_SIZE = 1 << 20;

export type FormName = "raw" | "json-escaped" | "percent-encoded" | "base64" | "base64url" | "hex";

/** A secret to look for: a variable's value, where it came from and (with --all-profiles) the profile. */
export interface ScanSecret {
  name: string;
  value: string;
  /** The layer the value came from (origin.where). */
  layer: string;
  profile?: string;
}

/** Who a pattern belongs to (never the pattern). */
export interface PatternOwner {
  variable: string;
  form: FormName;
  layer: string;
  profile?: string;
}

/** Where a finding is: a file of the working tree, a staged blob, a commit's blob, an image layer. */
export interface Place {
  /** Path as shown (relative to the cwd, or inside the layer). */
  path: string;
  /** --history: the commit that added this version of the file. */
  commit?: string;
  /** --staged: the finding is in the staged version. */
  staged?: boolean;
  /** --image: the layer's digest (sha256 of the uncompressed layer), or "config". */
  layer?: string;
}

export interface Finding extends Place {
  line: number;
  variable: string;
  form: FormName;
  /** Where the value came from (the layer of the winning origin). */
  origin: string;
  profile?: string;
}

/** The patterns for a set of secrets: one matcher, and who owns each pattern. */
export interface Patterns {
  matcher: Matcher;
  owners: PatternOwner[][];
  /** How many variables (with a value long enough) are looked for. */
  secrets: number;
}

/** Name the form of `form`, one of secretForms(value) or a hex form. */
export function classifyForm(value: string, form: string): FormName {
  if (form === value) return "raw";
  if (form.includes("\\")) {
    try {
      const decoded = JSON.parse(`"${form}"`) as string;
      if (decoded === value || value.includes(decoded)) return "json-escaped";
    } catch {
      // not a JSON string
    }
  }
  if (value.includes(form)) return "raw"; // a line of a multi-line value
  if (form.includes("%")) return "percent-encoded";
  if (/[-_]/.test(form) && /^[A-Za-z0-9_-]+$/.test(form)) return "base64url";
  if (/^[A-Za-z0-9+/]+=*$/.test(form)) {
    // `quote_plus` writes a space as "+": such a form decodes back to the value.
    if (form.includes("+") && form.replaceAll("+", " ") === value) return "percent-encoded";
    return "base64";
  }
  return "percent-encoded";
}

/** The forms of one value to look for, each with its name (distinct forms only). */
export function scanForms(value: string): { form: string; name: FormName }[] {
  if (value.length < MIN_SCAN_LENGTH) return [];
  const out = new Map<string, FormName>();
  for (const form of secretForms(value)) {
    if (form.length >= MIN_SCAN_LENGTH) out.set(form, classifyForm(value, form));
  }
  const bytes = Buffer.from(value);
  if (!out.has(bytes.toString("base64")) && bytes.length >= MIN_SCAN_LENGTH) {
    // Short values (under 8 characters) get no base64 forms from masking: their whole encoding.
    const whole = bytes.toString("base64");
    out.set(whole, "base64");
    out.set(whole.replace(/=+$/, ""), "base64");
    const url = bytes.toString("base64url");
    if (!out.has(url)) out.set(url, "base64url");
  }
  const hex = bytes.toString("hex");
  if (!out.has(hex)) out.set(hex, "hex");
  if (!out.has(hex.toUpperCase())) out.set(hex.toUpperCase(), "hex");
  return [...out].map(([form, name]) => ({ form, name }));
}

/** Build the automaton over every form of every secret (the same pattern owned by several is one pattern). */
export function buildPatterns(secrets: readonly ScanSecret[]): Patterns {
  const index = new Map<string, number>();
  const patterns: Buffer[] = [];
  const owners: PatternOwner[][] = [];
  const seen = new Set<string>();
  let count = 0;
  for (const secret of secrets) {
    const forms = scanForms(secret.value);
    if (forms.length === 0) continue;
    count++;
    for (const { form, name } of forms) {
      let at = index.get(form);
      if (at === undefined) {
        at = patterns.length;
        index.set(form, at);
        patterns.push(Buffer.from(form));
        owners.push([]);
      }
      const key = `${at}\0${secret.name}\0${name}\0${secret.layer}\0${secret.profile ?? ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const owner: PatternOwner = { variable: secret.name, form: name, layer: secret.layer };
      if (secret.profile !== undefined) owner.profile = secret.profile;
      owners[at]!.push(owner);
    }
  }
  return { matcher: new Matcher(patterns), owners, secrets: count };
}

/**
 * A streaming search over one file's bytes: feed chunks in order, then finish. Occurrences that span
 * two chunks are found (the automaton reports where a partial occurrence may start; those bytes are
 * carried into the next chunk), and the line of each is counted from the newlines before it.
 */
export class StreamScan {
  private carry: Buffer = Buffer.alloc(0);
  /** Newlines before carry[0]. */
  private linesBefore = 0;
  private readonly found = new Map<string, Finding>();

  constructor(
    private readonly patterns: Patterns,
    private readonly place: Place,
  ) {}

  push(chunk: Buffer): void {
    const text = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const old = this.carry.length;
    const { occurrences, partialFrom } = this.patterns.matcher.scan(text);
    let cursor = 0;
    let lines = this.linesBefore;
    for (let k = 0; k < occurrences.length; k += 3) {
      const start = occurrences[k]!;
      const end = occurrences[k + 1]!;
      if (end <= old) continue; // complete in the previous chunk: reported then
      lines += countNewlines(text, cursor, start);
      cursor = start;
      this.report(lines + 1, occurrences[k + 2]!);
    }
    // Keep what could still complete an occurrence, and never more than the longest pattern needs.
    const cut = Math.max(partialFrom, 0);
    this.linesBefore += countNewlines(text, 0, cut);
    this.carry = cut < text.length ? Buffer.from(text.subarray(cut)) : Buffer.alloc(0);
  }

  /** The findings, in the order of the file. */
  finish(): Finding[] {
    return [...this.found.values()];
  }

  private report(line: number, pattern: number): void {
    for (const owner of this.patterns.owners[pattern]!) {
      const key = `${line}\0${owner.variable}\0${owner.form}\0${owner.profile ?? ""}`;
      if (this.found.has(key)) continue;
      const finding: Finding = {
        ...this.place,
        line,
        variable: owner.variable,
        form: owner.form,
        origin: owner.layer,
      };
      if (owner.profile !== undefined) finding.profile = owner.profile;
      this.found.set(key, finding);
    }
  }
}

function countNewlines(text: Buffer, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf(10, from); at !== -1 && at < to; at = text.indexOf(10, at + 1)) count++;
  return count;
}

/** Search a buffer held in memory (a blob, a file inside an image layer), in chunks. */
export function scanBuffer(patterns: Patterns, place: Place, bytes: Buffer): Finding[] {
  const scan = new StreamScan(patterns, place);
  for (let at = 0; at < bytes.length; at += CHUNK_SIZE) scan.push(bytes.subarray(at, at + CHUNK_SIZE));
  return scan.finish();
}

/** Files up to this size are read whole (one read, no stream); larger ones are streamed in chunks. */
const READ_WHOLE = 8 * CHUNK_SIZE;

/** Search a file on disk: read at once when small, else streamed in chunks. */
export async function scanFile(patterns: Patterns, place: Place, file: string): Promise<Finding[]> {
  if (statSync(file).size <= READ_WHOLE) return scanBuffer(patterns, place, readFileSync(file));
  const scan = new StreamScan(patterns, place);
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_SIZE })) scan.push(chunk as Buffer);
  return scan.finish();
}

/** Where a finding is, as one would type it: path:line, with the commit, stage or image layer. */
export function describePlace(finding: Finding): string {
  const where = `${finding.path}:${finding.line}`;
  if (finding.commit) return `${finding.commit.slice(0, 12)}:${where}`;
  if (finding.staged) return `${where} (staged)`;
  if (finding.layer)
    return `${finding.layer === "config" ? "image config" : `layer ${finding.layer}`}: ${where}`;
  return where;
}

/** One line per finding, for people. */
export function formatFinding(finding: Finding): string {
  const profile = finding.profile !== undefined ? `, profile ${finding.profile}` : "";
  return `${describePlace(finding)}: ${finding.variable} (${finding.form}; value from ${finding.origin}${profile})`;
}

/** The findings as SARIF 2.1.0, for code-scanning uploads (GitHub, GitLab, Azure DevOps). */
export function toSarif(findings: readonly Finding[], version: string): Record<string, unknown> {
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "tessera",
            version,
            informationUri: "https://github.com/tessera-cli/tessera#tessera-scan",
            rules: [
              {
                id: "tessera/secret-value",
                name: "SecretValueLeaked",
                shortDescription: { text: "A secret value declared in the manifest appears in a file" },
                fullDescription: {
                  text: "The resolved value of a secret variable (or an encoding of it) was found. Rotate the secret and remove it from the file and its history.",
                },
                defaultConfiguration: { level: "error" },
                help: { text: "Rotate the value, remove it from the file and from history." },
              },
            ],
          },
        },
        results: findings.map((finding) => ({
          ruleId: "tessera/secret-value",
          ruleIndex: 0,
          level: "error",
          message: {
            text: `The value of ${finding.variable} (${finding.form}; from ${finding.origin}) appears here.`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: sarifUri(finding) },
                region: { startLine: finding.line },
              },
            },
          ],
          partialFingerprints: {
            "tessera/v1": `${finding.variable}:${finding.form}:${finding.path}`,
          },
          properties: {
            variable: finding.variable,
            form: finding.form,
            origin: finding.origin,
            ...(finding.profile !== undefined ? { profile: finding.profile } : {}),
            ...(finding.commit ? { commit: finding.commit } : {}),
            ...(finding.staged ? { staged: true } : {}),
            ...(finding.layer ? { imageLayer: finding.layer } : {}),
          },
        })),
      },
    ],
  };
}

function sarifUri(finding: Finding): string {
  return finding.path.split(/[\\/]/).map(encodeURIComponent).join("/");
}
