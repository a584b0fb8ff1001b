/**
 * tessera init [--from FILE…] [--force]: create a tessera.yaml from what the project already has —
 * a Dockfile.yaml, a .env.example, a .env — taking names only (never values), guessing sensitivity
 * from names, and adding value files to .gitignore.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve as resolvePath } from "node:path";
import { errnoCode, isTesseraError, TesseraError } from "../errors.js";
import { displayPath, writeOutputFile } from "../files.js";
import { parseDotenv } from "../formats/dotenv.js";
import { looksSecret } from "../model/sensitivity.js";
import { type Declaration, ENV_NAME, SCHEMA_URL } from "../model/spec.js";
import { gitEnvironment } from "../pipeline/child-env.js";
import { type FlagSpecs, type FlagValues, helpText } from "./args.js";
import { type Context, noArguments, parsedWithJsonErrors, printJson } from "./common.js";

export const flags = {
  from: {
    type: "string",
    multiple: true,
    value: "FILE",
    help: "read names from FILE (.env-style or a Dockfile); default: Dockfile.yaml, .env.example, .env",
  },
  force: { type: "boolean", help: "overwrite an existing tessera.yaml" },
  quiet: { type: "boolean", short: "q", help: "print nothing on success" },
  json: {
    type: "boolean",
    help: "print a JSON report on stdout (files written, names found, warnings, to-dos; never values)",
  },
  help: { type: "boolean", short: "h", help: "show help" },
} as const satisfies FlagSpecs;

const usage = "tessera init [--from FILE…] [--force]";
const summary = "create a tessera.yaml from a .env, .env.example or Dockfile (names only, never values)";

/** Patterns added to .gitignore (value files never belong in git). */
export const IGNORED_VALUE_FILES = [
  ".env",
  ".env.*",
  "!.env.example",
  "env.yaml",
  "env.*.yaml",
  ".dockrion-env.yaml",
];

interface Found {
  name: string;
  secret: boolean;
  required: boolean;
  description?: string;
  default?: string;
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  // With --json, every error (a usage error too) is the JSON report `check --json` prints for one.
  return parsedWithJsonErrors(argv, flags, context, (parsed) =>
    init(parsed.flags, parsed.positionals, context),
  );
}

const REVIEW = "review the guesses (secret or config, required or optional), then run `tessera check`";

async function init(
  options: FlagValues<typeof flags>,
  positionals: readonly string[],
  context: Context,
): Promise<number> {
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  noArguments(positionals, `${usage}: name source files with --from FILE`);
  const target = join(context.cwd, "tessera.yaml");
  const existed = existsSync(target);
  if (existed && !options.force) {
    throw new TesseraError("E_OUTPUT_EXISTS", "tessera.yaml already exists", {
      hint: "use --force to replace it",
    });
  }
  const inputs = options.from?.length
    ? options.from.map((file) => resolvePath(context.cwd, file))
    : ["Dockfile.yaml", ".env.example", ".env"]
        .map((file) => join(context.cwd, file))
        .filter((file) => existsSync(file));
  if (inputs.length === 0) {
    throw new TesseraError(
      "E_FILE_NOT_FOUND",
      "nothing to start from: no Dockfile.yaml, .env.example or .env here",
      {
        hint: "run tessera init where those files are, or name one with --from FILE",
      },
    );
  }
  const found = new Map<string, Found>();
  const used: string[] = [];
  const skipped: Skipped[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new TesseraError("E_FILE_NOT_FOUND", `${input} not found`);
    used.push(basename(input));
    const text = readInput(input, context.cwd);
    for (const entry of /dockfile/i.test(basename(input))
      ? await fromDockfile(input, text, context.cwd)
      : fromDotenv(input, text, skipped)) {
      if (!found.has(entry.name)) found.set(entry.name, entry);
    }
  }
  const entries = [...found.values()];
  // Both read before either is written: a .gitignore that cannot be read leaves no tessera.yaml behind.
  const gitignore = plannedGitignore(context.cwd);
  writeOutputFile(context.cwd, "tessera.yaml", manifestText(entries, used), 0o644);
  const ignored = writeGitignore(context.cwd, gitignore);
  if (options.json) {
    const tracked = trackedValueFiles(context.cwd, context.env);
    printJson(context, {
      ok: true,
      command: "init",
      manifest: "tessera.yaml",
      replaced: existed,
      sources: inputs.map((input) => displayPath(context.cwd, input)),
      variables: entries.map((entry) => ({
        name: entry.name,
        kind: entry.secret ? "secret" : "config",
        required: entry.required,
      })),
      written: [
        { path: "tessera.yaml", role: "manifest", values: false, mode: "0644" },
        ...(ignored.length ? [{ path: ".gitignore", role: "gitignore", values: false, mode: "0644" }] : []),
      ],
      removed: [],
      gitignoreAdded: ignored,
      skipped: skipped.map(({ path, lines }) => ({ file: displayPath(context.cwd, path), lines })),
      warnings: tracked.map((file) => ({
        code: "W_VALUE_FILE_TRACKED",
        message: trackedMessage(file),
        location: file,
      })),
      todo: [{ message: REVIEW, commands: ["tessera check"] }],
    });
    return 0;
  }
  if (!options.quiet) {
    const secrets = entries.filter((entry) => entry.secret).length;
    context.stderr(
      `tessera: wrote tessera.yaml: ${secrets} secret, ${entries.length - secrets} config (names from ${used.join(", ")})\n` +
        (ignored.length ? `tessera: added to .gitignore: ${ignored.join(" ")}\n` : "") +
        (skipped.length
          ? `tessera: skipped what assigns no NAME= (a stray value is not a name): ${skipped.map(skippedText).join("; ")}\n`
          : "") +
        `tessera: ${REVIEW}\n`,
    );
    for (const file of trackedValueFiles(context.cwd, context.env)) {
      context.stderr(`tessera: warning[W_VALUE_FILE_TRACKED]: ${trackedMessage(file)}\n`);
    }
  }
  return 0;
}

function trackedMessage(file: string): string {
  return `${file} is tracked by git; remove it from the index with \`git rm --cached ${file}\` (and rotate what it held)`;
}

/** Lines of a value file that assign no NAME= (reported by number, never by content). */
interface Skipped {
  /** The file's name, as the text output says it. */
  file: string;
  /** Its absolute path. */
  path: string;
  lines: number[];
}

function skippedText({ file, lines }: Skipped): string {
  return `${file}: line${lines.length === 1 ? "" : "s"} ${lines.join(", ")}`;
}

/**
 * A file init reads (a source of names, the .gitignore): a directory or a file this user cannot read is
 * E_FILE_INVALID naming it, never E_INTERNAL.
 */
function readInput(path: string, cwd: string, role: "source" | "gitignore" = "source"): string {
  const shown = displayPath(cwd, path);
  const instead =
    role === "source"
      ? "name a .env-style file or a Dockfile with --from FILE (the path is relative to the current directory)"
      : `move ${shown} away: init adds its value-file patterns to a .gitignore file`;
  try {
    if (statSync(path).isDirectory())
      throw new TesseraError(
        "E_FILE_INVALID",
        `${shown} is a directory, not ${role === "source" ? "a file to read names from" : "a file"}`,
        { hint: instead },
      );
    return readFileSync(path, "utf8");
  } catch (error) {
    if (isTesseraError(error)) throw error;
    throw new TesseraError("E_FILE_INVALID", `${shown} cannot be read (${errnoCode(error) ?? "error"})`, {
      hint: `make it readable by this user, or ${instead}`,
    });
  }
}

/**
 * The names a dotenv file assigns. Only a line that reads `NAME=…` (or `export NAME=…`) gives a name:
 * a token pasted on a line of its own, or text after a closing quote, is a value that lost its way, and
 * must not become a variable name in a file meant for committing. Such lines are reported by number.
 */
function fromDotenv(path: string, text: string, skipped: Skipped[]): Found[] {
  const parsed = parseDotenv(text, basename(path));
  const lines = text.split(/\r?\n|\r/);
  const assigns = (name: string, line: number) =>
    new RegExp(`^[\\t ]*(?:export[\\t ]+)?${name}[\\t ]*=`).test(lines[line - 1] ?? "");
  const names: string[] = [];
  const rejected = new Set<number>();
  for (const entry of parsed.entries) {
    if (ENV_NAME.test(entry.key) && assigns(entry.key, entry.line)) names.push(entry.key);
    else rejected.add(entry.line);
  }
  for (const entry of parsed.bare) rejected.add(entry.line);
  if (rejected.size) skipped.push({ file: basename(path), path, lines: [...rejected].sort((a, b) => a - b) });
  return names.map((name) => ({ name, secret: looksSecret(name), required: true }));
}

async function fromDockfile(path: string, text: string, cwd: string): Promise<Found[]> {
  const { parseDockfile } = await import("../manifest/dockfile.js");
  const spec = parseDockfile(text, basename(path), cwd);
  const out: Found[] = spec.variables.map((declaration: Declaration) => ({
    name: declaration.name,
    // Config from a Dockfile's `config:` section or a `secret: false` entry stays config.
    secret: declaration.kind === "secret",
    required: declaration.required,
    description: declaration.description,
    default: declaration.value,
  }));
  for (const reference of spec.implicitReferences) {
    // Not a name yet: an auth name written with ${…} (expanded at resolve time) or a PREFIX_* of multi-key mode.
    if (!ENV_NAME.test(reference.name)) continue;
    out.push({
      name: reference.name,
      secret: looksSecret(reference.name),
      required: true,
      description: `used by ${reference.context}`,
    });
  }
  return out;
}

function yamlString(text: string): string {
  return JSON.stringify(text);
}

function manifestText(entries: Found[], sources: string[]): string {
  const lines = [
    // Editors with the YAML language server (VS Code's YAML extension, …) check the file against it.
    `# yaml-language-server: $schema=${SCHEMA_URL}`,
    "# Tessera manifest: what this service needs and where values come from — never the values.",
    `# Created by \`tessera init\` from ${sources.join(", ")}. Commit this file; keep .env and env.yaml out of git.`,
    "# Reference: see the Tessera README (manifest reference). Offline schema: `tessera schema > tessera.schema.json`.",
    "",
  ];
  const secrets = entries.filter((entry) => entry.secret);
  const config = entries.filter((entry) => !entry.secret);
  const secretLines = (list: Found[]) =>
    list.flatMap((entry) => [
      `    - name: ${entry.name}`,
      ...(entry.description ? [`      description: ${yamlString(entry.description)}`] : []),
      ...(entry.default !== undefined ? [`      default: ${yamlString(entry.default)}`] : []),
    ]);
  const required = secrets.filter((entry) => entry.required);
  const optional = secrets.filter((entry) => !entry.required);
  if (secrets.length) {
    lines.push("secrets:");
    if (required.length) lines.push("  required:", ...secretLines(required));
    if (optional.length) lines.push("  optional:", ...secretLines(optional));
    lines.push("");
  }
  if (config.length) {
    lines.push("config:");
    for (const entry of config) {
      const fields = [`required: ${entry.required}`];
      if (entry.description) fields.push(`description: ${yamlString(entry.description)}`);
      lines.push(`  ${entry.name}: { ${fields.join(", ")} }`);
    }
    lines.push("");
  }
  if (!secrets.length && !config.length) lines.push("secrets:", "  required: []", "");
  return `${lines.join("\n").trimEnd()}\n`;
}

/** The .gitignore as it is and the value-file patterns it lacks (read now, written by writeGitignore). */
function plannedGitignore(cwd: string): { current: string; missing: string[] } {
  const path = join(cwd, ".gitignore");
  const current = existsSync(path) ? readInput(path, cwd, "gitignore") : "";
  const present = new Set(current.split(/\r?\n/).map((line) => line.trim()));
  return { current, missing: IGNORED_VALUE_FILES.filter((pattern) => !present.has(pattern)) };
}

/** Add the value-file patterns .gitignore lacks; returns what was added. */
function writeGitignore(cwd: string, { current, missing }: ReturnType<typeof plannedGitignore>): string[] {
  if (missing.length === 0) return [];
  const prefix = current === "" || current.endsWith("\n") ? current : `${current}\n`;
  writeOutputFile(
    cwd,
    ".gitignore",
    `${prefix}${current ? "\n" : ""}# value files (Tessera): never commit values\n${missing.join("\n")}\n`,
    0o644,
  );
  return missing;
}

function trackedValueFiles(cwd: string, env: Context["env"]): string[] {
  const result = spawnSync(
    "git",
    ["ls-files", "--", ".env", ".env.*", "env.yaml", "env.*.yaml", ".dockrion-env.yaml"],
    { cwd, encoding: "utf8", env: gitEnvironment(env) },
  );
  if (result.status !== 0 || !result.stdout) return [];
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .filter((file) => !file.endsWith(".example"));
}
