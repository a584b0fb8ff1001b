/**
 * exec: any command that prints the values, as a JSON object (default) or dotenv. The command is an
 * argument vector (no shell), run in the manifest's directory with Tessera's environment, once per
 * resolution however many variables it serves. A JSON value that is not a string is served as its JSON
 * text; `from: {key, property}` reads a field of a JSON value (or of a JSON string). Its stderr is not
 * shown in errors (it could hold a value): run the command yourself to see it.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import {
  type Fetched,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
  parseJsonText,
} from "./types.js";
import { literalDotenv, serveFromMap } from "./values.js";

function run(command: readonly string[], context: ProviderContext, signal: AbortSignal): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: resolve(context.dir),
      env: context.env,
      stdio: ["ignore", "pipe", "ignore"],
      signal,
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.name === "AbortError") return; // the timeout reports it
      fail(
        new ProviderError(
          "invalid",
          error.code === "ENOENT"
            ? `the command ${command[0]} was not found`
            : `the command ${command[0]} cannot run (${error.code})`,
          { hint: 'command: is an argument vector, e.g. ["./scripts/secrets.sh", "--json"]' },
        ),
      );
    });
    child.on("close", (code, signalName) => {
      if (code === 0) done(Buffer.concat(chunks).toString("utf8"));
      else
        fail(
          new ProviderError(
            "failed",
            `the command ${command[0]} ${code === null ? `was killed by ${signalName}` : `exited with status ${code}`}`,
            { hint: "run it yourself to see its messages" },
          ),
        );
    });
  });
}

function parse(text: string, format: string, command: string): Map<string, unknown> {
  if (format === "dotenv") {
    // Values a command prints are data: references are kept as written, never looked up.
    return literalDotenv(text, `the output of ${command}`);
  }
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch {
    throw new ProviderError("invalid", `the command ${command} did not print JSON`, {
      hint: "print one JSON object of NAME: value, or set format: dotenv",
    });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ProviderError("invalid", `the command ${command} did not print a JSON object`);
  }
  return new Map(Object.entries(json));
}

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const command = context.source.settings.command ?? [];
    const format = context.source.settings.format ?? "json";
    const text = await context.retry((signal) => run(command, context, signal));
    const values = parse(text, format, command[0]!);
    const out = new Map<string, Fetched>();
    for (const request of requests) {
      const where = request.property === undefined ? request.key : `${request.key}#${request.property}`;
      out.set(request.id, serveFromMap(values, request, where));
    }
    return out;
  },
};
