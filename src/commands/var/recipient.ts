/** tessera var recipient: print your age public key (creating your identity if needed). */
import { helpText, parseArgs } from "../args.js";
import { type Context, noArguments } from "../common.js";
import { QUIET } from "./common.js";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(
      helpText(
        "tessera var recipient",
        "print your age public key (creating your identity if needed)",
        QUIET,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var recipient");
  const { ensureIdentities } = await import("../../crypto/identity.js");
  const identities = ensureIdentities(context.env, (text) => parsed.flags.quiet || context.stderr(text));
  for (const identity of identities.x25519) context.stdout(`${identity.recipient}\n`);
  return 0;
}
