/**
 * tessera var set NAME VALUE | NAME=VALUE… | NAME --stdin [--literal] (and Ploinky's short form,
 * `tessera var NAME VALUE`): store values, checked as templates (or escaped with --literal); --stdin
 * reads one, typed without echo on a terminal.
 */
import { readFileSync } from "node:fs";
import { TesseraError } from "../../errors.js";
import { displayPath } from "../../files.js";
import { storedText } from "../../workspace/checks.js";
import { findWorkspace } from "../../workspace/workspace.js";
import { type FlagSpecs, helpText } from "../args.js";
import type { Context } from "../common.js";
import { change, checkName, describe, QUIET, summary, usage } from "./common.js";

const SET_FLAGS = {
  stdin: {
    type: "boolean",
    help: "read the value from stdin (one trailing newline dropped; typed without echo on a terminal)",
  },
  literal: { type: "boolean", help: "store the value exactly: no $ is a reference (stored as $$)" },
  ...QUIET,
} as const satisfies FlagSpecs;

/** Read a value typed at a terminal without echoing it. */
async function promptHidden(name: string, context: Context): Promise<string> {
  const stdin = process.stdin;
  context.stderr(`Value for ${name} (not shown): `);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      const onData = (chunk: Buffer) => {
        for (const c of chunk.toString("utf8")) {
          if (c === "\r" || c === "\n") {
            stdin.off("data", onData);
            context.stderr("\n");
            resolve(value);
            return;
          }
          if (c === "\u0003" || c === "\u0004") {
            stdin.off("data", onData);
            context.stderr("\n");
            reject(new TesseraError("E_USAGE", `no value was entered for ${name}`));
            return;
          }
          if (c === "\u007f" || c === "\b") value = [...value].slice(0, -1).join("");
          else value += c;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

async function readValueFromStdin(name: string, context: Context): Promise<string> {
  if (process.stdin.isTTY) return promptHidden(name, context);
  let text: string;
  try {
    text = readFileSync(0, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    text = "";
  }
  // One trailing newline (as `echo` and most editors add) is not part of the value.
  return text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
}

/**
 * `var set` arguments: the known flags anywhere, everything else positional, so that a value starting
 * with `-` is a value (and never echoed back as "an unknown option").
 */
function parseSetArgs(argv: readonly string[]): { names: string[]; flags: Record<string, boolean> } {
  const out: string[] = [];
  const seen: Record<string, boolean> = {};
  const known: Record<string, string> = {
    "--stdin": "stdin",
    "--literal": "literal",
    "--quiet": "quiet",
    "-q": "quiet",
    "--help": "help",
    "-h": "help",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.push(...argv.slice(i + 1));
      break;
    }
    const flag = known[arg];
    if (flag) seen[flag] = true;
    else out.push(arg);
  }
  return { names: out, flags: seen };
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const { names: args, flags: options } = parseSetArgs(argv);
  if (options.help) {
    context.stdout(helpText(usage, summary, SET_FLAGS));
    return 0;
  }
  const quiet = options.quiet === true;
  const literal = options.literal === true;
  const pairs: [string, string][] = [];
  if (options.stdin) {
    if (args.length !== 1) {
      throw new TesseraError("E_USAGE", "var set NAME --stdin takes one name and no value", { hint: usage });
    }
    checkName(args[0]!);
    pairs.push([args[0]!, await readValueFromStdin(args[0]!, context)]);
  } else if (args.length > 0 && args.every((arg) => /^[^=]+=/.test(arg))) {
    for (const arg of args) {
      const eq = arg.indexOf("=");
      checkName(arg.slice(0, eq));
      pairs.push([arg.slice(0, eq), arg.slice(eq + 1)]);
    }
  } else if (args.length === 2 && !args[0]!.includes("=")) {
    checkName(args[0]!);
    pairs.push([args[0]!, args[1]!]);
  } else {
    // Never echo the arguments: one of them may be a value.
    throw new TesseraError(
      "E_USAGE",
      args.length > 2
        ? "var set takes one value: quote it if it holds spaces"
        : args.length === 1
          ? "var set needs a value: NAME VALUE, NAME=VALUE or NAME --stdin"
          : "var set needs a name and a value",
      { hint: usage },
    );
  }
  const stored = pairs.map(
    ([name, value]) => [name, storedText(name, value, literal, "pass --literal")] as const,
  );
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  let known = new Set<string>();
  await change(workspace, context, quiet, (values) => {
    for (const [name, text] of stored) values.set(name, text);
    known = new Set(values.keys());
    return true;
  });
  if (!quiet) {
    const file = displayPath(context.cwd, workspace.file);
    for (const [name, text] of stored) {
      const what = describe(text);
      const tail = what.aliasOf
        ? ` (an alias of ${what.aliasOf}${known.has(what.aliasOf) ? "" : `, which is not in the store yet`})`
        : what.refersTo
          ? ` (a template that refers to ${what.refersTo.join(", ")}; store a literal $ as $$ or use --literal)`
          : "";
      context.stderr(`tessera: set ${name} in ${file}${tail}\n`);
    }
  }
  return 0;
}
