/**
 * tessera var recipient [--lines]: print your age public key (creating your identity if needed); with
 * --lines, the lines that list you in .tessera/recipients as a reader and a writer.
 */
import { type FlagSpecs, helpText, parseArgs } from "../args.js";
import { type Context, noArguments } from "../common.js";
import { QUIET } from "./common.js";

const RECIPIENT_FLAGS = {
  lines: {
    type: "boolean",
    help: "print the lines for .tessera/recipients: your age public key and your writer key",
  },
  ...QUIET,
} as const satisfies FlagSpecs;

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, RECIPIENT_FLAGS);
  if (parsed.flags.help) {
    context.stdout(
      helpText(
        "tessera var recipient [--lines]",
        "print your age public key (creating your identity if needed); --lines: the lines that list you as a reader and writer in .tessera/recipients",
        RECIPIENT_FLAGS,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var recipient [--lines]");
  const { ensureIdentities } = await import("../../crypto/identity.js");
  const identities = ensureIdentities(context.env, (text) => parsed.flags.quiet || context.stderr(text));
  const recipients = identities.x25519.map((identity) => identity.recipient);
  if (!parsed.flags.lines) {
    for (const recipient of recipients) context.stdout(`${recipient}\n`);
    return 0;
  }
  const { writerKeyOf } = await import("../../crypto/sign.js");
  const { ownLines } = await import("../../workspace/write.js");
  context.stdout(ownLines(recipients, writerKeyOf(identities.lines)?.id));
  return 0;
}
