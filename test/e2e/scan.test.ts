/**
 * tessera scan through the built CLI: tracked files (raw and encoded forms), paths, staged changes,
 * history (commit and path), a docker-save tarball written here (plain and gzip'd layers, the config),
 * the pre-commit hook blocking a real `git commit`, --json and --sarif. No output ever holds a value.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { project, type Result, tessera } from "../helpers.ts";
import { assertNoValues, parseJson } from "./cli-support.ts";

const API_KEY = "sk-test-fake-scan-0001";
const DB_PASS = "fake-db-pass/0002+x";
const VALUES = [API_KEY, DB_PASS, Buffer.from(API_KEY).toString("base64").slice(0, 16)];

const MANIFEST =
  "secrets:\n  required:\n    - name: API_KEY\n    - name: DB_PASS\nconfig:\n  LOG_LEVEL: info\n";

function gitEnv(dir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir,
    GIT_AUTHOR_NAME: "Scan Test",
    GIT_AUTHOR_EMAIL: "scan@example.invalid",
    GIT_COMMITTER_NAME: "Scan Test",
    GIT_COMMITTER_EMAIL: "scan@example.invalid",
    GIT_CONFIG_NOSYSTEM: "1",
  };
}

function git(dir: string, ...args: string[]) {
  const result = spawnSync("git", args, { cwd: dir, env: gitEnv(dir), encoding: "utf8" });
  assert.equal(result.status, 0, `git ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** A repository with the manifest committed and the values in a git-ignored .env. */
function repo(files: Record<string, string> = {}): string {
  const dir = project({
    "tessera.yaml": MANIFEST,
    ".env": `API_KEY=${API_KEY}\nDB_PASS=${DB_PASS}\n`,
    ".gitignore": ".env\n",
    ...files,
  });
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", "tessera.yaml", ".gitignore", ...Object.keys(files));
  git(dir, "commit", "-q", "-m", "initial");
  return dir;
}

function scan(dir: string, args: string[] = []): Result {
  const result = tessera(["scan", ...args], { cwd: dir, env: { HOME: dir } });
  assertNoValues([result.stdout, result.stderr], VALUES);
  return result;
}

/** A tar (ustar) of the given files. */
function tar(files: Record<string, Buffer | string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    const content = Buffer.from(data);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, "utf8");
    header.write("0000644\0", 100, "ascii");
    header.write("0000000\0", 108, "ascii");
    header.write("0000000\0", 116, "ascii");
    header.write(`${content.length.toString(8).padStart(11, "0")}\0`, 124, "ascii");
    header.write("00000000000\0", 136, "ascii");
    header.write("        ", 148, "ascii");
    header.write("0", 156, "ascii");
    header.write("ustar\0", 257, "ascii");
    header.write("00", 263, "ascii");
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

describe("tessera scan", () => {
  test("tracked files: raw, base64, JSON-escaped and hex forms, with file:line, variable, form and layer", () => {
    const dir = repo({
      "src/app.js": `// config\nconst key = "${API_KEY}";\n`,
      "docs/blob.txt": `line one\nline two\ndata: xx${Buffer.from(`prefix-${API_KEY}`).toString("base64")}yy\n`,
      "fixtures/db.json": `{\n  "pass": ${JSON.stringify(DB_PASS).replace("/", "\\/")}\n}\n`,
      "fixtures/hex.txt": `${Buffer.from(DB_PASS).toString("hex").toUpperCase()}\n`,
      "clean.txt": "nothing here\n",
    });
    const result = scan(dir);
    assert.equal(result.status, 6, result.stderr);
    assert.match(result.stdout, /^src\/app\.js:2: API_KEY \(raw; value from \.env:1\)$/m);
    assert.match(result.stdout, /^docs\/blob\.txt:3: API_KEY \(base64; value from \.env:1\)$/m);
    assert.match(result.stdout, /^fixtures\/db\.json:2: DB_PASS \(json-escaped; value from \.env:2\)$/m);
    assert.match(result.stdout, /^fixtures\/hex\.txt:1: DB_PASS \(hex; value from \.env:2\)$/m);
    assert.doesNotMatch(result.stdout, /clean\.txt/);
    assert.match(result.stderr, /error\[E_SECRET_FOUND\]/);
  });

  test("clean: exit 0; an untracked file is not scanned unless named as a path", () => {
    const dir = repo({ "clean.txt": "nothing\n" });
    writeFileSync(join(dir, "untracked.txt"), `token=${API_KEY}\n`);
    const clean = scan(dir);
    assert.equal(clean.status, 0, clean.stderr);
    assert.equal(clean.stdout, "");
    const named = scan(dir, ["untracked.txt"]);
    assert.equal(named.status, 6);
    assert.match(named.stdout, /^untracked\.txt:1: API_KEY \(raw/m);
  });

  test("a built artifact directory, percent-encoded, in a large file spanning chunks", () => {
    const dir = repo();
    const big = Buffer.concat([
      Buffer.alloc((1 << 20) - 5, "a"),
      Buffer.from(`\n${encodeURIComponent(DB_PASS)}\n`),
    ]);
    writeFileSync(join(dir, "deploy.bin"), big);
    const result = scan(dir, ["deploy.bin"]);
    assert.equal(result.status, 6, result.stderr);
    assert.match(result.stdout, /^deploy\.bin:2: DB_PASS \(percent-encoded/m);
  });

  test("--staged scans the index's version", () => {
    const dir = repo({ "app.txt": "clean\n" });
    writeFileSync(join(dir, "app.txt"), `clean\nsecret ${API_KEY}\n`);
    git(dir, "add", "app.txt");
    writeFileSync(join(dir, "app.txt"), "clean again\n"); // the working tree no longer has it
    const result = scan(dir, ["--staged"]);
    assert.equal(result.status, 6, result.stderr);
    assert.match(result.stdout, /^app\.txt:2 \(staged\): API_KEY \(raw/m);
    const tracked = scan(dir);
    assert.equal(tracked.status, 0, "the working tree is clean");
  });

  test("--history reports the commit and path that added the value", () => {
    const dir = repo({ "a.txt": "clean\n" });
    writeFileSync(join(dir, "old.txt"), `x\n${API_KEY}\n`);
    git(dir, "add", "old.txt");
    git(dir, "commit", "-q", "-m", "leak");
    const leak = git(dir, "rev-parse", "HEAD").trim();
    git(dir, "rm", "-q", "old.txt");
    git(dir, "commit", "-q", "-m", "remove");
    assert.equal(scan(dir).status, 0, "HEAD is clean");
    const result = scan(dir, ["--history", "--json"]);
    assert.equal(result.status, 6, result.stderr);
    const json = parseJson<{ findings: Record<string, unknown>[] }>(result.stdout);
    assert.deepEqual(json.findings, [
      { path: "old.txt", line: 2, variable: "API_KEY", form: "raw", origin: ".env:1", commit: leak },
    ]);
    const bounded = scan(dir, ["--history", "--max-commits", "1"]);
    assert.equal(bounded.status, 0, "the last commit alone adds nothing");
  });

  test("--image: a docker-save tarball, plain and gzip'd layers and the config", () => {
    const dir = repo();
    const layer1 = tar({ "etc/motd": "welcome\n", "app/settings.env": `A=1\nAPI_KEY=${API_KEY}\n` });
    const layer2 = tar({ "app/blob": `zz${Buffer.from(DB_PASS).toString("base64url")}\n` });
    const config = JSON.stringify({ config: { Env: [`PATH=/bin`, `DB_PASS=${DB_PASS}`] } });
    const image = tar({
      "manifest.json": JSON.stringify([
        { Config: "cfg.json", RepoTags: ["demo:1"], Layers: ["l1/layer.tar", "blobs/sha256/l2"] },
      ]),
      "cfg.json": config,
      "l1/layer.tar": layer1,
      "blobs/sha256/l2": gzipSync(layer2),
    });
    writeFileSync(join(dir, "image.tar"), image);
    const digest1 = `sha256:${createHash("sha256").update(layer1).digest("hex")}`;
    const digest2 = `sha256:${createHash("sha256").update(layer2).digest("hex")}`;
    const result = scan(dir, ["--image", "image.tar", "--json"]);
    assert.equal(result.status, 6, result.stderr);
    const { findings } = parseJson<{ findings: Record<string, unknown>[] }>(result.stdout);
    assert.deepEqual(
      // base64url of a value: "base64" where the two alphabets agree on the characters found.
      findings.map((f) => [
        f.imageLayer,
        f.path,
        f.line,
        f.variable,
        String(f.form).replace("base64url", "base64"),
      ]),
      [
        ["config", "image.tar", 1, "DB_PASS", "raw"],
        [digest1, "app/settings.env", 2, "API_KEY", "raw"],
        [digest2, "app/blob", 1, "DB_PASS", "base64"],
      ],
    );
  });

  test("--sarif: SARIF 2.1.0 with the required fields", () => {
    const dir = repo({ "src/app.js": `const key = "${API_KEY}";\n` });
    const result = scan(dir, ["--sarif"]);
    assert.equal(result.status, 6, result.stderr);
    const sarif = parseJson<{
      version: string;
      runs: {
        tool: { driver: { name: string; rules: { id: string }[] } };
        results: {
          ruleId: string;
          message: { text: string };
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
        }[];
      }[];
    }>(result.stdout);
    // The SARIF 2.1.0 schema requires: version, runs; run.tool.driver.name; result.message.text.
    assert.equal(sarif.version, "2.1.0");
    assert.ok(Array.isArray(sarif.runs) && sarif.runs.length === 1);
    const run = sarif.runs[0]!;
    assert.equal(typeof run.tool.driver.name, "string");
    assert.ok(run.tool.driver.rules.some((rule) => rule.id === "tessera/secret-value"));
    assert.equal(run.results.length, 1);
    const [finding] = run.results;
    assert.equal(finding!.ruleId, "tessera/secret-value");
    assert.equal(typeof finding!.message.text, "string");
    assert.match(finding!.message.text, /API_KEY/);
    assert.equal(finding!.locations[0]!.physicalLocation.artifactLocation.uri, "src/app.js");
    assert.equal(finding!.locations[0]!.physicalLocation.region.startLine, 1);
  });

  test("the pre-commit hook blocks a real git commit, chains an existing hook, and uninstalls cleanly", () => {
    const dir = repo({ "a.txt": "clean\n" });
    const hooks = join(dir, ".git", "hooks");
    const previous = "#!/bin/sh\necho previous-hook-ran >&2\nexit 0\n";
    writeFileSync(join(hooks, "pre-commit"), previous);
    chmodSync(join(hooks, "pre-commit"), 0o755);
    const install = scan(dir, ["--install-hook"]);
    assert.equal(install.status, 0, install.stderr);
    assert.equal(scan(dir, ["--install-hook"]).status, 0, "installing twice is fine");
    assert.equal(readFileSync(join(hooks, "pre-commit.tessera-chained"), "utf8"), previous);

    writeFileSync(join(dir, "leak.txt"), `token: ${API_KEY}\n`);
    git(dir, "add", "leak.txt");
    const blocked = spawnSync("git", ["commit", "-m", "leak"], {
      cwd: dir,
      env: gitEnv(dir),
      encoding: "utf8",
    });
    assertNoValues([blocked.stdout, blocked.stderr], VALUES);
    assert.notEqual(blocked.status, 0, "the commit is blocked");
    assert.match(blocked.stdout + blocked.stderr, /leak\.txt:1 \(staged\): API_KEY/);
    assert.doesNotMatch(blocked.stderr, /previous-hook-ran/);

    writeFileSync(join(dir, "leak.txt"), "token: from the environment\n");
    git(dir, "add", "leak.txt");
    const allowed = spawnSync("git", ["commit", "-m", "clean"], {
      cwd: dir,
      env: gitEnv(dir),
      encoding: "utf8",
    });
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stderr, /previous-hook-ran/, "the previous hook still runs");

    const uninstall = scan(dir, ["--uninstall-hook"]);
    assert.equal(uninstall.status, 0, uninstall.stderr);
    assert.equal(readFileSync(join(hooks, "pre-commit"), "utf8"), previous);
    assert.equal(existsSync(join(hooks, "pre-commit.tessera-chained")), false);
    const again = scan(dir, ["--uninstall-hook"]);
    assert.equal(again.status, 0);
    assert.equal(readFileSync(join(hooks, "pre-commit"), "utf8"), previous, "a foreign hook stays");
  });

  test("--all-profiles looks for every profile's secrets and names the profile", () => {
    const dir = repo({
      "tessera.yaml": `${MANIFEST}profiles:\n  production:\n    config: { LOG_LEVEL: warn }\n`,
      "notes.txt": "prod key sk-test-fake-scan-prod-0003\n",
    });
    writeFileSync(join(dir, ".env.production"), "API_KEY=sk-test-fake-scan-prod-0003\n");
    const single = scan(dir);
    assert.equal(single.status, 0, single.stderr);
    const all = tessera(["scan", "--all-profiles", "--json"], { cwd: dir, env: { HOME: dir } });
    assertNoValues([all.stdout, all.stderr], [...VALUES, "sk-test-fake-scan-prod-0003"]);
    assert.equal(all.status, 6, all.stderr);
    const { findings } = parseJson<{ findings: Record<string, unknown>[] }>(all.stdout);
    assert.deepEqual(
      findings.map((f) => [f.path, f.variable, f.profile, f.origin]),
      [["notes.txt", "API_KEY", "production", ".env.production:1"]],
    );
  });
});
