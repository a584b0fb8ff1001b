/**
 * tessera var: the encrypted workspace store, with Ploinky's verbs made safe.
 *
 *   var set NAME VALUE | NAME=VALUE… | NAME --stdin [--literal]
 *   var get NAME · var unset NAME… · var declare NAME… · var list [--values] [--json]
 *   var import FILE [--format dotenv|ploinky] · var export [--format dotenv|ploinky|json]
 *   var rekey · var recipient [--lines]
 *   (Ploinky's short form: `tessera var NAME VALUE` and `tessera var NAME=VALUE` set.)
 *
 * Values are templates, as in .env files: `$OTHER` is an alias, `$$` a literal `$` (`--literal` stores
 * the value exactly). Confirmations go to stderr; stdout carries only what was asked for (get, list,
 * export, recipient).
 */
import { TesseraError } from "../../errors.js";
import { ENV_NAME } from "../../model/spec.js";
import type { Context } from "../common.js";
import { summary, usage } from "./common.js";

type Subcommand = { main(argv: readonly string[], context: Context): Promise<number> };

/** Each subcommand in its own module, loaded only when it runs. */
const HANDLERS: Record<string, () => Promise<Subcommand>> = {
  set: () => import("./set.js"),
  get: () => import("./get.js"),
  unset: () => import("./unset.js"),
  declare: () => import("./declare.js"),
  list: () => import("./list.js"),
  import: () => import("./import.js"),
  export: () => import("./export.js"),
  rekey: () => import("./rekey.js"),
  recipient: () => import("./recipient.js"),
};

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) throw new TesseraError("E_USAGE", "var needs a subcommand", { hint: usage });
  if (first === "--help" || first === "-h" || first === "help") {
    context.stdout(
      `${summary}\n\nUsage: ${usage}\n\nRun \`tessera var SUBCOMMAND --help\` for its options.\n`,
    );
    return 0;
  }
  const load = HANDLERS[first];
  if (load) return (await load()).main(rest, context);
  // Ploinky's form: `var NAME VALUE` / `var NAME=VALUE` (NAME not a subcommand).
  const name = first.includes("=") ? first.slice(0, first.indexOf("=")) : first;
  if (ENV_NAME.test(name)) return (await import("./set.js")).main(argv, context);
  throw new TesseraError("E_USAGE", `unknown var subcommand`, {
    hint: `one of ${Object.keys(HANDLERS).join(", ")}`,
  });
}
