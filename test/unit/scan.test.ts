/** The scan engine: forms and their names, occurrences across chunk boundaries, lines, the tar reader, SARIF. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  buildPatterns,
  type Finding,
  formatFinding,
  StreamScan,
  scanBuffer,
  scanForms,
  toSarif,
} from "../../src/run/scan.ts";
import { readTar } from "../../src/run/scan-image.ts";

const VALUE = "sk-test-fake-scan-0001";
const OTHER = "?>?>fake-pass/with+odd chars"; // its base64 has "/", its base64url "_"
const secrets = [
  { name: "API_KEY", value: VALUE, layer: ".env:1" },
  { name: "DB_PASS", value: OTHER, layer: "--secret" },
  { name: "SHORT", value: "abc12", layer: ".env:3" },
];

function forms(value: string) {
  return new Map(scanForms(value).map(({ form, name }) => [form, name]));
}

describe("scan forms", () => {
  test("raw, hex, base64 at three alignments, base64url, percent and JSON forms, each named", () => {
    const map = forms(OTHER);
    const bytes = Buffer.from(OTHER);
    assert.equal(map.get(OTHER), "raw");
    assert.equal(map.get(bytes.toString("hex")), "hex");
    assert.equal(map.get(bytes.toString("hex").toUpperCase()), "hex");
    assert.equal(map.get(bytes.toString("base64")), "base64");
    assert.match(bytes.toString("base64url"), /_/);
    assert.equal(map.get(bytes.toString("base64url")), "base64url");
    assert.equal(map.get(encodeURIComponent(OTHER)), "percent-encoded");
    assert.equal(map.get(JSON.stringify(OTHER).slice(1, -1).replaceAll("/", "\\/")), "json-escaped");
    for (const prefix of ["", "x", "xy"]) {
      const encoded = Buffer.from(prefix + OTHER).toString("base64");
      assert.ok(
        [...map].some(([form, name]) => name === "base64" && form.length >= 8 && encoded.includes(form)),
        `an alignment after ${prefix.length} bytes`,
      );
    }
  });

  test("values under 6 characters are not looked for; 6 and 7 get their whole base64", () => {
    assert.deepEqual(scanForms("abc12"), []);
    const six = forms("abc123");
    assert.equal(six.get(Buffer.from("abc123").toString("base64")), "base64");
  });
});

describe("the stream scan", () => {
  const patterns = buildPatterns(secrets);

  test("counts only values of 6 characters or more", () => {
    assert.equal(patterns.secrets, 2);
  });

  test("finds an occurrence split across chunks, on the right line, once", () => {
    const text = Buffer.from(`one\ntwo\nthree ${VALUE} four\nfive ${VALUE}\n`);
    for (let size = 1; size <= 9; size++) {
      const scan = new StreamScan(patterns, { path: "f.txt" });
      for (let at = 0; at < text.length; at += size) scan.push(text.subarray(at, at + size));
      const found = scan.finish();
      assert.deepEqual(
        found.map((f) => [f.line, f.variable, f.form]),
        [
          [3, "API_KEY", "raw"],
          [4, "API_KEY", "raw"],
        ],
        `chunks of ${size}`,
      );
    }
  });

  test("binary content, encoded forms, and no value or fragment in a finding", () => {
    const text = Buffer.concat([
      Buffer.from([0, 1, 2, 255, 10]),
      Buffer.from(`k=${Buffer.from(`..${OTHER}`).toString("base64")}\n`),
      Buffer.from(`${Buffer.from(VALUE).toString("hex").toUpperCase()}\n`),
    ]);
    const found = scanBuffer(patterns, { path: "bin" }, text);
    assert.deepEqual(
      found.map((f) => [f.line, f.variable, f.form, f.origin]),
      [
        [2, "DB_PASS", "base64", "--secret"],
        [3, "API_KEY", "hex", ".env:1"],
      ],
    );
    const printed = JSON.stringify(found) + found.map(formatFinding).join("\n");
    for (const value of [VALUE, OTHER, VALUE.slice(0, 8), OTHER.slice(-8)])
      assert.ok(!printed.includes(value));
  });
});

describe("SARIF", () => {
  test("has the fields SARIF 2.1.0 requires", () => {
    const finding: Finding = {
      path: "a b/c.txt",
      line: 3,
      variable: "API_KEY",
      form: "raw",
      origin: ".env:1",
    };
    const sarif = toSarif([finding], "1.0.0") as {
      version: string;
      runs: { tool: { driver: { name: string } }; results: Record<string, unknown>[] }[];
    };
    assert.equal(sarif.version, "2.1.0");
    assert.equal(sarif.runs[0]!.tool.driver.name, "tessera");
    const result = sarif.runs[0]!.results[0] as {
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
    };
    assert.equal(typeof result.message.text, "string");
    assert.equal(result.locations[0]!.physicalLocation.artifactLocation.uri, "a%20b/c.txt");
    assert.equal(result.locations[0]!.physicalLocation.region.startLine, 3);
  });
});

describe("tar reader", () => {
  function header(name: string, size: number, flag = "0"): Buffer {
    const block = Buffer.alloc(512);
    block.write(name, 0, 100);
    block.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
    block.write(flag, 156);
    block.write("ustar\0", 257);
    return block;
  }
  const pad = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

  test("files, directories and a pax path; gzip is the caller's", () => {
    const long = `${"d/".repeat(60)}file.txt`;
    const pax = Buffer.from(`${String(long.length + 12).padStart(3, "0")} path=${long}\n`);
    const tar = Buffer.concat([
      header("dir/", 0, "5"),
      header("dir/a.txt", 5),
      Buffer.from("hello"),
      pad(5),
      header("PaxHeader", pax.length, "x"),
      pax,
      pad(pax.length),
      header("short", 3),
      Buffer.from("abc"),
      pad(3),
      Buffer.alloc(1024),
    ]);
    const entries = readTar(tar);
    assert.deepEqual(
      entries.map((e) => [e.path, e.type, e.content.toString()]),
      [
        ["dir/", "dir", ""],
        ["dir/a.txt", "file", "hello"],
        [long, "file", "abc"],
      ],
    );
    assert.ok(gzipSync(tar).length > 0);
  });
});
