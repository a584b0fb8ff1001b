/**
 * Dockrion files mean what Dockrion means (issue 10, §4 and the Dockfile ConfigMap of §2), each case run
 * through the built CLI: the auth variables Dockrion's runtime reads, `${…}` as Dockrion expands it when
 * it loads the Dockfile (a bare `${X}` it cannot load while X is unset; `agent.name` and `expose.port`
 * expanded for the artifacts), and config declared in the Dockfile itself.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import YAML from "yaml";
import { project, tessera } from "../helpers.ts";
import { assertNoValues, NODE, parseJson } from "./cli-support.ts";

const HEADER = 'version: "1.0"\nagent:\n  name: fake-agent\n  handler: app.main:handle\nio_schema: {}\n';
const OPENAI = "sk-test-fake-0001";

describe("auth: the key variables Dockrion's runtime reads", () => {
  test("mode api_key without an api_keys block reads DOCKRION_API_KEY: check wants it declared", () => {
    const cwd = project({ "Dockfile.yaml": `${HEADER}auth:\n  mode: api_key\n` });
    const warned = tessera(["check"], { cwd });
    assert.equal(warned.status, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /warning\[W_UNDECLARED_REF\]: Dockfile\.yaml:7:9: DOCKRION_API_KEY is used by auth\.mode api_key \(Dockrion's default key variable\) but not declared/,
    );
    assert.equal(tessera(["check", "--strict"], { cwd }).status, 4);

    const declared = project({
      "Dockfile.yaml": `${HEADER}auth:\n  mode: api_key\nsecrets:\n  required:\n    - name: DOCKRION_API_KEY\n`,
    });
    const ok = tessera(["check", "--strict", "--secret", "DOCKRION_API_KEY=fake-agent-key-0001"], {
      cwd: declared,
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /warning/);
  });

  test("env_var: ${API_KEY_VAR:-DOCKRION_API_KEY} is expanded before it is judged", () => {
    const cwd = project({
      "Dockfile.yaml": `${HEADER}auth:\n  mode: api_key\n  api_keys:\n    env_var: \${API_KEY_VAR:-DOCKRION_API_KEY}\nsecrets:\n  required:\n    - name: DOCKRION_API_KEY\nconfig:\n  API_KEY_VAR: { required: false }\n`,
    });
    const args = ["check", "--strict", "--secret", "DOCKRION_API_KEY=fake-agent-key-0001"];
    const ok = tessera(args, { cwd });
    assert.equal(ok.status, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /\$\{API_KEY_VAR:-DOCKRION_API_KEY\} is used/);

    // The variable chosen by API_KEY_VAR is the one Dockrion reads, and it is not declared.
    const other = tessera(args, { cwd, env: { API_KEY_VAR: "OTHER_AGENT_KEY" } });
    assert.equal(other.status, 4);
    assert.match(
      other.stderr,
      /error\[E_UNDECLARED_REF\]: Dockfile\.yaml:9:14: OTHER_AGENT_KEY is used by auth\.api_keys\.env_var \(\$\{API_KEY_VAR:-DOCKRION_API_KEY\} → OTHER_AGENT_KEY\) but not declared/,
    );
  });

  test("api_keys.prefix (multi-key mode): the prefix is checked, not env_var", () => {
    const dockfile = (declared: string) =>
      `${HEADER}auth:\n  mode: api_key\n  api_keys:\n    prefix: AGENT_KEY_\n    env_var: API_KEY\nsecrets:\n  optional:\n    - name: ${declared}\n`;
    const none = tessera(["check", "--strict"], { cwd: project({ "Dockfile.yaml": dockfile("OTHER") }) });
    assert.equal(none.status, 4);
    assert.match(
      none.stderr,
      /Dockfile\.yaml:9:13: auth\.api_keys\.prefix \(multi-key mode\): Dockrion loads every variable whose name starts with AGENT_KEY_ as an API key \(env_var is ignored\), and none is declared/,
    );
    assert.doesNotMatch(none.stderr, /API_KEY is used/);

    const some = tessera(["check", "--strict"], {
      cwd: project({ "Dockfile.yaml": dockfile("AGENT_KEY_PROD") }),
    });
    assert.equal(some.status, 0, some.stderr);
    assert.doesNotMatch(some.stderr, /API_KEY/);
  });
});

describe("a bare ${X}: Dockrion refuses to load the Dockfile while X is unset", () => {
  const DOCKFILE = `${HEADER}observability:\n  langfuse:\n    public_key: \${LANGFUSE_PUBLIC_KEY}\nsecrets:\n  required:\n    - name: OPENAI_API_KEY\n  optional:\n    - name: LANGFUSE_PUBLIC_KEY\n      description: Langfuse public key\n`;
  const cwd = () => project({ "Dockfile.yaml": DOCKFILE, ".env": `OPENAI_API_KEY=${OPENAI}\n` });
  const WHY =
    /LANGFUSE_PUBLIC_KEY — Langfuse public key \(required: \$\{LANGFUSE_PUBLIC_KEY\} in observability\.langfuse\.public_key \(Dockfile\.yaml:8\) has no default, and Dockrion refuses to load the Dockfile while LANGFUSE_PUBLIC_KEY is unset\)/;

  test("check, run and build fail (exit 3) and say why, although the secret is optional", () => {
    const dir = cwd();
    for (const args of [
      ["check"],
      ["check", "--strict"],
      ["run", "--", NODE, "-e", ""],
      ["build", "-t", "docker"],
    ]) {
      const result = tessera(args, { cwd: dir });
      assert.equal(result.status, 3, `${args.join(" ")}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /error\[E_MISSING_REQUIRED\]: a required variable is missing: LANGFUSE_PUBLIC_KEY/,
      );
      assert.match(result.stderr, WHY);
      assert.doesNotMatch(result.stderr, /tessera: ok/);
      assertNoValues([result.stdout, result.stderr], [OPENAI]);
    }
  });

  test("--allow-missing-secrets: check warns that Dockrion still refuses; with --strict it is not ok", () => {
    const dir = cwd();
    const allowed = tessera(["check", "--allow-missing-secrets"], { cwd: dir });
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.match(
      allowed.stderr,
      /warning\[W_DOCKRION_UNSET\]: Dockfile\.yaml:8:17: LANGFUSE_PUBLIC_KEY is not set, and \$\{LANGFUSE_PUBLIC_KEY\} in observability\.langfuse\.public_key has no default: Dockrion refuses to load Dockfile\.yaml while it is unset, --allow-missing-secrets or not/,
    );
    const strict = tessera(["check", "--allow-missing-secrets", "--strict", "--json"], { cwd: dir });
    assert.equal(strict.status, 3);
    assert.equal(parseJson<{ ok: boolean }>(strict.stdout).ok, false);
    assert.match(
      strict.stderr,
      /error\[E_MISSING_REQUIRED\]: Dockfile\.yaml:8:17: LANGFUSE_PUBLIC_KEY is not set/,
    );
  });

  test("set, or given a default of its own, it passes; ${X:-} is no default", () => {
    const dir = cwd();
    const set = tessera(["check", "--strict"], {
      cwd: dir,
      env: { LANGFUSE_PUBLIC_KEY: "pk-test-fake-0001" },
    });
    assert.equal(set.status, 0, set.stderr);
    const withDefault = project({
      "Dockfile.yaml": DOCKFILE.replace("description: Langfuse public key\n", 'default: ""\n'),
      ".env": `OPENAI_API_KEY=${OPENAI}\n`,
    });
    assert.equal(tessera(["check", "--strict"], { cwd: withDefault }).status, 0);
    const emptyDefault = project({
      "Dockfile.yaml": DOCKFILE.replace("${LANGFUSE_PUBLIC_KEY}", "${LANGFUSE_PUBLIC_KEY:-}"),
      ".env": `OPENAI_API_KEY=${OPENAI}\n`,
    });
    assert.equal(tessera(["check"], { cwd: emptyDefault }).status, 3);
  });

  test("an undeclared bare ${X} that is unset: the warning says Dockrion cannot load the file", () => {
    const dir = project({ "Dockfile.yaml": `${HEADER}metadata:\n  owner: \${TEAM_OWNER}\n` });
    const result = tessera(["check"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stderr,
      /W_UNDECLARED_REF\]: Dockfile\.yaml:7:10: TEAM_OWNER is used by \$\{TEAM_OWNER\} in metadata\.owner but not declared, and it is not set: Dockrion refuses to load Dockfile\.yaml while it is unset/,
    );
  });
});

describe("agent.name and expose.port written with ${…}", () => {
  const DOCKFILE = `version: "1.0"\nagent:\n  name: \${AGENT_NAME}\n  handler: app.main:handle\nio_schema: {}\nexpose:\n  port: \${PORT:-8080}\nsecrets:\n  required:\n    - name: OPENAI_API_KEY\nconfig:\n  AGENT_NAME: { required: true }\n  PORT: { required: false }\n`;

  test("build expands them from the resolution (kubernetes, compose, docker deploy)", () => {
    const dir = project({
      "Dockfile.yaml": DOCKFILE,
      ".env": `OPENAI_API_KEY=${OPENAI}\nAGENT_NAME=fake-invoice-agent\n`,
    });
    const kube = tessera(["build", "-t", "kubernetes", "-q"], { cwd: dir });
    assert.equal(kube.status, 0, kube.stderr);
    const deployment = YAML.parse(readFileSync(join(dir, "deploy", "kubernetes", "deployment.yaml"), "utf8"));
    assert.equal(deployment.metadata.name, "fake-invoice-agent");
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container.image, "dockrion/fake-invoice-agent:dev");
    assert.deepEqual(container.ports, [{ containerPort: 8080 }]);

    const compose = tessera(["build", "-t", "compose", "-q"], { cwd: dir, env: { PORT: "9090" } });
    assert.equal(compose.status, 0, compose.stderr);
    const file = YAML.parse(readFileSync(join(dir, "deploy", "compose", "compose.yaml"), "utf8"));
    assert.deepEqual(file.services["fake-invoice-agent"].ports, ["9090:9090"]);

    const plan = tessera(["deploy", "-t", "docker", "--dry-run"], { cwd: dir });
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(
      plan.stdout,
      /docker run --detach --name fake-invoice-agent --publish 8080:8080 .*dockrion\/fake-invoice-agent:dev\n/,
    );
    assertNoValues([kube.stdout, kube.stderr, compose.stderr, plan.stdout, plan.stderr], [OPENAI]);
  });

  test("an unset name without a default is E_REF_UNSET at the manifest line; --name replaces it", () => {
    const dir = project({
      "Dockfile.yaml": DOCKFILE.replace("  AGENT_NAME: { required: true }\n", ""),
      ".env": `OPENAI_API_KEY=${OPENAI}\n`,
    });
    const result = tessera(["build", "-t", "kubernetes"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /error\[E_REF_UNSET\]: Dockfile\.yaml:3:9: agent\.name \("\$\{AGENT_NAME\}"\) refers to AGENT_NAME, which is not set\n {2}hint: set AGENT_NAME/,
    );
    assert.doesNotMatch(result.stderr, /DNS-1123/);
    const named = tessera(["build", "-t", "kubernetes", "--name", "given-name", "-q"], { cwd: dir });
    assert.equal(named.status, 0, named.stderr);
  });

  test("a port that does not expand to a number is refused without repeating the value", () => {
    const dir = project({
      "Dockfile.yaml": DOCKFILE,
      ".env": `OPENAI_API_KEY=${OPENAI}\nAGENT_NAME=fake-agent\nPORT=not-a-port\n`,
    });
    const result = tessera(["build", "-t", "docker"], { cwd: dir });
    assert.equal(result.status, 4);
    assert.match(
      result.stderr,
      /error\[E_TARGET_INVALID\]: Dockfile\.yaml:7:9: expose\.port does not expand to a port number/,
    );
    assert.doesNotMatch(result.stderr, /not-a-port/);
  });
});

describe("config declared in a Dockfile", () => {
  test("the seed's example Dockfile produces the seed's ConfigMap", () => {
    const example = new URL("../../examples/invoice-copilot/", import.meta.url).pathname;
    const out = project({});
    const result = tessera(["build", "-t", "kubernetes", "--env-file", ".env.example", "--out", out, "-q"], {
      cwd: example,
    });
    assert.equal(result.status, 0, result.stderr);
    const configMap = YAML.parse(readFileSync(join(out, "configmap.yaml"), "utf8"));
    assert.equal(configMap.metadata.name, "invoice-copilot-config");
    assert.deepEqual(configMap.data, {
      MODEL_PROVIDER: "openai",
      MODEL_NAME: "gpt-4o-mini",
      LOG_LEVEL: "info",
    });
    const secret = YAML.parse(readFileSync(join(out, "secret.yaml"), "utf8"));
    assert.deepEqual(Object.keys(secret.stringData).sort(), [
      "LANGFUSE_SECRET",
      "MY_AGENT_KEY",
      "OPENAI_API_KEY",
    ]);
  });

  test("secret: false on a secrets entry is config: not masked, in the ConfigMap", () => {
    const cwd = project({
      "Dockfile.yaml": `${HEADER}secrets:\n  required:\n    - name: OPENAI_API_KEY\n  optional:\n    - name: MODEL_NAME\n      default: gpt-4o-mini\n      secret: false\n`,
      ".env": `OPENAI_API_KEY=${OPENAI}\n`,
    });
    const check = tessera(["check", "--json"], { cwd });
    assert.equal(check.status, 0, check.stderr);
    assert.deepEqual(
      parseJson<{ counts: { config: number; secrets: number } }>(check.stdout).counts.config,
      1,
    );
    const run = tessera(["run", "--mask", "--", NODE, "-e", "console.log(process.env.MODEL_NAME)"], { cwd });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "gpt-4o-mini\n");
    const build = tessera(["build", "-t", "kubernetes", "-q"], { cwd });
    assert.equal(build.status, 0, build.stderr);
    const configMap = YAML.parse(readFileSync(join(cwd, "deploy", "kubernetes", "configmap.yaml"), "utf8"));
    assert.deepEqual(configMap.data, { MODEL_NAME: "gpt-4o-mini" });
  });
});
