/**
 * Masking of secret values in a child's output when stdout/stderr is not a terminal (here: pipes).
 * Children write the secret in pieces with pauses in between, so that it arrives split across reads.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { CLI, cleanEnv, project, tessera } from "../helpers.ts";
import { hasScript, NODE, sh } from "./cli-support.ts";

/** A secret whose JSON-escaped and URL-encoded forms differ from the raw value. */
const SECRET = 'fake-secret "q" a/b&c\\d 1234';
const JSON_FORM = JSON.stringify(SECRET).slice(1, -1);
const URL_FORM = encodeURIComponent(SECRET);
const CONFIG_VALUE = "fake-config-region-77";

const MANIFEST = `secrets:
  required:
    - name: API_KEY
  optional:
    - name: SHORT
    - name: LONGER_KEY
config:
  REGION: { required: true }
`;

/** Writes `text` in pieces of `size` characters with `delay` ms between them. */
const CHUNKED = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export async function chunked(stream, text, size = 5, delay = 8) {
  for (let i = 0; i < text.length; i += size) {
    await new Promise((resolve) => stream.write(text.slice(i, i + size), resolve));
    await sleep(delay);
  }
}
`;

const CHILD = `
import { chunked } from "./chunked.mjs";
const secret = process.env.API_KEY;
await chunked(process.stdout, "out: " + secret + " :end\\n");
await chunked(process.stderr, "err: " + secret + " :end\\n", 7);
await chunked(process.stdout, JSON.stringify({ token: secret }) + "\\n", 6);
await chunked(process.stdout, "https://example.invalid/?k=" + encodeURIComponent(secret) + "&x=1\\n", 11);
process.stdout.write("twice: " + secret + secret + "\\n");
process.stdout.write("region: " + process.env.REGION + "\\n");
process.stdout.write("tail: " + secret.slice(0, 10));
`;

function dir(): string {
  return project({
    "tessera.yaml": MANIFEST,
    ".env": `REGION=${CONFIG_VALUE}\n`,
    "chunked.mjs": CHUNKED,
    "child.mjs": CHILD,
  });
}

const EXPECTED_STDOUT = [
  "out: [masked:API_KEY] :end",
  '{"token":"[masked:API_KEY]"}',
  "https://example.invalid/?k=[masked:API_KEY]&x=1",
  "twice: [masked:API_KEY][masked:API_KEY]",
  `region: ${CONFIG_VALUE}`,
  `tail: ${SECRET.slice(0, 10)}`,
].join("\n");

function assertNoSecret(text: string): void {
  for (const form of [SECRET, JSON_FORM, URL_FORM]) {
    assert.ok(!text.includes(form), `a form of the secret leaked: ${JSON.stringify(form)} in\n${text}`);
  }
}

describe("masking when output is piped", () => {
  test("a secret split across writes, JSON-escaped or URL-encoded is masked on stdout and stderr", () => {
    const result = tessera(["run", "--secret", `API_KEY=${SECRET}`, "--", NODE, "child.mjs"], { cwd: dir() });
    assert.equal(result.status, 0, result.stderr);
    assertNoSecret(result.stdout);
    assertNoSecret(result.stderr);
    assert.equal(result.stdout, EXPECTED_STDOUT, "a partial prefix at the very end is released unmasked");
    assert.equal(result.stderr, "err: [masked:API_KEY] :end\n");
  });

  test("a secret that comes from a file layer is masked the same way", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": `REGION=${CONFIG_VALUE}\nAPI_KEY='${SECRET}'\n`,
      "chunked.mjs": CHUNKED,
      "child.mjs": CHILD,
    });
    const result = tessera(["run", "--", NODE, "child.mjs"], { cwd });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, EXPECTED_STDOUT);
  });

  test("config values are not masked", () => {
    const result = tessera(["run", "--secret", `API_KEY=${SECRET}`, "--", "sh", "-c", 'echo "$REGION"'], {
      cwd: dir(),
    });
    assert.equal(result.stdout, `${CONFIG_VALUE}\n`);
  });

  test("--no-mask disables masking; --mask on a pipe masks as usual", () => {
    const off = tessera(["run", "--no-mask", "--secret", `API_KEY=${SECRET}`, "--", NODE, "child.mjs"], {
      cwd: dir(),
    });
    assert.equal(off.status, 0, off.stderr);
    assert.ok(off.stdout.includes(`out: ${SECRET} :end`));
    assert.ok(off.stdout.includes(JSON_FORM));
    assert.ok(off.stdout.includes(URL_FORM));
    assert.equal(off.stderr, `err: ${SECRET} :end\n`);

    const on = tessera(["run", "--mask", "--secret", `API_KEY=${SECRET}`, "--", NODE, "child.mjs"], {
      cwd: dir(),
    });
    assert.equal(on.stdout, EXPECTED_STDOUT);
  });

  test("a value shorter than 4 characters is not masked, with a warning on stderr (not with -q)", () => {
    const args = [
      "--secret",
      `API_KEY=${SECRET}`,
      "--secret",
      "SHORT=abc",
      "--",
      "sh",
      "-c",
      'echo "short=$SHORT"',
    ];
    const result = tessera(["run", ...args], { cwd: dir() });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "short=abc\n");
    assert.match(
      result.stderr,
      /^tessera: warning\[W_MASK_SHORT\]: SHORT is shorter than 4 characters, so it cannot be masked in output$/m,
    );
    const quiet = tessera(["run", "-q", ...args], { cwd: dir() });
    assert.equal(quiet.stderr, "");
    const unmasked = tessera(["run", "--no-mask", ...args], { cwd: dir() });
    assert.doesNotMatch(unmasked.stderr, /W_MASK_SHORT/, "no masking, nothing to warn about");
  });

  test("a value of exactly 4 characters is masked", () => {
    const result = tessera(
      ["run", "--secret", `API_KEY=${SECRET}`, "--secret", "SHORT=wxyz", "--", "sh", "-c", 'echo "[$SHORT]"'],
      { cwd: dir() },
    );
    assert.equal(result.stdout, "[[masked:SHORT]]\n");
    assert.doesNotMatch(result.stderr, /W_MASK_SHORT/);
  });

  test("when one secret contains another, the longer one wins", () => {
    const result = tessera(
      [
        "run",
        "--secret",
        "API_KEY=fake-key-1234",
        "--secret",
        "LONGER_KEY=fake-key-1234-extended",
        "--",
        "sh",
        "-c",
        'echo "$LONGER_KEY|$API_KEY"',
      ],
      { cwd: dir() },
    );
    assert.equal(result.stdout, "[masked:LONGER_KEY]|[masked:API_KEY]\n");
  });

  test("large output: every occurrence across pipe-buffer boundaries is masked", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": `REGION=${CONFIG_VALUE}\n`,
      "flood.mjs": `
const secret = process.env.API_KEY;
let out = "";
for (let i = 0; i < 3000; i++) out += "x".repeat(i % 97) + secret + "\\n";
process.stdout.write(out);
`,
    });
    const result = tessera(["run", "--secret", `API_KEY=${SECRET}`, "--", NODE, "flood.mjs"], { cwd });
    assert.equal(result.status, 0, result.stderr);
    assertNoSecret(result.stdout);
    assert.equal(result.stdout.split("[masked:API_KEY]").length - 1, 3000);
    assert.equal(result.stdout.split("\n").length - 1, 3000);
  });

  test("binary and multi-byte output passes through unchanged around a masked secret", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": `REGION=${CONFIG_VALUE}\n`,
      "bytes.mjs": `
const parts = [Buffer.from("héllo wörld ✓ "), Buffer.from(process.env.API_KEY), Buffer.from([0, 255, 10])];
process.stdout.write(Buffer.concat(parts));
`,
    });
    const result = spawnSync(
      process.execPath,
      [CLI, "run", "--secret", "API_KEY=fake-ünïcode-secret-✓", "--", NODE, "bytes.mjs"],
      {
        cwd,
        env: cleanEnv(),
      },
    );
    assert.equal(result.status, 0, String(result.stderr));
    assert.deepEqual(
      result.stdout,
      Buffer.concat([Buffer.from("héllo wörld ✓ [masked:API_KEY]"), Buffer.from([0, 255, 10])]),
    );
  });
});

describe("masking on a terminal", {
  skip: hasScript() ? false : "util-linux `script` is not available",
}, () => {
  /** Run tessera under a pseudo-terminal (util-linux `script`). */
  function onTerminal(args: string[], cwd: string): string {
    const command = [process.execPath, CLI, ...args].map(sh).join(" ");
    const result = spawnSync("script", ["-qec", command, "/dev/null"], {
      cwd,
      env: cleanEnv(),
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.replace(/\r\n/g, "\n");
  }

  test("by default a terminal shows the value (masking is for logs)", () => {
    const out = onTerminal(
      ["run", "--secret", "API_KEY=fake-tty-secret-1", "--", "sh", "-c", 'echo "$API_KEY"'],
      dir(),
    );
    assert.match(out, /fake-tty-secret-1/);
  });

  test("--mask masks on a terminal too", () => {
    const out = onTerminal(
      ["run", "--mask", "--secret", "API_KEY=fake-tty-secret-1", "--", "sh", "-c", 'echo "$API_KEY"'],
      dir(),
    );
    assert.match(out, /\[masked:API_KEY\]/);
    assert.doesNotMatch(out, /fake-tty-secret-1/);
  });
});
