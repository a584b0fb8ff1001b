/** The diff engine (src/pipeline/diff.ts): sides from values, the comparison, its text and JSON forms. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseDotenv } from "../../src/formats/dotenv.ts";
import { parseYamlValues } from "../../src/formats/yaml-values.ts";
import {
  addObjectEntries,
  addYamlObjects,
  compareSides,
  containerEnv,
  type DiffEntry,
  type DiffSide,
  diffJson,
  formatDiff,
  sideFromDotenv,
  sideFromJson,
  sideFromValueFile,
  valueEntry,
} from "../../src/pipeline/diff.ts";

const KEY = Buffer.from("unit-test-fingerprint-key");
const FAKE_A = "fake-value-a-1234";
const FAKE_B = "fake-value-b-5678";

function side(label: string, values: Record<string, string | DiffEntry>): DiffSide {
  const entries = new Map<string, DiffEntry>();
  for (const [name, value] of Object.entries(values))
    entries.set(
      name,
      typeof value === "string" ? valueEntry(KEY, name, value, { where: `${label}:1` }) : value,
    );
  return { label, entries };
}

describe("compareSides", () => {
  test("same, differs, only in one, and the exit-worthy flag", () => {
    const result = compareSides(
      side("a", { SAME: FAKE_A, CHANGED: FAKE_A, GONE: FAKE_A }),
      side("b", { SAME: FAKE_A, CHANGED: FAKE_B, NEW: FAKE_B }),
    );
    assert.deepEqual(
      result.rows.map((row) => [row.name, row.status, row.changes]),
      [
        ["SAME", "same", []],
        ["CHANGED", "differs", ["value"]],
        ["GONE", "left-only", ["presence"]],
        ["NEW", "right-only", ["presence"]],
      ],
    );
    assert.equal(result.differ, true);
    assert.deepEqual(result.counts, { same: 1, differs: 1, "left-only": 1, "right-only": 1 });
    assert.equal(compareSides(side("a", { X: FAKE_A }), side("b", { X: FAKE_A })).differ, false);
  });

  test("kind and requiredness differ even with the same value; no value on either side is the same", () => {
    const a = side("a", {
      K: valueEntry(KEY, "K", FAKE_A, { kind: "secret", required: true }),
      M: { state: "missing", required: false },
    });
    const b = side("b", {
      K: valueEntry(KEY, "K", FAKE_A, { kind: "config", required: false }),
      M: { state: "missing", required: false },
    });
    const rows = compareSides(a, b).rows;
    assert.deepEqual(rows[0]!.changes, ["kind", "required"]);
    assert.equal(rows[0]!.status, "differs");
    assert.equal(rows[1]!.status, "same");
  });

  test("a value missing on one side: only in the other", () => {
    const rows = compareSides(side("a", { K: FAKE_A }), side("b", { K: { state: "missing" } })).rows;
    assert.equal(rows[0]!.status, "left-only");
  });

  test("text and JSON never hold a value", () => {
    const result = compareSides(side("a", { X: FAKE_A, Y: FAKE_A }), side("b", { X: FAKE_B, Y: FAKE_A }));
    const text = formatDiff(result);
    assert.match(
      text,
      /^--- a\n\+\+\+ b\n~ X {2}value differs {2}a:1 fp [0-9a-f]{10} \| b:1 fp [0-9a-f]{10}\n= Y /,
    );
    assert.ok(!formatDiff(result, { all: false }).includes("= Y"));
    for (const out of [text, JSON.stringify(diffJson(result))]) {
      assert.ok(!out.includes(FAKE_A) && !out.includes(FAKE_B));
    }
  });
});

describe("sides from files and objects", () => {
  test("dotenv, YAML and JSON files holding the same values compare the same", () => {
    const dotenv = sideFromDotenv("d", parseDotenv(`A='${FAKE_A}'\nB="x$$y"\n`, ".env"), KEY, ".env");
    const yaml = sideFromValueFile(
      "y",
      parseYamlValues(`secrets:\n  A: ${FAKE_A}\n  B: x$$y\n`, "env.yaml"),
      KEY,
      "env.yaml",
    );
    const json = sideFromJson("j", { A: FAKE_A, B: "x$y" }, KEY, "v.json")!;
    assert.equal(compareSides(dotenv, yaml).differ, false);
    assert.equal(compareSides(yaml, json).differ, false);
    assert.equal(sideFromJson("j", [1], KEY, "v.json"), undefined);
    assert.equal(sideFromJson("j", { A: { nested: true } }, KEY, "v.json"), undefined);
  });

  test("a template is compared as written, and said to be one", () => {
    const file = sideFromDotenv("d", parseDotenv("URL=postgres://${HOST}/db\n", ".env"), KEY, ".env");
    assert.equal(file.entries.get("URL")?.template, true);
  });

  test("Secret data is base64, stringData plain, ConfigMap data plain: the same value, the same fingerprint", () => {
    const live = new Map<string, DiffEntry>();
    addObjectEntries(
      live,
      { kind: "Secret", metadata: { name: "s" }, data: { A: Buffer.from(FAKE_A).toString("base64") } },
      KEY,
      "cluster",
    );
    addObjectEntries(live, { kind: "ConfigMap", data: { C: FAKE_B } }, KEY, "cluster");
    assert.equal(addObjectEntries(live, { kind: "Deployment" }, KEY, "cluster"), false);
    const rendered = new Map<string, DiffEntry>();
    addYamlObjects(
      rendered,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  A: ${FAKE_A}\n---\nkind: ConfigMap\ndata:\n  C: ${FAKE_B}\n`,
      KEY,
      "secret.yaml",
    );
    assert.equal(live.get("A")?.kind, "secret");
    assert.equal(live.get("C")?.kind, "config");
    assert.equal(
      compareSides({ label: "live", entries: live }, { label: "file", entries: rendered }).differ,
      false,
    );
  });

  test("docker inspect: each container's Config.Env", () => {
    const containers = containerEnv([
      { Name: "/shop", Config: { Env: [`A=${FAKE_A}`, "B=x=y", "BROKEN"] } },
      { Id: "0123456789abcdef", Config: {} },
    ]);
    assert.deepEqual(
      containers.map((container) => [container.name, [...container.env.keys()]]),
      [
        ["shop", ["A", "B"]],
        ["0123456789ab", []],
      ],
    );
    assert.equal(containers[0]!.env.get("B"), "x=y");
    assert.deepEqual(containerEnv({}), []);
  });
});
