/**
 * Shared by the `tessera var` subcommands: usage, the --quiet flag, name checks, reading and changing
 * the store.
 */

import { TesseraError } from "../../errors.js";
import { displayPath } from "../../files.js";
import { isAlias, parseTemplate, referencedNames, type Template } from "../../model/template.js";
import { storeExists, type Workspace } from "../../workspace/workspace.js";
import type { FlagSpecs } from "../args.js";
import { type Context, printWarnings } from "../common.js";

export const usage = `tessera var set NAME VALUE | NAME=VALUE… | NAME --stdin [--literal]
       tessera var get NAME | unset NAME… | declare NAME… | list [--values] [--json]
       tessera var import FILE [--format dotenv|ploinky] | export [--format dotenv|ploinky|json]
       tessera var rekey | recipient [--lines]`;
export const summary =
  "the encrypted workspace store (.tessera/store.age): set, get, unset, declare, list, import, export";

export const QUIET = {
  quiet: { type: "boolean", short: "q", help: "print no confirmations or warnings" },
  help: { type: "boolean", short: "h", help: "show help" },
} as const satisfies FlagSpecs;

/** A name the store can hold (as the library's openStore() checks it). */
export { checkStoreName as checkName } from "../../workspace/checks.js";

/** What a stored value is, without showing it. */
export function describe(text: string): { state: string; aliasOf?: string; refersTo?: string[] } {
  let template: Template;
  try {
    template = parseTemplate(text);
  } catch {
    return { state: "invalid template" };
  }
  if (isAlias(template)) {
    const target = (template[0] as { name: string }).name;
    return { state: `alias of ${target}`, aliasOf: target };
  }
  const refs = [...referencedNames(template)];
  if (refs.length) return { state: `template (refers to ${refs.join(", ")})`, refersTo: refs };
  return { state: text === "" ? "empty" : "set" };
}

export async function loadStore(workspace: Workspace, context: Context, quiet: boolean) {
  const { readStore } = await import("../../workspace/store.js");
  const warnings: import("../../errors.js").Diagnostic[] = [];
  const contents = await readStore(workspace, context.env, context.cwd, warnings);
  printWarnings(warnings, context, quiet);
  return contents;
}

/**
 * Change the store under its lock (see updateStore). Refused with E_RECIPIENTS_CHANGED when
 * .tessera/recipients changed since the store was written, unless `rekey` (the user confirms the file).
 */
export async function change(
  workspace: Workspace,
  context: Context,
  quiet: boolean,
  body: (values: Map<string, string>) => boolean,
  options: { rekey?: boolean } = {},
): Promise<import("../../workspace/write.js").UpdateResult> {
  const { updateStore } = await import("../../workspace/write.js");
  const warnings: import("../../errors.js").Diagnostic[] = [];
  const result = await updateStore(
    workspace,
    { env: context.env, cwd: context.cwd, notice: (text) => quiet || context.stderr(text), warnings },
    (contents) => body(contents.values),
    options,
  );
  printWarnings(warnings, context, quiet);
  return result;
}

export function notInStore(name: string, workspace: Workspace, context: Context): TesseraError {
  return new TesseraError(
    "E_VAR_NOT_SET",
    `${name} is not in the workspace store ${displayPath(context.cwd, workspace.file)}`,
    {
      hint: storeExists(workspace)
        ? `set it with \`tessera var set ${name} VALUE\`; \`tessera var list\` shows what is there`
        : `there is no store yet; \`tessera var set ${name} VALUE\` creates it`,
    },
  );
}
