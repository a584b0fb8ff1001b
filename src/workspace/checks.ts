/**
 * What the workspace store accepts, checked the same way by `tessera var` and the library's openStore():
 * a variable name, and a value as it will be stored. Light (no cryptography), so the commands can import
 * it without loading the store's reader or writer. Messages never repeat a value, nor text given as a
 * name (it may be a value typed in the wrong place).
 */
import { TesseraError } from "../errors.js";
import { invalidNameMessage } from "../model/names.js";
import { ENV_NAME } from "../model/spec.js";
import { parseTemplate, TemplateSyntaxError } from "../model/template.js";

/** A name the store can hold, or E_USAGE saying why not (without repeating it). */
export function checkStoreName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !ENV_NAME.test(name)) {
    throw new TesseraError("E_USAGE", invalidNameMessage(name), {
      hint: "use letters, digits and _ only, not starting with a digit",
    });
  }
}

/**
 * A value as it will be stored: no NUL; a template ($OTHER is an alias, $$ a $), or with `literal` every
 * `$` escaped so that it is stored exactly. `literally` names how the caller asks for that, for the hint.
 */
export function storedText(name: string, value: string, literal: boolean, literally: string): string {
  if (value.includes("\0")) {
    throw new TesseraError("E_VALUE_INVALID", `the value of ${name} contains a NUL character`, {
      hint: "no environment variable can hold NUL",
    });
  }
  if (literal) return value.replaceAll("$", () => "$$");
  try {
    parseTemplate(value);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    throw new TesseraError("E_TEMPLATE_SYNTAX", `the value of ${name}: ${error.message}`, {
      hint: `values are templates ($OTHER is an alias); a literal $ is written $$, or ${literally} to store the value exactly`,
    });
  }
  return value;
}
