/**
 * Masking (src/formats/mask.ts) against what a real Python prints: `tessera run` (the built CLI,
 * dist/cli.cjs: `npm run build` first) runs `python3 -c …`, which prints the secret through json.dumps
 * (ensure_ascii on and off), urllib.parse.quote and quote_plus, base64 and base64url at each byte offset,
 * and line by line behind a log prefix; none of those forms may reach the output. The forms are computed
 * by the same Python run directly (without tessera), and `--no-mask` proves Python printed them all. The
 * in-process properties are in test/unit/properties-mask.test.ts. Without python3 these tests skip,
 * except when CI=true, where they fail.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { cleanEnv, project, ROOT, tessera } from "../helpers.ts";
import { requireComponent } from "../support/consumers.ts";

/** The python3 executable's absolute path (a pyenv shim resolved), or undefined when there is none. */
const PYTHON = (() => {
  const found = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
})();

const PYTHON_ENV = { PYTHONUTF8: "1", PYTHONIOENCODING: "utf-8" };

/**
 * Prints each form of $API_KEY on its own line behind a label, then the value line by line behind a
 * log prefix. With --forms it prints instead the list of strings that must not be in masked output,
 * as JSON (ASCII only, so that it reaches the test unchanged).
 */
const SCRIPT = `
import base64, json, os, sys
from urllib.parse import quote, quote_plus
v = os.environ["API_KEY"]
b = v.encode("utf-8")
forms = [
    ("raw", v),
    ("json.dumps", json.dumps(v)[1:-1]),
    ("json.dumps ensure_ascii=False", json.dumps(v, ensure_ascii=False)[1:-1]),
    ("quote", quote(v)),
    ("quote safe=''", quote(v, safe="")),
    ("quote_plus", quote_plus(v)),
]
for prefix in (b"", b"<", b"<<"):
    embedded = prefix + b + b"|suffix"
    forms.append(("b64encode offset %d" % len(prefix), base64.b64encode(embedded).decode()))
    forms.append(("urlsafe_b64encode offset %d" % len(prefix), base64.urlsafe_b64encode(embedded).decode().rstrip("=")))
forms.append(("b64encode alone", base64.b64encode(b).decode()))
lines = [line.strip() for line in v.splitlines() if len(line.strip()) >= 4]
if sys.argv[1:] == ["--forms"]:
    print(json.dumps([form for _, form in forms] + lines))
else:
    for label, form in forms:
        print(label + ": " + form)
    for line in v.splitlines():
        print("[INFO] " + line)
    sys.stdout.flush()
    print("stderr json.dumps: " + json.dumps({"token": v}), file=sys.stderr)
`;

const MANIFEST = `secrets:
  required:
    - name: API_KEY
`;

const SECRETS: readonly { label: string; value: string }[] = [
  { label: "non-ASCII, spaces, slash, <>&, quotes", value: 'fake-päss wörd/ä&<b>"q"+%=?#' },
  { label: "astral (emoji), tab", value: "fake 🔑 key/with\tspaces ok" },
  {
    label: "multi-line (a PEM-like key)",
    value:
      "-----BEGIN FAKE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\nAASCBKcwggSjAgEAAoIBAQC7\n-----END FAKE KEY-----",
  },
];

function formsOf(value: string): string[] {
  const result = spawnSync(PYTHON!, ["-c", SCRIPT, "--forms"], {
    env: { ...cleanEnv(PYTHON_ENV), API_KEY: value },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

function runPython(value: string, mask: "--mask" | "--no-mask") {
  const cwd = project({ "tessera.yaml": MANIFEST });
  return tessera(["run", mask, "--secret", `API_KEY=${value}`, "--", PYTHON!, "-c", SCRIPT], {
    cwd,
    env: PYTHON_ENV,
  });
}

describe(
  "masking what Python prints (tessera run)",
  requireComponent("python3", PYTHON !== undefined),
  () => {
    test("the CLI is built", () => {
      assert.ok(
        existsSync(join(ROOT, "dist", "cli.cjs")),
        "dist/cli.cjs is missing: run `npm run build` first",
      );
    });

    for (const { label, value } of SECRETS) {
      test(`json.dumps, quote, quote_plus, base64 at each offset, line by line: ${label}`, () => {
        const forms = formsOf(value);
        assert.ok(forms.length >= 13, `only ${forms.length} forms`);

        const plain = runPython(value, "--no-mask");
        assert.equal(plain.status, 0, plain.stderr);
        for (const form of forms)
          assert.ok(plain.stdout.includes(form), `Python did not print ${JSON.stringify(form)}`);

        const masked = runPython(value, "--mask");
        assert.equal(masked.status, 0, masked.stderr);
        for (const form of forms) {
          assert.ok(
            !masked.stdout.includes(form),
            `${JSON.stringify(form)} leaked to stdout:\n${masked.stdout}`,
          );
          assert.ok(
            !masked.stderr.includes(form),
            `${JSON.stringify(form)} leaked to stderr:\n${masked.stderr}`,
          );
        }
        // Every labelled line had the secret in it, and shows the marker in its place.
        const labelled = masked.stdout.split("\n").filter((line) => /^[\w. =']+: /.test(line));
        const lines = value.split("\n").filter((line) => line.trim().length >= 4).length;
        assert.equal(labelled.length, forms.length - lines, masked.stdout);
        for (const line of labelled) assert.match(line, /\[masked:API_KEY\]/, line);
        assert.match(masked.stderr, /^stderr json\.dumps: \{"token": "\[masked:API_KEY\]"\}$/m);
      });
    }
  },
);
