/**
 * tessera completion bash|zsh|fish: a completion script on stdout, made from the command table (cli.ts)
 * and each command's own flag definitions, so it offers what this version accepts. The script holds
 * everything it needs: pressing TAB runs no Tessera. Loading every command module to read its flags
 * happens here only, never on `tessera run`'s path.
 */
import { TesseraError } from "../errors.js";
import { TARGET_ALIASES, TARGET_NAMES } from "../targets/catalog.js";
import { type FlagSpec, type FlagSpecs, helpText, parseArgs } from "./args.js";
import type { Context } from "./common.js";

/** What cli.ts's command table gives: a summary and a loader whose module may export its `flags`. */
export interface CommandEntry {
  summary: string;
  load(): Promise<{ flags?: FlagSpecs; main(argv: readonly string[], context: Context): Promise<number> }>;
}

export const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

const HELP = { type: "boolean", short: "h", help: "show help" } as const satisfies FlagSpec;

export const flags = { help: HELP } as const satisfies FlagSpecs;

const usage = `tessera completion ${SHELLS.join("|")}`;
const summary = "print a shell completion script on stdout";
const extra = `Install:
  bash  echo 'source <(tessera completion bash)' >> ~/.bashrc
  zsh   tessera completion zsh > "\${fpath[1]}/_tessera"   (or: source <(tessera completion zsh) after compinit)
  fish  tessera completion fish > ~/.config/fish/completions/tessera.fish`;

/** What an option's value completes to: files, directories, these words, or nothing (any text). */
type ValueKind = "file" | "dir" | readonly string[] | "text";

interface Option {
  long: string;
  short?: string;
  help: string;
  multiple: boolean;
  /** Undefined for a flag without a value. */
  value?: ValueKind;
  /** The value's name in help (FILE, TARGET). */
  placeholder?: string;
}

/** What an argument that is not an option completes to. */
type Positional =
  | "files"
  | "command"
  | { words: readonly string[]; described?: Readonly<Record<string, string>> };

interface Completable {
  /** The words that select it: ["build"], ["var", "set"]. */
  path: readonly string[];
  summary: string;
  options: Option[];
  positional: Positional;
  /** Subcommands, each a Completable of its own (`var set`). */
  subcommands?: Completable[];
}

/**
 * Values with a fixed set of words the flag definitions do not list themselves, by command and option.
 * (test/e2e/cli-polish.test.ts checks each word against the command's --help.)
 */
export const CHOICES: Readonly<Record<string, readonly string[]>> = {
  "export --format": ["dotenv", "json", "yaml", "shell", "github-env"],
  "export --only": ["secrets", "config"],
  "diff --live": ["kubernetes", "k8s", "docker", "compose"],
  "build --secrets-mode": ["env-file", "files"],
  "deploy --secrets-mode": ["env-file", "files"],
  "build --env-style": ["envFrom", "refs"],
  "deploy --env-style": ["envFrom", "refs"],
  "var import --format": ["dotenv", "ploinky"],
  "var export --format": ["dotenv", "ploinky", "json"],
};

/**
 * `tessera var`'s subcommands (its modules keep their flags to themselves: their options are read from
 * their --help; the test checks these names against `tessera var --help`).
 */
export const VAR_SUBCOMMANDS: Readonly<Record<string, string>> = {
  set: "store values: NAME VALUE, NAME=VALUE… or NAME --stdin",
  get: "print a stored value (as stored)",
  unset: "remove variables",
  declare: "add variables with an empty value",
  list: "list the stored names (values only with --values)",
  import: "import a dotenv or Ploinky .secrets file",
  export: "print the stored values",
  rekey: "re-encrypt the store to .tessera/recipients",
  recipient: "print your public key",
};

/** The options a command's --help lists (formatFlags' layout), for a command that exports no `flags`. */
export function optionsInHelp(text: string): FlagSpecs {
  const specs: Record<string, FlagSpec> = {};
  const section = text.slice(text.indexOf("\nOptions:\n") + 10);
  for (const line of section.split("\n")) {
    if (line.trim() === "") break;
    const match = /^ {2}(?:-(\w), | {4})--([\w-]+)(?: (\S+))? {2,}(.*)$/.exec(line);
    if (!match) continue;
    const [, short, long, value, help] = match;
    specs[long!] = {
      type: value ? "string" : "boolean",
      help: help!,
      ...(short ? { short } : {}),
      ...(value ? { value } : {}),
    };
  }
  return specs;
}

/** A command's options: its exported `flags`, else those its --help lists. */
async function flagsOf(
  module: { flags?: FlagSpecs; main(argv: readonly string[], context: Context): Promise<number> },
  argv: readonly string[],
  context: Context,
): Promise<FlagSpecs> {
  if (module.flags && argv.length === 0) return module.flags;
  let text = "";
  const quiet: Context = {
    cwd: context.cwd,
    env: context.env,
    stdout: (out) => (text += out),
    stderr: () => {},
  };
  await module.main([...argv, "--help"], quiet);
  return text.includes("\nOptions:\n") ? optionsInHelp(text) : {};
}

function optionsOf(path: readonly string[], specs: FlagSpecs): Option[] {
  return Object.entries(specs).flatMap(([long, spec]) => {
    const option: Option = { long, help: spec.help, multiple: spec.multiple === true };
    if (spec.short) option.short = spec.short;
    if (spec.type === "string") {
      option.placeholder = spec.value ?? "VALUE";
      option.value = valueKind(path, long, option.placeholder);
    }
    // A flag's negation (`--no-mask`), offered when its help names it.
    const negated = spec.type === "boolean" && spec.help.includes(`--no-${long}`);
    return negated ? [option, { long: `no-${long}`, help: `not --${long}`, multiple: false }] : [option];
  });
}

function valueKind(path: readonly string[], long: string, placeholder: string): ValueKind {
  const choices = CHOICES[`${path.join(" ")} --${long}`];
  if (choices) return choices;
  if (placeholder === "TARGET") return [...TARGET_NAMES, ...Object.keys(TARGET_ALIASES)];
  if (placeholder === "FILE" || placeholder === "OUT") return "file";
  if (placeholder === "DIR") return "dir";
  return "text";
}

/** The tree of commands, subcommands and options the scripts complete. */
export async function completionModel(
  commands: Readonly<Record<string, CommandEntry>>,
  context: Context,
): Promise<Completable[]> {
  const names = Object.keys(commands);
  const described = Object.fromEntries(names.map((name) => [name, commands[name]!.summary]));
  const model: Completable[] = [];
  for (const [name, entry] of Object.entries(commands)) {
    const path = [name];
    const module = await entry.load();
    const item: Completable = {
      path,
      summary: entry.summary,
      options: optionsOf(path, await flagsOf(module, [], context)),
      positional: name === "run" ? "command" : name === "completion" ? { words: SHELLS } : "files",
    };
    if (name === "var") {
      const subs = Object.entries(VAR_SUBCOMMANDS);
      item.options = optionsOf(path, { help: HELP });
      item.positional = { words: subs.map(([sub]) => sub), described: VAR_SUBCOMMANDS };
      item.subcommands = [];
      for (const [sub, subSummary] of subs) {
        item.subcommands.push({
          path: [name, sub],
          summary: subSummary,
          options: optionsOf([name, sub], await flagsOf(module, [sub], context)),
          positional: "files",
        });
      }
    }
    model.push(item);
  }
  model.push({
    path: ["help"],
    summary: "show the overview, or a command's options",
    options: [],
    positional: { words: names, described },
  });
  model.push({ path: ["version"], summary: "print the version", options: [], positional: { words: [] } });
  return model;
}

const TOP_OPTIONS: readonly Option[] = [
  { long: "help", short: "h", help: "show help", multiple: false },
  { long: "version", short: "V", help: "print the version", multiple: false },
];

// ------------------------------------------------------------------------------------------------ bash

function bash(model: Completable[]): string {
  const all = model.flatMap((item) => [item, ...(item.subcommands ?? [])]);
  const flagWords = (item: Completable) =>
    item.options.flatMap((option) => [`--${option.long}`, ...(option.short ? [`-${option.short}`] : [])]);
  // _tessera_value: one case arm per kind of value, listing every `command option` that takes it.
  const arms = new Map<string, string[]>();
  for (const item of all) {
    for (const option of item.options) {
      if (!option.value) continue;
      const kind = typeof option.value === "string" ? `@${option.value}` : option.value.join(" ");
      const key = item.path.join(" ");
      const patterns = [`"${key} --${option.long}"`, ...(option.short ? [`"${key} -${option.short}"`] : [])];
      arms.set(kind, [...(arms.get(kind) ?? []), ...patterns]);
    }
  }
  const valueArms = [...arms]
    .map(([kind, patterns]) => `    ${patterns.join("|")})\n      echo "${kind}" ;;`)
    .join("\n");
  const optionArms = all
    .map((item) => `    "${item.path.join(" ")}") echo "${flagWords(item).join(" ")}" ;;`)
    .join("\n");
  const positionalArms = all
    .map((item) => {
      const p = item.positional;
      const what = p === "files" ? "@file" : p === "command" ? "@command" : p.words.join(" ");
      return `    "${item.path.join(" ")}") echo "${what}" ;;`;
    })
    .join("\n");
  const withSubcommands = model.filter((item) => item.subcommands).map((item) => item.path[0]);
  const top = model.map((item) => item.path[0]).join(" ");
  const topOptions = [...TOP_OPTIONS.flatMap((o) => [`--${o.long}`, `-${o.short}`]), "-v"].join(" ");
  return `# bash completion for tessera (made by \`tessera completion bash\`)
# Install: echo 'source <(tessera completion bash)' >> ~/.bashrc

# The options of a command ("build", "var set").
_tessera_options() {
  case "$1" in
${optionArms}
  esac
}

# What the value of option $2 of command $1 completes to: @file, @dir, @text or words; fails when the
# option takes no value.
_tessera_value() {
  case "$1 $2" in
${valueArms}
    *) return 1 ;;
  esac
}

# What an argument of command $1 that is not an option completes to: @file, @command or words.
_tessera_positional() {
  case "$1" in
${positionalArms}
  esac
}

# COMPREPLY from the lines a command prints (names with spaces stay whole; nothing is globbed).
_tessera_reply() {
  local line
  COMPREPLY=()
  while IFS= read -r line; do
    [[ -n $line ]] && COMPREPLY+=("$line")
  done < <("$@")
}

_tessera_complete() {
  local cur=\${2-} kind=$1
  case "$kind" in
    @file)
      compopt -o filenames 2>/dev/null
      _tessera_reply compgen -f -- "$cur" ;;
    @dir)
      compopt -o filenames 2>/dev/null
      _tessera_reply compgen -d -- "$cur" ;;
    @command) _tessera_reply compgen -c -- "$cur" ;;
    @text) COMPREPLY=() ;;
    *) _tessera_reply compgen -W "$kind" -- "$cur" ;;
  esac
}

_tessera() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev="" key word kind
  local -i cword=$COMP_CWORD first=2 i positionals=0 ended=0
  COMPREPLY=()
  # bash splits --option=value at "=" (COMP_WORDBREAKS): complete the value.
  if [[ $cur == "=" && $cword -gt 1 ]]; then
    prev=\${COMP_WORDS[cword-1]}
    cur=""
  elif (( cword > 1 )); then
    prev=\${COMP_WORDS[cword-1]}
    if [[ $prev == "=" && $cword -gt 2 ]]; then prev=\${COMP_WORDS[cword-2]}; fi
  fi
  if (( cword == 1 )); then
    if [[ $cur == -* ]]; then
      _tessera_complete "${topOptions}" "$cur"
    else
      _tessera_complete "${top}" "$cur"
    fi
    return 0
  fi
  key=\${COMP_WORDS[1]}
  case " ${withSubcommands.join(" ")} " in
    *" $key "*)
      if (( cword > 2 )) && [[ \${COMP_WORDS[2]} != -* ]] && [[ -n "$(_tessera_options "$key \${COMP_WORDS[2]}")" ]]; then
        key="$key \${COMP_WORDS[2]}"
        first=3
      fi ;;
  esac
  # The words before the cursor: options (and their values), --, arguments.
  for (( i = first; i < cword; i++ )); do
    word=\${COMP_WORDS[i]}
    if (( ended )); then positionals+=1; continue; fi
    case "$word" in
      --) ended=1 ;;
      -*)
        if [[ \${COMP_WORDS[i+1]-} == "=" ]]; then
          i+=2
        elif _tessera_value "$key" "$word" >/dev/null && (( i + 1 < cword )); then
          i+=1
        fi ;;
      *) positionals+=1 ;;
    esac
  done
  if (( ! ended )) && [[ $prev == -* ]] && kind=$(_tessera_value "$key" "$prev"); then
    _tessera_complete "$kind" "$cur"
    return 0
  fi
  if (( ! ended )) && [[ $cur == -* ]]; then
    _tessera_complete "$(_tessera_options "$key")" "$cur"
    return 0
  fi
  kind=$(_tessera_positional "$key")
  if [[ $kind == @command ]]; then
    # run's command, then that command's arguments (files).
    if (( positionals > 0 )); then kind=@file; fi
  elif [[ $kind != @* ]] && (( positionals > 0 )); then
    kind=@file
  fi
  _tessera_complete "$kind" "$cur"
  return 0
}

complete -F _tessera tessera
`;
}

// ------------------------------------------------------------------------------------------------- zsh

/** Inside zsh single quotes. */
const zq = (text: string) => text.replaceAll("'", "'\\''");
/** An _arguments explanation: brackets and backslashes escaped. */
const zexplain = (text: string) => text.replace(/[\\[\]]/g, (c) => `\\${c}`);
/** A _describe entry, `name:description` (a colon in the name escaped). */
const zdescribe = (name: string, text: string) => `'${zq(`${name.replaceAll(":", "\\:")}:${text}`)}'`;

function zshAction(value: ValueKind): string {
  if (value === "file") return "_files";
  if (value === "dir") return "_files -/";
  if (value === "text") return " ";
  return `(${value.join(" ")})`;
}

function zshSpecs(options: readonly Option[]): string[] {
  const specs: string[] = [];
  for (const option of options) {
    const forms = [`--${option.long}`, ...(option.short ? [`-${option.short}`] : [])];
    const exclusion = option.multiple ? "*" : forms.length > 1 ? `(${forms.join(" ")})` : "";
    for (const form of forms) {
      const name = option.value ? `${form}${form.startsWith("--") ? "=" : "+"}` : form;
      const tail = option.value
        ? `:${zexplain(option.placeholder ?? "VALUE")}:${zshAction(option.value)}`
        : "";
      specs.push(`'${zq(`${exclusion}${name}[${zexplain(option.help)}]${tail}`)}'`);
    }
  }
  return specs;
}

function zshPositional(item: Completable): string {
  const p = item.positional;
  if (p === "files") return "'*:file:_files'";
  if (p === "command") return "'(-):command:_command_names -e' '*::arguments:_normal'";
  if (p.words.length === 0) return "";
  return `': :->${item.path.join("-")}'`;
}

function zsh(model: Completable[]): string {
  const described = (item: Completable) => {
    const p = item.positional;
    if (typeof p === "string") return "";
    return `    (${item.path.join("-")})
      local -a choices=(${p.words.map((word) => zdescribe(word, p.described?.[word] ?? word)).join(" ")})
      _describe -t choices '${zq(item.path.join(" "))}' choices ;;`;
  };
  const caseArm = (item: Completable, indent: string): string => {
    const specs = [...zshSpecs(item.options), zshPositional(item)].filter(Boolean);
    const lines = [`${indent}(${item.path.at(-1)})`];
    if (item.subcommands) {
      lines.push(
        `${indent}  if (( CURRENT > 2 )) && [[ $words[2] != -* ]]; then`,
        `${indent}    local sub=$words[2]`,
        `${indent}    shift words; (( CURRENT-- ))`,
        `${indent}    case $sub in`,
        ...item.subcommands.map((sub) => caseArm(sub, `${indent}      `)),
        `${indent}    esac`,
        `${indent}    return`,
        `${indent}  fi`,
      );
    }
    lines.push(`${indent}  _arguments -s -S : \\`, ...specs.map((spec) => `${indent}    ${spec} \\`));
    lines[lines.length - 1] = lines[lines.length - 1]!.replace(/ \\$/, "");
    lines.push(`${indent}  ;;`);
    return lines.join("\n");
  };
  const all = model.flatMap((item) => [item, ...(item.subcommands ?? [])]);
  const commandList = model.map((item) => zdescribe(item.path[0]!, item.summary)).join("\n    ");
  const topOptions = [...TOP_OPTIONS.flatMap((o) => [`--${o.long}`, `-${o.short}`]), "-v"].join(" ");
  return `#compdef tessera
# zsh completion for tessera (made by \`tessera completion zsh\`)
# Install: tessera completion zsh > "\${fpath[1]}/_tessera"  (then start a new shell), or after compinit:
#          source <(tessera completion zsh)

_tessera() {
  local curcontext=$curcontext state line
  local -a tessera_commands=(
    ${commandList}
  )
  if (( CURRENT == 2 )); then
    if [[ $PREFIX == -* ]]; then
      compadd -- ${topOptions}
    else
      _describe -t commands 'tessera command' tessera_commands
    fi
    return
  fi
  local cmd=$words[2]
  shift words; (( CURRENT-- ))
  case $cmd in
${model.map((item) => caseArm(item, "    ")).join("\n")}
  esac
  case $state in
${all.map(described).filter(Boolean).join("\n")}
  esac
}

if [[ $funcstack[1] == _tessera ]]; then
  _tessera "$@"
else
  compdef _tessera tessera
fi
`;
}

// ------------------------------------------------------------------------------------------------ fish

/** Inside fish single quotes. */
const fq = (text: string) => `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;

function fish(model: Completable[]): string {
  const lines: string[] = [];
  const at = (path: readonly string[]) => fq(["__tessera_at", ...path].join(" "));
  const within = (path: readonly string[]) => fq(["__tessera_in", ...path].join(" "));
  const emit = (item: Completable, condition: string) => {
    for (const option of item.options) {
      const parts = ["complete -c tessera -n", condition, "-l", option.long];
      if (option.short) parts.push("-s", option.short);
      if (option.value === "file") parts.push("-r", "-F");
      else if (option.value === "dir") parts.push("-x", "-a", fq("(__fish_complete_directories)"));
      else if (option.value === "text") parts.push("-x");
      else if (option.value) parts.push("-x", "-a", fq(option.value.join(" ")));
      parts.push("-d", fq(option.help));
      lines.push(parts.join(" "));
    }
    const p = item.positional;
    if (p === "files") lines.push(`complete -c tessera -n ${condition} -F`);
    else if (p === "command") {
      const valued = item.options
        .filter((option) => option.value)
        .flatMap((option) => [`--${option.long}`, ...(option.short ? [`-${option.short}`] : [])]);
      lines.push(
        `complete -c tessera -n ${condition} -x -a ${fq(`(__tessera_command ${item.path.length} ${valued.join(" ")})`)}`,
      );
    } else {
      for (const word of p.words) {
        const description = p.described?.[word];
        lines.push(
          `complete -c tessera -n ${at(item.path)} -a ${fq(word)}${description ? ` -d ${fq(description)}` : ""}`,
        );
      }
    }
  };
  for (const item of model) {
    lines.push(`complete -c tessera -n ${at([])} -a ${fq(item.path[0]!)} -d ${fq(item.summary)}`);
  }
  for (const option of TOP_OPTIONS)
    lines.push(`complete -c tessera -n ${at([])} -l ${option.long} -s ${option.short} -d ${fq(option.help)}`);
  lines.push(`complete -c tessera -n ${at([])} -s v -d ${fq("print the version")}`);
  for (const item of model) {
    if (item.subcommands) {
      emit(item, at(item.path));
      for (const sub of item.subcommands) emit(sub, within(sub.path));
    } else {
      emit(item, within(item.path));
    }
  }
  return `# fish completion for tessera (made by \`tessera completion fish\`)
# Install: tessera completion fish > ~/.config/fish/completions/tessera.fish

# The words typed after \`tessera\`, before the cursor, are exactly $argv.
function __tessera_at
    set -l words (commandline -opc)
    set -e words[1]
    test (count $words) -eq (count $argv); or return 1
    for i in (seq (count $argv))
        test "$words[$i]" = "$argv[$i]"; or return 1
    end
end

# The words typed after \`tessera\` start with $argv.
function __tessera_in
    set -l words (commandline -opc)
    set -e words[1]
    test (count $words) -ge (count $argv); or return 1
    for i in (seq (count $argv))
        test "$words[$i]" = "$argv[$i]"; or return 1
    end
end

# The command \`tessera run\` starts, completed as that command: after $argv[1] words, the options
# (those in $argv[2..] take a value) and an optional --, the first other word starts it.
function __tessera_command
    set -l words (commandline -opc)
    set -l i (math $argv[1] + 2)
    while set -q words[$i]
        switch $words[$i]
            case --
                set i (math $i + 1)
                break
            case $argv[2..-1]
                set i (math $i + 2)
            case '-*'
                set i (math $i + 1)
            case '*'
                break
        end
    end
    set -l typed
    set -q words[$i]; and set typed (string escape -- $words[$i..-1])
    complete -C (string join ' ' -- $typed (commandline -ct))
end

complete -c tessera -f
${lines.join("\n")}
`;
}

export async function completion(
  argv: readonly string[],
  context: Context,
  commands: Readonly<Record<string, CommandEntry>>,
): Promise<number> {
  const parsed = parseArgs(argv, flags);
  if (parsed.flags.help) {
    context.stdout(helpText(usage, summary, flags, extra));
    return 0;
  }
  const [shell, ...rest] = parsed.positionals;
  if (shell === undefined || rest.length > 0 || !(SHELLS as readonly string[]).includes(shell)) {
    throw new TesseraError(
      "E_USAGE",
      shell === undefined
        ? "completion needs a shell"
        : rest.length > 0
          ? "completion takes one shell"
          : `no completion for ${JSON.stringify(shell)}`,
      { hint: `one of ${SHELLS.join(", ")}: ${usage}` },
    );
  }
  const model = await completionModel(commands, context);
  const render: Record<Shell, (model: Completable[]) => string> = { bash, zsh, fish };
  context.stdout(render[shell as Shell](model));
  return 0;
}
