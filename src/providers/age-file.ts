/**
 * age-file: a file encrypted with age (https://age-encryption.org, binary or ASCII-armored), opened with the
 * user's age identities (TESSERA_AGE_KEY, TESSERA_AGE_KEY_FILE, or the identity file in Tessera's config
 * directory: the one that opens the workspace store). X25519 files are decrypted by the native reader
 * (../store/age-decrypt.ts); other recipient types (post-quantum…) by the age-encryption library.
 *
 * What it holds once decrypted (`format:`, by default from the file name without `.age`: *.json is JSON,
 * *.yaml/*.yml YAML, anything else dotenv):
 *   dotenv  Tessera's dotenv parser (the Compose dialect: quotes, escapes, comments, last duplicate wins),
 *           but the values are data: `$NAME` and `${NAME}` are kept as written, never looked up (a value
 *           from a store is literal); as in the dialect, `$$` (and `\$` in double quotes) stands for `$`;
 *   json    one object; a string value as is, any other value as its JSON text; null is no value;
 *   yaml    one mapping; scalars keep their spelling (`1.10` stays "1.10"), a mapping or list is served as
 *           its JSON text; null (`KEY:` or `~`) is no value.
 * `searched` names and `from.key` are the file's top-level keys; `from.property` is a field of a JSON value
 * (an object, or a string holding one). Explain shows `FILE:KEY`.
 *
 * Messages name the file (relative to the manifest) and never quote its contents.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { AgeError, decryptAge } from "../crypto/age-decrypt.js";
import type { Identities } from "../crypto/identity.js";
import { errnoCode } from "../errors.js";
import { displayPath } from "../files.js";
import { propertyOf } from "../model/guards.js";
import {
  type Fetched,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
  parseJsonText,
} from "./types.js";
import { literalDotenv, serveFromMap } from "./values.js";

type Format = "dotenv" | "json" | "yaml";

/** The format a file name implies: by its name without `.age`; dotenv otherwise. */
export function formatOf(path: string): Format {
  const name = path.toLowerCase().replace(/\.age$/, "");
  if (name.endsWith(".json")) return "json";
  if (name.endsWith(".yaml") || name.endsWith(".yml")) return "yaml";
  return "dotenv";
}

const IDENTITY_HINT =
  "set TESSERA_AGE_KEY (an AGE-SECRET-KEY-1… line) or TESSERA_AGE_KEY_FILE; `tessera var recipient` creates your identity and prints its public key, for whoever encrypts the file (age -r age1…)";

function readEncrypted(file: string, shown: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT") {
      throw new ProviderError("invalid", `${shown} does not exist`, {
        hint: "path: is relative to the manifest's directory",
      });
    }
    throw new ProviderError(
      code === "EACCES" || code === "EPERM" ? "denied" : "invalid",
      `${shown} cannot be read (${code})`,
    );
  }
}

async function decrypt(data: Buffer, identities: Identities, shown: string): Promise<Buffer> {
  const locked = () =>
    new ProviderError("auth", `${shown} is not encrypted to your age identity (${identities.from})`, {
      hint: "ask whoever encrypts it to add your public key (`tessera var recipient` prints it) as a recipient",
    });
  try {
    const plain = decryptAge(data, identities.x25519);
    if (plain !== "unsupported") return plain;
  } catch (error) {
    if (!(error instanceof AgeError)) throw error;
    if (error.kind === "no-match") throw locked();
    throw new ProviderError(
      "invalid",
      error.kind === "tampered"
        ? `${shown} failed authentication: the file is damaged or was changed`
        : `${shown} is not a valid age file (${error.message})`,
      { hint: "encrypt it again, or restore it from version control" },
    );
  }
  // Recipient types the native reader does not handle (post-quantum, …): the reference library.
  const { ageBinary, decryptWithLibrary } = await import("../crypto/age.js");
  let binary: Uint8Array;
  try {
    binary = await ageBinary(data);
  } catch {
    throw new ProviderError("invalid", `${shown} is not a valid age file (bad armor)`, {
      hint: "encrypt it again, or restore it from version control",
    });
  }
  // A passphrase-encrypted file (its only stanza is scrypt): there is no passphrase to ask for here.
  if (
    Buffer.from(binary.buffer, binary.byteOffset, Math.min(binary.byteLength, 256)).includes("\n-> scrypt ")
  ) {
    throw new ProviderError("invalid", `${shown} is encrypted with a passphrase`, {
      hint: "an age-file source is opened with your age identity: encrypt the file to your public key (age -r age1…; `tessera var recipient` prints it)",
    });
  }
  try {
    return Buffer.from(await decryptWithLibrary(binary, identities));
  } catch (error) {
    // An AgeLibraryError of the lazily loaded ../crypto/age.js chunk (its own copy of the class).
    if (propertyOf(error, "kind") === "no-match") throw locked();
    throw new ProviderError("invalid", `${shown} cannot be decrypted: the file is damaged or was changed`, {
      hint: "encrypt it again, or restore it from version control",
    });
  }
}

function parseJsonValues(text: string, shown: string): Map<string, unknown> {
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch {
    // JSON.parse's message may quote the text: not shown.
    throw new ProviderError("invalid", `${shown} does not hold valid JSON once decrypted`, {
      hint: "it should hold one JSON object of NAME: value (or set format: to what it holds)",
    });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ProviderError("invalid", `${shown} does not hold a JSON object once decrypted`, {
      hint: "it should hold one JSON object of NAME: value",
    });
  }
  return new Map(Object.entries(json));
}

/** Friendlier words for the YAML library's error codes (its own messages may quote the text: never shown). */
const YAML_ERRORS: Record<string, string> = {
  DUPLICATE_KEY: "a key appears twice in the same mapping",
  BAD_INDENT: "bad indentation",
  MISSING_CHAR: "a closing quote or bracket is missing",
  MULTILINE_IMPLICIT_KEY: "a key must be on one line (is a colon or quote missing?)",
  TAB_AS_INDENT: "tabs cannot indent YAML; use spaces",
  BAD_DQ_ESCAPE: "an invalid escape in a double-quoted string",
  MULTIPLE_DOCS: "more than one YAML document (---): one is expected",
};

async function parseYamlValues(text: string, shown: string): Promise<Map<string, unknown>> {
  // Loaded only for YAML files (bundled into this chunk, evaluated on first use).
  const { isAlias, isMap, isPair, isScalar, LineCounter, parseDocument } = await import("yaml");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    throw new ProviderError(
      "invalid",
      `${shown} line ${pos.line}:${pos.col}: invalid YAML once decrypted: ${YAML_ERRORS[first.code] ?? "syntax error"}`,
      { hint: "it should hold one mapping of NAME: value" },
    );
  }
  const values = new Map<string, unknown>();
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ""))) return values;
  if (!isMap(root)) {
    throw new ProviderError("invalid", `${shown} does not hold a YAML mapping once decrypted`, {
      hint: "it should hold one mapping of NAME: value",
    });
  }
  for (const pair of root.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const node = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
    if (node === undefined || node === null) continue;
    if (isScalar(node)) {
      const value = node.value;
      if (value === null || value === undefined) continue;
      // Scalars keep their spelling: 1.10 stays "1.10", 0x1F "0x1F".
      values.set(
        key,
        typeof value === "string"
          ? value
          : node.type === "PLAIN" && typeof node.source === "string"
            ? node.source
            : String(value),
      );
    } else {
      values.set(key, JSON.stringify(node.toJS(doc)));
    }
  }
  return values;
}

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const path = context.source.settings.path ?? "";
    const file = resolve(context.dir, path);
    const shown = displayPath(context.dir, file);
    const data = readEncrypted(file, shown);
    const identities = await context.identities();
    if (!identities) {
      throw new ProviderError("auth", `you have no age identity to open ${shown}`, { hint: IDENTITY_HINT });
    }
    const plain = await decrypt(data, identities, shown);
    const text = plain.toString("utf8");
    plain.fill(0);
    const format: string = context.source.settings.format ?? formatOf(path);
    const values =
      format === "json"
        ? parseJsonValues(text, shown)
        : format === "yaml"
          ? await parseYamlValues(text, shown)
          : literalDotenv(text, shown);

    const out = new Map<string, Fetched>();
    for (const request of requests) {
      const location = `${shown}:${request.key}`;
      const where = request.property === undefined ? location : `${location}#${request.property}`;
      out.set(request.id, serveFromMap(values, request, where));
    }
    return out;
  },
};
