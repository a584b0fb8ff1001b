/**
 * Credentials stay with Tessera: every program it starts for itself (deploy tools and their probes, git)
 * gets the caller's environment without Tessera's keys and the stores' credentials; the values reach
 * only the tool that delivers them. Fake tools on PATH record what they were given.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";

const VAULT_TOKEN = "fake-vault-token-5150";
const AGE_KEY = "fake-tessera-age-key-6262";
const DB_PASSWORD = "fake-db-password-9090";
const MANIFEST = `service: { name: shop, image: "shop:1" }
sources:
  - { type: vault, name: v, address: "https://vault.example.test", path: shop }
secrets:
  required: [DB_PASSWORD]
config:
  LOG_LEVEL: info
`;

/** A fake tool that records its command line and environment into `log` (git gets no TOOL_LOG). */
const fake = (log: string) => `#!/bin/sh
{ echo "== $(basename "$0") $*"; env; } >> '${log}'
case "$(basename "$0") $1 $2" in
  "docker container"*) exit 1 ;;
  "git "*) exit 128 ;;
  "kubectl apply"*) cat > /dev/null ;;
esac
exit 0
`;

function setup() {
  const dir = project({ "tessera.yaml": MANIFEST, ".env": `DB_PASSWORD=${DB_PASSWORD}\n` });
  const bin = join(dir, "fake-bin");
  mkdirSync(bin);
  const log = join(dir, "tools.log");
  writeFileSync(log, "");
  for (const tool of ["docker", "kubectl", "git"]) {
    writeFileSync(join(bin, tool), fake(log));
    chmodSync(join(bin, tool), 0o755);
  }
  const env = {
    PATH: `${bin}:${process.env.PATH}`,
    TOOL_LOG: log,
    VAULT_TOKEN,
    TESSERA_AGE_KEY: AGE_KEY,
  };
  /** Each recorded call: its command line and its environment. */
  const calls = () =>
    readFileSync(log, "utf8")
      .split(/^== /m)
      .filter(Boolean)
      .map((block) => {
        const [line, ...rest] = block.split("\n");
        return { line: line!, env: rest.join("\n") };
      });
  return { dir, env, calls };
}

describe("no tool Tessera starts gets its credentials", () => {
  for (const target of ["docker", "compose", "kubernetes"]) {
    test(`deploy --target ${target}: probes and the tool itself`, () => {
      const { dir, env, calls } = setup();
      const result = tessera(["deploy", "-t", target], { cwd: dir, env });
      assert.equal(result.status, 0, result.stderr);
      const seen = calls();
      assert.ok(seen.length >= 2, `the probes and the tool ran: ${seen.map((call) => call.line).join("; ")}`);
      for (const call of seen) {
        assert.doesNotMatch(call.env, /^VAULT_TOKEN=/m, `${call.line} got VAULT_TOKEN`);
        assert.doesNotMatch(call.env, /^TESSERA_AGE_KEY=/m, `${call.line} got TESSERA_AGE_KEY`);
        assert.match(call.env, /^TOOL_LOG=/m, "the caller's own environment is kept");
      }
      // The values reach only the call that delivers them (docker and compose read them from their
      // environment; kubectl from its stdin).
      const delivering = seen.filter((call) => call.env.includes(`DB_PASSWORD=${DB_PASSWORD}`));
      assert.deepEqual(
        delivering.map((call) => call.line.split(" ").slice(0, 2).join(" ")),
        target === "kubernetes" ? [] : target === "docker" ? ["docker run"] : ["docker compose"],
      );
    });
  }

  test("build --with-values asks git whether value files are ignored, without credentials", () => {
    const { dir, env, calls } = setup();
    const result = tessera(["build", "-t", "docker", "--with-values"], { cwd: dir, env });
    assert.equal(result.status, 0, result.stderr);
    const git = calls().filter((call) => call.line.startsWith("git "));
    assert.ok(git.length > 0);
    for (const call of git) {
      assert.doesNotMatch(call.env, /^(VAULT_TOKEN|TESSERA_AGE_KEY)=/m);
      assert.ok(!call.env.includes(DB_PASSWORD));
    }
  });

  test("init asks git which value files it tracks, without credentials", () => {
    const { dir, env, calls } = setup();
    writeFileSync(join(dir, "tessera.yaml.bak"), "");
    const result = tessera(["init", "--force"], { cwd: dir, env });
    assert.equal(result.status, 0, result.stderr);
    const git = calls().filter((call) => call.line.startsWith("git "));
    assert.ok(git.length > 0);
    for (const call of git) assert.doesNotMatch(call.env, /^(VAULT_TOKEN|TESSERA_AGE_KEY)=/m);
  });
});

describe("each store's tool gets its own credentials and no other's", () => {
  test("an exec source does not see VAULT_TOKEN (another store's) or Tessera's keys", () => {
    const print = "process.stdout.write(JSON.stringify({SEEN: Object.keys(process.env).sort().join(',')}))";
    const dir = project({
      "tessera.yaml": `sources:
  - { type: vault, name: v, address: "https://vault.example.test", path: shop }
  - { type: exec, name: x, command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(print)}] }
config:
  SEEN: { from: { source: x } }
`,
    });
    const result = tessera(["export", "--format", "json"], {
      cwd: dir,
      env: { VAULT_TOKEN, TESSERA_AGE_KEY: AGE_KEY, OWN_SETTING: "kept" },
    });
    assert.equal(result.status, 0, result.stderr);
    const seen = (JSON.parse(result.stdout) as { SEEN: string }).SEEN.split(",");
    assert.ok(seen.includes("PATH") && seen.includes("OWN_SETTING"), seen.join(" "));
    for (const name of ["VAULT_TOKEN", "TESSERA_AGE_KEY"])
      assert.ok(!seen.includes(name), `${name} reached the exec tool`);
  });
});
