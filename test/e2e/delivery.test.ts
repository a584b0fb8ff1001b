/** The right values in the right deployment: artifacts that work as applied. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import YAML from "yaml";
import { project, tessera } from "../helpers.ts";

const DOCKFILE = `version: "1.0"
agent:
  name: helper
  entrypoint: app.graph:build
  framework: langgraph
expose:
  port: 8080
secrets:
  required:
    - name: OPENAI_API_KEY
  optional:
    - name: LANGFUSE_HOST
      default: "https://cloud.langfuse.com"
    - name: LOG_LEVEL
      default: info
    - name: LANGFUSE_SECRET
      default: ""
    - name: CALLBACK_URL
      default: "https://example.test/\${OPENAI_API_KEY}"
`;

describe("the Secret template", () => {
  test("defaults reach the pod; only what someone must fill is empty", () => {
    const dir = project({ "Dockfile.yaml": DOCKFILE, ".env": "OPENAI_API_KEY=fake-openai-key-2718\n" });
    const result = tessera(["build", "-t", "kubernetes", "-o", "k8s"], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const secret = YAML.parse(readFileSync(join(dir, "k8s", "secret.yaml"), "utf8")) as {
      stringData: Record<string, string>;
    };
    assert.equal(secret.stringData.LANGFUSE_HOST, "https://cloud.langfuse.com");
    assert.equal(secret.stringData.LOG_LEVEL, "info");
    assert.equal(secret.stringData.OPENAI_API_KEY, "", "a value someone must fill");
    assert.equal(secret.stringData.CALLBACK_URL, "", "built from a secret: never written into the template");
    assert.match(result.stderr, /fill OPENAI_API_KEY, CALLBACK_URL in CI/);
    assert.doesNotMatch(result.stderr, /fill [^\n]*LANGFUSE_HOST/);
    assert.ok(!readFileSync(join(dir, "k8s", "secret.yaml"), "utf8").includes("fake-openai-key"));
  });
});

describe("to-do hints are commands that work as printed", () => {
  test("the profile and the manifest that chose the values are in the hint", () => {
    const dir = project({
      "agent/tessera.yaml": 'service: { name: shop, image: "shop:1" }\nsecrets:\n  required: [DB_PASSWORD]\n',
      "agent/.env.production": "DB_PASSWORD=fake-prod-password-1618\n",
    });
    const result = tessera(
      ["build", "-t", "docker", "--env", "production", "--manifest", "agent/tessera.yaml"],
      {
        cwd: dir,
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stderr,
      /to do: run the script through `tessera run --env production --manifest agent\/tessera\.yaml -- agent\/deploy\/docker\/run\.sh`/,
    );
    const compose = tessera(
      ["build", "-t", "compose", "--env", "production", "--manifest", "agent/tessera.yaml"],
      {
        cwd: dir,
      },
    );
    assert.match(
      compose.stderr,
      /`tessera deploy --target compose --env production --manifest agent\/tessera\.yaml`/,
    );
  });
});

describe("names: what each consumer accepts", () => {
  const agent = (name: string) => ({
    [`.ploinky/repos/demo/${name}/manifest.json`]: JSON.stringify({
      container: "node:20-alpine",
      env: ["OK_VAR"],
    }),
    "tessera.yaml": "secrets:\n  optional: [OK_VAR]\n",
    ".env": "OK_VAR=fake-ok\n",
  });

  test("docker and compose take a camelCase Ploinky agent's name as it is", () => {
    const dir = project(agent("gitAgent"));
    const manifest = ".ploinky/repos/demo/gitAgent/manifest.json";
    const docker = tessera(["build", "-t", "docker", "--manifest", manifest, "-o", "d"], { cwd: dir });
    assert.equal(docker.status, 0, docker.stderr);
    assert.match(readFileSync(join(dir, "d", "run.sh"), "utf8"), /--name gitAgent/);
    const compose = tessera(["build", "-t", "compose", "--manifest", manifest, "-o", "c"], { cwd: dir });
    assert.equal(compose.status, 0, compose.stderr);
    assert.ok(YAML.parse(readFileSync(join(dir, "c", "compose.yaml"), "utf8")).services.gitAgent);
  });

  test("kubernetes derives the DNS-1123 name and says so", () => {
    const dir = project(agent("llmAssistant"));
    const result = tessera(
      [
        "build",
        "-t",
        "kubernetes",
        "--manifest",
        ".ploinky/repos/demo/llmAssistant/manifest.json",
        "-o",
        "k",
      ],
      { cwd: dir },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /the service "llmAssistant" is named llm-assistant there/);
    const deployment = YAML.parse(readFileSync(join(dir, "k", "deployment.yaml"), "utf8"));
    assert.equal(deployment.metadata.name, "llm-assistant");
  });

  test("a --name the user typed is not rewritten: Kubernetes refuses it", () => {
    const dir = project(agent("demo"));
    const result = tessera(
      [
        "build",
        "-t",
        "kubernetes",
        "--manifest",
        ".ploinky/repos/demo/demo/manifest.json",
        "--name",
        "Bad_Name",
      ],
      { cwd: dir },
    );
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /E_TARGET_INVALID/);
  });
});

describe("external-secrets: store fields interpolated in the objects written", () => {
  test("path: billing/${TESSERA_ENV} with --env production is billing/production", () => {
    const dir = project({
      "tessera.yaml": `service: { name: billing, image: "billing:1" }
sources:
  - { type: vault, name: v, address: "https://\${VAULT_HOST}:8200", path: "billing/\${TESSERA_ENV}", auth: { method: kubernetes, role: billing } }
secrets:
  required: [DB_PASSWORD]
`,
      ".env.production": "VAULT_HOST=vault.prod.example.test\n",
    });
    const result = tessera(["build", "-t", "external-secrets", "--env", "production", "-o", "eso"], {
      cwd: dir,
    });
    assert.equal(result.status, 0, result.stderr);
    const external = readFileSync(join(dir, "eso", "externalsecret.yaml"), "utf8");
    const store = readFileSync(join(dir, "eso", "secretstore.yaml"), "utf8");
    assert.ok(!external.includes("${") && !store.includes("${"), `${external}\n${store}`);
    assert.match(external, /key: billing\/production/);
    assert.match(store, /server: https:\/\/vault\.prod\.example\.test:8200/);
  });
});
