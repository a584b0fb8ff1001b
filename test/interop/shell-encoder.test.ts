/**
 * The shell format of `tessera export` (src/formats/encoders.ts) read by its real consumers: `export
 * NAME='…'` is eval'd in dash (/bin/sh) and bash (UTF-8 and C locales) and every value must come back byte for
 * byte. Spawns the shells; the in-process properties of the encoders are in test/unit/properties-encoders.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import fc from "fast-check";
import { render } from "../../src/formats/encoders.ts";
import { unit } from "../support/encoder-inputs.ts";

/** Shells to eval the export text in: dash as /bin/sh, and bash (UTF-8 and C locales). */
// bash sources ~/.bashrc when its stdin is a socket (libuv's pipes are socketpairs): --norc.
const SHELLS: readonly { label: string; file: string; args: string[]; env: Record<string, string> }[] = [
  { label: "sh", file: "/bin/sh", args: [], env: { LC_ALL: "C.UTF-8" } },
  { label: "bash", file: "bash", args: ["--norc", "--noprofile"], env: { LC_ALL: "C.UTF-8" } },
  { label: "bash (C locale)", file: "bash", args: ["--norc", "--noprofile"], env: { LC_ALL: "C" } },
];

/** Eval `exports` (given on stdin) in `shell`, then print each variable NUL-terminated. */
function evalIn(shell: (typeof SHELLS)[number], exports: string, names: readonly string[]): Buffer {
  const script = `eval "$(cat)" || exit 99\n${names.map((n) => `printf '%s\\000' "$${n}"`).join("\n")}\n`;
  const result = spawnSync(shell.file, [...shell.args, "-c", script], {
    input: exports,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...shell.env },
    timeout: 20_000,
  });
  assert.equal(result.error, undefined, `${shell.label}: ${String(result.error)}`);
  assert.equal(result.status, 0, `${shell.label} exited ${result.status}: ${result.stderr}`);
  assert.equal(result.stderr.toString(), "", `${shell.label} wrote to stderr`);
  return result.stdout;
}

const shellValue = fc
  .string({
    unit: fc.oneof(
      {
        arbitrary: fc.constantFrom("'", "\\", "$", "`", "!", "*", "~", "\n", " ", "\t", '"', "$(id)", "!!"),
        weight: 3,
      },
      { arbitrary: unit, weight: 4 },
    ),
    maxLength: 20,
  })
  .map((s) => s.replaceAll("\0", ""));

let shellValuesChecked = 0;

describe("properties: shell encoder", () => {
  test("`export NAME='…'` survives eval in sh and bash byte for byte (batched)", () => {
    fc.assert(
      fc.property(fc.array(shellValue, { minLength: 30, maxLength: 40 }), (values) => {
        // Variable names are fixed and harmless (V0, V1, …): the property is about values; names
        // such as PPID or UID are read-only in bash and no quoting could change that.
        const list = values.map((v, i) => ({ name: `V${i}`, value: v }));
        const exports = render("shell", list);
        const expected = Buffer.concat(list.flatMap((entry) => [Buffer.from(entry.value), Buffer.from([0])]));
        for (const shell of SHELLS) {
          const actual = evalIn(
            shell,
            exports,
            list.map((entry) => entry.name),
          );
          if (!actual.equals(expected)) {
            const got = actual.toString("utf8").split("\0");
            const bad = list.find((entry, i) => got[i] !== entry.value);
            assert.fail(`${shell.label}: ${bad?.name} = ${JSON.stringify(bad?.value)} came back changed`);
          }
        }
        shellValuesChecked += list.length;
      }),
      { numRuns: 40 },
    );
    assert.ok(shellValuesChecked >= 1000, `only ${shellValuesChecked} values per shell`);
  });
});
