/**
 * `export --format github-env` against a reader that follows GitHub's documented rules and the runner's
 * own (actions/runner FileCommandManager, SetEnvFileCommand): `NAME=VALUE` lines, `NAME<<DELIMITER`
 * heredocs ended by a line equal to the delimiter, lines split at "\r\n" or "\n", a heredoc's lines
 * joined with "\n".
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { githubEnvProblem, githubMasks, render } from "../../src/formats/encoders.ts";
import { readGithubEnv } from "../support/github-env.ts";

const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);
const value = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc
    .array(fc.constantFrom("a", "=", "<<", "\n", "\r", " ", "ghadelimiter_", "EOF", "%"), { maxLength: 20 })
    .map((parts) => parts.join("")),
);

describe("github-env", () => {
  test("every value the format accepts reads back exactly (random names and values)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, maxLength: 8 }), (pairs) => {
        const entries = pairs
          .filter(([n, v]) => !githubEnvProblem(n, v))
          .map(([n, v]) => ({ name: n, value: v }));
        const read = readGithubEnv(render("github-env", entries));
        assert.deepEqual(
          [...read.entries()],
          entries.map((entry) => [entry.name, entry.value]),
        );
      }),
      { numRuns: 2000 },
    );
  });

  test("a value that holds the delimiter gets another one", () => {
    let calls = 0;
    const fixed = () => (calls++ === 0 ? "0000" : "1111");
    const text = render("github-env", [{ name: "A", value: "x\nghadelimiter_0000\ny" }], fixed);
    assert.equal(readGithubEnv(text).get("A"), "x\nghadelimiter_0000\ny");
    assert.ok(!text.startsWith("A<<ghadelimiter_0000\n"));
  });

  test("empty values, = and << inside values, multi-line values", () => {
    const entries = [
      { name: "EMPTY", value: "" },
      { name: "EQ", value: "a=b<<c" },
      { name: "PEM", value: "-----BEGIN FAKE KEY-----\nAAAA\n-----END FAKE KEY-----\n" },
    ];
    assert.deepEqual(
      Object.fromEntries(readGithubEnv(render("github-env", entries))),
      Object.fromEntries(entries.map((e) => [e.name, e.value])),
    );
  });

  test("what cannot be carried exactly is named, never written mangled", () => {
    assert.match(githubEnvProblem("A", "line\r\nnext") ?? "", /CRLF/);
    assert.match(githubEnvProblem("A", "ends\r") ?? "", /CRLF/);
    assert.equal(githubEnvProblem("A", "lone\rcarriage return"), undefined);
  });

  test("::add-mask:: per line, escaped as workflow commands require", () => {
    assert.deepEqual(githubMasks("fake%secret\nsecond line\n"), [
      "::add-mask::fake%25secret\n",
      "::add-mask::second line\n",
    ]);
    assert.deepEqual(githubMasks("with\rcr"), ["::add-mask::with%0Dcr\n"]);
  });
});
