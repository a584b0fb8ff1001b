/**
 * The `tessera` command line: dispatch only. `run` is bundled with the entry point (the hot path);
 * every other command is loaded on demand.
 */

import type { FlagSpecs } from "./commands/args.js";
import type { Context } from "./commands/common.js";
import { closest, formatError, isTesseraError } from "./errors.js";
import { VERSION } from "./manifest/load.js";
import { isRelaying } from "./run/run.js";

interface Command {
  summary: string;
  /** The command's module: its main, and its flag definitions (read by `tessera completion`). */
  load: () => Promise<{
    main(argv: readonly string[], context: Context): Promise<number>;
    flags?: FlagSpecs;
  }>;
}

const COMMANDS: Record<string, Command> = {
  run: { summary: "run a command with the resolved variables", load: () => import("./commands/run.js") },
  check: {
    summary: "validate the manifest and the resolution (summary on stderr, --json on stdout)",
    load: () => import("./commands/check.js"),
  },
  explain: {
    summary: "show where each variable comes from and what it shadows (never values)",
    load: () => import("./commands/explain.js"),
  },
  export: {
    summary: "print the resolved values as dotenv, json, yaml or shell",
    load: () => import("./commands/export.js"),
  },
  expand: {
    summary: "render a template file with the resolved variables",
    load: () => import("./commands/expand.js"),
  },
  build: {
    summary: "write deployment artifacts: docker, compose, kubernetes (or k8s), external-secrets",
    load: () => import("./commands/build.js"),
  },
  deploy: {
    summary: "resolve, render and apply: docker run, docker compose up, kubectl apply",
    load: () => import("./commands/deploy.js"),
  },
  var: {
    summary: "the encrypted workspace store: set, get, unset, declare, list, import, export, rekey",
    load: () => import("./commands/var/index.js"),
  },
  vars: {
    summary: "list the workspace store's names (never values)",
    load: () => import("./commands/vars.js"),
  },
  echo: {
    summary: "NAME: the value as stored; '$NAME': the value fully resolved",
    load: () => import("./commands/echo.js"),
  },
  expose: {
    summary: "expose a variable to a Ploinky agent (edits its manifest.json)",
    load: () => import("./commands/expose.js"),
  },
  init: {
    summary: "create a tessera.yaml from a .env, .env.example or Dockfile",
    load: () => import("./commands/init.js"),
  },
  schema: { summary: "print the JSON Schema of tessera.yaml", load: () => import("./commands/schema.js") },
  types: {
    summary: "write TypeScript declarations for the declared variables",
    load: () => import("./commands/types.js"),
  },
  scan: {
    summary:
      "find where secret values leaked (tracked files, staged changes, history, images); never prints them",
    load: () => import("./commands/scan.js"),
  },
  diff: {
    summary: "compare profiles, live targets or two files by fingerprint, never by value",
    load: () => import("./commands/diff.js"),
  },
  completion: {
    summary: "print a completion script for bash, zsh or fish",
    // The completion command reads this table (every command's flags); it is loaded only when it runs.
    load: async () => {
      const module = await import("./commands/completion.js");
      return { flags: module.flags, main: (argv, context) => module.completion(argv, context, COMMANDS) };
    },
  },
};

/** The options `tessera` itself takes, before any command. */
const TOP_OPTIONS = ["--help", "-h", "--version", "-V", "-v"];

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  const lines = Object.entries(COMMANDS).map(
    ([name, command]) => `  ${name.padEnd(width)}${command.summary}`,
  );
  return `tessera ${VERSION} — declare, resolve and deliver secrets and configuration, never in git

Usage: tessera <command> [options]

Commands:
${lines.join("\n")}

Run \`tessera <command> --help\` for a command's options.
Precedence, first wins (the README's table; \`tessera explain\` shows it per variable):
  1  --secret NAME=VALUE
  2  the process environment (declared names)
  3  NAME_FILE secret files (for a declared NAME)
  4  files named on the command line: --values, --env-file, --secrets-dir
  5  the profile's own values (--env P): profiles.P sources, env.P.yaml, .env.P.local, .env.P,
     P's external stores, profiles.P values
  6  the encrypted workspace store (.tessera/store.age)
  7  generic local files: the manifest's file sources, .dockrion-env.yaml, env.yaml, .env.local, .env
  8  external stores (the manifest's sources: vault, aws-…, gcp-…, azure-…, 1password, …)
  9  manifest defaults and config values
Exit codes: 0 ok, 1 internal error, 2 usage, 3 missing required variables, 4 invalid input,
5 a tool or the store's lock is missing, busy or failed; \`run\` returns the command's own status
(128+N when a signal N ended it), 126/127 when it cannot start.
`;
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    context.stderr(help());
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    if (rest[0] === undefined) {
      context.stdout(help());
      return 0;
    }
    const topic = COMMANDS[rest[0]];
    if (topic) return (await topic.load()).main(["--help"], context);
    return unknownCommand(rest[0], context);
  }
  if (name === "version" || name === "--version" || name === "-V" || name === "-v") {
    context.stdout(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) return name.startsWith("-") ? unknownOption(name, context) : unknownCommand(name, context);
  return (await command.load()).main(rest, context);
}

function unknownCommand(name: string, context: Context): number {
  const suggestion = closest(name, Object.keys(COMMANDS));
  context.stderr(
    `tessera: error[E_USAGE]: unknown command ${JSON.stringify(name)}\n  hint: ${suggestion ? `did you mean \`tessera ${suggestion}\`?` : "see `tessera help`"}\n`,
  );
  return 2;
}

function unknownOption(name: string, context: Context): number {
  const given = name.split("=")[0]!;
  const suggestion = given.length > 2 ? closest(given, TOP_OPTIONS) : undefined;
  context.stderr(
    `tessera: error[E_USAGE]: unknown option ${given}\n  hint: ${suggestion ? `did you mean ${suggestion}?` : `tessera takes ${TOP_OPTIONS.join(", ")} before a command; \`tessera <command> --help\` lists a command's options`}\n`,
  );
  return 2;
}

/** Run the CLI in this process: errors become messages on stderr and documented exit codes. */
export async function cli(argv: readonly string[]): Promise<void> {
  // A closed output (`tessera export | head -1`) ends Tessera as SIGPIPE would, quietly (128+13).
  // The streams are created only when Tessera writes (creating them costs ~1.5 ms on the run path).
  const onOutputError = (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    if (!isRelaying()) process.exit(141);
  };
  let guarded = false;
  const guard = () => {
    if (guarded) return;
    guarded = true;
    process.stdout.on("error", onOutputError);
    process.stderr.on("error", onOutputError);
  };
  // The environment is read here, once, and handed down as data.
  const env = { ...process.env };
  // The AWS SDK reads this switch from the process environment itself: no notice about its future Node
  // support in Tessera's output. Set after the snapshot, so no child or deploy tool is given it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const context: Context = {
    cwd: process.cwd(),
    env,
    // Getters: a stream is created only when one is used (a masked relay, deploy's tools), not here.
    output: {
      get stdout() {
        return process.stdout;
      },
      get stderr() {
        return process.stderr;
      },
    },
    stdout: (text) => {
      guard();
      process.stdout.write(text);
    },
    stderr: (text) => {
      guard();
      process.stderr.write(text);
    },
  };
  try {
    process.exitCode = await main(argv, context);
  } catch (error) {
    if (isTesseraError(error)) {
      context.stderr(`${formatError(error)}\n`);
      process.exitCode = error.exitCode;
    } else {
      const message = error instanceof Error ? error.message : String(error);
      context.stderr(
        `tessera: error[E_INTERNAL]: ${message}\n  hint: this is a bug in Tessera; TESSERA_DEBUG=1 shows the stack\n`,
      );
      if (process.env.TESSERA_DEBUG && error instanceof Error) context.stderr(`${error.stack}\n`);
      process.exitCode = 1;
    }
  }
  // Tessera's work is done: nothing it started may keep the process alive (a request to a store that was
  // abandoned after its time limit, a library's own token fetch). Unref'd, so a clean exit is not delayed.
  setTimeout(() => {
    if (process.stdout.writableLength > 0) process.stdout.once("drain", () => process.exit());
    else process.exit();
  }, 200).unref();
}
