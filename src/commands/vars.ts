/** tessera vars: Ploinky's listing, without its side effects and without values (`tessera var list`). */
import type { Context } from "./common.js";
import { main as listCommand } from "./var/list.js";

export function main(argv: readonly string[], context: Context): Promise<number> {
  return listCommand(argv, context);
}
