/** tessera schema [-o FILE]: the JSON Schema of tessera.yaml, for editors (yaml-language-server and others). */
import { TesseraError } from "../errors.js";
import { writeOutputFile } from "../files.js";
import { jsonSchema } from "../manifest/schema.js";
import { type FlagSpecs, helpText, parseArgs } from "./args.js";
import type { Context } from "./common.js";

export const flags = {
  output: { type: "string", short: "o", value: "FILE", help: "write the schema to FILE instead of stdout" },
  help: { type: "boolean", short: "h", help: "show help" },
} as const satisfies FlagSpecs;

const usage = "tessera schema [-o FILE]";
const summary = "print the JSON Schema of tessera.yaml";
const extra =
  "Point your editor at it, e.g. first line of tessera.yaml:\n  # yaml-language-server: $schema=./tessera.schema.json";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags, extra));
    return 0;
  }
  if (parsed.positionals.length > 0)
    throw new TesseraError("E_USAGE", "schema takes no arguments", { hint: usage });
  const text = `${JSON.stringify(jsonSchema(), null, 2)}\n`;
  if (options.output) writeOutputFile(context.cwd, options.output, text, 0o644);
  else context.stdout(text);
  return 0;
}
