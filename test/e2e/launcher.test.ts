/** bin/tessera.cjs: the code cache it keeps, and the `node --` that keeps Node's hands off --env-file. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { CLI, project, ROOT } from "../helpers.ts";

function launch(args: string[], cwd: string, cacheDir: string) {
  return spawnSync(process.execPath, ["--", CLI, ...args], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", TESSERA_CACHE_DIR: cacheDir },
  });
}

const codeCaches = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.startsWith("code-"))
    .sort();

describe("the launcher's code cache", () => {
  test("is made per command group after the first run, then used", () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-code-"));
    const dir = project({ ".env": "A=fake-value-1\n" });
    assert.equal(launch(["run", "--", "true"], dir, cache).status, 0);
    assert.equal(launch(["--version"], dir, cache).status, 0);
    const made = codeCaches(cache);
    assert.equal(made.length, 2);
    assert.ok(made.some((name) => name.endsWith(`${process.version}-${process.arch}-run.bin`)));
    assert.ok(made.some((name) => name.endsWith("-cli.bin")));
    const build = /^\/\/ tessera-build ([0-9a-f]{24})$/m.exec(
      readFileSync(join(ROOT, "dist", "cli.cjs"), "utf8"),
    )?.[1];
    assert.ok(build && made.every((name) => name.includes(build)), "keyed by the bundle's build id");
    const result = launch(["run", "--no-mask", "--", "sh", "-c", 'printf %s "$A"'], dir, cache);
    assert.equal(result.stdout, "fake-value-1");
  });

  test("a lazy chunk gets a code cache of its own (same build key), private to the user", () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-code-"));
    const dir = project({ "tessera.yaml": "secrets:\n  required: [A]\n", ".env": "A=fake-value-2\n" });
    assert.equal(launch(["explain"], dir, cache).status, 0);
    const chunks = codeCaches(cache).filter((name) => name.includes("-chunk-"));
    assert.ok(
      chunks.some((name) => name.endsWith("-chunk-commands.bin")),
      chunks.join(", "),
    );
    for (const name of chunks) assert.equal(statSync(join(cache, name)).mode & 0o777, 0o600);
    const again = launch(["explain", "A"], dir, cache);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /A {2}secret, required/);
  });

  test("a damaged or foreign cache file is rejected by V8 and made again", () => {
    const cache = mkdtempSync(join(tmpdir(), "tessera-code-"));
    const dir = project({});
    assert.equal(launch(["--version"], dir, cache).status, 0);
    const [file] = codeCaches(cache);
    writeFileSync(join(cache, file!), Buffer.from("not a code cache at all"));
    const result = launch(["--version"], dir, cache);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+/);
    assert.notEqual(readFileSync(join(cache, file!), "utf8"), "not a code cache at all");
  });

  test("TESSERA_CACHE_DIR=off keeps no cache", () => {
    const dir = project({});
    const result = launch(["--version"], dir, "off");
    assert.equal(result.status, 0);
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe("the launcher runs under every POSIX sh, and Node never reads --env-file itself", () => {
  // Executed as a program (as npm's bin link is): the kernel starts /bin/sh, which runs `exec node -- …`.
  const direct = (shell: string[], args: string[], cwd: string) =>
    spawnSync(shell[0]!, [...shell.slice(1), CLI, ...args], {
      cwd,
      encoding: "utf8",
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`, TESSERA_CACHE_DIR: "off" },
    });

  test("no `env -S` (BusyBox's env has none): the first line is #!/bin/sh", () => {
    const [first, second] = readFileSync(CLI, "utf8").split("\n");
    assert.equal(first, "#!/bin/sh");
    assert.equal(second, `':' //; exec node -- "$0" "$@"`);
    assert.ok(statSync(CLI).mode & 0o100, "executable");
  });

  for (const shell of [["/bin/sh"], ["busybox", "sh"], ["bash"]]) {
    test(`${shell.join(" ")}: --env-file reaches Tessera (a missing file is Tessera's error, not Node's exit 9)`, (t) => {
      if (spawnSync(shell[0]!, ["-c", "true"]).error) {
        if (process.env.CI === "true")
          assert.fail(`${shell[0]} is missing (scripts/setup-containers.sh installs busybox)`);
        t.skip(`${shell[0]} is not installed`);
        return;
      }
      const dir = project({ "given.env": "A=fake-from-file\n" });
      const missing = direct(shell, ["run", "--env-file", "nope.env", "--", "true"], dir);
      assert.equal(missing.status, 2, missing.stderr);
      assert.match(missing.stderr, /error\[E_FILE_NOT_FOUND\]: env file nope\.env not found/);
      const given = direct(
        shell,
        ["run", "--no-mask", "--env-file", "given.env", "--", "sh", "-c", 'printf %s "$A"'],
        dir,
      );
      assert.equal(given.status, 0, given.stderr);
      assert.equal(given.stdout, "fake-from-file");
    });
  }
});
