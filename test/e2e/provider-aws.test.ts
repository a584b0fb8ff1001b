/**
 * The aws-secrets-manager and aws-ssm sources end to end: the built CLI against a real moto server
 * (Secrets Manager, SSM, STS, IAM), data put in with moto's JSON APIs (no AWS SDK anywhere: Tessera signs
 * its own requests, and moto checks those signatures once its authentication is on), values compared
 * byte for byte. The credential sources Tessera reads itself are proven here against moto's STS and
 * fakes of the container and SSO endpoints (test/unit/aws-credentials.test.ts has each in detail).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { project, type Result, ROOT, tessera, tesseraAsync } from "../helpers.js";
import { requireComponent } from "../support/consumers.js";
import { freePort, haveMoto, MOTO_CREDENTIALS, type Moto, motoQuery, startMoto } from "../support/moto.js";

/** Newlines, CR, tab, quotes, backslashes, `$` forms, unicode (4-byte too), leading/trailing spaces, long. */
const TRICKY = `  line one\nline "two" 'single' \`back\`\r\n\ttab \\n not a newline, C:\\dir\\ $HOME \${NOT_A_REF} $(echo no) $$ =;#&|<>* ünïcödé 中文 🔐 ${"x".repeat(3000)} end  `;
const LONG = `${"0123456789abcdef".repeat(2000)}🔐`;
const CERT = "-----BEGIN CERTIFICATE-----\nMIIB+/=\n-----END CERTIFICATE-----\n✓";

const MAP = {
  DB_USER: "app",
  DB_PASSWORD: "map-p@ss word",
  SHARED_TOKEN: "shared-token-value",
  API: JSON.stringify({ token: "api-t0k", scopes: ["read"] }),
  NESTED: { host: "db.internal", port: 5432 },
  EMPTY: "",
};
const SHARED_DB = {
  username: "admin",
  password: "s3cr3t!",
  conn: { host: "h.example", port: 5432, tags: ["a", "b"] },
};

let moto: Moto;

/** tessera with moto's credentials and region (and `env` over them). */
function aws(args: readonly string[], cwd: string, env: Record<string, string | undefined> = {}): Result {
  return tessera(args, { cwd, env: { ...MOTO_CREDENTIALS, ...env } });
}

function exportJson(
  cwd: string,
  extra: readonly string[] = [],
  env: Record<string, string | undefined> = {},
) {
  const result = aws(["export", "--format", "json", ...extra], cwd, env);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, "", "nothing on stderr (no SDK warning either)");
  return JSON.parse(result.stdout) as Record<string, string>;
}

/** A tessera.yaml: `body` (YAML), with ENDPOINT replaced by moto's. */
function manifest(body: string, endpoint = moto.endpoint): string {
  return project({ "tessera.yaml": body.replaceAll("ENDPOINT", endpoint) });
}

/**
 * One call of an AWS JSON API on moto, which does not check signatures while its authentication is off:
 * the Authorization header only names the service and region. Returns the parsed answer.
 */
async function motoJson(
  target: Moto,
  service: "secretsmanager" | "ssm",
  operation: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const date = new Date().toISOString().slice(0, 10).replace(/-/g, "");
  const answer = await fetch(`${target.endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `${service === "ssm" ? "AmazonSSM" : "secretsmanager"}.${operation}`,
      authorization: `AWS4-HMAC-SHA256 Credential=${MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID}/${date}/${MOTO_CREDENTIALS.AWS_REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`moto ${operation}: HTTP ${answer.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function seed(target: Moto): Promise<void> {
  const secret = (Name: string, value: string | Uint8Array) =>
    motoJson(
      target,
      "secretsmanager",
      "CreateSecret",
      typeof value === "string"
        ? { Name, SecretString: value }
        : { Name, SecretBinary: Buffer.from(value).toString("base64") },
    );
  await secret("app/prod/config", JSON.stringify(MAP));
  await secret("shared/db", JSON.stringify(SHARED_DB));
  await secret("plain-token", "just text, not JSON");
  await secret("not-a-map", '["a", "list"]');
  await secret("svc/prod/STRIPE_KEY", "sk_live_123");
  await secret("svc/prod/WEBHOOK", JSON.stringify({ secret: "whsec_456", url: "https://hooks.example" }));
  await secret("svc/prod/LOG_LEVEL", "warn-from-secrets-manager");
  await secret("svc/prod/TRICKY", TRICKY);
  await secret("svc/prod/LONG", LONG);
  await secret("staged/TOKEN", "token-v1-previous");
  await motoJson(target, "secretsmanager", "PutSecretValue", {
    SecretId: "staged/TOKEN",
    SecretString: "token-v2-current",
  });
  await motoJson(target, "secretsmanager", "PutSecretValue", {
    SecretId: "staged/TOKEN",
    SecretString: "token-blue",
    VersionStages: ["BLUE"],
  });
  await secret("bin/CERT", new TextEncoder().encode(CERT));
  await secret("bin/BAD", new Uint8Array([0xff, 0xfe, 0x00, 0x41]));

  const parameter = (
    Name: string,
    Value: string,
    Type: "String" | "SecureString" | "StringList" = "String",
  ) => motoJson(target, "ssm", "PutParameter", { Name, Value, Type });
  await parameter("/app/prod/DB_PASSWORD", "pg-p@ss", "SecureString");
  await parameter("/app/prod/LOG_LEVEL", "debug");
  await parameter("/app/prod/HOSTS", "a.example,b.example,c.example", "StringList");
  await parameter("/app/prod/nested/deeper/FLAG", "on");
  await parameter("/app/prod/JSON_CONF", JSON.stringify({ db: { host: "h1", port: 5432 }, name: "n" }));
  await parameter("/app/prod/TRICKY", TRICKY, "SecureString");
  await parameter("/shared/GLOBAL", "global-value");
  for (let index = 0; index < 50; index++) {
    await parameter(`/bulk/K_${String(index).padStart(2, "0")}`, `value-${index}-${"v".repeat(index)}`);
  }
  // recursive: 23 parameters at three depths (three pages of ten), one leaf name at two places
  await parameter("/tree/TOP", "top-value");
  for (let index = 0; index < 20; index++) {
    await parameter(
      `/tree/team${index % 2}/svc/R_${String(index).padStart(2, "0")}`,
      `r-${index}`,
      "SecureString",
    );
  }
  await parameter("/tree/a/TWICE", "twice-a");
  await parameter("/tree/b/TWICE", "twice-b");
}

/** No keys in the environment, and no instance metadata to fall back to. */
const NO_KEYS = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_EC2_METADATA_DISABLED: "true",
} as const;

/** A loopback HTTP server in this process (tessera must then run with tesseraAsync). */
async function httpServer(
  answer: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer(answer);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Whether the installed CLI can load an optional package (resolved from bin/, as the CLI does). */
function installed(specifier: string): boolean {
  try {
    createRequire(join(ROOT, "bin", "tessera.cjs")).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

describe("aws-secrets-manager and aws-ssm against moto", requireComponent("moto", haveMoto), () => {
  before(async () => {
    moto = await startMoto();
    await seed(moto);
  });
  after(async () => {
    await moto?.stop();
  });

  test("secret: one JSON secret; searched names, from key (a field or another secret), property, nested path", () => {
    const dir = manifest(`
secrets:
  required: [DB_USER, DB_PASSWORD]
  optional:
    - EMPTY
    - NOT_IN_MAP
    - { name: TOKEN, from: { source: sm, key: SHARED_TOKEN } }
    - { name: API_TOKEN, from: { source: sm, key: API, property: token } }
    - { name: NESTED_HOST, from: { source: sm, key: NESTED, property: host } }
    - { name: NESTED_JSON, from: { source: sm, key: NESTED } }
    - { name: ADMIN_USER, from: { source: sm, key: shared/db, property: username } }
    - { name: ADMIN_PASSWORD, from: { source: sm, key: shared/db, property: password } }
    - { name: ADMIN_HOST, from: { source: sm, key: shared/db, property: conn.host } }
    - { name: ADMIN_TAG, from: { source: sm, key: shared/db, property: conn.tags.1 } }
    - { name: ADMIN_CONN, from: { source: sm, key: shared/db, property: conn } }
    - { name: PLAIN, from: { source: sm, key: plain-token } }
    - { name: NO_SUCH_FIELD, from: { source: sm, key: shared/db, property: nope } }
    - { name: NO_SUCH_SECRET, from: { source: sm, key: does/not/exist } }
sources:
  - { type: aws-secrets-manager, name: sm, secret: app/prod/config, endpoint: ENDPOINT, region: us-east-1 }
`);
    const before = moto.requests();
    const values = exportJson(dir);
    assert.deepEqual(values, {
      DB_USER: "app",
      DB_PASSWORD: "map-p@ss word",
      EMPTY: "",
      TOKEN: "shared-token-value",
      API_TOKEN: "api-t0k",
      NESTED_HOST: "db.internal",
      NESTED_JSON: '{"host":"db.internal","port":5432}',
      ADMIN_USER: "admin",
      ADMIN_PASSWORD: "s3cr3t!",
      ADMIN_HOST: "h.example",
      ADMIN_TAG: "b",
      ADMIN_CONN: JSON.stringify(SHARED_DB.conn),
      PLAIN: "just text, not JSON",
    });
    // app/prod/config, shared/db (read once for five variables), plain-token, does/not/exist
    assert.equal(moto.requests() - before, 4, "each secret id is fetched once");

    const explain = aws(["explain"], dir);
    assert.equal(explain.status, 0, explain.stderr);
    for (const where of [
      'aws-secrets-manager source "sm" app/prod/config#DB_USER',
      'aws-secrets-manager source "sm" app/prod/config#API.token',
      'aws-secrets-manager source "sm" shared/db#password',
      'aws-secrets-manager source "sm" shared/db#conn.host',
      'aws-secrets-manager source "sm" plain-token',
    ]) {
      assert.ok(explain.stdout.includes(where), `explain shows ${where}:\n${explain.stdout}`);
    }
    for (const value of ["map-p@ss", "s3cr3t!", "api-t0k", "shared-token-value", "just text"]) {
      assert.ok(
        !explain.stdout.includes(value) && !explain.stderr.includes(value),
        `explain never shows ${value}`,
      );
    }
  });

  test("secret: a map secret that is not a JSON object is an error naming it; a map that does not exist serves nothing", () => {
    const dir = manifest(`
secrets: { optional: [A] }
sources:
  - { type: aws-secrets-manager, name: sm, secret: not-a-map, endpoint: ENDPOINT, region: us-east-1 }
`);
    const bad = aws(["export", "--format", "json"], dir);
    assert.equal(bad.status, 4, bad.stderr);
    assert.match(bad.stderr, /E_SOURCE_INVALID/);
    assert.match(bad.stderr, /aws-secrets-manager source "sm": the secret not-a-map is not a JSON object/);
    assert.ok(!bad.stderr.includes("list"), "not the value");

    const gone = manifest(`
secrets: { optional: [A] }
sources:
  - { type: aws-secrets-manager, name: sm, secret: no/such/map, endpoint: ENDPOINT, region: us-east-1 }
`);
    assert.deepEqual(exportJson(gone), {});
  });

  test("prefix: one secret per variable, fetched in parallel; from key absolute or under the prefix; JSON property", () => {
    const dir = manifest(`
secrets:
  required: [STRIPE_KEY, TRICKY, LONG]
  optional:
    - NOT_THERE
    - { name: WEBHOOK_SECRET, from: { source: sm, key: WEBHOOK, property: secret } }
    - { name: WEBHOOK_JSON, from: { source: sm, key: svc/prod/WEBHOOK } }
    - { name: PLAIN, from: { source: sm, key: plain-token } }
sources:
  - { type: aws-secrets-manager, name: sm, prefix: svc/prod/, endpoint: ENDPOINT, region: us-east-1 }
`);
    const values = exportJson(dir);
    assert.deepEqual(values, {
      STRIPE_KEY: "sk_live_123",
      TRICKY,
      LONG,
      WEBHOOK_SECRET: "whsec_456",
      WEBHOOK_JSON: JSON.stringify({ secret: "whsec_456", url: "https://hooks.example" }),
      PLAIN: "just text, not JSON",
    });
    const explain = aws(["explain", "STRIPE_KEY", "WEBHOOK_SECRET", "PLAIN", "NOT_THERE"], dir);
    assert.equal(explain.status, 0, explain.stderr);
    assert.match(explain.stdout, /aws-secrets-manager source "sm" svc\/prod\/STRIPE_KEY/);
    assert.match(explain.stdout, /aws-secrets-manager source "sm" svc\/prod\/WEBHOOK#secret/);
    assert.match(explain.stdout, /aws-secrets-manager source "sm" plain-token/);
    assert.ok(!explain.stdout.includes("sk_live") && !explain.stdout.includes("whsec"), explain.stdout);
  });

  test("versionStage: AWSCURRENT by default, AWSPREVIOUS and a custom stage on request, named in explain", () => {
    const dir = manifest(`
secrets:
  - TOKEN
  - { name: TOKEN_PREVIOUS, from: { source: previous, key: staged/TOKEN } }
  - { name: TOKEN_BLUE, from: { source: blue, key: staged/TOKEN } }
sources:
  - { type: aws-secrets-manager, name: current, prefix: staged/, endpoint: ENDPOINT, region: us-east-1 }
  - { type: aws-secrets-manager, name: previous, versionStage: AWSPREVIOUS, endpoint: ENDPOINT, region: us-east-1 }
  - { type: aws-secrets-manager, name: blue, versionStage: BLUE, endpoint: ENDPOINT, region: us-east-1 }
`);
    assert.deepEqual(exportJson(dir), {
      TOKEN: "token-v2-current",
      TOKEN_PREVIOUS: "token-v1-previous",
      TOKEN_BLUE: "token-blue",
    });
    const explain = aws(["explain"], dir);
    assert.match(explain.stdout, /aws-secrets-manager source "current" staged\/TOKEN\s/);
    assert.match(explain.stdout, /aws-secrets-manager source "previous" staged\/TOKEN \(stage AWSPREVIOUS\)/);
    assert.match(explain.stdout, /aws-secrets-manager source "blue" staged\/TOKEN \(stage BLUE\)/);

    const missingStage = manifest(`
secrets: [{ name: T, from: { source: green, key: staged/TOKEN } }]
sources:
  - { type: aws-secrets-manager, name: green, versionStage: GREEN, endpoint: ENDPOINT, region: us-east-1 }
`);
    const result = aws(["export", "--format", "json"], missingStage);
    assert.equal(result.status, 3, "a stage the secret does not have: missing, not an error");
    assert.match(result.stderr, /E_MISSING_REQUIRED[\s\S]*\bT\b/);
  });

  test("a binary secret is served as its UTF-8 text; bytes that are not UTF-8 are an error naming the secret", () => {
    const dir = manifest(`
secrets: [{ name: CERT, from: { source: sm, key: bin/CERT } }]
sources:
  - { type: aws-secrets-manager, name: sm, endpoint: ENDPOINT, region: us-east-1 }
`);
    assert.deepEqual(exportJson(dir), { CERT });
    const run = aws(
      [
        "run",
        "--",
        process.execPath,
        "-e",
        "process.stdout.write(Buffer.from(process.env.CERT).toString('hex'))",
      ],
      dir,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, Buffer.from(CERT, "utf8").toString("hex"));

    const bad = manifest(`
secrets: [{ name: BLOB, from: { source: sm, key: bin/BAD } }]
sources:
  - { type: aws-secrets-manager, name: sm, endpoint: ENDPOINT, region: us-east-1 }
`);
    const result = aws(["export", "--format", "json"], bad);
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /E_SOURCE_INVALID/);
    assert.match(
      result.stderr,
      /aws-secrets-manager source "sm": the secret bin\/BAD is binary and not UTF-8 text/,
    );
  });

  test("ssm path: searched names, SecureString decrypted, StringList as is, from key relative/absolute, property", () => {
    const dir = manifest(`
secrets:
  required: [DB_PASSWORD, LOG_LEVEL, HOSTS]
  optional:
    - NOT_THERE
    - { name: FLAG, from: { source: ssm, key: nested/deeper/FLAG } }
    - { name: GLOBAL, from: { source: ssm, key: /shared/GLOBAL } }
    - { name: DB_HOST, from: { source: ssm, key: JSON_CONF, property: db.host } }
    - { name: DB_CONF, from: { source: ssm, key: /app/prod/JSON_CONF, property: db } }
    - { name: RAW_PASSWORD, from: { source: raw, key: DB_PASSWORD } }
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
  - { type: aws-ssm, name: raw, path: /app/prod/, decrypt: false, endpoint: ENDPOINT, region: us-east-1 }
`);
    const before = moto.requests();
    const values = exportJson(dir);
    const { RAW_PASSWORD, ...rest } = values;
    assert.deepEqual(rest, {
      DB_PASSWORD: "pg-p@ss",
      FLAG: "on",
      GLOBAL: "global-value",
      DB_HOST: "h1",
      DB_CONF: '{"host":"h1","port":5432}',
      LOG_LEVEL: "debug",
      HOSTS: "a.example,b.example,c.example",
    });
    assert.equal(typeof RAW_PASSWORD, "string");
    assert.notEqual(
      RAW_PASSWORD,
      "pg-p@ss",
      "decrypt: false serves the SecureString as stored, not decrypted",
    );
    // ssm: 8 names in one GetParameters call; raw: one
    assert.equal(moto.requests() - before, 2);

    const explain = aws(["explain"], dir);
    assert.equal(explain.status, 0, explain.stderr);
    for (const where of [
      'aws-ssm source "ssm" /app/prod/DB_PASSWORD',
      'aws-ssm source "ssm" /app/prod/nested/deeper/FLAG',
      'aws-ssm source "ssm" /shared/GLOBAL',
      'aws-ssm source "ssm" /app/prod/JSON_CONF#db.host',
      'aws-ssm source "raw" /app/prod/DB_PASSWORD',
    ]) {
      assert.ok(explain.stdout.includes(where), `explain shows ${where}:\n${explain.stdout}`);
    }
    for (const value of ["pg-p@ss", "global-value", "a.example"]) {
      assert.ok(!explain.stdout.includes(value), `explain never shows ${value}`);
    }
  });

  test("ssm: 50 parameters arrive in 5 GetParameters calls of 10 (the API's limit), every value right", () => {
    const names = Array.from({ length: 50 }, (_, index) => `K_${String(index).padStart(2, "0")}`);
    const dir = manifest(`
secrets:
  required: [${names.join(", ")}]
sources:
  - { type: aws-ssm, name: bulk, path: /bulk/, endpoint: ENDPOINT, region: us-east-1 }
`);
    const before = moto.requests();
    const values = exportJson(dir);
    assert.equal(moto.requests() - before, 5);
    assert.deepEqual(
      values,
      Object.fromEntries(names.map((name, index) => [name, `value-${index}-${"v".repeat(index)}`])),
    );
  });

  test("ssm recursive: the whole hierarchy page after page; deeper names by last segment, ambiguity refused", () => {
    const names = Array.from({ length: 20 }, (_, index) => `R_${String(index).padStart(2, "0")}`);
    const dir = manifest(`
secrets:
  required: [TOP, ${names.join(", ")}]
  optional:
    - NOT_THERE
    - { name: PICKED, from: { source: tree, key: b/TWICE } }
    - { name: OUTSIDE, from: { source: tree, key: /shared/GLOBAL } }
sources:
  - { type: aws-ssm, name: tree, path: /tree, recursive: true, endpoint: ENDPOINT, region: us-east-1 }
`);
    const before = moto.requests();
    const values = exportJson(dir);
    assert.deepEqual(values, {
      TOP: "top-value",
      ...Object.fromEntries(names.map((name, index) => [name, `r-${index}`])),
      PICKED: "twice-b",
      OUTSIDE: "global-value",
    });
    // 23 parameters, ten a page: three GetParametersByPath pages, then one GetParameters for /shared/GLOBAL
    assert.equal(moto.requests() - before, 4);
    const explain = aws(["explain", "R_07"], dir);
    assert.equal(explain.status, 0, explain.stderr);
    assert.match(explain.stdout, /aws-ssm source "tree" \/tree\/team1\/svc\/R_07/);
    assert.ok(!explain.stdout.includes("r-7"));

    const ambiguous = manifest(`
secrets: [TWICE]
sources:
  - { type: aws-ssm, name: tree, path: /tree/, recursive: true, endpoint: ENDPOINT, region: us-east-1 }
`);
    const result = aws(["export"], ambiguous);
    assert.equal(result.status, 4, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_INVALID.*TWICE is found at 2 places under \/tree\/: \/tree\/a\/TWICE, \/tree\/b\/TWICE/,
    );
    assert.match(result.stderr, /from: \{key/);
    assert.ok(!result.stderr.includes("twice-a"));
    assert.equal(result.stdout, "");
  });

  test("tricky values (newlines, CR, quotes, backslashes, $, unicode, long) arrive byte for byte; $X stays $X", () => {
    const dir = manifest(`
secrets:
  - TRICKY
  - { name: TRICKY_SM, from: { source: sm, key: TRICKY } }
  - { name: LONG, from: { source: sm, key: LONG } }
config:
  DERIVED: "[\${TRICKY_SM}]"
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
  - { type: aws-secrets-manager, name: sm, prefix: svc/prod/, endpoint: ENDPOINT, region: us-east-1 }
`);
    assert.deepEqual(exportJson(dir), { TRICKY, TRICKY_SM: TRICKY, LONG, DERIVED: `[${TRICKY}]` });
    const script =
      "const e=process.env;process.stdout.write(JSON.stringify([e.TRICKY,e.TRICKY_SM,e.LONG,e.DERIVED].map(v=>Buffer.from(v).toString('base64'))))";
    const run = aws(["run", "--no-mask", "--", process.execPath, "-e", script], dir);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(
      JSON.parse(run.stdout),
      [TRICKY, TRICKY, LONG, `[${TRICKY}]`].map((value) => Buffer.from(value, "utf8").toString("base64")),
    );
  });

  test("a required variable no store has: exit 3 naming it and where tessera looked; optional ones are fine", () => {
    const dir = manifest(`
secrets:
  required: [DB_PASSWORD, NOT_ANYWHERE]
  optional: [ALSO_NOT_ANYWHERE]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
  - { type: aws-secrets-manager, name: sm, prefix: svc/prod/, endpoint: ENDPOINT, region: us-east-1 }
`);
    for (const command of [["export", "--format", "json"], ["check"], ["run", "--", "true"]]) {
      const result = aws(command, dir);
      assert.equal(result.status, 3, `${command[0]}: ${result.stderr}`);
      assert.match(result.stderr, /E_MISSING_REQUIRED/);
      assert.match(
        result.stderr,
        /NOT_ANYWHERE\n\s+looked in: .*aws-ssm source "ssm", aws-secrets-manager source "sm"/,
      );
      assert.ok(!result.stderr.includes("ALSO_NOT_ANYWHERE"), "an optional variable is not an error");
      assert.ok(!result.stderr.includes("pg-p@ss"));
    }
    const ok = manifest(`
secrets: { required: [DB_PASSWORD], optional: [ALSO_NOT_ANYWHERE] }
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
`);
    const check = aws(["check"], ok);
    assert.equal(check.status, 0, check.stderr);
    assert.deepEqual(exportJson(ok), { DB_PASSWORD: "pg-p@ss" });
  });

  test("an unreachable endpoint: E_SOURCE_UNREACHABLE (exit 5) naming the source, after retries", async () => {
    const port = await freePort(); // nothing listens there
    const dir = manifest(
      `
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: down, path: /app/prod, endpoint: ENDPOINT, region: us-east-1, timeout: 2s }
`,
      `http://127.0.0.1:${port}`,
    );
    const started = Date.now();
    const result = aws(["export", "--format", "json"], dir);
    assert.equal(result.status, 5, result.stderr);
    assert.match(result.stderr, /E_SOURCE_UNREACHABLE/);
    assert.match(
      result.stderr,
      /aws-ssm source "down": reading the parameters \/app\/prod\/DB_PASSWORD: ECONNREFUSED/,
    );
    assert.equal(result.stdout, "");
    assert.ok(Date.now() - started < 10_000);
  });

  test("an endpoint that never answers: each attempt ends at the source's timeout, three attempts, exit 5", async () => {
    // Attempts are counted by the connections the server accepted; tessera runs without blocking this
    // process, so the server accepts them as they come.
    const connections: Socket[] = [];
    let connected: () => void = () => {};
    const third = new Promise<void>((done) => {
      connected = () => {
        if (connections.length >= 3) done();
      };
    });
    const server = createServer((socket) => {
      connections.push(socket);
      socket.on("error", () => {});
      connected();
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const port = (server.address() as { port: number }).port;
    try {
      const dir = manifest(
        `
secrets: [STRIPE_KEY]
sources:
  - { type: aws-secrets-manager, name: slow, prefix: svc/prod/, endpoint: ENDPOINT, region: us-east-1, timeout: 400ms }
`,
        `http://127.0.0.1:${port}`,
      );
      const started = Date.now();
      const result = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: { ...MOTO_CREDENTIALS },
      });
      const elapsed = Date.now() - started;
      assert.equal(result.status, 5, result.stderr);
      assert.match(result.stderr, /E_SOURCE_UNREACHABLE/);
      assert.match(result.stderr, /aws-secrets-manager source "slow": no answer within 400 ms/);
      // At least three timeouts; the upper bound only catches a hang (a busy machine starts slowly).
      assert.ok(elapsed >= 1200 && elapsed < 60_000, `3 attempts of 400 ms plus backoff, took ${elapsed} ms`);
      // Every connection was made before tessera exited; wait for this process to have accepted them.
      await third;
      await new Promise((done) => setImmediate(done));
      assert.equal(connections.length, 3, "three attempts");
    } finally {
      for (const socket of connections) socket.destroy();
      server.close();
    }
  });

  test("no region anywhere: E_SOURCE_INVALID with a hint; AWS_REGION / AWS_DEFAULT_REGION are used", () => {
    const dir = manifest(`
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT }
`);
    const result = aws(["export", "--format", "json"], dir, { AWS_REGION: undefined });
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /E_SOURCE_INVALID.*aws-ssm source "ssm": no AWS region/);
    assert.match(result.stderr, /hint: .*AWS_REGION/);
    assert.deepEqual(exportJson(dir, [], { AWS_REGION: undefined, AWS_DEFAULT_REGION: "us-east-1" }), {
      DB_PASSWORD: "pg-p@ss",
    });
  });

  test("credentials: none anywhere is E_SOURCE_AUTH with a hint; AWS_PROFILE (shared credentials file) works", () => {
    const dir = manifest(`
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
`);
    const noKeys = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const none = aws(["export", "--format", "json"], dir, { ...noKeys, HOME: project() });
    assert.equal(none.status, 5, none.stderr);
    assert.match(
      none.stderr,
      /E_SOURCE_AUTH.*aws-ssm source "ssm": reading the parameters \/app\/prod\/DB_PASSWORD: no AWS credentials/,
    );
    assert.match(none.stderr, /hint: .*AWS_PROFILE/);

    const home = project({
      ".aws/credentials":
        "[tessera-test]\naws_access_key_id = from-profile\naws_secret_access_key = profile-secret\n",
    });
    assert.deepEqual(exportJson(dir, [], { ...noKeys, HOME: home, AWS_PROFILE: "tessera-test" }), {
      DB_PASSWORD: "pg-p@ss",
    });
  });

  test("without endpoint: the SDK's own endpoint resolution (AWS_ENDPOINT_URL)", () => {
    const dir = manifest(`
secrets: [DB_PASSWORD, STRIPE_KEY]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod }
  - { type: aws-secrets-manager, name: sm, prefix: svc/prod/ }
`);
    assert.deepEqual(exportJson(dir, [], { AWS_ENDPOINT_URL: moto.endpoint }), {
      DB_PASSWORD: "pg-p@ss",
      STRIPE_KEY: "sk_live_123",
    });
  });

  test("an ssm path that is not a hierarchy is refused", () => {
    const dir = manifest(`
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: ssm, path: app/prod, endpoint: ENDPOINT, region: us-east-1 }
`);
    const result = aws(["export", "--format", "json"], dir);
    assert.equal(result.status, 4, result.stderr);
    assert.match(result.stderr, /aws-ssm source "ssm": the path app\/prod does not start with \//);
  });

  test("role: assumed with STS before fetching", () => {
    const dir = manifest(`
secrets: [STRIPE_KEY]
sources:
  - type: aws-secrets-manager
    name: sm
    prefix: svc/prod/
    role: arn:aws:iam::123456789012:role/tessera-reader
    endpoint: ENDPOINT
    region: us-east-1
`);
    const before = moto.requests();
    assert.deepEqual(exportJson(dir), { STRIPE_KEY: "sk_live_123" });
    assert.equal(moto.requests() - before, 2, "AssumeRole, then GetSecretValue");
  });

  test("the AWS credentials reach no `tessera run` child unless declared", () => {
    // base64 and --no-mask, so that tessera's masking of secret values (base64 forms included) does not hide them
    const script =
      "const e=process.env;process.stdout.write(JSON.stringify([e.AWS_ACCESS_KEY_ID,e.AWS_SECRET_ACCESS_KEY,e.AWS_SESSION_TOKEN,e.LOG_LEVEL].map(v=>v===undefined?null:Buffer.from(v).toString('base64'))))";
    const decode = (stdout: string) =>
      (JSON.parse(stdout) as (string | null)[]).map((value) =>
        value === null ? null : Buffer.from(value, "base64").toString("utf8"),
      );
    const env = { AWS_SESSION_TOKEN: "session-token-value" };
    const plain = manifest(`
secrets: [LOG_LEVEL]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
`);
    const run = aws(["run", "--no-mask", "--", process.execPath, "-e", script], plain, env);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(decode(run.stdout), [null, null, null, "debug"]);

    const declared = manifest(`
config: { AWS_ACCESS_KEY_ID: { required: true } }
secrets: [LOG_LEVEL, AWS_SECRET_ACCESS_KEY]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
`);
    const passed = aws(["run", "--no-mask", "--", process.execPath, "-e", script], declared, env);
    assert.equal(passed.status, 0, passed.stderr);
    assert.deepEqual(decode(passed.stdout), [
      MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID,
      MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      null,
      "debug",
    ]);
  });

  test("--secrets-from uses only the named stores", () => {
    const dir = manifest(`
secrets: [LOG_LEVEL]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
  - { type: aws-secrets-manager, name: sm, prefix: svc/prod/, endpoint: ENDPOINT, region: us-east-1 }
`);
    assert.deepEqual(exportJson(dir), { LOG_LEVEL: "debug" });
    assert.deepEqual(exportJson(dir, ["--secrets-from", "sm"]), { LOG_LEVEL: "warn-from-secrets-manager" });
    const explain = aws(["explain", "--secrets-from", "sm"], dir);
    assert.match(explain.stdout, /aws-secrets-manager source "sm" svc\/prod\/LOG_LEVEL/);
    const unknown = aws(["export", "--secrets-from", "smm"], dir);
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /no external store has that name/);
  });

  test("cache: {maxAge: 10m} serves --offline (and a fresh cache) after the server is gone", async () => {
    const own = await startMoto();
    try {
      await seed(own);
      const home = mkdtempSync(join(tmpdir(), "tessera-aws-cache-"));
      const env = { TESSERA_CACHE_DIR: join(home, "cache"), XDG_CONFIG_HOME: join(home, "config") };
      const dir = manifest(
        `
secrets:
  - DB_PASSWORD
  - TRICKY
  - { name: STRIPE_KEY, from: { source: sm, key: STRIPE_KEY } }
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1, cache: { maxAge: 10m } }
  - { type: aws-secrets-manager, name: sm, prefix: svc/prod/, endpoint: ENDPOINT, region: us-east-1, cache: { maxAge: 10m } }
`,
        own.endpoint,
      );
      const expected = { DB_PASSWORD: "pg-p@ss", TRICKY, STRIPE_KEY: "sk_live_123" };
      const first = aws(["export", "--format", "json"], dir, env);
      assert.equal(first.status, 0, first.stderr);
      assert.deepEqual(JSON.parse(first.stdout), expected);
      const requests = own.requests();
      assert.deepEqual(JSON.parse(aws(["export", "--format", "json"], dir, env).stdout), expected);
      assert.equal(own.requests(), requests, "a fresh cache is used without asking AWS");
      await own.stop();

      const offline = aws(["export", "--format", "json", "--offline"], dir, env);
      assert.equal(offline.status, 0, offline.stderr);
      assert.deepEqual(JSON.parse(offline.stdout), expected);
      const explain = aws(["explain", "--offline"], dir, env);
      assert.equal(explain.status, 0, explain.stderr);
      assert.match(explain.stdout, /aws-ssm source "ssm" \/app\/prod\/DB_PASSWORD \(cached, [0-9]+s old\)/);
      assert.match(
        explain.stdout,
        /aws-secrets-manager source "sm" svc\/prod\/STRIPE_KEY \(cached, [0-9]+s old\)/,
      );
      assert.ok(!explain.stdout.includes("pg-p@ss"));

      const cold = aws(["export", "--format", "json", "--offline"], dir); // another cache directory
      assert.equal(cold.status, 5, cold.stderr);
      assert.match(cold.stderr, /E_SOURCE_OFFLINE.*aws-ssm source "ssm" has no cache/);
    } finally {
      await own.stop();
    }
  });

  test("refused credentials are E_SOURCE_AUTH, missing permissions E_SOURCE_DENIED; neither shows a secret key", async () => {
    const own = await startMoto();
    try {
      await seed(own);
      const iam = (params: Record<string, string>) =>
        motoQuery(own, "iam", { ...params, Version: "2010-05-08" });
      await iam({ Action: "CreateUser", UserName: "nobody" });
      const xml = await iam({ Action: "CreateAccessKey", UserName: "nobody" });
      const keyId = /<AccessKeyId>([^<]+)</.exec(xml)?.[1];
      const secretKey = /<SecretAccessKey>([^<]+)</.exec(xml)?.[1];
      assert.ok(keyId && secretKey, xml);
      await own.enforceAuth();
      const dir = manifest(
        `
secrets: [STRIPE_KEY]
sources:
  - { type: aws-secrets-manager, name: sm, prefix: svc/prod/, endpoint: ENDPOINT, region: us-east-1 }
`,
        own.endpoint,
      );

      const before = own.requests();
      const unknownKey = aws(["export", "--format", "json"], dir, {
        AWS_ACCESS_KEY_ID: "FAKE-UNKNOWN-ACCESS-KEY-ID",
        AWS_SECRET_ACCESS_KEY: "unknown-secret-key-value",
      });
      assert.equal(unknownKey.status, 5, unknownKey.stderr);
      assert.match(
        unknownKey.stderr,
        /E_SOURCE_AUTH.*aws-secrets-manager source "sm": reading the secret svc\/prod\/STRIPE_KEY: AWS refused the credentials/,
      );
      assert.match(unknownKey.stderr, /hint: /);
      assert.ok(!unknownKey.stderr.includes("unknown-secret-key-value"));
      assert.ok(!unknownKey.stderr.includes("FAKE-UNKNOWN-ACCESS-KEY-ID"));
      assert.equal(own.requests() - before, 1, "refused credentials are not retried");

      const wrongSecret = aws(["export", "--format", "json"], dir, {
        AWS_ACCESS_KEY_ID: keyId,
        AWS_SECRET_ACCESS_KEY: "not-the-right-secret",
      });
      assert.equal(wrongSecret.status, 5, wrongSecret.stderr);
      assert.match(wrongSecret.stderr, /E_SOURCE_AUTH/);

      const denied = aws(["export", "--format", "json"], dir, {
        AWS_ACCESS_KEY_ID: keyId,
        AWS_SECRET_ACCESS_KEY: secretKey,
      });
      assert.equal(denied.status, 5, denied.stderr);
      assert.match(
        denied.stderr,
        /E_SOURCE_DENIED.*aws-secrets-manager source "sm": reading the secret svc\/prod\/STRIPE_KEY: AccessDenied/,
      );
      assert.match(denied.stderr, /user\/nobody is not authorized to perform: secretsmanager:GetSecretValue/);
      assert.match(denied.stderr, /hint: .*secretsmanager:GetSecretValue/);
      assert.ok(!denied.stderr.includes(secretKey) && !denied.stderr.includes(keyId));
      assert.ok(!denied.stderr.includes("sk_live"));
    } finally {
      await own.stop();
    }
  });
  test("AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_SECRETS_MANAGER win over AWS_ENDPOINT_URL; the region can come from the config file", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const dir = manifest(`
secrets: [DB_PASSWORD, STRIPE_KEY]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod }
  - { type: aws-secrets-manager, name: sm, prefix: svc/prod/ }
`);
    const home = project({ ".aws/config": "[default]\nregion = us-east-1\n" });
    const env = {
      HOME: home,
      AWS_REGION: undefined,
      AWS_ENDPOINT_URL: dead,
      AWS_ENDPOINT_URL_SSM: moto.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
    };
    assert.deepEqual(exportJson(dir, [], env), { DB_PASSWORD: "pg-p@ss", STRIPE_KEY: "sk_live_123" });
    const wrong = aws(["export", "--format", "json"], dir, { ...env, AWS_ENDPOINT_URL_SSM: undefined });
    assert.equal(wrong.status, 5, "AWS_ENDPOINT_URL (nothing listens there) is used for SSM without its own");
    assert.match(wrong.stderr, /E_SOURCE_UNREACHABLE.*aws-ssm source "ssm".*ECONNREFUSED/);
  });

  test("a profile with role_arn + source_profile: the source's keys assume the role with STS first", () => {
    const home = project({
      ".aws/credentials":
        "[base]\naws_access_key_id = AKIAFAKEBASEPROFILE\naws_secret_access_key = fake-base-profile-secret\n",
      ".aws/config":
        "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = base\nregion = us-east-1\n",
    });
    const dir = manifest(`
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT }
`);
    const before = moto.requests();
    const env = { ...NO_KEYS, HOME: home, AWS_PROFILE: "deploy", AWS_REGION: undefined };
    assert.deepEqual(exportJson(dir, [], env), { DB_PASSWORD: "pg-p@ss" });
    assert.equal(moto.requests() - before, 2, "AssumeRole, then GetParameters");
  });

  test("a profile's credential_process: run with the environment, its JSON the credentials", () => {
    const tools = project({
      "creds.mjs":
        'import { writeFileSync } from "node:fs"; writeFileSync(process.env.FAKE_MARKER_FILE, "ran"); process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: "AKIAFAKEPROCESS", SecretAccessKey: "fake-process-secret" }));',
    });
    const home = project({
      ".aws/config": `[default]\ncredential_process = "${process.execPath}" "${tools}/creds.mjs"\n`,
    });
    const marker = join(tools, "marker");
    const dir = manifest(`
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
`);
    assert.deepEqual(exportJson(dir, [], { ...NO_KEYS, HOME: home, FAKE_MARKER_FILE: marker }), {
      DB_PASSWORD: "pg-p@ss",
    });
    assert.equal(readFileSync(marker, "utf8"), "ran");

    const failing = project({ "fail.mjs": 'process.stderr.write("fake-process-stderr"); process.exit(2);' });
    const badHome = project({
      ".aws/config": `[default]\ncredential_process = "${process.execPath}" "${failing}/fail.mjs"\n`,
    });
    const result = aws(["export", "--format", "json"], dir, { ...NO_KEYS, HOME: badHome });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_AUTH.*aws-ssm source "ssm": reading the parameters \/app\/prod\/DB_PASSWORD: the credential_process of the profile default failed \(exit status 2\)/,
    );
    assert.ok(!result.stderr.includes("fake-process-stderr"));
  });

  test("web identity (EKS IRSA): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN through moto's STS", () => {
    const token = project({ token: "fake.web-identity.token" });
    const dir = manifest(`
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
`);
    const before = moto.requests();
    const env = {
      ...NO_KEYS,
      HOME: project(),
      AWS_WEB_IDENTITY_TOKEN_FILE: join(token, "token"),
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/pod-reader",
      AWS_ROLE_SESSION_NAME: "tessera-e2e",
    };
    assert.deepEqual(exportJson(dir, [], env), { DB_PASSWORD: "pg-p@ss" });
    assert.equal(moto.requests() - before, 2, "AssumeRoleWithWebIdentity, then GetParameters");
  });

  test("container credentials (ECS / EKS Pod Identity): AWS_CONTAINER_CREDENTIALS_FULL_URI with the token file", async () => {
    const tokens: (string | undefined)[] = [];
    const endpoint = await httpServer((request, response) => {
      tokens.push(request.headers.authorization);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          AccessKeyId: "ASIAFAKECONTAINER",
          SecretAccessKey: "fake-container-secret",
          Token: "fake-container-session-token",
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    try {
      const files = project({ "eks-pod-identity-token": "fake-pod-identity-token" });
      const dir = manifest(`
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT, region: us-east-1 }
`);
      const result = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: {
          ...MOTO_CREDENTIALS,
          ...NO_KEYS,
          HOME: project(),
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint.url}/v1/credentials`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(files, "eks-pod-identity-token"),
        },
      });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { DB_PASSWORD: "pg-p@ss" });
      assert.deepEqual(tokens, ["fake-pod-identity-token"], "asked once, with the token");
    } finally {
      await endpoint.close();
    }
  });

  test("an SSO profile: through @aws-sdk/credential-provider-sso when it is installed, else E_PROVIDER_MISSING naming the npm i", async () => {
    const session = "fake-corp";
    const asked: string[] = [];
    const portal = await httpServer((request, response) => {
      asked.push(`${request.url} ${request.headers["x-amz-sso_bearer_token"]}`);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          roleCredentials: {
            accessKeyId: "ASIAFAKESSO",
            secretAccessKey: "fake-sso-secret",
            sessionToken: "fake-sso-session-token",
            expiration: Date.now() + 3_600_000,
          },
        }),
      );
    });
    try {
      const cache = createHash("sha1").update(session).digest("hex");
      const home = project({
        ".aws/config": [
          "[profile sso]",
          `sso_session = ${session}`,
          "sso_account_id = 123456789012",
          "sso_role_name = Reader",
          "region = us-east-1",
          `[sso-session ${session}]`,
          "sso_start_url = https://fake-corp.awsapps.com/start",
          "sso_region = us-east-1",
          "",
        ].join("\n"),
        [`.aws/sso/cache/${cache}.json`]: JSON.stringify({
          accessToken: "fake-sso-access-token",
          expiresAt: new Date(Date.now() + 3_600_000).toISOString().replace(/\.[0-9]+Z$/, "Z"),
          region: "us-east-1",
          startUrl: "https://fake-corp.awsapps.com/start",
        }),
      });
      const dir = manifest(`
secrets: [DB_PASSWORD]
sources:
  - { type: aws-ssm, name: ssm, path: /app/prod, endpoint: ENDPOINT }
`);
      const result = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: {
          ...MOTO_CREDENTIALS,
          ...NO_KEYS,
          HOME: home,
          AWS_PROFILE: "sso",
          AWS_REGION: undefined,
          AWS_ENDPOINT_URL_SSO: portal.url,
        },
      });
      if (installed("@aws-sdk/credential-provider-sso")) {
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(JSON.parse(result.stdout), { DB_PASSWORD: "pg-p@ss" });
        assert.equal(asked.length, 1);
        assert.match(asked[0]!, /^\/federation\/credentials\?.*role_name=Reader.* fake-sso-access-token$/);
      } else {
        assert.equal(result.status, 5, result.stderr);
        assert.match(
          result.stderr,
          /E_PROVIDER_MISSING.*aws-ssm source "ssm": .*the SSO profile sso needs @aws-sdk\/credential-provider-sso, which is not installed/,
        );
        assert.match(result.stderr, /hint: npm i @aws-sdk\/credential-provider-sso\b/);
        assert.ok(!/E_INTERNAL|this is a bug/.test(result.stderr));
        assert.deepEqual(asked, []);
      }
    } finally {
      await portal.close();
    }
  });
});
