/**
 * Property: no error, warning, `check` or `explain` output ever contains a secret value. Random
 * secrets are placed in every layer and every kind of failure is provoked around them; the outputs
 * (stdout and stderr) must not contain the value. Most runs go through the CLI in-process (fast),
 * a sample through the built binary.
 */

import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import fc from "fast-check";
import { main } from "../../src/cli.ts";
import type { Context } from "../../src/commands/common.ts";
import { formatError, isTesseraError } from "../../src/errors.ts";
import { dotenvQuote, yamlQuote } from "../../src/formats/encoders.ts";
import { project, tessera } from "../helpers.ts";

process.env.TESSERA_CACHE_DIR = "off";

interface Outcome {
  status: number;
  output: string;
}

async function inProcess(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<Outcome> {
  let output = "";
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk);
      done();
    },
  });
  const context: Context = {
    cwd,
    env: { TESSERA_FINGERPRINT_KEY: "k", ...env },
    output: { stdout: sink, stderr: sink },
    stdout: (text) => {
      output += text;
    },
    stderr: (text) => {
      output += text;
    },
  };
  try {
    return { status: await main(argv, context), output };
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    return { status: error.exitCode, output: output + formatError(error) };
  }
}

/** Secrets: long enough to be meaningful, any characters but NUL, never a substring of our own messages. */
const secret = fc
  .string({ minLength: 8, maxLength: 40, unit: "grapheme" })
  .filter((value) => !value.includes("\0") && value.trim().length >= 8)
  .map((value) => `${value}Zq9`);

type Scenario = (value: string) => {
  files: Record<string, string>;
  argv: string[];
  env?: Record<string, string>;
  /** What must not be shown, when it is not the value itself (derived from it). */
  shown?: string;
};

/** A password of letters and digits only, derived from a generated value. */
function alphanumeric(value: string): string {
  return `Pw${[...value].map((c) => c.codePointAt(0)!.toString(36)).join("")}`;
}

const MANIFEST =
  "secrets:\n  required:\n    - name: API_TOKEN\n      description: the token\n    - name: OTHER\n";

const SCENARIOS: Record<string, Scenario> = {
  "missing another required variable (run)": (value) => ({
    files: { "tessera.yaml": MANIFEST, ".env": `API_TOKEN=${dotenvQuote(value)}\n` },
    argv: ["run", "--", "true"],
  }),
  "missing another required variable (export)": (value) => ({
    files: { "tessera.yaml": MANIFEST, ".env": `API_TOKEN=${dotenvQuote(value)}\n` },
    argv: ["export", "--format", "json"],
  }),
  "check and check --json with a missing variable": (value) => ({
    files: { "tessera.yaml": MANIFEST, "env.yaml": `API_TOKEN: ${yamlQuote(value)}\n` },
    argv: ["check", "--json"],
  }),
  "explain (success)": (value) => ({
    files: {
      "tessera.yaml": MANIFEST,
      ".env": `API_TOKEN=${dotenvQuote(value)}\nOTHER=${dotenvQuote(value)}\n`,
    },
    argv: ["explain"],
  }),
  "explain --json (success, secret from a flag)": (value) => ({
    files: { "tessera.yaml": MANIFEST, ".env": "OTHER=x\n" },
    argv: ["explain", "--json", "--secret", `API_TOKEN=${value}`],
  }),
  "check (success, secret in the environment)": (value) => ({
    files: { "tessera.yaml": MANIFEST },
    argv: ["check"],
    env: { API_TOKEN: value, OTHER: "o" },
  }),
  "a dotenv syntax error after the secret": (value) => ({
    files: { "tessera.yaml": MANIFEST, ".env": `API_TOKEN=${dotenvQuote(value)}\nOTHER="unterminated\n` },
    argv: ["check"],
  }),
  "the secret written raw (unquoted) into .env": (value) => ({
    files: { "tessera.yaml": MANIFEST, ".env": `OTHER=o\nAPI_TOKEN=${value.replace(/[\r\n]/g, "")}\n` },
    argv: ["run", "--", "true"],
  }),
  "the secret written raw into a YAML value file": (value) => ({
    files: { "tessera.yaml": MANIFEST, "env.yaml": `OTHER: o\nAPI_TOKEN: ${value.replace(/[\r\n]/g, "")}\n` },
    argv: ["check"],
  }),
  "a cycle through the secret's value": (value) => ({
    files: {
      "tessera.yaml": MANIFEST,
      ".env": `API_TOKEN="${dotenvQuote(value).replace(/^"|"$/g, "").replace(/^'|'$/g, "")}\${OTHER}"\nOTHER=\${API_TOKEN}\n`,
    },
    argv: ["explain"],
  }),
  "an empty required variable next to the secret": (value) => ({
    files: { "tessera.yaml": MANIFEST, ".env": `API_TOKEN=${dotenvQuote(value)}\nOTHER=\n` },
    argv: ["run", "--", "true"],
  }),
  "an invalid manifest": (value) => ({
    files: { "tessera.yaml": `${MANIFEST}  requird: []\n`, ".env": `API_TOKEN=${dotenvQuote(value)}\n` },
    argv: ["check"],
  }),
  "expand with an unset reference": (value) => ({
    files: {
      "tessera.yaml": MANIFEST,
      ".env": `API_TOKEN=${dotenvQuote(value)}\nOTHER=o\n`,
      "t.txt": "token=${API_TOKEN} ${NOPE}\n",
    },
    argv: ["expand", "t.txt"],
  }),
  "a forgotten NAME= in --secret": (value) => ({
    files: { "tessera.yaml": MANIFEST },
    argv: ["run", "--secret", value.replace(/=/g, ""), "--", "true"],
  }),
  "a password that starts with $ in .env reads as a reference: its position is named, not its text": (
    value,
  ) => ({
    files: { "tessera.yaml": MANIFEST, ".env": `OTHER=o\nAPI_TOKEN=$${alphanumeric(value)}\n` },
    argv: ["check", "--json"],
    shown: alphanumeric(value),
  }),
  "a password that starts with $ in env.yaml, run": (value) => ({
    files: { "tessera.yaml": MANIFEST, "env.yaml": `OTHER: o\nAPI_TOKEN: "\${${alphanumeric(value)}}"\n` },
    argv: ["run", "--", "true"],
    shown: alphanumeric(value),
  }),
  "the secret as a key of env.yaml (an invalid name)": (value) => ({
    files: { "tessera.yaml": MANIFEST, "env.yaml": `OTHER: o\n${yamlQuote(`API_TOKEN=${value}`)}: x\n` },
    argv: ["check", "--json"],
  }),
  "the secret pasted on a line of its own in .env": (value) => ({
    files: { "tessera.yaml": MANIFEST, ".env": `OTHER=o\n${value.replace(/[\r\n]/g, "")}\n` },
    argv: ["check"],
  }),
  "an unset reference inside the secret's own value": (value) => ({
    files: {
      "tessera.yaml": MANIFEST,
      ".env": `OTHER=o\nAPI_TOKEN=${value.replace(/[\r\n$]/g, "")}$${"{"}UNSET_NAME_${"q"}}\n`,
    },
    argv: ["check"],
  }),
};

describe("no output ever contains a secret value", () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    test(name, async () => {
      await fc.assert(
        fc.asyncProperty(secret, async (value) => {
          const { files, argv, env, shown = value } = scenario(value);
          const dir = project(files);
          const { output } = await inProcess(argv, dir, env);
          assert.ok(!output.includes(shown), `the secret appeared in the output:\n${output}`);
        }),
        { numRuns: 40 },
      );
    });
  }

  test("through the built binary, for a sample of secrets and every scenario", () => {
    const samples = fc.sample(secret, { numRuns: 6, seed: 42 });
    for (const value of samples) {
      for (const [name, scenario] of Object.entries(SCENARIOS)) {
        const { files, argv, env, shown = value } = scenario(value);
        const dir = project(files);
        const result = tessera(argv, { cwd: dir, env });
        assert.ok(
          !`${result.stdout}${result.stderr}`.includes(shown),
          `${name}: the secret appeared in the output`,
        );
      }
    }
  });
});
