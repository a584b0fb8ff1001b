/**
 * `tessera var` and `tessera echo` as a user runs them: the three ways to set a value (and Ploinky's short
 * forms), get, unset, declare, list, import and export, and how stored values take part in resolution:
 * layer 4 of the precedence, aliases and chains, cycles, empty versus missing, and never a silent empty
 * string. Durability (locks, crashes, age interop) is in store-durability.test.ts; Ploinky end to end
 * in ploinky.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CLI, project, tessera } from "../helpers.ts";

/** One identity for a whole test: every call of a test shares its config directory. */
function workspace(files: Record<string, string> = {}) {
  const dir = project(files);
  const config = mkdtempSync(join(tmpdir(), "tessera-var-config-"));
  const run = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
    tessera(args, { cwd: dir, env: { XDG_CONFIG_HOME: config, ...options.env }, input: options.input });
  return { dir, config, run };
}

const ok = (result: { status: number | null; stderr: string }) =>
  assert.equal(result.status, 0, result.stderr);

describe("var set, get, unset, declare", () => {
  test("three ways to set (NAME VALUE, NAME=VALUE, --stdin) and Ploinky's short forms", () => {
    const { run } = workspace();
    ok(run(["var", "set", "A", "one two"]));
    ok(run(["var", "set", "B=x=y", "C=", "D=-dash"]));
    ok(run(["var", "set", "E", "--stdin"], { input: "from stdin\n" }));
    ok(run(["var", "set", "F", "--stdin"], { input: "two\nlines\r\n" }));
    ok(run(["var", "G", "ploinky form"]));
    ok(run(["var", "H=ploinky=form"]));
    ok(run(["var", "set", "I", "-starts-with-dash"]));
    const json = run(["var", "export", "--format", "json"]);
    ok(json);
    assert.deepEqual(JSON.parse(json.stdout), {
      A: "one two",
      B: "x=y",
      C: "",
      D: "-dash",
      E: "from stdin",
      F: "two\nlines",
      G: "ploinky form",
      H: "ploinky=form",
      I: "-starts-with-dash",
    });
    assert.equal(run(["var", "get", "F"]).stdout, "two\nlines\n");
  });

  test("--stdin on a terminal prompts on stderr and reads the value without echoing it (backspace works)", () => {
    const { dir, config } = workspace();
    // A pseudo-terminal from Python's pty module: type the value, with a typo corrected by DEL.
    const script = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(sys.argv[1], sys.argv[1:], dict(os.environ, XDG_CONFIG_HOME=${JSON.stringify(config)}))
time.sleep(0.8)
out = os.read(fd, 4096)
os.write(fd, b"fake-s3cX\\x7fret\\r")
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
`;
    const result = spawnSync(
      "python3",
      ["-c", script, process.execPath, "--", CLI, "var", "set", "PW", "--stdin"],
      {
        cwd: dir,
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Value for PW \(not shown\): /);
    assert.ok(!result.stdout.includes("fake-s3c"), "nothing typed is echoed");
    assert.equal(
      tessera(["var", "get", "PW"], { cwd: dir, env: { XDG_CONFIG_HOME: config } }).stdout,
      "fake-s3cret\n",
    );
  });

  test("a value is a template ($OTHER is an alias); --literal stores it exactly; a bad template is refused", () => {
    const { run } = workspace();
    ok(run(["var", "set", "PRICE", "--literal", "$5 ${x"]));
    assert.equal(run(["var", "get", "PRICE"]).stdout, "$$5 $${x\n");
    assert.equal(run(["echo", "$PRICE"]).stdout, "$5 ${x\n");
    const bad = run(["var", "set", "BAD", "pa${ss"]);
    assert.equal(bad.status, 4);
    assert.match(bad.stderr, /E_TEMPLATE_SYNTAX\]: the value of BAD/);
    assert.match(bad.stderr, /--literal/);
    assert.ok(!bad.stderr.includes("pa${ss"), "the error does not quote the value");
    const alias = run(["var", "set", "KEY", "$REAL"]);
    ok(alias);
    assert.match(
      alias.stderr,
      /set KEY in \.tessera\/store\.age \(an alias of REAL, which is not in the store yet\)/,
    );
  });

  test("usage mistakes never echo a value", () => {
    const { run } = workspace();
    for (const args of [
      ["var", "set", "K", "s3cr3t-value", "extra"],
      ["var", "set", "K"],
      ["var", "set", "1BAD", "s3cr3t-value"],
      ["var", "set", "K", "--stdin", "s3cr3t-value"],
      // The value typed where the name belongs (arguments swapped): not repeated in the message.
      ["var", "set", "s3cr3t-value!", "K"],
      ["var", "get", "s3cr3t-value!"],
      ["var", "unset", "s3cr3t-value!"],
    ]) {
      const result = run(args);
      assert.equal(result.status, 2, args.join(" "));
      assert.ok(!result.stderr.includes("s3cr3t-value"), `${args.join(" ")}: ${result.stderr}`);
      assert.ok(!result.stderr.includes("s3cr3t"), `${args.join(" ")}: ${result.stderr}`);
    }
    const nul = run(["var", "set", "K", "--stdin"], { input: "a\0b" });
    assert.equal(nul.status, 4);
    assert.match(nul.stderr, /E_VALUE_INVALID\]: the value of K contains a NUL character/);
    assert.equal(run(["var"]).status, 2);
    assert.equal(run(["var", "frobnicate-it"]).status, 2);
  });

  test("get and echo: a name that is not stored is an error (exit 3), never an empty string", () => {
    const { run } = workspace();
    const before = run(["var", "get", "NOPE"]);
    assert.equal(before.status, 3);
    assert.match(
      before.stderr,
      /E_VAR_NOT_SET\]: NOPE is not in the workspace store .*\n {2}hint: there is no store yet/,
    );
    ok(run(["var", "set", "X", "1"]));
    for (const args of [
      ["var", "get", "NOPE"],
      ["echo", "NOPE"],
    ]) {
      const result = run(args);
      assert.equal(result.status, 3, args.join(" "));
      assert.equal(result.stdout, "");
    }
    const unresolved = run(["echo", "$NOPE"]);
    assert.equal(unresolved.status, 4);
    assert.match(
      unresolved.stderr,
      /E_REF_UNSET\]: <argument>:1:1: the template refers to NOPE, which is not set/,
    );
  });

  test("unset removes (and says when there was nothing); declare adds an empty value but keeps a set one", () => {
    const { run } = workspace();
    ok(run(["var", "set", "A=1", "B=2"]));
    const unset = run(["var", "unset", "A", "Z"]);
    ok(unset);
    assert.match(unset.stderr, /unset A\n.*Z was not in the store/);
    const declare = run(["var", "declare", "B", "E"]);
    ok(declare);
    assert.match(declare.stderr, /B is already in the store; its value is kept/);
    assert.match(declare.stderr, /declared E \(empty: it shadows lower layers with ""\)/);
    assert.deepEqual(JSON.parse(run(["var", "export", "--format", "json"]).stdout), { B: "2", E: "" });
    assert.equal(run(["echo", "E"]).stdout, "E=\n");
  });
});

describe("the store in resolution (layer 4)", () => {
  const MANIFEST = `secrets:
  required: [API_KEY, TOKEN]
  optional: [EMPTY_ONE]
config:
  REGION: { required: false }
`;

  test("above every file found for all profiles (env.yaml, .env), and explain names it", () => {
    const { run } = workspace({
      "tessera.yaml": MANIFEST,
      ".env": "API_KEY=from-dotenv\nTOKEN=from-dotenv\nREGION=from-dotenv\n",
      "env.yaml": "REGION: from-yaml\n",
    });
    ok(run(["var", "set", "API_KEY=from-store", "REGION=from-store", "EMPTY_ONE="]));
    const exported = run(["export", "--format", "json"]);
    ok(exported);
    assert.deepEqual(JSON.parse(exported.stdout), {
      API_KEY: "from-store",
      TOKEN: "from-dotenv",
      EMPTY_ONE: "",
      REGION: "from-store",
    });
    const explained = run(["explain", "API_KEY", "REGION"]);
    ok(explained);
    assert.match(explained.stdout, /API_KEY .*\n {2}✓ \.tessera\/store\.age {2}\(workspace store\)/);
    assert.match(explained.stdout, /shadows \.env:1 {2}\(dotenv file\)/);
    assert.match(
      explained.stdout,
      /REGION .*\n {2}✓ \.tessera\/store\.age {2}\(workspace store\).*\n {4}shadows env\.yaml:1 /,
    );
    assert.ok(!explained.stdout.includes("from-store"));
    const env = run(["export", "--format", "json"], { env: { API_KEY: "from-env" } });
    assert.equal(JSON.parse(env.stdout).API_KEY, "from-env", "the process environment is above the store");
  });

  test("aliases and chains resolve; a missing link or a cycle is an error naming the chain", () => {
    const { run } = workspace({ "tessera.yaml": MANIFEST });
    ok(run(["var", "set", "API_KEY=$SHARED", "SHARED=$ROOT", "ROOT=root-value", "TOKEN=${API_KEY}-t"]));
    const exported = run(["export", "--format", "json", "--only", "secrets"]);
    ok(exported);
    assert.equal(JSON.parse(exported.stdout).API_KEY, "root-value");
    assert.equal(JSON.parse(exported.stdout).TOKEN, "root-value-t");
    assert.equal(run(["echo", "$API_KEY"]).stdout, "root-value\n");
    assert.equal(run(["echo", "API_KEY"]).stdout, "API_KEY=$SHARED\n");

    ok(run(["var", "unset", "ROOT"]));
    const broken = run(["export"]);
    assert.equal(broken.status, 4);
    assert.match(
      broken.stderr,
      /E_REF_UNSET\]: \.tessera\/store\.age: the value of SHARED refers to ROOT, which is not set \(via API_KEY → SHARED → ROOT\)/,
    );

    ok(run(["var", "set", "ROOT=$API_KEY"]));
    const cycle = run(["export"]);
    assert.equal(cycle.status, 4);
    assert.match(cycle.stderr, /E_REF_CYCLE\]: .*reference cycle: API_KEY → SHARED → ROOT → API_KEY/);
  });

  test("empty versus missing: a declared empty secret is set to empty (and a required one is reported empty)", () => {
    const { run } = workspace({ "tessera.yaml": MANIFEST, ".env": "TOKEN=t-from-dotenv\n" });
    ok(run(["var", "declare", "API_KEY", "TOKEN"]));
    const result = run(["check"]);
    assert.equal(result.status, 3);
    assert.match(result.stderr, /2 required variables are empty: API_KEY, TOKEN/);
    assert.match(
      result.stderr,
      /TOKEN\n {4}set to an empty value by \.tessera\/store\.age \(shadowing \.env:1\)/,
    );
  });

  test("a command in a subdirectory finds the workspace's store", () => {
    const { dir, run, config } = workspace({ "tessera.yaml": MANIFEST, "sub/deeper/.keep": "" });
    ok(run(["var", "set", "API_KEY=k", "TOKEN=t"]));
    const result = tessera(["echo", "$TOKEN"], {
      cwd: join(dir, "sub", "deeper"),
      env: { XDG_CONFIG_HOME: config },
    });
    ok(result);
    assert.equal(result.stdout, "t\n");
  });
});

describe("list, import, export", () => {
  test("list shows names, what each is and where it is used, never values unless asked", () => {
    const { run } = workspace({
      "tessera.yaml": "secrets:\n  required: [API_KEY]\nconfig:\n  URL: https://u:${API_KEY}@h\n",
    });
    ok(run(["var", "set", "API_KEY=s3cr3t-list-value", "ALIAS=$API_KEY", "LONELY=x", "NONE="]));
    for (const args of [["var", "list"], ["vars"]]) {
      const listed = run(args);
      ok(listed);
      assert.ok(!listed.stdout.includes("s3cr3t-list-value"));
      assert.match(listed.stdout, /^ALIAS +alias of API_KEY +not used by the manifest$/m);
      assert.match(
        listed.stdout,
        /^API_KEY +set +tessera\.yaml: secret, required; tessera\.yaml: referenced by URL; alias target of ALIAS$/m,
      );
      assert.match(listed.stdout, /^NONE +empty +not used by the manifest$/m);
    }
    const values = run(["var", "list", "--values"]);
    assert.match(values.stdout, /^API_KEY +"s3cr3t-list-value" +tessera\.yaml/m);
    const json = JSON.parse(run(["var", "list", "--json"]).stdout);
    assert.deepEqual(json[0], { name: "ALIAS", state: "alias of API_KEY", aliasOf: "API_KEY", usedBy: [] });
    assert.equal(
      json.some((row: { value?: string }) => row.value !== undefined),
      false,
    );
  });

  test("import a dotenv file: quoting kept as meaning (single quotes literal, references kept)", () => {
    const { dir, run } = workspace();
    writeFileSync(
      join(dir, "in.env"),
      'A=\'lit $X\'\nB="ref $A"\nC=plain\nexport D="multi\\nline"\nbad-name=1\n',
    );
    const result = run(["var", "import", "in.env"]);
    ok(result);
    assert.match(
      result.stderr,
      /in\.env:5: the name on this line is not a valid environment variable name; the entry is skipped/,
    );
    assert.doesNotMatch(result.stderr, /bad-name/, "the line's text is not quoted");
    assert.match(result.stderr, /imported 4 variables from in\.env \(dotenv\)/);
    assert.deepEqual(JSON.parse(run(["var", "export", "--format", "json"]).stdout), {
      A: "lit $$X",
      B: "ref $A",
      C: "plain",
      D: "multi\nline",
    });
    assert.equal(run(["echo", "$B"]).stdout, "ref lit $X\n");
  });

  test("export --format dotenv, re-imported elsewhere, gives the same store (property)", () => {
    const name = fc.constantFrom("A", "B", "C", "D", "E");
    const value = fc.oneof(
      fc.string({
        unit: fc.constantFrom("a", " ", "'", '"', "\\", "\n", "\r", "\t", "#", "=", "é", "😀", "$$", "-"),
      }),
      name.map((target) => `$${target}`),
      fc
        .tuple(
          fc.string({ maxLength: 5 }).filter((s) => !s.includes("$") && !s.includes("\0")),
          name,
        )
        .map(([text, target]) => `${text}\${${target}:-d}`),
    );
    const { run } = workspace();
    const { run: other } = workspace();
    fc.assert(
      fc.property(fc.dictionary(name, value, { minKeys: 1 }), (values) => {
        ok(run(["var", "set", ...Object.entries(values).map(([key, text]) => `${key}=${text}`)]));
        const stored = JSON.parse(run(["var", "export", "--format", "json"]).stdout);
        const dotenv = run(["var", "export", "--format", "dotenv"]);
        ok(dotenv);
        ok(other(["var", "import", "-"], { input: dotenv.stdout }));
        const again = JSON.parse(other(["var", "export", "--format", "json"]).stdout);
        for (const key of Object.keys(values)) assert.equal(again[key], stored[key], key);
      }),
      { numRuns: 25 },
    );
  });

  test("export --format ploinky refuses what Ploinky's file cannot carry; writes the rest as Ploinky reads it", () => {
    const { run } = workspace();
    ok(run(["var", "set", "A=plain value", "B=$A", "C=pre$$A"]));
    const good = run(["var", "export", "--format", "ploinky"]);
    ok(good);
    assert.equal(good.stdout, "A=plain value\nB=$A\nC=pre$A\n");
    ok(run(["var", "set", "D", "--stdin"], { input: "two\nlines\n" }));
    const refused = run(["var", "export", "--format", "ploinky"]);
    assert.equal(refused.status, 4);
    assert.match(
      refused.stderr,
      /E_VALUE_UNREPRESENTABLE\]: the value of D contains a line break, which Ploinky's \.secrets cannot carry/,
    );
    assert.equal(refused.stdout, "");
  });

  test("the store file: 0600 in a 0700 directory, with a .gitignore for locks and temporary files", () => {
    const { dir, run } = workspace();
    ok(run(["var", "set", "A=1"]));
    assert.equal(statSync(join(dir, ".tessera")).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, ".tessera", "store.age")).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, ".tessera", ".gitignore"), "utf8"), "*.lock\n*.lock.break\n*.tmp\n");
    assert.match(
      readFileSync(join(dir, ".tessera", "store.age"), "utf8"),
      /^-----BEGIN AGE ENCRYPTED FILE-----\n/,
    );
  });
});
