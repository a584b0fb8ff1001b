/**
 * Every command, run through the built binary as a user would: what goes to stdout, what goes to
 * stderr, the exit status, and that values only ever appear where the user asked for them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { CLI, project, ROOT, tessera } from "../helpers.ts";
import { assertNoValues, parseJson } from "./cli-support.ts";

const MANIFEST = `secrets:
  required:
    - name: API_KEY
      description: key for the fake API
  optional:
    - name: OPT_TOKEN
config:
  REGION: { required: true, description: "cloud region" }
  LOG_LEVEL: info
`;

const API = "fake-api-key-1234";
const API_YAML = "fake-api-key-from-yaml-5678";
const OPT = "fake-opt-token-9012";

/** A project where API_KEY is set in .env (line 2) and shadowed by env.yaml (line 1). */
function layered(): string {
  return project({
    "tessera.yaml": MANIFEST,
    ".env": `# values for local development\nAPI_KEY=${API}\nREGION=eu-fake-1\n`,
    "env.yaml": `API_KEY: ${API_YAML}\nOPT_TOKEN: ${OPT}\n`,
  });
}

const VALUES = [API, API_YAML, OPT, "eu-fake-1"];

describe("check", () => {
  test("prints a one-line summary on stderr and nothing on stdout", () => {
    const result = tessera(["check"], { cwd: layered() });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^tessera: ok: tessera\.yaml: 4 declared \(2 secret, 2 config\), 4 resolved \(2 secret, 2 config\)\n$/,
    );
    assertNoValues([result.stderr], VALUES);
  });

  test("--json prints a valid JSON report on stdout, with layers and places but no values", () => {
    const result = tessera(["check", "--json"], { cwd: layered() });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    const report = parseJson<{
      ok: boolean;
      manifest: { file: string; kind: string };
      counts: Record<string, number>;
      variables: { name: string; kind: string; status: string; layer: string; where: string }[];
      looked: string[];
    }>(result.stdout);
    assert.equal(report.ok, true);
    assert.deepEqual(report.manifest, { file: "tessera.yaml", kind: "tessera" });
    assert.equal(report.counts.declared, 4);
    assert.equal(report.counts.missing, 0);
    const byName = Object.fromEntries(report.variables.map((variable) => [variable.name, variable]));
    assert.equal(byName.API_KEY?.layer, "values");
    assert.equal(byName.API_KEY?.where, "env.yaml:1");
    assert.equal(byName.REGION?.layer, "dotenv");
    assert.equal(byName.REGION?.where, ".env:3");
    assert.equal(byName.LOG_LEVEL?.layer, "manifest");
    assert.ok(report.looked.includes("env.yaml") && report.looked.includes(".env"));
    assertNoValues([result.stdout], [...VALUES, "info"]);
  });

  test("--json with a missing variable: ok false, the missing list on stdout, the error on stderr, exit 3", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": `API_KEY=${API}\n` });
    const result = tessera(["check", "--json"], { cwd: dir });
    assert.equal(result.status, 3);
    const report = parseJson<{
      ok: boolean;
      missing: { name: string; description: string; reason: string }[];
    }>(result.stdout);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.missing.map((item) => [item.name, item.description, item.reason]),
      [["REGION", "cloud region", "missing"]],
    );
    assert.match(result.stderr, /error\[E_MISSING_REQUIRED\]/);
    assertNoValues([result.stdout, result.stderr], [API]);
  });

  test("--json with an invalid manifest: a JSON error with code and file:line:col, exit 4", () => {
    const dir = project({ "tessera.yaml": "secrets:\n  required:\n    - name: A\nconfg:\n  B: x\n" });
    const result = tessera(["check", "--json"], { cwd: dir });
    assert.equal(result.status, 4);
    const report = parseJson<{ ok: boolean; error: { code: string; location: string; hint: string } }>(
      result.stdout,
    );
    assert.equal(report.ok, false);
    assert.equal(report.error.code, "E_MANIFEST_INVALID");
    assert.equal(report.error.location, "tessera.yaml:4:1");
    assert.match(report.error.hint, /did you mean "config"/);
    assert.match(
      result.stderr,
      /^tessera: error\[E_MANIFEST_INVALID\]: tessera\.yaml:4:1: unknown key "confg"/,
    );
  });

  const DOCKFILE = `version: "1.0"
agent:
  name: fake-agent
observability:
  langfuse:
    secret_key: "\${LANGFUSE_SECRET}"
    host: "\${LANGFUSE_HOST:-https://example.invalid}"
secrets:
  required:
    - name: OPENAI_API_KEY
  optional:
    - name: LANGFUSE_SECRET
      default: ""
`;

  test("an undeclared Dockfile ${VAR} reference is a warning on stderr (exit 0)", () => {
    const dir = project({ "Dockfile.yaml": DOCKFILE });
    const result = tessera(["check", "--secret", "OPENAI_API_KEY=fake-openai-1234"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /tessera: warning\[W_UNDECLARED_REF\]: Dockfile\.yaml:7:11: LANGFUSE_HOST is used by \$\{LANGFUSE_HOST\} in observability\.langfuse\.host/,
    );
    assert.match(result.stderr, /tessera: ok: Dockfile\.yaml/);
  });

  test("--strict turns an undeclared Dockfile reference into exit 4 with file:line:col", () => {
    const dir = project({ "Dockfile.yaml": DOCKFILE });
    const result = tessera(["check", "--strict", "--secret", "OPENAI_API_KEY=fake-openai-1234"], {
      cwd: dir,
    });
    assert.equal(result.status, 4);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^tessera: error\[E_UNDECLARED_REF\]: Dockfile\.yaml:7:11: LANGFUSE_HOST/m);
    assert.doesNotMatch(result.stderr, /tessera: ok/);
  });

  test("--strict --json: ok false on stdout, exit 4", () => {
    const dir = project({ "Dockfile.yaml": DOCKFILE });
    const result = tessera(["check", "--strict", "--json", "--secret", "OPENAI_API_KEY=fake-openai-1234"], {
      cwd: dir,
    });
    assert.equal(result.status, 4);
    const report = parseJson<{ ok: boolean; warnings: { code: string; location: string }[] }>(result.stdout);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.warnings.map((warning) => [warning.code, warning.location]),
      [["W_UNDECLARED_REF", "Dockfile.yaml:7:11"]],
    );
    assert.match(result.stderr, /E_UNDECLARED_REF/);
    assertNoValues([result.stdout, result.stderr], ["fake-openai-1234"]);
  });

  test("--strict passes when every reference is declared", () => {
    const dir = project({
      "Dockfile.yaml": DOCKFILE.replace(
        "  optional:\n",
        "  optional:\n    - name: LANGFUSE_HOST\n      default: https://example.invalid\n",
      ),
    });
    const result = tessera(["check", "--strict", "--secret", "OPENAI_API_KEY=fake-openai-1234"], {
      cwd: dir,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /warning/);
  });
});

describe("explain", () => {
  test("shows the winning layer with file:line and the shadowed entries, never the value", () => {
    const result = tessera(["explain"], { cwd: layered(), env: { REGION: "eu-fake-env" } });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    const out = result.stdout;
    assert.match(
      out,
      /^# tessera\.yaml \(tessera\)\n# precedence: --secret flags > process environment > workspace store \.tessera\/store\.age \(not found\) > \.dockrion-env\.yaml \(not found\) > env\.yaml/,
    );
    assert.match(
      out,
      /API_KEY {2}secret, required — key for the fake API\n {2}✓ env\.yaml:1 {2}\(YAML value file\) {2}fingerprint [0-9a-f]+\n {4}shadows \.env:2 {2}\(dotenv file\)\n/,
    );
    assert.match(
      out,
      /REGION {2}config, required — cloud region\n {2}✓ process environment {2}\(process environment\).*\n {4}shadows \.env:3 {2}\(dotenv file\)\n/,
    );
    assert.match(out, /LOG_LEVEL {2}config, optional\n {2}✓ tessera\.yaml:9 \(value\) {2}\(manifest\)/);
    assertNoValues([out], [...VALUES, "eu-fake-env"]);
  });

  test("a default shadowed by a file is listed with its manifest line", () => {
    const dir = project({
      "tessera.yaml": "secrets:\n  optional:\n    - name: TOKEN\n      default: fake-default-tok\n",
      ".env": "TOKEN=fake-dotenv-tok\n",
    });
    const result = tessera(["explain", "TOKEN"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /✓ \.env:1 {2}\(dotenv file\).*\n {4}shadows tessera\.yaml:4 \(default\) {2}\(manifest\)/,
    );
    assertNoValues([result.stdout], ["fake-default-tok", "fake-dotenv-tok"]);
  });

  test("--json: valid JSON with winner and shadowed origins, no values", () => {
    const result = tessera(["explain", "--json"], { cwd: layered() });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    const report = parseJson<{
      manifest: string;
      variables: {
        name: string;
        declared: boolean;
        status: string;
        winner?: { layer: string; where: string; file?: string; line?: number };
        shadowed: { layer: string; where: string }[];
        fingerprint?: string;
      }[];
    }>(result.stdout);
    assert.equal(report.manifest, "tessera.yaml");
    const api = report.variables.find((variable) => variable.name === "API_KEY");
    assert.ok(api);
    assert.deepEqual(api.winner, { layer: "values", where: "env.yaml:1", file: "env.yaml", line: 1 });
    assert.deepEqual(
      api.shadowed.map((origin) => [origin.layer, origin.where]),
      [["dotenv", ".env:2"]],
    );
    assert.match(api.fingerprint ?? "", /^[0-9a-f]{6,}$/);
    assertNoValues([result.stdout], VALUES);
  });

  test("explaining an undeclared name: where it is set, or that it is set nowhere", () => {
    const dir = project({ "tessera.yaml": MANIFEST, ".env": "HELPER=fake-helper-val\nREGION=x\n" });
    const text = tessera(["explain", "HELPER", "NOWHERE"], { cwd: dir });
    assert.equal(text.status, 0, text.stderr);
    assert.match(
      text.stdout,
      /HELPER {2}not declared: serves references only, never exported\n {2}✓ \.env:1 {2}\(dotenv file\)\n/,
    );
    assert.match(
      text.stdout,
      /NOWHERE {2}not declared: serves references only, never exported\n {2}✗ not set in any layer/,
    );
    assertNoValues([text.stdout], ["fake-helper-val"]);

    const json = tessera(["explain", "--json", "NOWHERE", "HELPER"], { cwd: dir });
    const report = parseJson<{
      variables: { name: string; declared: boolean; status: string; winner?: unknown }[];
    }>(json.stdout);
    assert.deepEqual(
      report.variables.map((variable) => [
        variable.name,
        variable.declared,
        variable.status,
        variable.winner !== undefined,
      ]),
      [
        ["NOWHERE", false, "undeclared", false],
        ["HELPER", false, "undeclared", true],
      ],
    );
  });

  test("the fingerprint changes with the value and only with the value", () => {
    const dir = project({ "tessera.yaml": "secrets:\n  required: [TOKEN]\n" });
    const fp = (value: string) => {
      const result = tessera(["explain", "--json", "--secret", `TOKEN=${value}`], { cwd: dir });
      return parseJson<{ variables: { fingerprint: string }[] }>(result.stdout).variables[0]?.fingerprint;
    };
    const first = fp("fake-token-aaaa");
    assert.ok(first);
    assert.equal(fp("fake-token-aaaa"), first);
    assert.notEqual(fp("fake-token-aaab"), first);
  });

  test("a missing required variable is explained, with exit 0 (explain is a diagnostic)", () => {
    const dir = project({ "tessera.yaml": MANIFEST });
    const result = tessera(["explain", "REGION"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /REGION {2}config, required — cloud region\n {2}✗ missing: no layer sets it and there is no default/,
    );
  });
});

describe("export", () => {
  const dir = () =>
    project({
      "tessera.yaml": MANIFEST,
      ".env": `API_KEY=${API}\nREGION=eu-fake-1\nOPT_TOKEN='fake opt $token'\n`,
    });

  test("dotenv (the default): every resolved variable, stderr empty", () => {
    const result = tessera(["export"], { cwd: dir() });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.equal(
      result.stdout,
      `API_KEY=${API}\nOPT_TOKEN='fake opt $token'\nREGION=eu-fake-1\nLOG_LEVEL=info\n`,
    );
  });

  test("--format json", () => {
    const result = tessera(["export", "--format", "json"], { cwd: dir() });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.deepEqual(parseJson(result.stdout), {
      API_KEY: API,
      OPT_TOKEN: "fake opt $token",
      REGION: "eu-fake-1",
      LOG_LEVEL: "info",
    });
  });

  test("--format yaml (-f yaml) parses back to the same values", () => {
    const result = tessera(["export", "-f", "yaml"], { cwd: dir() });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.deepEqual(parseYaml(result.stdout), {
      API_KEY: API,
      OPT_TOKEN: "fake opt $token",
      REGION: "eu-fake-1",
      LOG_LEVEL: "info",
    });
  });

  test("--format shell survives eval in sh", () => {
    const result = tessera(["export", "--format=shell"], { cwd: dir() });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.match(result.stdout, /^export API_KEY='fake-api-key-1234'\n/);
    const shell = spawnSync("sh", ["-c", `${result.stdout}\nprintf '%s|%s' "$OPT_TOKEN" "$LOG_LEVEL"`], {
      encoding: "utf8",
    });
    assert.equal(shell.stdout, "fake opt $token|info");
  });

  test("--only secrets and --only config", () => {
    const secrets = tessera(["export", "--only", "secrets", "-f", "json"], { cwd: dir() });
    assert.deepEqual(parseJson(secrets.stdout), { API_KEY: API, OPT_TOKEN: "fake opt $token" });
    const config = tessera(["export", "--only", "config"], { cwd: dir() });
    assert.equal(config.stdout, "REGION=eu-fake-1\nLOG_LEVEL=info\n");
    assert.equal(config.stderr, "");
  });

  test("awkward values survive dotenv export and re-import, and shell eval", () => {
    const value = 'fake it\'s "q" $HOME \\ end\nline2\ttab #not-a-comment';
    const work = project({ "tessera.yaml": "secrets:\n  required: [ODD]\n" });
    const exported = tessera(["export", "--secret", `ODD=${value}`], { cwd: work });
    assert.equal(exported.status, 0, exported.stderr);
    writeFileSync(join(work, "round.env"), exported.stdout);
    const back = tessera(["export", "-f", "json", "--env-file", "round.env"], { cwd: work });
    assert.equal(back.status, 0, back.stderr);
    assert.deepEqual(parseJson(back.stdout), { ODD: value });
    const shell = tessera(["export", "-f", "shell", "--secret", `ODD=${value}`], { cwd: work });
    const evaluated = spawnSync("sh", ["-c", `${shell.stdout}\nprintf '%s' "$ODD"`], { encoding: "utf8" });
    assert.equal(evaluated.stdout, value);
  });

  test("an unknown format or --only kind is a usage error (exit 2), nothing on stdout", () => {
    for (const args of [["--format", "xml"], ["--only", "everything"], ["stray"]]) {
      const result = tessera(["export", ...args], { cwd: dir() });
      assert.equal(result.status, 2, args.join(" "));
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /error\[E_USAGE\]/);
    }
  });
});

describe("expand", () => {
  const dir = (files: Record<string, string> = {}) =>
    project({
      "tessera.yaml": MANIFEST,
      ".env": `API_KEY=${API}\nREGION=eu-fake-1\n`,
      ...files,
    });

  test("renders a template file on stdout, stderr empty", () => {
    const cwd = dir({
      "app.conf.tpl":
        "key=${API_KEY}\nregion=$REGION\nlevel=${LOG_LEVEL:-debug}\nport=${PORT:-8080}\ncost=$$5\n",
    });
    const result = tessera(["expand", "app.conf.tpl"], { cwd });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout, `key=${API}\nregion=eu-fake-1\nlevel=info\nport=8080\ncost=$5\n`);
  });

  test("reads the template from stdin (no argument, and -)", () => {
    for (const args of [[], ["-"]]) {
      const result = tessera(["expand", ...args], { cwd: dir(), input: "region=${REGION}\n" });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, "region=eu-fake-1\n");
    }
  });

  test("-o writes the result with mode 0600 (also over an existing 0644 file), stdout empty", () => {
    const cwd = dir({ "t.tpl": "key=${API_KEY}\n", "out.conf": "old\n" });
    const fresh = tessera(["expand", "t.tpl", "-o", "new.conf"], { cwd });
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.equal(fresh.stdout, "");
    assert.match(fresh.stderr, /wrote new\.conf \(mode 0600\)/);
    assert.equal(readFileSync(join(cwd, "new.conf"), "utf8"), `key=${API}\n`);
    assert.equal(statSync(join(cwd, "new.conf")).mode & 0o777, 0o600);
    assertNoValues([fresh.stderr], [API]);

    const over = tessera(["expand", "t.tpl", "--output", "out.conf"], { cwd });
    assert.equal(over.status, 0, over.stderr);
    assert.equal(readFileSync(join(cwd, "out.conf"), "utf8"), `key=${API}\n`);
    assert.equal(statSync(join(cwd, "out.conf")).mode & 0o777, 0o600);
  });

  test("an unresolved reference is exit 4 with file:line:col, and nothing is written", () => {
    const cwd = dir({ "t.tpl": "key=${API_KEY}\n  url=http://${NOT_SET_ANYWHERE}/x\n" });
    const result = tessera(["expand", "t.tpl", "-o", "out.conf"], { cwd });
    assert.equal(result.status, 4);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^tessera: error\[E_REF_UNSET\]: t\.tpl:2:14: the template refers to NOT_SET_ANYWHERE, which is not set/,
    );
    assert.throws(() => statSync(join(cwd, "out.conf")));
    assertNoValues([result.stderr], [API]);
  });

  test("on stdin, the location is <stdin>:line:col", () => {
    const result = tessera(["expand"], { cwd: dir(), input: "a\nb=${NOPE_X}\n" });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /<stdin>:2:3: the template refers to NOPE_X/);
  });

  test("${VAR:?message} reports the message with its location (exit 3)", () => {
    const result = tessera(["expand"], { cwd: dir(), input: "x=${DB_HOST:?set DB_HOST first}\n" });
    assert.equal(result.status, 3);
    assert.match(
      result.stderr,
      /error\[E_REF_REQUIRED\]: <stdin>:1:3: DB_HOST is required: set DB_HOST first/,
    );
  });

  test("a template syntax error is exit 4 with its position", () => {
    const result = tessera(["expand"], { cwd: dir(), input: "ok\nbad=${ NAME}\n" });
    assert.equal(result.status, 4);
    assert.match(result.stderr, /error\[E_TEMPLATE_SYNTAX\]: <stdin>:2:5:/);
  });

  test("a missing template file is exit 2", () => {
    const result = tessera(["expand", "nope.tpl"], { cwd: dir() });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /template nope\.tpl cannot be read/);
  });

  test("-o into a directory that does not exist is a user error naming the path", () => {
    const cwd = dir({ "t.tpl": "key=${API_KEY}\n" });
    const result = tessera(["expand", "t.tpl", "-o", "no-such-dir/out.conf"], { cwd });
    assert.equal(result.status, 2, result.stderr);
    assert.doesNotMatch(result.stderr, /E_INTERNAL|\.tmp/);
    assert.match(result.stderr, /no-such-dir\/out\.conf/);
  });
});

describe("init", () => {
  const DOTENV = [
    "OPENAI_API_KEY=fake-openai-value-1111",
    'DB_PASSWORD="fake-db-pass-2222"',
    "export SESSION_SECRET='fake-session-3333'",
    "GITHUB_TOKEN=fake-gh-4444",
    "LOG_LEVEL=fake-level-debug",
    "PORT=65001",
    "PUBLIC_URL=https://fake.example.invalid",
  ].join("\n");
  const SOURCE_VALUES = [
    "fake-openai-value-1111",
    "fake-db-pass-2222",
    "fake-session-3333",
    "fake-gh-4444",
    "fake-level-debug",
    "65001",
    "fake.example.invalid",
  ];

  test("from .env: names only, sensitivity guessed, .gitignore written; messages on stderr", () => {
    const dir = project({ ".env": `${DOTENV}\n` });
    const result = tessera(["init"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /wrote tessera\.yaml: 4 secret, 3 config \(names from \.env\)/);
    const manifest = readFileSync(join(dir, "tessera.yaml"), "utf8");
    assertNoValues([manifest, result.stderr], SOURCE_VALUES);
    const data = parseYaml(manifest) as {
      secrets: { required: { name: string }[] };
      config: Record<string, { required: boolean }>;
    };
    assert.deepEqual(
      data.secrets.required.map((entry) => entry.name),
      ["OPENAI_API_KEY", "DB_PASSWORD", "SESSION_SECRET", "GITHUB_TOKEN"],
    );
    assert.deepEqual(Object.keys(data.config), ["LOG_LEVEL", "PORT", "PUBLIC_URL"]);
    const ignore = readFileSync(join(dir, ".gitignore"), "utf8");
    for (const pattern of [".env", ".env.*", "!.env.example", "env.yaml", "env.*.yaml"]) {
      assert.ok(ignore.split("\n").includes(pattern), `.gitignore lacks ${pattern}:\n${ignore}`);
    }
  });

  test("the manifest it writes is valid and resolves the .env it came from", () => {
    const dir = project({ ".env": `${DOTENV}\n` });
    assert.equal(tessera(["init", "-q"], { cwd: dir }).status, 0);
    const check = tessera(["check", "--strict"], { cwd: dir });
    assert.equal(check.status, 0, check.stderr);
    const exported = tessera(["export", "-f", "json"], { cwd: dir });
    assert.equal((parseJson(exported.stdout) as Record<string, string>).DB_PASSWORD, "fake-db-pass-2222");
  });

  test("from .env.example and .env together (union of names, no values)", () => {
    const dir = project({
      ".env.example": "OPENAI_API_KEY=sk-example-fake-0000\nEXTRA_HOST=fake-host.example.invalid\n",
      ".env": "OPENAI_API_KEY=fake-openai-value-1111\nLOCAL_ONLY=fake-local-5555\n",
    });
    const result = tessera(["init"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /names from \.env\.example, \.env/);
    const manifest = readFileSync(join(dir, "tessera.yaml"), "utf8");
    for (const name of ["OPENAI_API_KEY", "EXTRA_HOST", "LOCAL_ONLY"])
      assert.match(manifest, new RegExp(name));
    assertNoValues(
      [manifest],
      ["sk-example-fake-0000", "fake-host.example.invalid", "fake-openai-value-1111", "fake-local-5555"],
    );
  });

  test("from a Dockfile: its secrets keep required/optional and descriptions; ${VAR} uses are added", () => {
    const dir = project({
      "Dockfile.yaml": `version: "1.0"
agent:
  name: fake-agent
observability:
  langfuse:
    host: "\${LANGFUSE_HOST}"
secrets:
  required:
    - name: OPENAI_API_KEY
      description: the model key
  optional:
    - name: SENTRY_DSN
`,
    });
    const result = tessera(["init"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const data = parseYaml(readFileSync(join(dir, "tessera.yaml"), "utf8")) as {
      secrets: { required?: { name: string; description?: string }[]; optional?: { name: string }[] };
      config?: Record<string, unknown>;
    };
    assert.deepEqual(data.secrets.required, [{ name: "OPENAI_API_KEY", description: "the model key" }]);
    assert.deepEqual(
      data.secrets.optional?.map((entry) => entry.name),
      ["SENTRY_DSN"],
    );
    assert.ok(data.config && "LANGFUSE_HOST" in data.config, "the ${LANGFUSE_HOST} use is declared");
  });

  test("--from FILE reads that file only", () => {
    const dir = project({
      ".env": "IGNORED_NAME=x\n",
      "config/prod.env.example": "STRIPE_SECRET_KEY=\nCDN_HOST=\n",
    });
    const result = tessera(["init", "--from", "config/prod.env.example"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const manifest = readFileSync(join(dir, "tessera.yaml"), "utf8");
    assert.match(manifest, /STRIPE_SECRET_KEY/);
    assert.match(manifest, /CDN_HOST/);
    assert.doesNotMatch(manifest, /IGNORED_NAME/);
  });

  test(".gitignore is updated idempotently, keeping what was there", () => {
    const dir = project({ ".env": "A_TOKEN=fake-a-1\n", ".gitignore": "node_modules\n.env" });
    assert.equal(tessera(["init"], { cwd: dir }).status, 0);
    const first = readFileSync(join(dir, ".gitignore"), "utf8");
    const lines = first.split("\n");
    assert.equal(lines[0], "node_modules");
    assert.equal(lines[1], ".env");
    assert.equal(lines.filter((line) => line === ".env").length, 1, first);
    assert.ok(lines.includes("env.yaml"));

    const again = tessera(["init", "--force"], { cwd: dir });
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /added to \.gitignore/);
    assert.equal(readFileSync(join(dir, ".gitignore"), "utf8"), first);
  });

  test("refuses to overwrite tessera.yaml without --force (exit 4, file unchanged)", () => {
    const dir = project({
      ".env": "NEW_TOKEN=fake-1\n",
      "tessera.yaml": "# mine\nsecrets:\n  required: [OLD]\n",
    });
    const result = tessera(["init"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /error\[E_OUTPUT_EXISTS\]: tessera\.yaml already exists\n {2}hint: use --force/,
    );
    assert.equal(readFileSync(join(dir, "tessera.yaml"), "utf8"), "# mine\nsecrets:\n  required: [OLD]\n");

    const forced = tessera(["init", "--force"], { cwd: dir });
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(readFileSync(join(dir, "tessera.yaml"), "utf8"), /NEW_TOKEN/);
  });

  test("with nothing to start from: exit 2 and a hint", () => {
    const result = tessera(["init"], { cwd: project({}) });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /nothing to start from/);
    assert.match(result.stderr, /--from FILE/);
  });
});

describe("schema", () => {
  test("prints a JSON Schema document on stdout", () => {
    const result = tessera(["schema"], { cwd: project({}) });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    const schema = parseJson<{
      $schema: string;
      type: string;
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    }>(result.stdout);
    assert.match(schema.$schema, /^https?:\/\/json-schema\.org\//);
    assert.equal(schema.type, "object");
    for (const key of ["secrets", "config", "profiles", "sources"]) {
      assert.ok(key in schema.properties, `the schema has no ${key}`);
    }
    assert.equal(schema.additionalProperties, false);
    // Every $ref points inside the document.
    for (const match of result.stdout.matchAll(/"\$ref": "([^"]+)"/g)) assert.match(match[1]!, /^#/);
  });

  test("-o writes the same document to a file", () => {
    const dir = project({});
    const result = tessera(["schema", "-o", "tessera.schema.json"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "");
    const printed = tessera(["schema"], { cwd: dir }).stdout;
    assert.equal(readFileSync(join(dir, "tessera.schema.json"), "utf8"), printed);
  });

  test("extra arguments are a usage error", () => {
    const result = tessera(["schema", "extra"], { cwd: project({}) });
    assert.equal(result.status, 2);
  });

  test("-o into a directory that does not exist is a user error", () => {
    const result = tessera(["schema", "-o", "no-such-dir/schema.json"], { cwd: project({}) });
    assert.equal(result.status, 2, result.stderr);
    assert.doesNotMatch(result.stderr, /E_INTERNAL/);
  });
});

describe("stdout stays machine-readable when there are warnings", () => {
  test("export, explain, check --json and expand: warnings on stderr only", () => {
    const cwd = project({
      "tessera.yaml": MANIFEST,
      ".env": `API_KEY=${API}\nREGION=eu-fake-1\n1BAD=x\n`,
      "t.tpl": "region=${REGION}\n",
    });
    const noisy = ["--secret", "UNDECLARED_X=fake-x-1234"];
    const exportJson = tessera(["export", "-f", "json", ...noisy], { cwd });
    assert.equal(exportJson.status, 0, exportJson.stderr);
    assert.equal((parseJson(exportJson.stdout) as Record<string, string>).API_KEY, API);
    assert.match(exportJson.stderr, /warning\[W_SECRET_UNDECLARED\]/);
    assert.match(
      exportJson.stderr,
      /warning\[W_NAME_INVALID\]: \.env:3: the name on this line is not a valid environment variable name/,
    );

    const explainJson = tessera(["explain", "--json", ...noisy], { cwd });
    assert.equal(explainJson.status, 0, explainJson.stderr);
    parseJson(explainJson.stdout);
    assert.match(explainJson.stderr, /W_SECRET_UNDECLARED/);

    const checkJson = tessera(["check", "--json", ...noisy], { cwd });
    assert.equal(checkJson.status, 0, checkJson.stderr);
    const report = parseJson<{ warnings: { code: string }[] }>(checkJson.stdout);
    assert.deepEqual(report.warnings.map((warning) => warning.code).sort(), [
      "W_NAME_INVALID",
      "W_SECRET_UNDECLARED",
    ]);

    const expand = tessera(["expand", "t.tpl", ...noisy], { cwd });
    assert.equal(expand.status, 0, expand.stderr);
    assert.equal(expand.stdout, "region=eu-fake-1\n");
    assert.match(expand.stderr, /W_SECRET_UNDECLARED/);

    const quiet = tessera(["export", "-q", ...noisy], { cwd });
    assert.equal(quiet.stderr, "");
  });
});

describe("help and version", () => {
  const COMMANDS = ["run", "check", "explain", "export", "expand", "init", "schema"];
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;

  test("help, --help and -h print the overview on stdout (exit 0), listing every command", () => {
    for (const flag of ["help", "--help", "-h"]) {
      const result = tessera([flag], { cwd: project({}) });
      assert.equal(result.status, 0, flag);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, /^tessera \S+ — /);
      assert.match(result.stdout, /Usage: tessera <command> \[options\]/);
      for (const command of COMMANDS) assert.match(result.stdout, new RegExp(`^ {2}${command} `, "m"));
    }
  });

  test("no arguments: the overview on stderr, exit 2", () => {
    const result = tessera([], { cwd: project({}) });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /Usage: tessera <command>/);
  });

  test("every command has --help (stdout, exit 0) and `tessera help COMMAND` shows the same", () => {
    for (const command of COMMANDS) {
      const result = tessera([command, "--help"], { cwd: project({}) });
      assert.equal(result.status, 0, command);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, new RegExp(`Usage: tessera ${command}`));
      assert.match(result.stdout, /Options:/);
      assert.equal(tessera(["help", command], { cwd: project({}) }).stdout, result.stdout);
    }
    assert.match(tessera(["run", "-h"], { cwd: project({}) }).stdout, /--pristine/);
  });

  test("version, --version and -V print the package version on stdout", () => {
    for (const flag of ["version", "--version", "-V"]) {
      const result = tessera([flag], { cwd: project({}) });
      assert.equal(result.status, 0);
      assert.equal(result.stderr, "");
      assert.ok(result.stdout.startsWith(version), result.stdout);
      assert.match(result.stdout, /^\S+\n$/);
    }
  });

  test("the launcher in bin/ runs the same CLI as dist/cli.cjs", () => {
    const result = spawnSync(process.execPath, [CLI, "--version"], { encoding: "utf8" });
    assert.equal(result.status, 0);
    const direct = spawnSync(process.execPath, [join(ROOT, "dist", "cli.cjs"), "--version"], {
      encoding: "utf8",
    });
    assert.equal(result.stdout, direct.stdout);
  });
});

describe("unknown commands and flags", () => {
  test("a misspelt command: exit 2 with did-you-mean, nothing on stdout", () => {
    const result = tessera(["chek"], { cwd: project({}) });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      'tessera: error[E_USAGE]: unknown command "chek"\n  hint: did you mean `tessera check`?\n',
    );
    assert.match(tessera(["exprot"], { cwd: project({}) }).stderr, /did you mean `tessera export`\?/);
  });

  test("an unrelated command: exit 2, pointing at help", () => {
    const result = tessera(["frobnicate"], { cwd: project({}) });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command "frobnicate"\n {2}hint: see `tessera help`/);
  });

  test("a misspelt flag: exit 2 with did-you-mean, for every command", () => {
    const cases: [string[], string][] = [
      [["check", "--jsn"], "--json"],
      [["check", "--stict"], "--strict"],
      [["explain", "--manifst", "x"], "--manifest"],
      [["export", "--formt", "json"], "--format"],
      [["expand", "--ouput", "x"], "--output"],
      [["init", "--forc"], "--force"],
      [["run", "--pristin", "--", "true"], "--pristine"],
      [["run", "--secrets", "A=1", "--", "true"], "--secret"],
    ];
    for (const [args, suggestion] of cases) {
      const result = tessera(args, { cwd: project({}) });
      assert.equal(result.status, 2, args.join(" "));
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^tessera: error\[E_USAGE\]: unknown option --/, args.join(" "));
      assert.ok(result.stderr.includes(`did you mean ${suggestion}?`), `${args.join(" ")}: ${result.stderr}`);
    }
  });

  test("run with a misspelt flag does not start the command", () => {
    const dir = project({});
    const result = tessera(["run", "--pristin", "--", "sh", "-c", "echo started > started.txt"], {
      cwd: dir,
    });
    assert.equal(result.status, 2);
    assert.throws(() => statSync(join(dir, "started.txt")));
  });

  test("a stray argument is rejected by check and init, as it is by export, expand and schema", () => {
    const checkDir = project({ "tessera.yaml": "secrets:\n  optional: [A]\n" });
    assert.equal(tessera(["check", "tessera.yaml"], { cwd: checkDir }).status, 2);
    const initDir = project({ ".env": "FROM_DOTENV=1\n", "prod.env": "FROM_PROD=1\n" });
    const init = tessera(["init", "prod.env"], { cwd: initDir });
    assert.equal(init.status, 2, init.stderr);
  });

  test("flag value mistakes are usage errors", () => {
    const cases: string[][] = [
      ["export", "--format"],
      ["check", "--json=yes"],
      ["check", "-x"],
      ["run"],
      ["run", "--secret", "NOEQUALS", "--", "true"],
      ["run", "--secret", "1BAD=x", "--", "true"],
      ["run", "--secret", "A=1", "--secret", "A=2", "--", "true"],
    ];
    for (const args of cases) {
      const result = tessera(args, { cwd: project({}) });
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /error\[E_USAGE\]/);
    }
  });
});
