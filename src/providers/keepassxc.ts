import { statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { displayPath } from "../files.js";
import { runTool, type ToolOutput } from "./tool.js";
import {
  type Fetched,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
} from "./types.js";

const CLI = "keepassxc-cli";
const DEFAULT_ATTRIBUTE = "Password";

type Output = ToolOutput;

/** Run keepassxc-cli (no shell) with `input` on its stdin; its output comes back whatever its status. */
function runCli(
  args: readonly string[],
  input: string,
  options: { env: NodeJS.ProcessEnv; cwd: string; signal: AbortSignal },
): Promise<Output> {
  return runTool(CLI, args, {
    ...options,
    input,
    missing: {
      what: `the command ${CLI}`,
      hint: "install KeePassXC, which provides keepassxc-cli (e.g. apt-get install keepassxc)",
    },
  });
}

function localPath(path: string, context: ProviderContext): string {
  const home = context.env.HOME || homedir();
  const expanded = path === "~" || path.startsWith("~/") ? join(home, path.slice(1)) : path;
  return resolve(context.dir, expanded);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The entry a request reads: `group/NAME` when searched, else `from.key` as a path from the root. */
function entryOf(request: LookupRequest, group: string | undefined): string {
  const trim = (path: string) => path.replace(/^\/+|\/+$/g, "");
  const base = group === undefined ? "" : trim(group);
  const entry = request.searched && base ? `${base}/${trim(request.key)}` : trim(request.key);
  if (entry === "" || entry.split("/").includes("")) {
    throw new ProviderError("invalid", `${JSON.stringify(entry)} is not an entry path of the database`, {
      hint: "entries are paths of group names and the entry's title, such as team/db",
    });
  }
  return entry;
}

type Outcome = { status: "values"; values: string[] } | { status: "no-entry" } | { status: "no-attribute" };

interface Opener {
  database: string;
  shown: string;
  args: string[];
  input: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** How to open the database: the key arguments and what goes on stdin. */
function opener(context: ProviderContext): Opener {
  const settings = context.source.settings;
  const database = localPath(settings.database ?? "", context);
  const shown = displayPath(context.cwd, database);
  if (!isFile(database)) {
    throw new ProviderError("invalid", `the database ${shown} was not found`, {
      hint: "database: is relative to the manifest's directory",
    });
  }
  const args: string[] = [];
  if (settings.keyFile) {
    const keyFile = localPath(settings.keyFile, context);
    if (!isFile(keyFile)) {
      throw new ProviderError("invalid", `the key file ${displayPath(context.cwd, keyFile)} was not found`, {
        hint: "keyFile: is relative to the manifest's directory",
      });
    }
    args.push("--key-file", keyFile);
  }
  const variable = settings.passwordEnv ?? "KEEPASSXC_PASSWORD";
  const password = context.env[variable];
  if (password === undefined || password === "") {
    if (!settings.keyFile) {
      throw new ProviderError("auth", `no password to open the database ${shown}: ${variable} is not set`, {
        hint: `set ${variable} to the database password${settings.passwordEnv ? "" : " (or name another variable with passwordEnv:)"}, or give a keyFile:`,
      });
    }
    args.push("--no-password");
  }
  const env: NodeJS.ProcessEnv = { ...context.env };
  delete env[variable];
  return {
    database,
    shown,
    args,
    input: password ? `${password}\n` : "",
    env,
    cwd: resolve(context.dir),
  };
}

/** Why keepassxc-cli failed, from what it printed (never quoted). */
function failure(open: Opener, entry: string, output: Output): ProviderError | "no-entry" | "no-attribute" {
  // Its prompt names the database file: not part of the cause.
  const text = output.stderr
    .split("\n")
    .filter((line) => !line.startsWith("Enter password to unlock"))
    .join("\n")
    .toLowerCase();
  if (text.includes("could not find entry")) return "no-entry";
  if (text.includes("unknown attribute")) return "no-attribute";
  if (text.includes("invalid credentials") || text.includes("wrong key") || text.includes("key file")) {
    return new ProviderError("auth", `the password or key file does not open the database ${open.shown}`, {
      hint: "check the password variable (passwordEnv:, default KEEPASSXC_PASSWORD) and keyFile:",
    });
  }
  if (
    /failed to open database|not a plain file|failed to read database|not a keepass|unsupported|file format|corrupt/.test(
      text,
    )
  ) {
    return new ProviderError("invalid", `${open.shown} is not a KeePass database keepassxc-cli can read`, {
      hint: "database: names a .kdbx file",
    });
  }
  const how = output.code === null ? `was killed by ${output.signal}` : `exited with status ${output.code}`;
  return new ProviderError("failed", `${CLI} show ${entry} ${how}`, {
    hint: `run \`${CLI} show ${open.shown} ${entry}\` yourself to see why`,
  });
}

/** Show `attributes` of `entry`, one per line, in one call. */
async function show(
  open: Opener,
  entry: string,
  attributes: readonly string[],
  context: ProviderContext,
): Promise<Outcome> {
  return context.retry(async (signal) => {
    const args = [
      "show",
      "-s",
      ...open.args,
      ...attributes.flatMap((name) => ["-a", name]),
      open.database,
      `/${entry}`,
    ];
    const output = await runCli(args, open.input, { env: open.env, cwd: open.cwd, signal });
    if (output.code !== 0) {
      const why = failure(open, entry, output);
      if (why === "no-entry") return { status: "no-entry" };
      if (why === "no-attribute") return { status: "no-attribute" };
      throw why;
    }
    const text = output.stdout.toString("utf8");
    const body = text.endsWith("\n") ? text.slice(0, -1) : text;
    if (attributes.length === 1) return { status: "values", values: [body] };
    const lines = body.split("\n");
    // A value spanning lines makes the output ambiguous: the caller reads each attribute alone.
    return lines.length === attributes.length
      ? { status: "values", values: lines }
      : { status: "no-attribute" };
  });
}

/** Every attribute wanted from an entry (undefined where it is not there), or undefined without the entry. */
async function readEntry(
  open: Opener,
  entry: string,
  attributes: readonly string[],
  context: ProviderContext,
): Promise<Map<string, string | undefined> | undefined> {
  const all = await show(open, entry, attributes, context);
  if (all.status === "no-entry") return undefined;
  const out = new Map<string, string | undefined>();
  if (all.status === "values") {
    attributes.forEach((name, index) => {
      out.set(name, all.values[index]);
    });
    return out;
  }
  if (attributes.length === 1) {
    out.set(attributes[0]!, undefined);
    return out;
  }
  for (const name of attributes) {
    const one = await show(open, entry, [name], context);
    if (one.status === "no-entry") return undefined;
    out.set(name, one.status === "values" ? one.values[0] : undefined);
  }
  return out;
}

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const open = opener(context);
    const group = context.source.settings.group;
    const byEntry = new Map<string, LookupRequest[]>();
    for (const request of requests) {
      const entry = entryOf(request, group);
      byEntry.set(entry, [...(byEntry.get(entry) ?? []), request]);
    }
    const entries = [...byEntry.keys()];
    const found = await context.pool(entries, (entry) => {
      const attributes = [
        ...new Set(byEntry.get(entry)!.map((request) => request.property ?? DEFAULT_ATTRIBUTE)),
      ];
      return readEntry(open, entry, attributes, context);
    });
    const out = new Map<string, Fetched>();
    entries.forEach((entry, index) => {
      for (const request of byEntry.get(entry) ?? []) {
        const where = request.property === undefined ? entry : `${entry}#${request.property}`;
        const value = found[index]?.get(request.property ?? DEFAULT_ATTRIBUTE);
        out.set(
          request.id,
          value === undefined ? { status: "missing", where } : { status: "found", value, where },
        );
      }
    });
    return out;
  },
};
