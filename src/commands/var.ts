/**
 * tessera var: the encrypted workspace store, with Ploinky's verbs made safe.
 *
 *   var set NAME VALUE | NAME=VALUE… | NAME --stdin [--literal]
 *   var get NAME · var unset NAME… · var declare NAME… · var list [--values] [--json]
 *   var import FILE [--format dotenv|ploinky] · var export [--format dotenv|ploinky|json]
 *   var rekey · var recipient
 *   (Ploinky's short form: `tessera var NAME VALUE` and `tessera var NAME=VALUE` set.)
 *
 * Values are templates, as in .env files: `$OTHER` is an alias, `$$` a literal `$` (`--literal` stores
 * the value exactly). Confirmations go to stderr; stdout carries only what was asked for (get, list,
 * export, recipient).
 */
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { TesseraError } from "../errors.js";
import { displayPath } from "../files.js";
import { findManifest, loadManifest } from "../manifest/load.js";
import { ENV_NAME, effectiveDeclarations, type Spec } from "../model/spec.js";
import {
  isAlias,
  parseTemplate,
  referencedNames,
  type Template,
  TemplateSyntaxError,
} from "../model/template.js";
import type { ImportFormat } from "../workspace/formats.js";
import { findWorkspace, storeExists, type Workspace } from "../workspace/workspace.js";
import { type FlagSpecs, helpText, parseArgs } from "./args.js";
import { type Context, noArguments, printWarnings } from "./common.js";

const SUBCOMMANDS = ["set", "get", "unset", "declare", "list", "import", "export", "rekey", "recipient"];

const usage = `tessera var set NAME VALUE | NAME=VALUE… | NAME --stdin [--literal]
       tessera var get NAME | unset NAME… | declare NAME… | list [--values] [--json]
       tessera var import FILE [--format dotenv|ploinky] | export [--format dotenv|ploinky|json]
       tessera var rekey | recipient`;
const summary =
  "the encrypted workspace store (.tessera/store.age): set, get, unset, declare, list, import, export";

const QUIET: FlagSpecs = {
  quiet: { type: "boolean", short: "q", help: "print no confirmations or warnings" },
  help: { type: "boolean", short: "h", help: "show help" },
};

const SET_FLAGS: FlagSpecs = {
  stdin: {
    type: "boolean",
    help: "read the value from stdin (one trailing newline dropped; typed without echo on a terminal)",
  },
  literal: { type: "boolean", help: "store the value exactly: no $ is a reference (stored as $$)" },
  ...QUIET,
};

const LIST_FLAGS: FlagSpecs = {
  values: { type: "boolean", help: "show the stored values (otherwise names only)" },
  json: { type: "boolean", help: "a JSON array on stdout" },
  manifest: { type: "string", value: "FILE", help: "the manifest whose use of each name is shown" },
  ...QUIET,
};

const IMPORT_FLAGS: FlagSpecs = {
  format: {
    type: "string",
    value: "FORMAT",
    help: "dotenv or ploinky (default: ploinky for a file named .secrets, else dotenv)",
  },
  ...QUIET,
};

const EXPORT_FLAGS: FlagSpecs = {
  format: { type: "string", value: "FORMAT", help: "dotenv (default), ploinky or json" },
  ...QUIET,
};

export const flags: FlagSpecs = { ...SET_FLAGS, ...LIST_FLAGS, ...IMPORT_FLAGS };

function checkName(name: string): void {
  if (!ENV_NAME.test(name)) {
    throw new TesseraError("E_USAGE", `${JSON.stringify(name)} is not a valid variable name`, {
      hint: "use letters, digits and _ only, not starting with a digit",
    });
  }
}

/** A value as it will be stored: checked for NUL and template syntax (or escaped with --literal). */
function storedText(name: string, value: string, literal: boolean): string {
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
      hint: "values are templates ($OTHER is an alias); a literal $ is written $$, or pass --literal to store the value exactly",
    });
  }
  return value;
}

/** What a stored value is, without showing it. */
function describe(text: string): { state: string; aliasOf?: string; refersTo?: string[] } {
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

async function loadStore(workspace: Workspace, context: Context, quiet: boolean) {
  const { readStore } = await import("../workspace/store.js");
  const warnings: import("../errors.js").Diagnostic[] = [];
  const contents = await readStore(workspace, context.env, context.cwd, warnings);
  printWarnings(warnings, context, quiet);
  return contents;
}

async function change(
  workspace: Workspace,
  context: Context,
  quiet: boolean,
  body: (values: Map<string, string>) => boolean,
): Promise<boolean> {
  const { updateStore } = await import("../workspace/write.js");
  const warnings: import("../errors.js").Diagnostic[] = [];
  const written = await updateStore(
    workspace,
    { env: context.env, cwd: context.cwd, notice: (text) => quiet || context.stderr(text), warnings },
    (contents) => body(contents.values),
  );
  printWarnings(warnings, context, quiet);
  return written;
}

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

async function setCommand(argv: readonly string[], context: Context): Promise<number> {
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
  const stored = pairs.map(([name, value]) => [name, storedText(name, value, literal)] as const);
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

async function getCommand(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(
      helpText("tessera var get NAME", "print a stored value (as stored: aliases unresolved)", QUIET),
    );
    return 0;
  }
  if (parsed.positionals.length !== 1)
    throw new TesseraError("E_USAGE", "var get takes one name", { hint: usage });
  const name = parsed.positionals[0]!;
  checkName(name);
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const contents = await loadStore(workspace, context, parsed.flags.quiet === true);
  const value = contents.values.get(name);
  if (value === undefined) throw notInStore(name, workspace, context);
  context.stdout(`${value}\n`);
  return 0;
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

async function unsetCommand(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(helpText("tessera var unset NAME…", "remove variables from the store", QUIET));
    return 0;
  }
  if (parsed.positionals.length === 0)
    throw new TesseraError("E_USAGE", "var unset needs a name", { hint: usage });
  parsed.positionals.forEach(checkName);
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const quiet = parsed.flags.quiet === true;
  if (!storeExists(workspace)) {
    if (!quiet) context.stderr(`tessera: there is no workspace store: nothing to unset\n`);
    return 0;
  }
  const removed: string[] = [];
  await change(workspace, context, quiet, (values) => {
    for (const name of parsed.positionals) if (values.delete(name)) removed.push(name);
    return removed.length > 0;
  });
  if (!quiet) {
    for (const name of parsed.positionals) {
      context.stderr(
        removed.includes(name) ? `tessera: unset ${name}\n` : `tessera: ${name} was not in the store\n`,
      );
    }
  }
  return 0;
}

async function declareCommand(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(
      helpText("tessera var declare NAME…", "add variables with an empty value (kept if set)", QUIET),
    );
    return 0;
  }
  if (parsed.positionals.length === 0)
    throw new TesseraError("E_USAGE", "var declare needs a name", { hint: usage });
  parsed.positionals.forEach(checkName);
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const kept: string[] = [];
  await change(workspace, context, parsed.flags.quiet === true, (values) => {
    let changed = false;
    for (const name of parsed.positionals) {
      if (values.has(name)) kept.push(name);
      else {
        values.set(name, "");
        changed = true;
      }
    }
    return changed;
  });
  if (!parsed.flags.quiet) {
    for (const name of parsed.positionals) {
      context.stderr(
        kept.includes(name)
          ? `tessera: ${name} is already in the store; its value is kept (\`tessera var set ${name} ''\` empties it)\n`
          : `tessera: declared ${name} (empty: it shadows lower layers with "")\n`,
      );
    }
  }
  return 0;
}

interface Listed {
  name: string;
  state: string;
  aliasOf?: string;
  refersTo?: string[];
  usedBy: string[];
  value?: string;
}

function manifestUses(spec: Spec | undefined, name: string): string[] {
  if (!spec) return [];
  const uses: string[] = [];
  for (const declaration of effectiveDeclarations(spec, undefined)) {
    if (declaration.lookup === name) {
      const inside = declaration.name !== name ? ` as ${declaration.name}` : "";
      uses.push(`${spec.file}: ${declaration.kind}${declaration.required ? ", required" : ""}${inside}`);
    }
    if (declaration.value !== undefined) {
      try {
        if (referencedNames(parseTemplate(declaration.value)).has(name) && declaration.lookup !== name) {
          uses.push(`${spec.file}: referenced by ${declaration.name}`);
        }
      } catch {
        // reported by check
      }
    }
  }
  return uses;
}

export async function listCommand(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, LIST_FLAGS);
  const options = parsed.flags as {
    values?: boolean;
    json?: boolean;
    manifest?: string;
    quiet?: boolean;
    help?: boolean;
  };
  if (options.help) {
    context.stdout(
      helpText(
        "tessera var list [--values] [--json]   (also: tessera vars)",
        "the store's names, what each is (set, empty, alias, template) and where it is used; values only with --values",
        LIST_FLAGS,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var list [--values] [--json]");
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const contents = storeExists(workspace)
    ? await loadStore(workspace, context, options.quiet === true)
    : { values: new Map<string, string>() };
  const ref = findManifest(context.cwd, options.manifest);
  const spec = ref ? await loadManifest(ref, { cwd: context.cwd, env: context.env }) : undefined;
  const rows: Listed[] = [...contents.values.keys()].sort().map((name) => {
    const text = contents.values.get(name)!;
    const row: Listed = { name, ...describe(text), usedBy: manifestUses(spec, name) };
    for (const [other, otherText] of contents.values) {
      if (other === name) continue;
      const what = describe(otherText);
      if (what.aliasOf === name) row.usedBy.push(`alias target of ${other}`);
      else if (what.refersTo?.includes(name)) row.usedBy.push(`referenced by ${other}`);
    }
    if (options.values) row.value = text;
    return row;
  });
  if (options.json) {
    context.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    if (!options.quiet)
      context.stderr(
        storeExists(workspace)
          ? `tessera: ${displayPath(context.cwd, workspace.file)} is empty\n`
          : "tessera: there is no workspace store here yet (`tessera var set NAME VALUE` creates it)\n",
      );
    return 0;
  }
  const width = Math.max(...rows.map((row) => row.name.length)) + 2;
  const stateWidth = options.values ? 0 : Math.max(...rows.map((row) => row.state.length)) + 2;
  for (const row of rows) {
    const middle = options.values ? `${JSON.stringify(row.value)}  ` : row.state.padEnd(stateWidth);
    const used = row.usedBy.length ? row.usedBy.join("; ") : "not used by the manifest";
    context.stdout(`${row.name.padEnd(width)}${middle}${used}\n`.replace(/ +\n$/, "\n"));
  }
  return 0;
}

async function importCommand(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, IMPORT_FLAGS);
  const options = parsed.flags as { format?: string; quiet?: boolean; help?: boolean };
  if (options.help) {
    context.stdout(
      helpText(
        "tessera var import FILE|- [--format dotenv|ploinky]",
        "copy a dotenv file or Ploinky's .secrets into the store",
        IMPORT_FLAGS,
      ),
    );
    return 0;
  }
  if (parsed.positionals.length !== 1)
    throw new TesseraError("E_USAGE", "var import takes one file", { hint: usage });
  const file = parsed.positionals[0]!;
  if (options.format !== undefined && options.format !== "dotenv" && options.format !== "ploinky") {
    throw new TesseraError(
      "E_USAGE",
      `--format takes dotenv or ploinky, not ${JSON.stringify(options.format)}`,
    );
  }
  const format: ImportFormat =
    (options.format as ImportFormat | undefined) ?? (/(^|\/)\.secrets$/.test(file) ? "ploinky" : "dotenv");
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(resolvePath(context.cwd, file), "utf8");
  } catch (error) {
    throw new TesseraError(
      "E_FILE_NOT_FOUND",
      `${file} cannot be read (${(error as NodeJS.ErrnoException).code})`,
      {
        hint: "the path is relative to the current directory",
      },
    );
  }
  const formats = await import("../workspace/formats.js");
  const shown = file === "-" ? "<stdin>" : file;
  const imported =
    format === "ploinky"
      ? formats.parsePloinkySecrets(text, shown)
      : formats.parseDotenvForImport(text, shown);
  printWarnings(imported.warnings, context, options.quiet);
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  let replaced = 0;
  if (imported.values.size) {
    await change(workspace, context, options.quiet === true, (values) => {
      for (const [name, value] of imported.values) {
        if (values.has(name)) replaced++;
        values.set(name, value);
      }
      return true;
    });
  }
  if (!options.quiet) {
    context.stderr(
      `tessera: imported ${imported.values.size} variable${imported.values.size === 1 ? "" : "s"} from ${shown} (${format})${replaced ? `, ${replaced} replaced` : ""} into ${displayPath(context.cwd, workspace.file)}\n`,
    );
  }
  return 0;
}

async function exportCommand(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, EXPORT_FLAGS);
  const options = parsed.flags as { format?: string; quiet?: boolean; help?: boolean };
  if (options.help) {
    context.stdout(
      helpText(
        "tessera var export [--format dotenv|ploinky|json]",
        "print the store's values (as stored)",
        EXPORT_FLAGS,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var export [--format dotenv|ploinky|json]");
  const format = options.format ?? "dotenv";
  if (format !== "dotenv" && format !== "ploinky" && format !== "json") {
    throw new TesseraError(
      "E_USAGE",
      `--format takes dotenv, ploinky or json, not ${JSON.stringify(format)}`,
    );
  }
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const contents = await loadStore(workspace, context, options.quiet === true);
  const { exportStore } = await import("../workspace/formats.js");
  context.stdout(exportStore(contents.values, format));
  return 0;
}

async function rekeyCommand(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, QUIET);
  if (parsed.flags.help) {
    context.stdout(
      helpText(
        "tessera var rekey",
        "re-encrypt the store for you and everyone in .tessera/recipients",
        QUIET,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var rekey");
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  if (!storeExists(workspace)) {
    throw new TesseraError("E_VAR_NOT_SET", "there is no workspace store to re-encrypt", {
      hint: "`tessera var set NAME VALUE` creates it",
    });
  }
  const { readRecipients } = await import("../workspace/store.js");
  await change(workspace, context, parsed.flags.quiet === true, () => true);
  if (!parsed.flags.quiet) {
    const count = readRecipients(workspace, context.cwd).length;
    context.stderr(
      `tessera: re-encrypted ${displayPath(context.cwd, workspace.file)} for the ${count} recipient${count === 1 ? "" : "s"} in .tessera/recipients\n`,
    );
  }
  return 0;
}

async function recipientCommand(argv: readonly string[], context: Context): Promise<number> {
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
  const { ensureIdentities } = await import("../crypto/identity.js");
  const identities = ensureIdentities(context.env, (text) => parsed.flags.quiet || context.stderr(text));
  for (const identity of identities.x25519) context.stdout(`${identity.recipient}\n`);
  return 0;
}

const HANDLERS: Record<string, (argv: readonly string[], context: Context) => Promise<number>> = {
  set: setCommand,
  get: getCommand,
  unset: unsetCommand,
  declare: declareCommand,
  list: listCommand,
  import: importCommand,
  export: exportCommand,
  rekey: rekeyCommand,
  recipient: recipientCommand,
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
  const handler = HANDLERS[first];
  if (handler) return handler(rest, context);
  // Ploinky's form: `var NAME VALUE` / `var NAME=VALUE` (NAME not a subcommand).
  const name = first.includes("=") ? first.slice(0, first.indexOf("=")) : first;
  if (ENV_NAME.test(name)) return setCommand(argv, context);
  throw new TesseraError("E_USAGE", `unknown var subcommand`, { hint: `one of ${SUBCOMMANDS.join(", ")}` });
}
