/**
 * Smoke tests of test/support/consumers.ts against HAND-WRITTEN artifacts: the real consumers (Docker Engine,
 * docker-compose v1, podman, podman-compose, podman kube play, kubectl kustomize) and the validators behave as
 * the renderer tests will rely on. Engines come from `bash scripts/setup-containers.sh`; without them these
 * tests are skipped on a developer's machine and fail in CI.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import YAML from "yaml";
import { project } from "../helpers.ts";
import {
  composeUp,
  describeKubeErrors,
  dumpContainer,
  envInContainer,
  filesInContainer,
  haveDocker,
  haveDockerCompose,
  haveKubectl,
  havePodman,
  havePodmanCompose,
  kustomizeBuild,
  podman,
  podmanKubePlay,
  requireComponent,
  validateCompose,
  validateKubernetes,
} from "../support/consumers.ts";

/** Values an env-file line can carry unchanged in `docker run --env-file` and `podman run --env-file`. */
const ENV_FILE_VALUES: Record<string, string> = {
  SPACES: "s3cr3t with  spaces",
  QUOTES: `it's "quoted"`,
  DOLLAR: "$HOME ${HOME} $$ $(id) `id`",
  UNICODE: "héllo wörld ✓ 😀",
  EQUALS: "a=b==c",
  HASH: "a #not a comment",
  TRAILING: "trailing  ",
  EMPTY: "",
};
/** Only `-e NAME` (value from the CLI's own environment) carries a newline. */
const MULTILINE = "line one\nline two\n";
/** Every byte value, for files (secrets) that must come through byte for byte. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function envFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}=${value}\n`)
    .join("");
}

function assertEnv(actual: Map<string, Buffer>, expected: Record<string, string>): void {
  const got = Object.fromEntries([...actual].map(([name, value]) => [name, value.toString("utf8")]));
  assert.deepEqual(got, expected);
}

for (const engine of ["docker", "podman"] as const) {
  describe(`${engine} run`, requireComponent(engine, engine === "docker" ? haveDocker : havePodman), () => {
    test("--env-file and -e NAME deliver values byte for byte", () => {
      const dir = project({ "app.env": envFile(ENV_FILE_VALUES) });
      const env = envInContainer(
        engine,
        ["--env-file", `${dir}/app.env`, "-e", "MULTILINE", "-e", "INLINE=from -e=flag"],
        [...Object.keys(ENV_FILE_VALUES), "MULTILINE", "INLINE", "NOT_SET"],
        { env: { MULTILINE } },
      );
      assertEnv(env, { ...ENV_FILE_VALUES, MULTILINE, INLINE: "from -e=flag" });
    });

    test("names that a shell would drop (dots, dashes) reach the process", () => {
      const env = envInContainer(engine, ["-e", "app.name=x", "-e", "my-var=y"], ["app.name", "my-var"]);
      assertEnv(env, { "app.name": "x", "my-var": "y" });
    });

    test("a file bind-mounted under /run/secrets is read back byte for byte, with its mode", () => {
      const dir = project({ "secrets/.keep": "" });
      const path = `${dir}/secrets/all_bytes`;
      writeFileSync(path, ALL_BYTES, { mode: 0o400 });
      const files = filesInContainer(engine, ["-v", `${dir}/secrets/all_bytes:/run/secrets/all_bytes:ro`]);
      assert.deepEqual([...files.keys()], ["/run/secrets/all_bytes"]);
      assert.ok(files.get("/run/secrets/all_bytes")!.equals(ALL_BYTES));
      const dump = dumpContainer(
        engine,
        ["-v", `${path}:/run/secrets/x:ro`],
        ["/run/secrets/x", "/run/secrets/none"],
      );
      assert.equal(dump.files.get("/run/secrets/x")?.mode, "-r--------");
      assert.deepEqual(dump.missing, ["/run/secrets/none"]);
    });
  });
}

describe("podman secrets", requireComponent("podman", havePodman), () => {
  test("--secret as a file and as an env var", () => {
    const name = `tessera-smoke-${process.pid}`;
    const dir = project();
    writeFileSync(`${dir}/secret`, ALL_BYTES.subarray(1));
    podman(["secret", "rm", name]);
    podman(["secret", "create", name, `${dir}/secret`], { check: true });
    try {
      const dump = dumpContainer(
        "podman",
        ["--secret", `source=${name},target=api_key`, "--secret", `source=${name},type=env,target=API_KEY`],
        ["/run/secrets/api_key"],
      );
      assert.ok(dump.files.get("/run/secrets/api_key")!.data.equals(ALL_BYTES.subarray(1)));
      assert.ok(dump.env.has("API_KEY"));
    } finally {
      podman(["secret", "rm", name]);
    }
  });
});

const COMPOSE = `services:
  app:
    image: example.invalid/app:1.0
    env_file: [app.env]
    environment:
      FROM_COMPOSE: "compose $$literal"
    secrets:
      - db_password
      - source: binary
        target: all_bytes
secrets:
  db_password:
    file: ./db_password.txt
  binary:
    file: ./all_bytes.bin
`;
// docker-compose v1 reads env_file dotenv-style (python-dotenv 0.21): quotes are removed, "\n" is a newline in
// double quotes, and `${VAR}` is interpolated from the compose CLI's environment even in single quotes.
const COMPOSE_ENV = `PLAIN=s3cr3t with  spaces
SINGLE='it is "quoted" $HOME'
DOUBLE="line one\\nline two"
UNICODE=héllo wörld ✓ 😀
BRACED='\${TESSERA_SMOKE}'
`;

describe("docker-compose v1", requireComponent("docker-compose", haveDockerCompose), () => {
  test("env_file, environment and file secrets (exact bytes in /run/secrets)", () => {
    const dir = project({
      "compose.yaml": COMPOSE,
      "app.env": COMPOSE_ENV,
      "db_password.txt": "pw-from-file\n",
    });
    writeFileSync(`${dir}/all_bytes.bin`, ALL_BYTES);
    const services = composeUp("docker-compose", {
      dir,
      paths: ["/run/secrets"],
      env: { TESSERA_SMOKE: "interpolated" },
    });
    const app = services.get("app")!;
    assert.equal(app.exitCode, 0);
    const names = /^(PLAIN|SINGLE|DOUBLE|UNICODE|BRACED|FROM_COMPOSE)$/;
    assertEnv(new Map([...app.env].filter(([name]) => names.test(name))), {
      PLAIN: "s3cr3t with  spaces",
      SINGLE: 'it is "quoted" $HOME',
      BRACED: "interpolated",
      DOUBLE: "line one\nline two",
      UNICODE: "héllo wörld ✓ 😀",
      FROM_COMPOSE: "compose $literal",
    });
    assert.equal(app.files.get("/run/secrets/db_password")?.data.toString("utf8"), "pw-from-file\n");
    assert.ok(app.files.get("/run/secrets/all_bytes")?.data.equals(ALL_BYTES));
  });
});

describe("podman-compose", requireComponent("podman-compose", havePodmanCompose), () => {
  test("env_file (passed to podman --env-file: literal) and file secrets", () => {
    const dir = project({
      "compose.yaml": COMPOSE,
      "app.env": "PLAIN=s3cr3t with  spaces\nSINGLE='kept'\nUNICODE=héllo wörld ✓ 😀\n",
      "db_password.txt": "pw-from-file\n",
    });
    writeFileSync(`${dir}/all_bytes.bin`, ALL_BYTES);
    const services = composeUp("podman-compose", { dir, paths: ["/run/secrets"] });
    const app = services.get("app")!;
    assertEnv(new Map([...app.env].filter(([name]) => /^(PLAIN|SINGLE|UNICODE|FROM_COMPOSE)$/.test(name))), {
      PLAIN: "s3cr3t with  spaces",
      SINGLE: "'kept'",
      UNICODE: "héllo wörld ✓ 😀",
      FROM_COMPOSE: "compose $literal",
    });
    assert.equal(app.files.get("/run/secrets/db_password")?.data.toString("utf8"), "pw-from-file\n");
    assert.ok(app.files.get("/run/secrets/all_bytes")?.data.equals(ALL_BYTES));
  });
});

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const KUBE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
  labels: {app.kubernetes.io/name: smoke}
spec:
  replicas: 1
  selector:
    matchLabels: {app: smoke}
  template:
    metadata:
      labels: {app: smoke}
    spec:
      containers:
        - name: main
          image: example.invalid/app:1.0
          envFrom:
            - secretRef: {name: smoke-secrets}
            - configMapRef: {name: smoke-config}
          env:
            - name: ONE
              valueFrom:
                secretKeyRef: {name: smoke-secrets, key: DB_PASSWORD}
            - name: TWO
              valueFrom:
                configMapKeyRef: {name: smoke-config, key: LOG_LEVEL}
            - name: PLAIN
              value: "plain value"
---
apiVersion: v1
kind: Secret
metadata:
  name: smoke-secrets
type: Opaque
data:
  DB_PASSWORD: ${b64("hunter2 with spaces")}
  MULTILINE: ${b64(MULTILINE)}
stringData:
  UNICODE: "héllo wörld ✓ 😀"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: smoke-config
data:
  LOG_LEVEL: debug
  QUOTES: "it's \\"quoted\\" $HOME"
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: vault
spec:
  provider:
    vault:
      server: "https://vault.example.invalid"
      path: secret
      version: v2
      auth:
        tokenSecretRef: {name: vault-token, key: token}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: smoke-secrets
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: smoke-secrets, creationPolicy: Owner}
  data:
    - secretKey: DB_PASSWORD
      remoteRef: {key: app/db, property: password}
  dataFrom:
    - extract: {key: app/common}
`;

describe("podman kube play", requireComponent("podman", havePodman), () => {
  test("envFrom secretRef/configMapRef, secretKeyRef and configMapKeyRef resolve byte for byte", () => {
    const result = podmanKubePlay(KUBE);
    assert.deepEqual(result.ignored.sort(), ["ExternalSecret/smoke-secrets", "SecretStore/vault"]);
    const main = result.containers.get("smoke/main");
    assert.ok(main, `containers: ${[...result.containers.keys()].join(", ")}`);
    assert.equal(main.exitCode, 0);
    const names = ["DB_PASSWORD", "MULTILINE", "UNICODE", "LOG_LEVEL", "QUOTES", "ONE", "TWO", "PLAIN"];
    assertEnv(new Map([...main.env].filter(([name]) => names.includes(name))), {
      DB_PASSWORD: "hunter2 with spaces",
      MULTILINE,
      UNICODE: "héllo wörld ✓ 😀",
      LOG_LEVEL: "debug",
      QUOTES: `it's "quoted" $HOME`,
      ONE: "hunter2 with spaces",
      TWO: "debug",
      PLAIN: "plain value",
    });
  });
});

describe("validateCompose", () => {
  test("accepts a good file", () => {
    assert.deepEqual(validateCompose(COMPOSE), []);
  });

  test("rejects misspelled keys, wrong types, undeclared secrets and YAML 1.1 booleans", () => {
    const errors = validateCompose(`services:
  app:
    image: app
    env_file:
      - path: app.env
        requird: false
    ports: "8080:80"
    secrets: [missing]
    environment:
      DEBUG: on
`);
    const text = errors.join("\n");
    assert.match(text, /env_file\/0: must NOT have additional properties \("requird"\)/);
    assert.match(text, /ports: must be array/);
    assert.match(text, /secret "missing" is not declared/);
    assert.match(text, /services\.app\.environment\.DEBUG: plain "on" is a boolean in YAML 1\.1/);
  });
});

describe("validateKubernetes", () => {
  test("accepts a good Deployment, Secret, ConfigMap, SecretStore and ExternalSecret", async () => {
    const results = await validateKubernetes(KUBE);
    assert.deepEqual(
      results.map((result) => result.kind),
      ["Deployment", "Secret", "ConfigMap", "SecretStore", "ExternalSecret"],
    );
    assert.equal(describeKubeErrors(results), "");
  });

  const cases: [string, string, RegExp][] = [
    [
      "a misspelled env field",
      KUBE.replace("valueFrom:\n                secretKeyRef", "valueFrm:\n                secretKeyRef"),
      /unknown field "spec\.template\.spec\.containers\[0\]\.env\[0\]\.valueFrm"/,
    ],
    [
      "a misspelled remoteRef field",
      KUBE.replace("property: password", "propery: password"),
      /unknown field "spec\.data\[0\]\.remoteRef\.propery"/,
    ],
    [
      "a bad name",
      KUBE.replace("name: smoke-config\ndata", "name: Smoke_Config\ndata"),
      /metadata\.name: Invalid value "Smoke_Config"/,
    ],
    [
      "a bad data key",
      KUBE.replace("LOG_LEVEL: debug", "LOG LEVEL: debug"),
      /data\[LOG LEVEL\]: Invalid value "LOG LEVEL"/,
    ],
    [
      "a bad env var name",
      KUBE.replace("name: PLAIN", "name: 1PLAIN"),
      /env\[2\]\.name: Invalid value "1PLAIN"/,
    ],
    ["a wrong type (model)", KUBE.replace("replicas: 1", "replicas: two"), /spec\/replicas must be integer/],
    [
      "a missing key (model)",
      KUBE.replace("key: LOG_LEVEL}", "}"),
      /configMapKeyRef must have required property key/,
    ],
    [
      "a bad enum (ESO model)",
      KUBE.replace("kind: SecretStore}", "kind: Store}"),
      /secretStoreRef\/kind must be equal to one of the allowed values/,
    ],
    [
      "restartPolicy Never in a Deployment",
      KUBE.replace("      containers:", "      restartPolicy: Never\n      containers:"),
      /restartPolicy: Unsupported value "Never"/,
    ],
    [
      "an unquoted YAML 1.1 boolean",
      KUBE.replace("LOG_LEVEL: debug", "LOG_LEVEL: on"),
      /data\.LOG_LEVEL: plain "on" is a boolean in YAML 1\.1/,
    ],
  ];
  for (const [what, manifest, expected] of cases) {
    test(`rejects ${what}`, async () => {
      const text = describeKubeErrors(await validateKubernetes(manifest));
      assert.match(text, expected);
    });
  }
});

describe("kubectl kustomize", requireComponent("kubectl", haveKubectl), () => {
  test("builds a tiny kustomization offline, with a generated ConfigMap's hashed name referenced", async () => {
    const dir = project({
      "kustomization.yaml": `resources: [deployment.yaml]
namePrefix: smoke-
configMapGenerator:
  - name: config
    literals: [LOG_LEVEL=debug]
`,
      "deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: main
          image: example.invalid/app:1.0
          envFrom: [{configMapRef: {name: config}}]
`,
    });
    const built = kustomizeBuild(dir);
    const docs = YAML.parseAllDocuments(built).map((doc) => doc.toJS());
    const configMap = docs.find((doc) => doc.kind === "ConfigMap");
    const deployment = docs.find((doc) => doc.kind === "Deployment");
    assert.match(configMap.metadata.name, /^smoke-config-[a-z0-9]{10}$/);
    assert.equal(deployment.metadata.name, "smoke-app");
    assert.equal(
      deployment.spec.template.spec.containers[0].envFrom[0].configMapRef.name,
      configMap.metadata.name,
    );
    assert.equal(describeKubeErrors(await validateKubernetes(built)), "");
  });
});
