/**
 * How providers turn what a store returned into answers, shared so every store reads values the same way.
 */
import { isTesseraError } from "../errors.js";
import { parseDotenv } from "../formats/dotenv.js";
import type { Template } from "../model/template.js";
import { type Fetched, field, jsonText, type LookupRequest, ProviderError, parseJsonText } from "./types.js";

/** A template's text with references kept as written (and `$$` as `$`): the value as data. */
function literalText(template: Template): string {
  return template.map((part) => (typeof part === "string" ? part : part.text)).join("");
}

/**
 * A dotenv text (the Compose dialect: quotes, escapes, comments, last duplicate wins) whose values are
 * data: `$NAME` and `${NAME}` are kept as written, never looked up. Syntax errors become "invalid",
 * naming `shown` and the line, never quoting the text.
 */
export function literalDotenv(text: string, shown: string): Map<string, string> {
  const values = new Map<string, string>();
  try {
    for (const entry of parseDotenv(text, shown).entries) values.set(entry.key, literalText(entry.value));
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    const line = error.location?.line;
    throw new ProviderError(
      "invalid",
      `${shown}${line === undefined ? "" : ` line ${line}`}: ${error.message}`,
      {
        hint: error.hint,
      },
    );
  }
  return values;
}

/**
 * A request served from a map of decoded values (exec, age-file, dotenvx-file): `property` is a field
 * of a JSON value (an object, or a string holding one; anything else has no fields); a value that is
 * not a string is served as its JSON text; null is no value.
 */
export function serveFromMap(
  values: ReadonlyMap<string, unknown>,
  request: LookupRequest,
  where: string,
): Fetched {
  let value: unknown = values.get(request.key);
  if (request.property !== undefined && value !== undefined && value !== null) {
    let json: unknown = value;
    if (typeof value === "string") {
      try {
        json = parseJsonText(value);
      } catch {
        json = undefined;
      }
    }
    value = field(json, request.property);
  }
  if (value === undefined || value === null) return { status: "missing", where };
  return { status: "found", value: typeof value === "string" ? value : jsonText(value), where };
}

/**
 * A request served from one secret's text (GCP, Azure): the whole text, or with `property` a field of
 * its JSON. A secret that is not JSON has no fields: asking for one is a configuration error naming it.
 */
export function serveSecretText(
  text: string | undefined,
  request: LookupRequest,
  name: string,
  where: string,
): Fetched {
  if (text === undefined) return { status: "missing", where };
  if (request.property === undefined) return { status: "found", value: text, where };
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch {
    throw new ProviderError("invalid", `${name} is not JSON, so it has no property ${request.property}`, {
      hint: "property: selects a field of a JSON secret; leave it out to use the whole secret",
    });
  }
  const value = field(json, request.property);
  return value === undefined ? { status: "missing", where } : { status: "found", value, where };
}
