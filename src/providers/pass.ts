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

type Output = ToolOutput;

/** Run pass (no shell, no stdin); its output comes back whatever its status. */
function runPass(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  signal: AbortSignal,
): Promise<Output> {
  return runTool("pass", args, {
    env,
    cwd,
    signal,
    missing: {
      what: "the pass command",
      hint: "install pass (the standard unix password manager), e.g. apt-get install pass",
    },
  });
}

function expandHome(path: string, env: ProviderContext["env"]): string {
  return path === "~" || path.startsWith("~/") ? join(env.HOME || homedir(), path.slice(1)) : path;
}

/** The password store's directory, absolute. */
function storeDirectory(context: ProviderContext): string {
  const configured = context.source.settings.storeDir;
  if (configured) return resolve(context.dir, expandHome(configured, context.env));
  const fromEnv = context.env.PASSWORD_STORE_DIR;
  if (fromEnv) return resolve(context.cwd, expandHome(fromEnv, context.env));
  return join(context.env.HOME || homedir(), ".password-store");
}

/** The entry a request reads: `prefix/NAME` when searched, else `from.key` as a path from the root. */
function entryOf(request: LookupRequest, prefix: string | undefined): string {
  const trim = (path: string) => path.replace(/^\/+|\/+$/g, "");
  const base = prefix === undefined ? "" : trim(prefix);
  const entry = request.searched && base ? `${base}/${trim(request.key)}` : trim(request.key);
  if (entry === "" || entry.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new ProviderError(
      "invalid",
      `${JSON.stringify(entry)} is not an entry path of the password store`,
      {
        hint: "entries are paths such as team/db/password, without empty, . or .. parts",
      },
    );
  }
  return entry;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Why `pass show` failed, from what it printed (never quoted). "missing" when the entry is not there. */
function failure(entry: string, output: Output): ProviderError | "missing" {
  const text = output.stderr.toLowerCase();
  if (text.includes("is not in the password store")) return "missing";
  if (text.includes("sneaky path")) {
    return new ProviderError("invalid", `pass refused the entry path ${entry}`);
  }
  if (
    /no secret key|bad passphrase|no passphrase|pinentry|inappropriate ioctl|cancel|agent|decryption failed/.test(
      text,
    )
  ) {
    // gpg says "No secret key" too when the key is there but its passphrase could not be asked for.
    return new ProviderError("auth", `GnuPG cannot decrypt ${entry}: no secret key for it could be used`, {
      hint: "the entry is encrypted to the keys in the store's .gpg-id: check GNUPGHOME and `gpg --list-secret-keys`; a key with a passphrase must be unlocked in gpg-agent first (run pass show once in a terminal)",
    });
  }
  const how = output.code === null ? `was killed by ${output.signal}` : `exited with status ${output.code}`;
  return new ProviderError("failed", `pass show ${entry} ${how}`, {
    hint: `run \`pass show ${entry}\` yourself to see why`,
  });
}

/** The value a request reads in an entry's text: the first line, or the `property: value` line. */
function pick(text: string, property: string | undefined): string | undefined {
  const lines = text.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  if (property === undefined) return lines[0] ?? "";
  for (const line of lines.slice(1)) {
    if (line.startsWith(`${property}:`)) return line.slice(property.length + 1).replace(/^[ \t]+/, "");
  }
  return undefined;
}

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const store = storeDirectory(context);
    let isDirectory = false;
    try {
      isDirectory = statSync(store).isDirectory();
    } catch {}
    if (!isDirectory) {
      throw new ProviderError(
        "invalid",
        `the password store ${displayPath(context.cwd, store)} does not exist`,
        {
          hint: "create it with `pass init GPG-ID`, or point storeDir: (or PASSWORD_STORE_DIR) at it",
        },
      );
    }
    const prefix = context.source.settings.prefix;
    const byEntry = new Map<string, LookupRequest[]>();
    for (const request of requests) {
      const entry = entryOf(request, prefix);
      byEntry.set(entry, [...(byEntry.get(entry) ?? []), request]);
    }
    const env: NodeJS.ProcessEnv = { ...context.env, PASSWORD_STORE_DIR: store };
    const cwd = resolve(context.dir);
    const entries = [...byEntry.keys()];
    const texts = await context.pool(entries, async (entry): Promise<string | undefined> => {
      if (!isFile(join(store, `${entry}.gpg`))) return undefined;
      return context.retry(async (signal) => {
        const output = await runPass(["show", "--", entry], env, cwd, signal);
        if (output.code === 0) return output.stdout.toString("utf8");
        const why = failure(entry, output);
        if (why === "missing") return undefined;
        throw why;
      });
    });
    const out = new Map<string, Fetched>();
    entries.forEach((entry, index) => {
      const text = texts[index];
      for (const request of byEntry.get(entry) ?? []) {
        const where = request.property === undefined ? entry : `${entry}#${request.property}`;
        const value = text === undefined ? undefined : pick(text, request.property);
        out.set(
          request.id,
          value === undefined ? { status: "missing", where } : { status: "found", value, where },
        );
      }
    });
    return out;
  },
};
