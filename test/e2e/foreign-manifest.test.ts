/**
 * A manifest from another repository is untrusted input (the security model's first promise): it may
 * declare variables and read values from inside its own repository and from the workspace's layers;
 * it may not run a command, read a file outside its repository, use a store without the user's say,
 * or steer a program on this host. Each case is an attack that worked before the allow-list.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { project, tessera } from "../helpers.ts";
import { NODE } from "./cli-support.ts";

const AGENT = ".ploinky/repos/evil/agent";

/** A workspace with its own manifest and an agent manifest from another repository. */
function workspace(agentManifest: string, own = "secrets:\n  optional: [OK_VAR]\n") {
  const dir = project({ "tessera.yaml": own, ".env": "OK_VAR=fake-ok-value\n" });
  const manifest = join(AGENT, "tessera.yaml");
  mkdirSync(join(dir, AGENT), { recursive: true });
  writeFileSync(join(dir, manifest), agentManifest);
  return { dir, manifest };
}

function refused(result: ReturnType<typeof tessera>, code: string, what: RegExp): void {
  assert.equal(result.status, 4, result.stderr);
  assert.equal(result.stdout, "");
  assert.match(
    result.stderr,
    new RegExp(`error\\[${code}\\]: ${AGENT.replaceAll(".", "\\.")}/tessera\\.yaml:\\d+:\\d+: `),
  );
  assert.match(result.stderr, what);
}

describe("a foreign manifest cannot act on the host", () => {
  test("an exec source runs nothing, not even under explain or check", () => {
    const { dir, manifest } = workspace(
      `secrets:\n  required: [{ name: TOKEN, from: { source: x } }]\nsources:\n  - { type: exec, name: x, command: [sh, -c, "id > pwned"] }\n`,
    );
    for (const command of [
      ["explain"],
      ["check"],
      ["run", "--", NODE, "-e", "0"],
      ["build", "-t", "kubernetes", "--name", "a", "--image", "a:1"],
    ]) {
      const result = tessera([command[0]!, "--manifest", manifest, ...command.slice(1)], { cwd: dir });
      refused(result, "E_MANIFEST_UNTRUSTED", /the exec source "x" would run a command on this host/);
      assert.match(result.stderr, /--allow-host-env/);
      assert.equal(existsSync(join(dir, "pwned")), false, `${command[0]} ran the agent's command`);
      assert.equal(existsSync(join(dir, AGENT, "pwned")), false);
    }
  });

  test("file sources outside its repository: an absolute path, `..`, a symbolic link out", () => {
    const outside = project({ credentials: "[default]\naws_secret_access_key = fake-host-secret-1234\n" });
    const file = join(outside, "credentials");
    for (const path of [file, "../../../../outside.env", "link/credentials"]) {
      const { dir, manifest } = workspace(
        `secrets:\n  optional: [aws_secret_access_key]\nsources:\n  - { type: dotenv, path: ${JSON.stringify(path)}, required: false }\n`,
      );
      writeFileSync(join(dir, "outside.env"), "aws_secret_access_key=fake-host-secret-1234\n");
      symlinkSync(outside, join(dir, AGENT, "link"));
      const result = tessera(["explain", "--manifest", manifest], { cwd: dir });
      refused(result, "E_MANIFEST_UNTRUSTED", /reads a file outside the manifest's repository/);
      assert.doesNotMatch(result.stderr, /fake-host-secret/);
    }
  });

  test("a file inside its own repository is read; the user's --allow-host-env widens the rest", () => {
    const { dir, manifest } = workspace(
      `config:\n  MODE: { required: false }\nsources:\n  - { type: dotenv, path: ../defaults.env }\n`,
    );
    writeFileSync(join(dir, dirname(AGENT), "defaults.env"), "MODE=fake-mode\n");
    const result = tessera(["export", "--manifest", manifest, "--format", "json"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).MODE, "fake-mode");
  });

  test("a store source needs --secrets-from NAME, the same declaration in the workspace, or --allow-host-env", () => {
    const store = `{ type: vault, name: corp, address: "https://vault.example.test", path: app }`;
    const { dir, manifest } = workspace(`secrets:\n  optional: [TOKEN]\nsources:\n  - ${store}\n`);
    refused(
      tessera(["check", "--manifest", manifest], { cwd: dir }),
      "E_MANIFEST_UNTRUSTED",
      /the vault source "corp" would be read with this host's credentials/,
    );
    // Consent, three ways: the store is then used (offline here: nothing cached, so the run says so).
    const consented = [["--secrets-from", "corp"], ["--allow-host-env"]];
    for (const flags of consented) {
      const result = tessera(["check", "--offline", "--manifest", manifest, ...flags], { cwd: dir });
      assert.doesNotMatch(result.stderr, /E_MANIFEST_UNTRUSTED/, flags.join(" "));
    }
    const own = workspace(
      `secrets:\n  optional: [TOKEN]\nsources:\n  - ${store}\n`,
      `secrets:\n  optional: [OK_VAR]\nsources:\n  - ${store}\n`,
    );
    const result = tessera(["check", "--offline", "--manifest", own.manifest], { cwd: own.dir });
    assert.doesNotMatch(result.stderr, /E_MANIFEST_UNTRUSTED/);
  });
});

describe("a foreign manifest's variables cannot steer a program on this host", () => {
  const STEERING = [
    "PYTHONWARNINGS",
    "BROWSER",
    "OPENSSL_CONF",
    "ZDOTDIR",
    "GOFLAGS",
    "LUA_INIT",
    "LESSOPEN",
    "MAKEFLAGS",
    "RUSTC_WRAPPER",
    "PHPRC",
    "DOTNET_STARTUP_HOOKS",
    "AWS_CONFIG_FILE",
    "GLIBC_TUNABLES",
    "NODE_OPTIONS",
    "LD_PRELOAD",
    "http_proxy",
  ];

  test("each is refused for run, export and the docker target, naming it", () => {
    for (const name of STEERING) {
      const { dir, manifest } = workspace(`config:\n  ${name}: fake-steer\n  OK_NAME: fine\n`);
      for (const args of [
        ["run", "--manifest", manifest, "--", NODE, "-e", "0"],
        ["export", "--manifest", manifest],
        ["build", "-t", "docker", "--manifest", manifest, "--name", "a", "--image", "a:1"],
      ]) {
        const result = tessera(args, { cwd: dir });
        refused(result, "E_HOST_VARIABLE", new RegExp(`declares ${name}, which could steer the programs`));
        assert.match(result.stderr, /deliver it to a container/);
      }
      assert.equal(existsSync(join(dir, AGENT, "deploy")), false);
    }
  });

  test("a container target carries them: build --target kubernetes", () => {
    const { dir, manifest } = workspace(`config:\n  PYTHONWARNINGS: fake-steer\n  BROWSER: fake-browser\n`);
    const result = tessera(
      ["build", "-t", "kubernetes", "--manifest", manifest, "--name", "a", "--image", "a:1"],
      {
        cwd: dir,
      },
    );
    assert.equal(result.status, 0, result.stderr);
  });

  test("application names pass: an agent's ordinary variables run on the host", () => {
    const names = [
      "OPENAI_API_KEY",
      "ANTHROPIC_API_KEY",
      "AZURE_OPENAI_API_KEY",
      "AWS_REGION",
      "LOG_LEVEL",
      "NODE_ENV",
      "DATABASE_URL",
      "HTTP_PORT",
      "PORT",
    ];
    const { dir, manifest } = workspace(
      `config:\n${names.map((name) => `  ${name}: fake-app-value\n`).join("")}`,
    );
    const result = tessera(
      [
        "run",
        "--no-mask",
        "--manifest",
        manifest,
        "--",
        NODE,
        "-e",
        "process.stdout.write(JSON.stringify(process.env))",
      ],
      { cwd: dir },
    );
    assert.equal(result.status, 0, result.stderr);
    const env = JSON.parse(result.stdout) as Record<string, string>;
    for (const name of names) assert.equal(env[name], "fake-app-value", name);
  });
});
