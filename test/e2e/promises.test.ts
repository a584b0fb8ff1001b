/** The smaller promises of the security model: each a case that went wrong before. */
import assert from "node:assert/strict";
import { readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";

describe("config built from a name that looks secret", () => {
  const MANIFEST = `service: { name: shop, image: "shop:1" }
config:
  DATABASE_URL: "postgres://app:\${PGPASSWORD}@db/app"
  LOG_PREFIX: "\${SERVICE_NAME:-shop}"
`;

  test("warns (W_CONFIG_FROM_SECRET_NAME) at the manifest line, naming the names, never the value", () => {
    const dir = project({ "tessera.yaml": MANIFEST });
    const result = tessera(["check"], { cwd: dir, env: { PGPASSWORD: "fake-pg-password-3141" } });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stderr,
      /warning\[W_CONFIG_FROM_SECRET_NAME\]: tessera\.yaml:3:\d+: config DATABASE_URL is built from PGPASSWORD, which looks like a secret but is not declared/,
    );
    assert.doesNotMatch(result.stderr, /SERVICE_NAME/, "an ordinary name is not flagged");
    assert.doesNotMatch(result.stderr, /fake-pg-password/);
  });

  test("declared, the name is no longer a surprise", () => {
    const dir = project({ "tessera.yaml": `${MANIFEST}secrets:\n  optional: [PGPASSWORD]\n` });
    const result = tessera(["check"], { cwd: dir, env: { PGPASSWORD: "fake-pg-password-3141" } });
    assert.doesNotMatch(result.stderr, /W_CONFIG_FROM_SECRET_NAME/);
  });
});

describe("expose and a symbolic link", () => {
  test("a symlinked manifest.json is refused, the link and its target unchanged", () => {
    const dir = project({ "agent/manifest.json": '{\n  "container": "node:20"\n}\n' });
    symlinkSync(join(dir, "agent", "manifest.json"), join(dir, "manifest.json"));
    const result = tessera(["expose", "API_KEY", "$API_KEY"], { cwd: dir });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /error\[E_USAGE\]: manifest\.json is a symbolic link/);
    assert.match(result.stderr, /--manifest agent\/manifest\.json/);
    assert.equal(
      readFileSync(join(dir, "agent", "manifest.json"), "utf8"),
      '{\n  "container": "node:20"\n}\n',
    );
    const onTarget = tessera(["expose", "--manifest", "agent/manifest.json", "API_KEY", "$API_KEY"], {
      cwd: dir,
    });
    assert.equal(onTarget.status, 0, onTarget.stderr);
    assert.match(
      readFileSync(join(dir, "manifest.json"), "utf8"),
      /API_KEY/,
      "the link still leads to the edit",
    );
  });
});

describe("init writes names, never a stray value", () => {
  test("a token on a line of its own and text after a closing quote are skipped by line number", () => {
    const dir = project({
      ".env": 'GITHUB_TOKEN=\nfake_pasted_token_not_real\nAPI_KEY="abc"def_SEKRETtail\nOK_NAME=1\n',
    });
    const result = tessera(["init"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const manifest = readFileSync(join(dir, "tessera.yaml"), "utf8");
    for (const name of ["GITHUB_TOKEN", "API_KEY", "OK_NAME"])
      assert.match(manifest, new RegExp(`\\b${name}\\b`));
    for (const fragment of ["fake_pasted", "token_not_real", "SEKRET", "def_"]) {
      assert.ok(!manifest.includes(fragment), `tessera.yaml holds ${fragment}`);
      assert.ok(!result.stderr.includes(fragment), `the message holds ${fragment}`);
    }
    assert.match(result.stderr, /skipped what assigns no NAME= .*\.env: lines? 2/);
  });
});
