/**
 * The command line's finish: `tessera completion bash|zsh|fish` (the bash script driven by real bash, as
 * readline drives it), `-v`, the `k8s` alias, a hint for every unknown option, caches that stay bounded,
 * and the README's table of every TESSERA_* variable.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CHOICES, VAR_SUBCOMMANDS } from "../../src/commands/completion.ts";
import { SPEC_CACHE_LIMIT } from "../../src/manifest/load.ts";
import { TARGET_NAMES } from "../../src/targets/catalog.ts";
import { CLI, project, ROOT, tessera } from "../helpers.ts";

const MANIFEST = `service: { name: shop, image: registry.example.test/shop:1, port: 8080 }
secrets:
  required:
    - name: DB_PASSWORD
config:
  LOG_LEVEL: info
`;
const ENV = "DB_PASSWORD=fake-db-password-77a1\n";

/** The commands `tessera help` lists. */
function commandNames(): string[] {
  const help = tessera(["help"], { cwd: project({}) }).stdout;
  const section = help.slice(
    help.indexOf("Commands:\n") + 10,
    help.indexOf("\n\n", help.indexOf("Commands:")),
  );
  return [...section.matchAll(/^ {2}([a-z]+) /gm)].map((match) => match[1]!);
}

/** The long options a --help lists in its Options section. */
function optionsIn(help: string): string[] {
  const section = help.slice(help.indexOf("\nOptions:\n"));
  return [...section.matchAll(/^ {2}(?:-\w, | {4})(--[\w-]+)/gm)].map((match) => match[1]!);
}

function script(shell: string): string {
  const result = tessera(["completion", shell], { cwd: project({}) });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, "");
  return result.stdout;
}

/**
 * Source the bash script in real bash and call its function as readline does (COMP_WORDS, COMP_CWORD),
 * once per word list; the candidates of each, sorted.
 */
function bashComplete(text: string, cases: readonly (readonly string[])[], cwd: string): string[][] {
  const file = join(project({}), "tessera.bash");
  writeFileSync(file, text);
  const driver = `source "$1"; shift
while (( $# )); do
  n=$1; shift
  COMP_WORDS=("\${@:1:n}"); shift "$n"
  COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _tessera
  (( \${#COMPREPLY[@]} )) && printf '%s\\n' "\${COMPREPLY[@]}"
  printf '@@end\\n'
done`;
  const args = cases.flatMap((words) => [String(words.length), ...words]);
  const result = spawnSync("bash", ["--norc", "--noprofile", "-c", driver, "driver", file, ...args], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, LC_ALL: "C" },
  });
  if (result.error) throw result.error; // bash is required (scripts/test-all.sh installs it)
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, "", "the completion function prints nothing on stderr");
  const answers = result.stdout.split("@@end\n").slice(0, -1);
  assert.equal(answers.length, cases.length, result.stdout);
  return answers.map((answer) => [...new Set(answer.split("\n").filter(Boolean))].sort());
}

const sorted = (list: readonly string[]) => [...list].sort();

/** Whether a shell is installed (its -n check then runs; its absence is no failure: see the tests). */
const installed = (shell: string) => !spawnSync(shell, ["-c", "true"]).error;

describe("tessera completion", () => {
  test("bash: real bash completes commands, options, option values, files and run's command", () => {
    const dir = project({ "tessera.yaml": MANIFEST, "deploy/.keep": "", "notes.txt": "" });
    const text = script("bash");
    const targets = sorted([...TARGET_NAMES, "k8s"]);
    const cases: [string[], string[] | ((got: string[]) => void)][] = [
      [["tessera", "ch"], ["check"]],
      [["tessera", "comp"], ["completion"]],
      [["tessera", "build", "--ta"], ["--target"]],
      [["tessera", "build", "-t", ""], targets],
      [["tessera", "build", "--target", ""], targets],
      [
        ["tessera", "deploy", "-t", "k"],
        ["k8s", "kubernetes"],
      ],
      // bash splits --target=k8s at "=" (COMP_WORDBREAKS)
      [
        ["tessera", "deploy", "--target", "=", "k"],
        ["k8s", "kubernetes"],
      ],
      [["tessera", "deploy", "--target", "="], targets],
      [
        ["tessera", "diff", "--live", ""],
        ["compose", "docker", "k8s", "kubernetes"],
      ],
      [["tessera", "export", "--format", "y"], ["yaml"]],
      [["tessera", "export", "-f", ""], sorted(CHOICES["export --format"]!)],
      [
        ["tessera", "completion", ""],
        ["bash", "fish", "zsh"],
      ],
      [
        ["tessera", "help", "ex"],
        ["expand", "explain", "export", "expose"],
      ],
      [["tessera", "var", ""], sorted(Object.keys(VAR_SUBCOMMANDS))],
      [["tessera", "var", "set", "--l"], ["--literal"]],
      [
        ["tessera", "var", "import", "--format", ""],
        ["dotenv", "ploinky"],
      ],
      [["tessera", "run", "--no-m"], ["--no-mask"]],
      [["tessera", "run", "--manifest", "tes"], ["tessera.yaml"]],
      [["tessera", "build", "-o", ""], ["deploy"]],
      [["tessera", "check", "n"], ["notes.txt"]],
      // run's command: a program, then that program's arguments (files)
      [["tessera", "run", "--", "s"], (got) => assert.ok(got.includes("sh"), got.join(" "))],
      [["tessera", "run", "--env", "prod", "s"], (got) => assert.ok(got.includes("sh"), got.join(" "))],
      [["tessera", "run", "--", "sh", "tes"], ["tessera.yaml"]],
      [["tessera", "run", "--", "sh", "--ma"], []],
      [["tessera", "-"], (got) => assert.deepEqual(got, sorted(["--help", "-h", "--version", "-V", "-v"]))],
    ];
    const answers = bashComplete(
      text,
      cases.map(([words]) => words),
      dir,
    );
    cases.forEach(([words, expected], i) => {
      if (typeof expected === "function") expected(answers[i]!);
      else assert.deepEqual(answers[i], sorted(expected), `tessera ${words.slice(1).join(" ")}<TAB>`);
    });
  });

  test("bash: every command and every option its --help lists is offered", () => {
    const text = script("bash");
    const commands = commandNames();
    assert.ok(commands.includes("completion") && commands.includes("run"), commands.join(" "));
    const [top, ...perCommand] = bashComplete(
      text,
      [["tessera", ""], ...commands.map((command) => ["tessera", command, "--"])],
      project({}),
    );
    for (const command of commands) assert.ok(top!.includes(command), `${command} in ${top!.join(" ")}`);
    commands.forEach((command, i) => {
      if (command === "var") return; // its options are its subcommands' (below)
      const help = tessera(["help", command], { cwd: project({}) }).stdout;
      const options = optionsIn(help);
      assert.ok(options.length > 0, `${command} --help lists options`);
      for (const option of options)
        assert.ok(perCommand[i]!.includes(option), `tessera ${command} ${option} is not offered`);
      // The fixed value words of its options appear in its help (so the table does not go stale).
      for (const [key, words] of Object.entries(CHOICES)) {
        if (!key.startsWith(`${command} --`)) continue;
        for (const word of words) assert.ok(help.includes(word), `${key} ${word}: not in ${command} --help`);
      }
    });
  });

  test("var: the subcommands offered are those `tessera var --help` names, each with its options", () => {
    const help = tessera(["var", "--help"], { cwd: project({}) }).stdout;
    const named = [...help.matchAll(/(?:tessera var |\| )([a-z]+)\b/g)].map((match) => match[1]!);
    assert.deepEqual(sorted([...new Set(named)]), sorted(Object.keys(VAR_SUBCOMMANDS)));
    for (const [key, words] of Object.entries(CHOICES)) {
      if (!key.startsWith("var ")) continue;
      for (const word of words) assert.ok(help.includes(word), `${key} ${word}: not in var --help`);
    }
    const subs = Object.keys(VAR_SUBCOMMANDS);
    const answers = bashComplete(
      script("bash"),
      subs.map((sub) => ["tessera", "var", sub, "--"]),
      project({}),
    );
    subs.forEach((sub, i) => {
      const result = tessera(["var", sub, "--help"], { cwd: project({}) });
      assert.equal(result.status, 0, `var ${sub} --help: ${result.stderr}`);
      for (const option of optionsIn(result.stdout))
        assert.ok(answers[i]!.includes(option), `tessera var ${sub} ${option} is not offered`);
    });
  });

  // zsh and fish are not required: when installed, their own -n checks the script; the structure is
  // checked here either way (bash -n parses the zsh script's quoting and compound commands too).
  test("zsh: a #compdef function, every command described, options with their values", (t) => {
    const text = script("zsh");
    assert.match(text, /^#compdef tessera\n/);
    assert.match(text, /\n {2}compdef _tessera tessera\n/);
    for (const command of commandNames()) assert.ok(text.includes(`\n    '${command}:`), command);
    const targets = [...TARGET_NAMES, "k8s"].join(" ");
    assert.ok(text.includes(`'(--target -t)-t+[`), "-t and --target exclude each other");
    assert.ok(text.includes(`]:TARGET:(${targets})'`), "build's -t with the target names");
    assert.ok(text.includes("'*--env-file=["), "a repeatable option");
    assert.ok(text.includes(":FILE:_files'"), "a file value");
    assert.ok(text.includes(":DIR:_files -/'"), "a directory value");
    assert.ok(text.includes("'(-):command:_command_names -e' '*::arguments:_normal'"), "run's command");
    const structure = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
    assert.equal(structure.status, 0, structure.stderr);
    if (installed("zsh")) {
      const file = join(project({}), "_tessera");
      writeFileSync(file, text);
      const check = spawnSync("zsh", ["-n", file], { encoding: "utf8" });
      assert.equal(check.status, 0, check.stderr);
    } else t.diagnostic("zsh is not installed: zsh -n not run (structure checked)");
  });

  test("fish: complete lines with balanced quotes, conditions that exist, values per option", (t) => {
    const text = script("fish");
    const lines = text.split("\n");
    const functions = lines.filter((line) => line.startsWith("function ")).map((line) => line.split(" ")[1]);
    assert.deepEqual(functions, ["__tessera_at", "__tessera_in", "__tessera_command"]);
    assert.equal(lines.filter((line) => line === "end").length, functions.length);
    const completes = lines.filter((line) => line.startsWith("complete "));
    assert.ok(completes.length > 100, String(completes.length));
    const parsed = completes.map((line) => {
      const words = fishWords(line);
      assert.ok(words, `unbalanced quotes: ${line}`);
      return words;
    });
    for (const words of parsed) {
      assert.deepEqual(words.slice(0, 3), ["complete", "-c", "tessera"]);
      const condition = words[words.indexOf("-n") + 1];
      if (words.includes("-n")) assert.match(condition!, /^__tessera_(at|in)( [a-z-]+)*$/);
    }
    const target = parsed.find((words) => words.join(" ").includes("__tessera_in build -l target -s t"));
    assert.ok(target, "build --target");
    assert.equal(target[target.indexOf("-a") + 1], [...TARGET_NAMES, "k8s"].join(" "));
    for (const command of commandNames())
      assert.ok(
        parsed.some((words) => words[4] === "__tessera_at" && words[6] === command),
        `${command} is offered`,
      );
    if (installed("fish")) {
      const file = join(project({}), "tessera.fish");
      writeFileSync(file, text);
      const check = spawnSync("fish", ["-n", file], { encoding: "utf8" });
      assert.equal(check.status, 0, check.stderr);
    } else t.diagnostic("fish is not installed: fish -n not run (structure checked)");
  });

  test("an unknown or missing shell: E_USAGE, exit 2, the shells listed, nothing on stdout", () => {
    for (const args of [["completion", "tcsh"], ["completion"], ["completion", "bash", "zsh"]]) {
      const result = tessera(args, { cwd: project({}) });
      assert.equal(result.status, 2, args.join(" "));
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^tessera: error\[E_USAGE\]: .*\n {2}hint: one of bash, zsh, fish/);
    }
    assert.match(tessera(["completion", "--help"], { cwd: project({}) }).stdout, /Usage: tessera completion/);
  });

  test("the completion command is a lazy chunk: the entry bundle (tessera run's path) does not carry it", () => {
    const entry = readFileSync(join(ROOT, "dist", "cli.cjs"), "utf8");
    assert.ok(!entry.includes("_tessera_reply"), "the completion scripts are not in dist/cli.cjs");
    assert.ok(readFileSync(join(ROOT, "dist", "commands.cjs"), "utf8").includes("_tessera_reply"));
  });
});

/** A fish command line's words (single quotes with \\ and \' escapes, as the script writes them). */
function fishWords(line: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === " ") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      word ??= "";
      for (i++; ; i++) {
        if (i >= line.length) return undefined;
        if (line[i] === "\\" && (line[i + 1] === "'" || line[i + 1] === "\\")) word += line[++i];
        else if (line[i] === "'") break;
        else word += line[i];
      }
    } else word = (word ?? "") + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

describe("-v", () => {
  test("prints the version on stdout, like --version and -V", () => {
    const dir = project({});
    const version = tessera(["--version"], { cwd: dir });
    for (const flag of ["-v", "-V"]) {
      const result = tessera([flag], { cwd: dir });
      assert.equal(result.status, 0);
      assert.equal(result.stderr, "");
      assert.equal(result.stdout, version.stdout);
    }
    assert.match(version.stdout, /^\d+\.\d+\.\d+\S*\n$/);
  });
});

describe("k8s names the kubernetes target", () => {
  test("build -t k8s writes what build -t kubernetes writes, in deploy/kubernetes/", () => {
    const alias = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const full = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const a = tessera(["build", "-t", "k8s"], { cwd: alias });
    const b = tessera(["build", "--target", "kubernetes"], { cwd: full });
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, /^deploy\/kubernetes\//m);
    const listed = readdirSync(join(alias, "deploy", "kubernetes")).sort();
    assert.deepEqual(listed, readdirSync(join(full, "deploy", "kubernetes")).sort());
    for (const name of listed)
      assert.equal(
        readFileSync(join(alias, "deploy", "kubernetes", name), "utf8"),
        readFileSync(join(full, "deploy", "kubernetes", name), "utf8"),
      );
  });

  test("deploy --target k8s --dry-run plans what --target kubernetes plans", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const a = tessera(["deploy", "--target", "k8s", "--dry-run"], { cwd: dir });
    const b = tessera(["deploy", "-t", "kubernetes", "--dry-run"], { cwd: dir });
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /kind: Secret/);
    assert.equal(a.stdout, b.stdout);
  });

  test("a misspelt target: did you mean, and the names with the alias; the overview names k8s", () => {
    const result = tessera(["build", "-t", "kubernets"], { cwd: project({ "tessera.yaml": MANIFEST }) });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /unknown target "kubernets"\n {2}hint: did you mean kubernetes\? one of docker, compose, kubernetes, external-secrets; or k8s for kubernetes\n/,
    );
    assert.match(tessera(["help"], { cwd: project({}) }).stdout, /kubernetes \(or k8s\)/);
  });
});

describe("unknown options: a did-you-mean or the command's options, never just a pointer", () => {
  test("every command", () => {
    for (const command of commandNames()) {
      const args =
        command === "var"
          ? ["var", "get", "--zzqx-unknown"]
          : command === "run"
            ? ["run", "--zzqx-unknown", "--", "true"]
            : [command, "--zzqx-unknown"];
      const result = tessera(args, { cwd: project({}) });
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        /^tessera: error\[E_USAGE\]: unknown option --zzqx-unknown\n {2}hint: valid options: (--[\w-]+, )*--help(, --[\w-]+)*\n$/,
        args.join(" "),
      );
    }
  });

  test("close names: a misspelling, a prefix, a letter's case, a long name with one dash, tessera's own", () => {
    const cases: [string[], string][] = [
      [["deploy", "--dry", "-t", "docker"], "did you mean --dry-run?"],
      [["build", "-T", "docker"], "did you mean -t?"],
      [["check", "-json"], "did you mean --json?"],
      [["--verison"], "did you mean --version?"],
      [["-x"], "hint: tessera takes --help, -h, --version, -V, -v before a command"],
    ];
    for (const [args, hint] of cases) {
      const result = tessera(args, { cwd: project({}) });
      assert.equal(result.status, 2, args.join(" "));
      assert.equal(result.stdout, "");
      assert.ok(result.stderr.includes(hint), `${args.join(" ")}: ${result.stderr}`);
    }
  });
});

describe("caches stay bounded", () => {
  const build = () =>
    /^\/\/ tessera-build ([0-9a-f]{24})$/m.exec(readFileSync(join(ROOT, "dist", "cli.cjs"), "utf8"))![1]!;
  const launch = (args: string[], cwd: string, cache: string) =>
    spawnSync(process.execPath, ["--", CLI, ...args], {
      cwd,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", HOME: cwd, TESSERA_CACHE_DIR: cache },
    });
  const hoursAgo = (path: string, hours: number) => {
    const when = new Date(Date.now() - hours * 3_600_000);
    utimesSync(path, when, when);
  };

  test("writing a code cache keeps the four most recently written builds × Node versions × architectures, removes older ones, nothing else", () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-code-"));
    const outside = mkdtempSync(join(tmpdir(), "tessera-outside-"));
    const other = "0123456789abcdef01234567";
    const current = build();
    // Five other keys, written 1 to 5 hours ago: with this run's, the three newest stay.
    const keys = [
      `code-${other}-${process.version}-${process.arch}-`,
      `code-${current}-v0.0.1-${process.arch}-`,
      `code-${current}-${process.version}-otherarch-`,
      `code-${other}-v18.20.4-x64-`,
      `code-${other}-v16.0.0-arm64-`,
    ];
    const files = (key: string) => [`${key}cli.bin`, `${key}run.bin`, `${key}chunk-commands.bin`];
    keys.forEach((key, age) => {
      for (const name of files(key)) {
        writeFileSync(join(cache, name), "old");
        hoursAgo(join(cache, name), age + 1);
      }
    });
    const temp = `code-${other}-v18.20.4-x64-cli.bin.4242.k3j5h.tmp`;
    writeFileSync(join(cache, temp), "old");
    hoursAgo(join(cache, temp), 2); // an interrupted write, long ago
    const foreign = [
      "notes.txt",
      "code-readme.bin",
      `code-${other}-v18.20.4-x64-run.bin.bak`,
      `code-${other}-v18.20.4-x64-run.bin.4242.fresh.tmp`,
    ];
    for (const name of foreign) writeFileSync(join(cache, name), "not Tessera's");
    // A link with a cache's name: neither followed nor removed; what it points to stays.
    writeFileSync(join(outside, "target.bin"), "not Tessera's");
    const link = `code-${other}-v14.0.0-x64-chunk-var.bin`;
    symlinkSync(join(outside, "target.bin"), join(cache, link));
    mkdirSync(join(cache, `code-${other}-v14.0.0-x64-chunk-dir.bin`));

    const dir = project({});
    const result = launch(["--version"], dir, cache);
    assert.equal(result.status, 0, result.stderr);
    const left = readdirSync(cache).sort();
    for (const key of keys.slice(0, 3))
      for (const name of files(key)) assert.ok(left.includes(name), `${name} (recent) was removed`);
    for (const key of keys.slice(3))
      for (const name of files(key)) assert.ok(!left.includes(name), `${name} (oldest) was left`);
    assert.ok(!left.includes(temp), "an old temporary file is removed");
    for (const name of foreign) assert.ok(left.includes(name), `${name} was removed`);
    assert.ok(lstatSync(join(cache, link)).isSymbolicLink());
    assert.equal(readFileSync(join(outside, "target.bin"), "utf8"), "not Tessera's");
    assert.ok(statSync(join(cache, `code-${other}-v14.0.0-x64-chunk-dir.bin`)).isDirectory());
    assert.ok(left.includes(`code-${current}-${process.version}-${process.arch}-cli.bin`));

    // A run that writes no cache does not look at the directory.
    const old = files(keys[4]!)[0]!;
    writeFileSync(join(cache, old), "old");
    hoursAgo(join(cache, old), 9);
    assert.equal(launch(["--version"], dir, cache).status, 0);
    assert.ok(existsSync(join(cache, old)), "pruned only when a cache is written");
    // The next cache written (another command group) prunes it; this build's caches stay.
    assert.equal(launch(["run", "--", "true"], dir, cache).status, 0);
    assert.ok(!existsSync(join(cache, old)));
    assert.deepEqual(
      readdirSync(cache)
        .filter((name) => name.startsWith(`code-${current}-${process.version}-${process.arch}-`))
        .sort(),
      [
        `code-${current}-${process.version}-${process.arch}-cli.bin`,
        `code-${current}-${process.version}-${process.arch}-run.bin`,
      ],
    );
  });

  test("two installs sharing a cache directory keep each other's code caches", () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-code-"));
    const other = "0123456789abcdef01234567";
    const theirs = `code-${other}-${process.version}-${process.arch}-run.bin`;
    writeFileSync(join(cache, theirs), "theirs");
    const dir = project({});
    for (const args of [["--version"], ["run", "--", "true"]]) {
      assert.equal(launch(args, dir, cache).status, 0);
      assert.ok(existsSync(join(cache, theirs)), `the other install's cache survives ${args[0]}`);
    }
  });

  test(`the Spec cache keeps the ${SPEC_CACHE_LIMIT} most recently used entries, pruned when one is written`, () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-spec-"));
    const outside = mkdtempSync(join(tmpdir(), "tessera-outside-"));
    const fake = (i: number) => `spec-${i.toString(16).padStart(16, "0")}.json`;
    const extra = 5;
    for (let i = 0; i < SPEC_CACHE_LIMIT + extra; i++) {
      writeFileSync(join(cache, fake(i)), "{}");
      hoursAgo(join(cache, fake(i)), 1000 - i); // fake(0) the least recently used
    }
    const foreign = ["spec-notes.json", `${fake(1)}.bak`, "my.json", `.${fake(2)}.4242.fresh.tmp`];
    for (const name of foreign) writeFileSync(join(cache, name), "{}");
    const oldTemp = `.${fake(3)}.4242.k3j5h.tmp`;
    writeFileSync(join(cache, oldTemp), "{");
    hoursAgo(join(cache, oldTemp), 2);
    writeFileSync(join(outside, "target.json"), "not Tessera's");
    const link = "spec-ffffffffffffffff.json";
    symlinkSync(join(outside, "target.json"), join(cache, link));

    const dir = project({ "tessera.yaml": MANIFEST, ".env": ENV });
    const entries = () =>
      readdirSync(cache).filter((name) => /^spec-[0-9a-f]{16}\.json$/.test(name) && name !== link);
    const result = tessera(["run", "--", "true"], { cwd: dir, env: { TESSERA_CACHE_DIR: cache } });
    assert.equal(result.status, 0, result.stderr);
    const left = entries();
    assert.equal(left.length, SPEC_CACHE_LIMIT);
    const written = left.filter((name) => !name.startsWith("spec-0000"));
    assert.equal(written.length, 1, "the new entry is kept");
    for (let i = 0; i <= extra; i++) assert.ok(!left.includes(fake(i)), `${fake(i)} (least recent) was kept`);
    for (let i = extra + 1; i < SPEC_CACHE_LIMIT + extra; i++) assert.ok(left.includes(fake(i)), fake(i));
    for (const name of foreign) assert.ok(existsSync(join(cache, name)), `${name} was removed`);
    assert.ok(!existsSync(join(cache, oldTemp)), "an interrupted write's temporary file, long ago");
    assert.ok(lstatSync(join(cache, link)).isSymbolicLink());
    assert.equal(readFileSync(join(outside, "target.json"), "utf8"), "not Tessera's");

    // A cache hit prunes nothing, and marks its entry as used (at most once a day).
    const entry = join(cache, written[0]!);
    hoursAgo(entry, 72);
    for (let i = 0; i < 3; i++) writeFileSync(join(cache, fake(SPEC_CACHE_LIMIT + 100 + i)), "{}");
    const again = tessera(["run", "--", "true"], { cwd: dir, env: { TESSERA_CACHE_DIR: cache } });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(entries().length, SPEC_CACHE_LIMIT + 3, "no pruning on a cache hit");
    assert.ok(statSync(entry).mtimeMs > Date.now() - 24 * 3_600_000, "used: its time refreshed");
  });
});

describe("the README", () => {
  /** TESSERA_* names in the code that are identifiers, not environment variables. */
  const NOT_VARIABLES = new Set(["TESSERA_CREDENTIALS", "TESSERA_VERSION"]);

  function namesIn(dir: string): Set<string> {
    const found = new Set<string>();
    const walk = (here: string) => {
      for (const entry of readdirSync(here, { withFileTypes: true })) {
        const path = join(here, entry.name);
        if (entry.isDirectory()) walk(path);
        else
          for (const [name] of readFileSync(path, "utf8").matchAll(/\bTESSERA_[A-Z0-9_]+\b/g))
            found.add(name);
      }
    };
    walk(dir);
    return found;
  }

  test("README.md's table lists every TESSERA_* variable src/ and bin/ use, and no other", () => {
    const used = new Set([...namesIn(join(ROOT, "src")), ...namesIn(join(ROOT, "bin"))]);
    for (const name of NOT_VARIABLES) assert.ok(used.has(name), `${name} is no longer in the code`);
    for (const name of NOT_VARIABLES) used.delete(name);
    assert.ok(used.has("TESSERA_CACHE_DIR") && used.has("TESSERA_ENV"), [...used].join(" "));
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("\n## Environment variables\n");
    assert.notEqual(start, -1, "README.md has no `## Environment variables` section");
    const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
    const rows = [...section.matchAll(/^\| `(TESSERA_[A-Z0-9_]+)` \|[^|\n]+\|[^|\n]+\|$/gm)].map(
      (match) => match[1]!,
    );
    for (const name of used) assert.ok(rows.includes(name), `${name} is not in README.md's table`);
    for (const name of rows)
      assert.ok(used.has(name), `README.md's table lists ${name}, which nothing reads`);
  });
});
