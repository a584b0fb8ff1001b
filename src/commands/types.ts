/** tessera types: being built (issue 12). */
import { TesseraError } from "../errors.js";
import type { Context } from "./common.js";

export async function main(_argv: readonly string[], _context: Context): Promise<number> {
  throw new TesseraError("E_USAGE", "tessera types is not available yet");
}
