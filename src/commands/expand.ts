/**
 * tessera expand [FILE|-] [-o OUT]: render a text template (a Dockfile, a config file, anything) with
 * the Compose syntax and the resolved variables, like `op inject`. An unresolved reference is an error.
 * With -o the result is written atomically with mode 0600 (it holds values).
 */
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { errnoCode, type Location, TesseraError } from "../errors.js";
import { writeOutputFile } from "../files.js";
import {
  evaluate,
  parseTemplate,
  type Template,
  TemplateReferenceError,
  TemplateSyntaxError,
} from "../model/template.js";
import { shownMessage } from "../resolve/resolve.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import {
  type Context,
  checkLayerFlags,
  enforceRequired,
  printWarnings,
  type Resolved,
  resolveFromFlags,
} from "./common.js";

export const flags = {
  ...LAYER_FLAGS,
  output: {
    type: "string",
    short: "o",
    value: "OUT",
    help: "write to OUT (mode 0600, atomically) instead of stdout",
  },
} as const satisfies FlagSpecs;

const usage = "tessera expand [FILE|-] [-o OUT] [options]";
const summary = "render a template with the resolved variables (${VAR}, ${VAR:-default}, … as in Compose)";

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch (error) {
    if (errnoCode(error) === "EAGAIN") return "";
    throw error;
  }
}

function locate(file: string, text: string, offset: number): Location {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { file, line, column: offset - before.lastIndexOf("\n") };
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  if (parsed.positionals.length > 1) {
    throw new TesseraError("E_USAGE", "expand takes one template file", { hint: usage });
  }
  const input = parsed.positionals[0] ?? "-";
  const file = input === "-" ? "<stdin>" : input;
  let text: string;
  try {
    text = input === "-" ? readStdin() : readFileSync(resolvePath(context.cwd, input), "utf8");
  } catch (error) {
    throw new TesseraError("E_FILE_NOT_FOUND", `template ${file} cannot be read (${errnoCode(error)})`, {
      hint: "the path is relative to the current directory",
    });
  }
  const template = parseText(text, file);
  const resolved = await resolveFromFlags(options, context);
  printWarnings(resolved.resolution.warnings, context, options.quiet);
  enforceRequired(resolved.resolution, options, context);
  const output = renderText(template, text, file, resolved);
  if (options.output) {
    writeOutputFile(context.cwd, options.output, output);
    if (!options.quiet) context.stderr(`tessera: wrote ${options.output} (mode 0600)\n`);
  } else {
    context.stdout(output);
  }
  return 0;
}

/** Parse a template text; a syntax error is reported at its position in `file`. */
export function parseText(text: string, file: string): Template {
  try {
    return parseTemplate(text);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    throw new TesseraError("E_TEMPLATE_SYNTAX", error.message, {
      location: locate(file, text, error.offset),
      hint: "a literal $ is written $$",
    });
  }
}

/**
 * Render a template text with a resolution: references mean what they mean in the manifest (names in the
 * merged scope; for a Ploinky manifest, the looked-up varName, as Ploinky's aliases do). An unresolved
 * reference is an error at its position in `file`.
 */
export function renderText(
  template: Template,
  text: string,
  file: string,
  resolved: Pick<Resolved, "resolution" | "scopeValue">,
): string {
  const { resolution, scopeValue } = resolved;
  const run = evaluate(template);
  let output: string;
  try {
    let step = run.next();
    while (!step.done) step = run.next(scopeValue(step.value.name));
    output = step.value;
  } catch (error) {
    if (!(error instanceof TemplateReferenceError)) throw error;
    const { reference } = error;
    const location = locate(file, text, reference.offset);
    if (error.kind === "required") {
      throw new TesseraError(
        "E_REF_REQUIRED",
        `${reference.name} is required${shownMessage(reference, "template")}`,
        {
          location,
        },
      );
    }
    const inside = resolution.variables.find(
      (variable) => variable.name === reference.name && variable.lookup !== variable.name,
    );
    throw new TesseraError("E_REF_UNSET", `the template refers to ${reference.name}, which is not set`, {
      location,
      hint: inside
        ? `${reference.name} is the name inside the process; references use the name it is looked up under, ${inside.lookup}`
        : `declare and set ${reference.name}, or write \${${reference.name}:-default}`,
    });
  }
  return output;
}
