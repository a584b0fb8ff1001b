/**
 * Typed values (issue 12 §1) as a user meets them: the same rules in tessera.yaml, a Dockfile and a
 * Ploinky manifest.json; check, check --json, run, build, deploy (a kubectl stand-in) and export refusing
 * a value that does not fit with E_VALUE_INVALID (exit 4), naming each variable, its rule and where the
 * value came from, never the value; `tessera types` compiled by tsc; the library's load() coercing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { cleanEnv, project, ROOT, tessera } from "../helpers.ts";
import { assertNoValues, NODE, parseJson } from "./cli-support.ts";

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** Values that do not fit: none may appear in any output. */
const BAD = {
  API_KEY: "pk_fake_key_3f9a1c",
  PORT: "fake-port-77a1",
  MODE: "fake-mode-medium-4b2e",
  DEBUG: "fake-maybe-9d0c",
};
/** Values that fit. */
const GOOD = { API_KEY: "sk_fake_key_3f9a1c", PORT: "8089", MODE: "slow", DEBUG: "YES" };

const dotenv = (values: Record<string, string>) =>
  Object.entries(values)
    .map(([name, value]) => `${name}=${value}\n`)
    .join("");

const TESSERA = `service: { name: shop, image: registry.example.test/shop:1 }
secrets:
  required:
    - name: API_KEY
      description: the payment key
      startsWith: sk_
      minLength: 12
config:
  PORT: { value: "8080", type: port }
  MODE: { value: fast, enum: [fast, slow] }
  DEBUG: { type: boolean }
`;

const DOCKFILE = `agent:
  name: shop-agent
  entrypoint: app.main:run
expose:
  port: 8080
secrets:
  required:
    - name: API_KEY
      startsWith: sk_
      minLength: 12
config:
  PORT: { value: "8080", type: port }
  MODE: { value: fast, enum: [fast, slow] }
  DEBUG: { type: boolean }
`;

const PLOINKY = `${JSON.stringify(
  {
    container: "registry.example.test/shop:1",
    env: {
      API_KEY: { required: true, secret: true, startsWith: "sk_", minLength: 12 },
      PORT: { default: "8080", type: "port" },
      MODE: { default: "fast", enum: ["fast", "slow"] },
      DEBUG: { type: "boolean" },
    },
  },
  null,
  2,
)}\n`;

const KINDS: [string, string, string][] = [
  ["tessera.yaml", "tessera.yaml", TESSERA],
  ["Dockfile", "Dockfile.yaml", DOCKFILE],
  ["Ploinky", "manifest.json", PLOINKY],
];

const INVALID_LINES = [
  /API_KEY does not start with "sk_" \(value from \.env:1\)/,
  /PORT is not a port \(1–65535\) \(value from \.env:2\)/,
  /MODE is not one of: fast, slow \(value from \.env:3\)/,
  /DEBUG is not a boolean \(true, false, 1, 0, yes, no\) \(value from \.env:4\)/,
];

/** A stand-in kubectl that records that it ran. */
function fakeKubectl(): { path: string; log: string } {
  const bin = mkdtempSync(join(tmpdir(), "tessera-types-kubectl-"));
  scratch.push(bin);
  const log = join(bin, "ran");
  writeFileSync(
    join(bin, "kubectl"),
    `#!/bin/sh\ncase "$1" in version) exit 0 ;; esac\ncat > /dev/null\ntouch ${JSON.stringify(log)}\necho configured\n`,
  );
  chmodSync(join(bin, "kubectl"), 0o755);
  return { path: `${bin}:${process.env.PATH}`, log };
}

for (const [kind, file, manifest] of KINDS) {
  describe(`typed values in a ${kind} manifest`, () => {
    test("every command refuses values that do not fit: E_VALUE_INVALID, exit 4, each variable, rule and origin, no value", () => {
      const dir = project({ [file]: manifest, ".env": dotenv(BAD) });
      const kubectl = fakeKubectl();
      const outputs: string[] = [];
      const commands: string[][] = [
        ["check"],
        ["run", "--", NODE, "-e", "process.stdout.write('child ran')"],
        ["build", "-t", "kubernetes", "--with-values"],
        ["deploy", "-t", "kubernetes"],
        ["export", "--format", "dotenv"],
        ["export", "--format", "json"],
      ];
      for (const args of commands) {
        const result = tessera(args, { cwd: dir, env: { PATH: kubectl.path } });
        outputs.push(result.stdout, result.stderr);
        assert.equal(result.status, 4, `${args.join(" ")}: ${result.stderr}`);
        assert.match(
          result.stderr,
          /error\[E_VALUE_INVALID\]: 4 variables have values that do not fit their declared type/,
        );
        for (const line of INVALID_LINES) assert.match(result.stderr, line, args.join(" "));
        assert.equal(result.stdout, "", `${args.join(" ")} printed nothing on stdout`);
      }
      assert.equal(existsSync(join(dir, "deploy")), false, "build wrote nothing");
      assert.equal(existsSync(kubectl.log), false, "kubectl never ran");
      assertNoValues(outputs, Object.values(BAD));
    });

    test("check --json lists them (exit 4), without values", () => {
      const dir = project({ [file]: manifest, ".env": dotenv(BAD) });
      const result = tessera(["check", "--json"], { cwd: dir });
      assert.equal(result.status, 4, result.stderr);
      const report = parseJson<{
        ok: boolean;
        invalid: { name: string; kind: string; rules: string[]; where: string }[];
      }>(result.stdout);
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.invalid.map((problem) => [problem.name, problem.rules, problem.where]),
        [
          ["API_KEY", ['does not start with "sk_"'], ".env:1"],
          ["PORT", ["is not a port (1–65535)"], ".env:2"],
          ["MODE", ["is not one of: fast, slow"], ".env:3"],
          ["DEBUG", ["is not a boolean (true, false, 1, 0, yes, no)"], ".env:4"],
        ],
      );
      assertNoValues([result.stdout, result.stderr], Object.values(BAD));
    });

    test("values that fit pass check, run, build, deploy and export", () => {
      const dir = project({ [file]: manifest, ".env": dotenv(GOOD) });
      const kubectl = fakeKubectl();
      const check = tessera(["check", "--json"], { cwd: dir });
      assert.equal(check.status, 0, check.stderr);
      assert.deepEqual(parseJson<{ invalid: unknown[] }>(check.stdout).invalid, []);
      const run = tessera(
        [
          "run",
          "--",
          NODE,
          "-e",
          "process.stdout.write(process.env.PORT === '8089' ? 'port ok' : 'port wrong')",
        ],
        {
          cwd: dir,
        },
      );
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, "port ok");
      const build = tessera(["build", "-t", "kubernetes"], { cwd: dir });
      assert.equal(build.status, 0, build.stderr);
      const deploy = tessera(["deploy", "-t", "kubernetes"], { cwd: dir, env: { PATH: kubectl.path } });
      assert.equal(deploy.status, 0, deploy.stderr);
      assert.ok(existsSync(kubectl.log), "kubectl ran");
      const exported = tessera(["export", "--format", "json"], { cwd: dir });
      assert.equal(exported.status, 0, exported.stderr);
      assert.equal(parseJson<Record<string, string>>(exported.stdout).MODE, "slow");
    });

    test("an invalid rule definition is E_MANIFEST_INVALID at its line", () => {
      const broken =
        file === "manifest.json"
          ? manifest.replace('"type": "port"', '"type": "port", "min": 9, "max": 2')
          : manifest.replace("type: port }", "type: port, min: 9, max: 2 }");
      assert.notEqual(broken, manifest);
      const dir = project({ [file]: broken, ".env": dotenv(GOOD) });
      const result = tessera(["check"], { cwd: dir });
      assert.equal(result.status, 4, result.stderr);
      assert.match(result.stderr, /error\[E_MANIFEST_INVALID\]/);
      assert.match(result.stderr, new RegExp(`${file.replace(".", "\\.")}:\\d+:\\d+`));
      assert.match(result.stderr, /PORT: min is greater than max/);
    });
  });
}

describe("tessera types", () => {
  test("writes declarations that tsc accepts, with process.env and Env typed", () => {
    const dir = project({ "tessera.yaml": TESSERA, ".env": dotenv(GOOD) });
    const written = tessera(["types", "-o", "env.d.ts"], { cwd: dir });
    assert.equal(written.status, 0, written.stderr);
    const text = readFileSync(join(dir, "env.d.ts"), "utf8");
    assert.match(text, /API_KEY: string;/);
    assert.match(text, /DEBUG\?: string \| undefined;/);
    assert.match(text, /MODE: "fast" \| "slow";/);
    assert.match(text, /PORT: number;/);
    assert.match(text, /DEBUG\?: boolean;/);
    const printed = tessera(["types"], { cwd: dir });
    assert.equal(printed.stdout, text);
    assertNoValues(
      [text, printed.stderr],
      Object.values(GOOD).filter((value) => value.length > 4),
    );

    writeFileSync(
      join(dir, "main.ts"),
      `import type { Env } from "./env.js";
const key: string = process.env.API_KEY;
const mode: "fast" | "slow" = process.env.MODE;
const debug: string | undefined = process.env.DEBUG;
const env = {} as Env;
const port: number = env.PORT;
const flag: boolean | undefined = env.DEBUG;
export { key, mode, debug, port, flag };
`,
    );
    writeFileSync(
      join(dir, "wrong.ts"),
      `const port: number = process.env.PORT;\nconst mode: "fast" = process.env.MODE;\nexport { port, mode };\n`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          types: ["node"],
          noEmit: true,
        },
        files: ["env.d.ts", "main.ts"],
      }),
    );
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const ok = spawnSync(NODE, [tsc, "--noEmit", "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
    assert.equal(ok.status, 0, `${ok.stdout}${ok.stderr}`);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, module: "nodenext", types: ["node"], noEmit: true },
        files: ["env.d.ts", "wrong.ts"],
      }),
    );
    const wrong = spawnSync(NODE, [tsc, "--noEmit", "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
    assert.notEqual(wrong.status, 0, 'a string is not a number, and not every enum value is "fast"');
    assert.match(wrong.stdout, /wrong\.ts/);
  });
});

describe("load()", () => {
  const script = (options: string) => `
import { load } from ${JSON.stringify(join(ROOT, "dist", "lib", "index.js"))};
try {
  const env = await load(${options});
  process.stdout.write(JSON.stringify({ types: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v])), port: env.PORT, debug: env.DEBUG, mode: env.MODE }));
} catch (error) {
  process.stdout.write(JSON.stringify({ code: error.code, message: error.message, details: error.details }));
}
`;
  const runScript = (dir: string, options: string) => {
    const result = spawnSync(NODE, ["--input-type=module", "-e", script(options)], {
      cwd: dir,
      env: cleanEnv(),
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
    return result;
  };

  test("returns values typed and coerced (port → number, boolean → boolean)", () => {
    const dir = project({ "tessera.yaml": TESSERA, ".env": dotenv(GOOD) });
    const result = runScript(dir, "{ cwd: process.cwd() }");
    const out = parseJson<Record<string, unknown>>(result.stdout);
    assert.deepEqual(out.types, { API_KEY: "string", PORT: "number", MODE: "string", DEBUG: "boolean" });
    assert.equal(out.port, 8089);
    assert.equal(out.debug, true);
    assert.equal(out.mode, "slow");
  });

  test("throws E_VALUE_INVALID and E_MISSING_REQUIRED like the CLI, without values", () => {
    const dir = project({ "tessera.yaml": TESSERA, ".env": dotenv(BAD) });
    const invalid = runScript(dir, "{ cwd: process.cwd() }");
    const error = parseJson<{ code: string; details: string[] }>(invalid.stdout);
    assert.equal(error.code, "E_VALUE_INVALID");
    assert.equal(error.details.length, 4);
    assertNoValues([invalid.stdout, invalid.stderr], Object.values(BAD));

    const missing = project({ "tessera.yaml": TESSERA });
    const result = runScript(missing, "{ cwd: process.cwd() }");
    const thrown = parseJson<{ code: string; message: string }>(result.stdout);
    assert.equal(thrown.code, "E_MISSING_REQUIRED");
    assert.match(thrown.message, /API_KEY/);
  });
});

describe("types survive into targets", () => {
  test("with no port in the manifest, the config variable of type port is the container port", () => {
    const dir = project({
      "tessera.yaml":
        "service: { name: agent, image: agent:1 }\nconfig:\n  PORT: { value: 9090, type: port }\n  LOG_LEVEL: info\n",
      ".gitignore": "out/\nout-compose/\n",
    });
    const result = tessera(["build", "-t", "kubernetes", "-o", "out"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const deployment = readFileSync(join(dir, "out", "deployment.yaml"), "utf8");
    assert.match(deployment, /containerPort: 9090/);
    const compose = tessera(["build", "-t", "compose", "-o", "out-compose"], { cwd: dir });
    assert.equal(compose.status, 0, compose.stderr);
    assert.match(readFileSync(join(dir, "out-compose", "compose.yaml"), "utf8"), /9090:9090/);
  });
});
