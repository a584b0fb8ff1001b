/** Reading AWS values as JSON, as both AWS stores do for `property`. */

import { field } from "../types.js";

/** A JSON text's value, or undefined when the text is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A field of a value (a string holding JSON is read as that JSON): the one property rule, ../types.ts. */
export function pick(value: unknown, property: string): string | undefined {
  return field(typeof value === "string" ? parseJson(value) : value, property);
}
