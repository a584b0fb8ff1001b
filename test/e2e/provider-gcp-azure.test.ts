/**
 * The gcp-secret-manager and azure-key-vault providers, end to end through the built CLI, against local
 * fakes of the two REST APIs and of the token endpoints behind them (test/support/fake-stores.ts). No
 * Google or Azure library is needed: the providers speak REST themselves (optional libraries, when
 * installed, serve only the credential types Tessera does not read). These are protocol tests: no real
 * Google Cloud or Azure can be reached here, so what is checked is that Tessera sends the documented
 * requests with the right credentials (Azure's challenge flow included) and that every answer maps to
 * the right value, exit status and message.
 *
 * Key Vault is HTTPS only: its fake serves HTTPS with a self-signed certificate made here with openssl,
 * trusted by the CLI through NODE_EXTRA_CA_CERTS.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { project } from "../helpers.ts";
import {
  closedPort,
  type FakeServer,
  googleError,
  selfSignedCert,
  startAzure,
  startConnectProxy,
  startEntra,
  startGcp,
  startGoogleTokenEndpoint,
  startSilentServer,
  type Tls,
  tesseraAsync,
} from "../support/fake-stores.ts";

const GCP_TOKEN = "ya29.fake-gcp-access-token-0123";
const AZ_TOKEN = "eyJ0eXAiOiJKV1QifQ.fake-azure-access-token.sig";

const TRICKY: Record<string, string> = {
  MULTILINE: "-----BEGIN KEY-----\nline two\n\nafter a blank line\n",
  QUOTES: `"double" 'single' \`back\` \\ backslash`,
  UNICODE: "ünïcødé ✓ 日本語 🔑",
  DOLLARS: "$X ${Y} $$ ${Z:-default} $(whoami)",
  SPACES: "  leading and trailing  ",
};
const NAMES = Object.keys(TRICKY);

/** Whether an optional library is installed where the CLI looks for it (beside it). */
function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

function json(stdout: string): Record<string, string> {
  return JSON.parse(stdout) as Record<string, string>;
}

function noLeak(text: string, ...secrets: string[]): void {
  for (const secret of [GCP_TOKEN, AZ_TOKEN, ...secrets]) {
    assert.ok(!text.includes(secret), `the output shows ${JSON.stringify(secret)}:\n${text}`);
  }
}

describe("gcp-secret-manager", () => {
  let gcp: FakeServer;
  before(async () => {
    gcp = await startGcp({
      token: GCP_TOKEN,
      projects: {
        "my-proj": {
          ...Object.fromEntries(NAMES.map((name) => [`app_${name}`, [TRICKY[name]!]])),
          db: ['{"user":"app","password":"fake-db-pass-9","port":5432}'],
          versioned: ["fake-version-1", "fake-version-2", "fake-version-3"],
          plain: ["not json"],
          binary: [Buffer.from([0xff, 0xfe, 0x00, 0x41])],
          corrupt: ["fake-corrupt"],
          forbidden: ["fake-forbidden"],
        },
        // Three versions, so that version: "2" and latest differ.
        other: { elsewhere: ["fake-other-v1", "fake-from-other-project", "fake-other-v3"] },
      },
      deny: ["forbidden"],
      corrupt: ["corrupt"],
    });
  });
  after(() => gcp.close());
  // Faults a test injects but does not use up (a hang "on every attempt") must not reach the next test.
  beforeEach(() => gcp.reset());

  const source = (extra = "") =>
    `sources:\n  - { type: gcp-secret-manager, name: gsm, project: my-proj, endpoint: "${gcp.url}"${extra ? `, ${extra}` : ""} }\n`;
  const env = { GOOGLE_OAUTH_ACCESS_TOKEN: GCP_TOKEN };

  test("searched names are prefix + NAME, one AccessSecretVersion each, byte for byte", async () => {
    gcp.reset();
    const dir = project({
      "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [${NAMES.join(", ")}]\n`,
    });
    const result = await tesseraAsync(["export", "--format", "json"], { cwd: dir, env });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), TRICKY);
    const calls = gcp.calls();
    assert.equal(calls.length, NAMES.length);
    assert.deepEqual(
      calls.map((call) => call.path).sort(),
      NAMES.map((name) => `/v1/projects/my-proj/secrets/app_${name}/versions/latest:access`).sort(),
    );
    for (const call of calls) {
      assert.equal(call.method, "GET");
      assert.equal(call.headers.authorization, `Bearer ${GCP_TOKEN}`);
      assert.match(String(call.headers["x-goog-api-client"]), /^gl-node\//);
    }
  });

  test("CLOUDSDK_AUTH_ACCESS_TOKEN is a token too", async () => {
    const dir = project({ "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [QUOTES]\n` });
    const result = await tesseraAsync(["export", "--format", "json"], {
      cwd: dir,
      env: { CLOUDSDK_AUTH_ACCESS_TOKEN: GCP_TOKEN },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), { QUOTES: TRICKY.QUOTES });
  });

  test("from: a secret id or a resource name, a version, a JSON property; one call per distinct secret", async () => {
    const fixed = project({
      "tessera.yaml": `${source('version: "2"')}secrets:
  required:
    - name: DB_USER
      from: { source: gsm, key: projects/my-proj/secrets/db/versions/latest, property: user }
    - name: DB_PASSWORD
      from: { source: gsm, key: projects/my-proj/secrets/db/versions/latest, property: password }
    - name: OLD
      from: { source: gsm, key: projects/my-proj/secrets/versioned/versions/1 }
    - name: PINNED
      from: { source: gsm, key: versioned }
    - name: ELSEWHERE
      from: { source: gsm, key: projects/other/secrets/elsewhere }
config:
  DB_PORT:
    from: { source: gsm, key: projects/my-proj/secrets/db/versions/latest, property: port }
`,
    });
    gcp.reset();
    // version: applies to secret ids (PINNED, ELSEWHERE); a resource name with a version keeps its own.
    const ok = await tesseraAsync(["export", "--format", "json"], { cwd: fixed, env });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(json(ok.stdout), {
      DB_USER: "app",
      DB_PASSWORD: "fake-db-pass-9",
      OLD: "fake-version-1",
      PINNED: "fake-version-2",
      ELSEWHERE: "fake-from-other-project",
      DB_PORT: "5432",
    });
    assert.deepEqual(
      gcp
        .calls()
        .map((call) => call.path)
        .sort(),
      [
        "/v1/projects/my-proj/secrets/db/versions/latest:access",
        "/v1/projects/my-proj/secrets/versioned/versions/1:access",
        "/v1/projects/my-proj/secrets/versioned/versions/2:access",
        "/v1/projects/other/secrets/elsewhere/versions/2:access",
      ],
    );
    const explain = await tesseraAsync(["explain", "DB_PASSWORD"], { cwd: fixed, env });
    assert.match(
      explain.stdout,
      /✓ gcp-secret-manager source "gsm" projects\/my-proj\/secrets\/db\/versions\/latest#password/,
    );
    noLeak(explain.stdout, "fake-db-pass-9");
  });

  test("NOT_FOUND: an optional name is left out, a required one exits 3 naming the source", async () => {
    const optional = project({
      "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [QUOTES]\n  optional: [NOPE]\n`,
    });
    const ok = await tesseraAsync(["export", "--format", "json"], { cwd: optional, env });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(json(ok.stdout), { QUOTES: TRICKY.QUOTES });
    const required = project({ "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [NOPE]\n` });
    const missing = await tesseraAsync(["check"], { cwd: required, env });
    assert.equal(missing.status, 3, missing.stderr);
    assert.match(missing.stderr, /NOPE\n\s+looked in: .*gcp-secret-manager source "gsm"/);
  });

  test("PERMISSION_DENIED is E_SOURCE_DENIED, UNAUTHENTICATED E_SOURCE_AUTH (exit 5), no token shown", async () => {
    const denied = project({
      "tessera.yaml": `${source()}secrets:\n  required:\n    - name: F\n      from: { source: gsm, key: forbidden }\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: denied, env });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_DENIED.*gcp-secret-manager source "gsm": projects\/my-proj\/secrets\/forbidden\/versions\/latest: permission denied/,
    );
    assert.match(result.stderr, /secretAccessor/);
    noLeak(result.stderr, "fake-forbidden");

    const wrong = await tesseraAsync(["check"], {
      cwd: denied,
      env: { GOOGLE_OAUTH_ACCESS_TOKEN: "ya29.fake-wrong-77" },
    });
    assert.equal(wrong.status, 5, wrong.stderr);
    assert.match(wrong.stderr, /E_SOURCE_AUTH.*gcp-secret-manager source "gsm": .*not authenticated/);
    noLeak(wrong.stderr, "ya29.fake-wrong-77");
  });

  test("Application Default Credentials that cannot be loaded: E_SOURCE_AUTH with a hint", async () => {
    const dir = project({ "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [QUOTES]\n` });
    const result = await tesseraAsync(["check"], {
      cwd: dir,
      env: { GOOGLE_APPLICATION_CREDENTIALS: "/nonexistent/adc.json", HOME: project() },
    });
    assert.equal(result.status, 5, result.stderr);
    assert.match(result.stderr, /E_SOURCE_AUTH.*gcp-secret-manager source "gsm": no Google credentials/);
    assert.match(result.stderr, /GOOGLE_OAUTH_ACCESS_TOKEN/);
  });

  test("a property of a payload that is not JSON, a bad secret id, a payload not UTF-8: E_SOURCE_INVALID (exit 4)", async () => {
    for (const [from, message] of [
      [
        "{ source: gsm, key: plain, property: x }",
        /plain\/versions\/latest is not JSON, so it has no property x/,
      ],
      ["{ source: gsm, key: 'bad id!' }", /bad id! is not a secret id/],
      ["{ source: gsm, key: binary }", /binary\/versions\/latest is not UTF-8 text/],
    ] as const) {
      const dir = project({
        "tessera.yaml": `${source()}secrets:\n  required:\n    - name: X\n      from: ${from}\n`,
      });
      const result = await tesseraAsync(["check"], { cwd: dir, env });
      assert.equal(result.status, 4, result.stderr);
      assert.match(result.stderr, /E_SOURCE_INVALID.*gcp-secret-manager source "gsm"/);
      assert.match(result.stderr, message);
      noLeak(result.stderr, "not json");
    }
  });

  for (const [label, status, grpc] of [
    ["RESOURCE_EXHAUSTED (429)", 429, "RESOURCE_EXHAUSTED"],
    ["UNAVAILABLE (503)", 503, "UNAVAILABLE"],
    ["INTERNAL (500)", 500, "INTERNAL"],
  ] as const) {
    test(`${label}, then the value: retried`, async () => {
      gcp.reset();
      gcp.inject({ status, body: googleError(status, grpc, "try again later") });
      const dir = project({ "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [UNICODE]\n` });
      const result = await tesseraAsync(["export", "--format", "json"], { cwd: dir, env });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(json(result.stdout), { UNICODE: TRICKY.UNICODE });
      assert.equal(gcp.calls().length, 2);
    });
  }

  test("UNAVAILABLE on every attempt: E_SOURCE_UNREACHABLE; INTERNAL: E_SOURCE_FAILED; three attempts each", async () => {
    const dir = project({ "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [UNICODE]\n` });
    for (const [status, grpc, code] of [
      [503, "UNAVAILABLE", "E_SOURCE_UNREACHABLE"],
      [500, "INTERNAL", "E_SOURCE_FAILED"],
    ] as const) {
      gcp.reset();
      gcp.inject({ status, body: googleError(status, grpc, "the fake is down") }, { times: 10 });
      const result = await tesseraAsync(["check"], { cwd: dir, env });
      assert.equal(result.status, 5, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`${code}.*gcp-secret-manager source "gsm": projects/my-proj/secrets/app_UNICODE`),
      );
      assert.equal(gcp.calls().length, 3);
    }
  });

  test("a payload whose CRC32C does not match is refused (E_SOURCE_FAILED)", async () => {
    const dir = project({
      "tessera.yaml": `${source()}secrets:\n  required:\n    - name: C\n      from: { source: gsm, key: corrupt }\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_FAILED.*corrupt\/versions\/latest: the payload's checksum does not match/,
    );
  });

  test("timeout: 500ms and a server that never answers: E_SOURCE_UNREACHABLE in bounded time", async () => {
    gcp.reset();
    gcp.inject({ hang: true }, { times: 10 });
    const dir = project({
      "tessera.yaml": `${source("prefix: app_, timeout: 500ms")}secrets:\n  required: [UNICODE]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env });
    assert.equal(result.status, 5, result.stderr);
    assert.match(result.stderr, /E_SOURCE_UNREACHABLE.*gcp-secret-manager source "gsm": .*no answer/);
    assert.ok(result.ms < 8000, `took ${result.ms} ms`);
    assert.equal(gcp.calls().length, 3, "three attempts");
  });

  test("ADC whose token request never ends: E_SOURCE_UNREACHABLE in bounded time, the process ends, no key shown", async () => {
    // A service account's credentials file (a throwaway key): google-auth-library signs a JWT with the key
    // and POSTs it for a token. The silent server takes that POST and never answers. gtoken posts to
    // https://oauth2.googleapis.com/token whatever token_uri says, so the silent server is also the HTTPS
    // proxy (gaxios honours HTTPS_PROXY; the fake Secret Manager on 127.0.0.1 is reached directly): the
    // request is held open either way. Tessera cannot cancel it; the CLI must still end when it has given up.
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const silent = await startSilentServer();
    try {
      const dir = project({
        "tessera.yaml": `${source("prefix: app_, timeout: 500ms")}secrets:\n  required: [UNICODE]\n`,
        "sa.json": JSON.stringify({
          type: "service_account",
          project_id: "my-proj",
          private_key_id: "fake-key-id",
          private_key: privateKey,
          client_email: "fake@my-proj.iam.gserviceaccount.com",
          client_id: "1234567890",
          token_uri: `${silent.url}/token`,
        }),
      });
      const result = await tesseraAsync(["export"], {
        cwd: dir,
        env: {
          GOOGLE_APPLICATION_CREDENTIALS: join(dir, "sa.json"),
          GOOGLE_OAUTH_ACCESS_TOKEN: undefined,
          CLOUDSDK_AUTH_ACCESS_TOKEN: undefined,
          HTTPS_PROXY: silent.url,
          NO_PROXY: "127.0.0.1,localhost",
          HOME: project(),
        },
      });
      assert.equal(result.status, 5, `exit ${result.status} after ${result.ms} ms\n${result.stderr}`);
      assert.match(
        result.stderr,
        /E_SOURCE_UNREACHABLE.*gcp-secret-manager source "gsm": no answer within 500 ms/,
      );
      assert.ok(result.ms < 15_000, `took ${result.ms} ms`);
      assert.equal(result.stdout, "");
      assert.ok(
        silent.seen.some((line) => /^(POST \/token|CONNECT oauth2\.googleapis\.com:443)$/.test(line)),
        `the token request did not reach the silent server: ${JSON.stringify(silent.seen)}`,
      );
      assert.equal(gcp.calls().length, 0, "no token, so no call to Secret Manager");
      // Neither the key nor any piece of it (every 16 characters of its base64 body).
      assert.ok(!/PRIVATE KEY/.test(result.stderr), result.stderr);
      const body = privateKey.replace(/-----[A-Z ]+-----|\s/g, "");
      for (let at = 0; at + 16 <= body.length; at++) {
        const piece = body.slice(at, at + 16);
        assert.ok(
          !result.stderr.includes(piece),
          `the stderr shows part of the key (${piece}):\n${result.stderr}`,
        );
      }
      noLeak(result.stderr);
    } finally {
      await silent.close();
    }
  });

  test("Application Default Credentials natively: a service account key's signed JWT, or gcloud's authorized_user file, exchanged for the token", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const tokens = await startGoogleTokenEndpoint({
      publicKey,
      refreshTokens: ["1//fake-refresh-token"],
      issues: GCP_TOKEN,
    });
    try {
      const dir = project({
        "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [QUOTES]\n`,
        "sa.json": JSON.stringify({
          type: "service_account",
          project_id: "my-proj",
          private_key_id: "fake-key-id",
          private_key: privateKey,
          client_email: "fake@my-proj.iam.gserviceaccount.com",
          token_uri: `${tokens.url}/token`,
        }),
      });
      gcp.reset();
      const viaKey = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: { GOOGLE_APPLICATION_CREDENTIALS: "sa.json", HOME: project() },
      });
      assert.equal(viaKey.status, 0, viaKey.stderr);
      assert.deepEqual(json(viaKey.stdout), { QUOTES: TRICKY.QUOTES });
      assert.equal(tokens.calls().length, 1, "one token for the run");
      assert.equal(gcp.calls()[0]?.headers.authorization, `Bearer ${GCP_TOKEN}`);

      const home = project({
        ".config/gcloud/application_default_credentials.json": JSON.stringify({
          type: "authorized_user",
          client_id: "fake-client.apps.googleusercontent.com",
          client_secret: "fake-client-secret",
          refresh_token: "1//fake-refresh-token",
          token_uri: `${tokens.url}/token`,
        }),
      });
      const viaGcloud = await tesseraAsync(["export", "--format", "json"], { cwd: dir, env: { HOME: home } });
      assert.equal(viaGcloud.status, 0, viaGcloud.stderr);
      assert.deepEqual(json(viaGcloud.stdout), { QUOTES: TRICKY.QUOTES });
      noLeak(viaKey.stderr + viaGcloud.stderr, "fake-client-secret", "1//fake-refresh-token");
    } finally {
      await tokens.close();
    }
  });

  test("a credential type only google-auth-library reads: used when installed, else E_PROVIDER_MISSING (exit 5) naming npm i google-auth-library", async () => {
    const tokens = await startGoogleTokenEndpoint({
      refreshTokens: ["fake-workforce-refresh"],
      issues: GCP_TOKEN,
    });
    try {
      const dir = project({
        "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [QUOTES]\n`,
        "workforce.json": JSON.stringify({
          type: "external_account_authorized_user",
          audience: "//iam.googleapis.com/locations/global/workforcePools/fake-pool/providers/fake",
          client_id: "fake-client",
          client_secret: "fake-workforce-secret",
          refresh_token: "fake-workforce-refresh",
          token_url: `${tokens.url}/token`,
          token_info_url: `${tokens.url}/introspect`,
        }),
      });
      const result = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: { GOOGLE_APPLICATION_CREDENTIALS: "workforce.json", HOME: project() },
      });
      if (installed("google-auth-library")) {
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(json(result.stdout), { QUOTES: TRICKY.QUOTES });
        assert.equal(tokens.calls().length, 1);
      } else {
        assert.equal(result.status, 5, result.stderr);
        assert.match(
          result.stderr,
          /E_PROVIDER_MISSING.*gcp-secret-manager source "gsm": workforce\.json holds an external_account_authorized_user credential, which needs google-auth-library, and it is not installed/,
        );
        assert.match(result.stderr, /hint: npm i google-auth-library/);
        assert.equal(tokens.calls().length, 0);
      }
      noLeak(result.stderr, "fake-workforce-secret", "fake-workforce-refresh");
    } finally {
      await tokens.close();
    }
  });

  test("HTTPS_PROXY: Secret Manager through a CONNECT tunnel; NO_PROXY keeps a host off it", async () => {
    const tls = selfSignedCert();
    const secure = await startGcp({
      token: GCP_TOKEN,
      projects: { p: { VIA_PROXY: ["fake-via-proxy"] } },
      tls,
    });
    const proxy = await startConnectProxy();
    try {
      const dir = project({
        "tessera.yaml": `sources:\n  - { type: gcp-secret-manager, name: gsm, project: p, endpoint: "localhost:${secure.port}" }\nsecrets:\n  required: [VIA_PROXY]\n`,
      });
      const base = { ...env, NODE_EXTRA_CA_CERTS: tls.certFile, HTTPS_PROXY: proxy.url };
      const result = await tesseraAsync(["export", "--format", "json"], { cwd: dir, env: base });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(json(result.stdout), { VIA_PROXY: "fake-via-proxy" });
      assert.deepEqual(proxy.tunnels, [`localhost:${secure.port}`]);
      const direct = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: { ...base, NO_PROXY: "localhost" },
      });
      assert.equal(direct.status, 0, direct.stderr);
      assert.equal(proxy.tunnels.length, 1, "not through the proxy");
    } finally {
      await proxy.close();
      await secure.close();
    }
  });

  test("connection refused: E_SOURCE_UNREACHABLE", async () => {
    const port = await closedPort();
    const dir = project({
      "tessera.yaml": `sources:\n  - { type: gcp-secret-manager, name: gsm, project: my-proj, endpoint: "http://127.0.0.1:${port}" }\nsecrets:\n  required: [X]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_UNREACHABLE.*gcp-secret-manager source "gsm": .*cannot connect \(ECONNREFUSED\)/,
    );
    noLeak(result.stderr);
  });

  test("endpoint: host:port is HTTPS (a CA from NODE_EXTRA_CA_CERTS)", async () => {
    const tls = selfSignedCert();
    const secure = await startGcp({
      token: GCP_TOKEN,
      projects: { p: { TLS_VALUE: ["fake-over-tls"] } },
      tls,
    });
    try {
      const dir = project({
        "tessera.yaml": `sources:\n  - { type: gcp-secret-manager, name: gsm, project: p, endpoint: "localhost:${secure.port}" }\nsecrets:\n  required: [TLS_VALUE]\n`,
      });
      const result = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: { ...env, NODE_EXTRA_CA_CERTS: tls.certFile },
      });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(json(result.stdout), { TLS_VALUE: "fake-over-tls" });
    } finally {
      await secure.close();
    }
  });

  test("GOOGLE_OAUTH_ACCESS_TOKEN does not reach a `tessera run` child unless declared", async () => {
    const dir = project({
      "tessera.yaml": `${source("prefix: app_")}secrets:\n  required: [UNICODE]\n`,
      "print.mjs": "process.stdout.write(JSON.stringify(process.env));\n",
    });
    const result = await tesseraAsync(["run", "--no-mask", "--", process.execPath, "print.mjs"], {
      cwd: dir,
      env,
    });
    assert.equal(result.status, 0, result.stderr);
    const child = json(result.stdout);
    assert.equal(child.UNICODE, TRICKY.UNICODE);
    assert.ok(!("GOOGLE_OAUTH_ACCESS_TOKEN" in child));
  });
});

describe("azure-key-vault", () => {
  let tls: Tls;
  let azure: FakeServer;
  before(async () => {
    tls = selfSignedCert();
    azure = await startAzure({
      token: AZ_TOKEN,
      tls,
      secrets: {
        ...Object.fromEntries(NAMES.map((name) => [`app-${name}`, TRICKY[name]!])),
        "APP-DB-PASSWORD": "fake-az-db-pass",
        "db-config": '{"user":"app","password":"fake-az-json-pass","port":5432}',
        "plain-text": "not json",
        forbidden: "fake-az-forbidden",
      },
      deny: ["forbidden"],
    });
  });
  after(() => azure.close());
  beforeEach(() => azure.reset());

  const source = (server: FakeServer, extra = "") =>
    `sources:\n  - { type: azure-key-vault, name: akv, vaultUrl: "${server.url}"${extra ? `, ${extra}` : ""} }\n`;
  const env = () => ({ AZURE_ACCESS_TOKEN: AZ_TOKEN, NODE_EXTRA_CA_CERTS: tls.certFile });

  test("searched names are prefix + NAME with _ as -, after the bearer challenge, byte for byte", async () => {
    azure.reset();
    const dir = project({
      "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [${NAMES.join(", ")}]\n`,
    });
    const result = await tesseraAsync(["export", "--format", "json"], { cwd: dir, env: env() });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(json(result.stdout), TRICKY);
    const calls = azure.calls();
    const anonymous = calls.filter((call) => call.headers.authorization === undefined);
    const authorized = calls.filter((call) => call.headers.authorization === `Bearer ${AZ_TOKEN}`);
    assert.ok(anonymous.length >= 1, "the challenge request comes first");
    assert.equal(authorized.length, NAMES.length);
    assert.equal(anonymous.length + authorized.length, calls.length);
    for (const call of authorized) {
      assert.match(call.path, /^\/secrets\/app-[A-Z]+\/?$/);
      assert.ok(call.query.get("api-version"));
    }
  });

  test("from: a name as written (NAME/VERSION too), a JSON property; explain shows secrets/NAME#property", async () => {
    const searchedPrefix = project({
      "tessera.yaml": `${source(azure, "prefix: APP_")}secrets:\n  required: [DB_PASSWORD]\n`,
    });
    const prefixed = await tesseraAsync(["export", "--format", "json"], { cwd: searchedPrefix, env: env() });
    assert.equal(prefixed.status, 0, prefixed.stderr);
    assert.deepEqual(
      json(prefixed.stdout),
      { DB_PASSWORD: "fake-az-db-pass" },
      "APP_ + DB_PASSWORD is APP-DB-PASSWORD",
    );

    const refs = project({
      "tessera.yaml": `${source(azure)}secrets:
  required:
    - name: JSON_PASS
      from: { source: akv, key: db-config, property: password }
    - name: JSON_USER
      from: { source: akv, key: db-config, property: user }
    - name: VERSIONED
      from: { source: akv, key: APP-DB-PASSWORD/0123abcd }
config:
  PORT:
    from: { source: akv, key: db-config, property: port }
`,
    });
    azure.reset();
    const ok = await tesseraAsync(["export", "--format", "json"], { cwd: refs, env: env() });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(json(ok.stdout), {
      JSON_PASS: "fake-az-json-pass",
      JSON_USER: "app",
      VERSIONED: "fake-az-db-pass",
      PORT: "5432",
    });
    const authorized = azure.calls().filter((call) => call.headers.authorization !== undefined);
    assert.deepEqual(authorized.map((call) => call.path).sort(), [
      "/secrets/APP-DB-PASSWORD/0123abcd",
      "/secrets/db-config/",
    ]);
    const explain = await tesseraAsync(["explain", "JSON_PASS"], { cwd: refs, env: env() });
    assert.match(explain.stdout, /✓ azure-key-vault source "akv" secrets\/db-config#password/);
    noLeak(explain.stdout, "fake-az-json-pass");
  });

  test("SecretNotFound: an optional name is left out, a required one exits 3 naming the source", async () => {
    const optional = project({
      "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [QUOTES]\n  optional: [NOPE]\n`,
    });
    const ok = await tesseraAsync(["export", "--format", "json"], { cwd: optional, env: env() });
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(json(ok.stdout), { QUOTES: TRICKY.QUOTES });
    const required = project({
      "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [NOPE]\n`,
    });
    const missing = await tesseraAsync(["check"], { cwd: required, env: env() });
    assert.equal(missing.status, 3, missing.stderr);
    assert.match(missing.stderr, /NOPE\n\s+looked in: .*azure-key-vault source "akv"/);
  });

  test("403 is E_SOURCE_DENIED, a token the vault refuses E_SOURCE_AUTH (exit 5), no token shown", async () => {
    const denied = project({
      "tessera.yaml": `${source(azure)}secrets:\n  required:\n    - name: F\n      from: { source: akv, key: forbidden }\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: denied, env: env() });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_DENIED.*azure-key-vault source "akv": secrets\/forbidden: permission denied \(Forbidden\)/,
    );
    noLeak(result.stderr, "fake-az-forbidden");

    const wrong = await tesseraAsync(["check"], {
      cwd: denied,
      env: { ...env(), AZURE_ACCESS_TOKEN: "eyJ.fake-wrong-azure-token" },
    });
    assert.equal(wrong.status, 5, wrong.stderr);
    assert.match(
      wrong.stderr,
      /E_SOURCE_AUTH.*azure-key-vault source "akv": secrets\/forbidden: not authenticated \(Unauthorized\)/,
    );
    noLeak(wrong.stderr, "eyJ.fake-wrong-azure-token");
  });

  test("a challenge for another resource than Key Vault gets no token (E_SOURCE_AUTH)", async () => {
    const rogue = await startAzure({
      token: AZ_TOKEN,
      tls,
      secrets: { X: "fake-x" },
      resource: "https://management.azure.com",
    });
    try {
      const dir = project({ "tessera.yaml": `${source(rogue)}secrets:\n  required: [X]\n` });
      const result = await tesseraAsync(["check"], { cwd: dir, env: env() });
      assert.equal(result.status, 5, result.stderr);
      assert.match(
        result.stderr,
        /E_SOURCE_AUTH.*the vault asked for a token for https:\/\/management\.azure\.com\/\.default/,
      );
      assert.ok(
        rogue.calls().every((call) => call.headers.authorization === undefined),
        "a token was sent",
      );
    } finally {
      await rogue.close();
    }
  });

  test("no credential (AZURE_TOKEN_CREDENTIALS=EnvironmentCredential and none set): E_SOURCE_AUTH with a hint", async () => {
    const dir = project({
      "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [QUOTES]\n`,
    });
    const result = await tesseraAsync(["check"], {
      cwd: dir,
      env: {
        NODE_EXTRA_CA_CERTS: tls.certFile,
        AZURE_TOKEN_CREDENTIALS: "EnvironmentCredential",
        HOME: project(),
      },
    });
    assert.equal(result.status, 5, result.stderr);
    assert.match(result.stderr, /E_SOURCE_AUTH.*azure-key-vault source "akv": no Azure credential/);
    assert.match(result.stderr, /AZURE_ACCESS_TOKEN/);
  });

  test("a client secret read natively (AZURE_AUTHORITY_HOST's v2 endpoint), the vault through HTTPS_PROXY's tunnel", async () => {
    const entra = await startEntra({
      tenant: "00000000-0000-0000-0000-0000000000aa",
      clientId: "11111111-0000-0000-0000-000000000001",
      clientSecret: "fake~azure~client~secret",
      issues: AZ_TOKEN,
    });
    const proxy = await startConnectProxy();
    try {
      const dir = project({
        "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [QUOTES]\n`,
      });
      azure.reset();
      const result = await tesseraAsync(["export", "--format", "json"], {
        cwd: dir,
        env: {
          NODE_EXTRA_CA_CERTS: tls.certFile,
          AZURE_AUTHORITY_HOST: entra.url,
          AZURE_TENANT_ID: "00000000-0000-0000-0000-0000000000aa",
          AZURE_CLIENT_ID: "11111111-0000-0000-0000-000000000001",
          AZURE_CLIENT_SECRET: "fake~azure~client~secret",
          HTTPS_PROXY: proxy.url,
          NO_PROXY: "127.0.0.1",
          HOME: project(),
        },
      });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(json(result.stdout), { QUOTES: TRICKY.QUOTES });
      assert.equal(entra.calls().length, 1);
      assert.ok(azure.calls().some((call) => call.headers.authorization === `Bearer ${AZ_TOKEN}`));
      assert.deepEqual(proxy.tunnels, [`localhost:${azure.port}`]);
      noLeak(result.stderr, "fake~azure~client~secret");
    } finally {
      await proxy.close();
      await entra.close();
    }
  });

  test("a certificate credential: @azure/identity when installed, else E_PROVIDER_MISSING (exit 5) naming npm i @azure/identity", async () => {
    const dir = project({
      "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [QUOTES]\n`,
    });
    const result = await tesseraAsync(["check"], {
      cwd: dir,
      env: {
        NODE_EXTRA_CA_CERTS: tls.certFile,
        AZURE_TENANT_ID: "00000000-0000-0000-0000-0000000000aa",
        AZURE_CLIENT_ID: "11111111-0000-0000-0000-000000000001",
        AZURE_CLIENT_CERTIFICATE_PATH: join(dir, "no-such-cert.pem"),
        AZURE_CLIENT_CERTIFICATE_PASSWORD: "fake-cert-password",
        HOME: project(),
      },
    });
    assert.equal(result.status, 5, result.stderr);
    if (installed("@azure/identity")) {
      // The library runs, and fails on the missing certificate file.
      assert.match(
        result.stderr,
        /E_SOURCE_AUTH.*azure-key-vault source "akv": a client certificate \(AZURE_CLIENT_CERTIFICATE_PATH\) \(@azure\/identity\)/,
      );
    } else {
      assert.match(
        result.stderr,
        /E_PROVIDER_MISSING.*azure-key-vault source "akv": a client certificate \(AZURE_CLIENT_CERTIFICATE_PATH\) needs @azure\/identity, which is not installed/,
      );
      assert.match(result.stderr, /hint: npm i @azure\/identity/);
    }
    noLeak(result.stderr, "fake-cert-password");
  });

  for (const [label, status, code] of [
    ["429 (throttled)", 429, "Throttled"],
    ["500", 500, "InternalServerError"],
    ["503", 503, "ServiceUnavailable"],
  ] as const) {
    test(`${label}, then the value: retried`, async () => {
      azure.reset();
      azure.inject({ status, body: { error: { code, message: "try again" } } });
      const dir = project({
        "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [UNICODE]\n`,
      });
      const result = await tesseraAsync(["export", "--format", "json"], { cwd: dir, env: env() });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(json(result.stdout), { UNICODE: TRICKY.UNICODE });
    });
  }

  test("500 on every attempt: E_SOURCE_FAILED after three attempts", async () => {
    azure.reset();
    azure.inject(
      { status: 500, body: { error: { code: "InternalServerError", message: "down" } } },
      { times: 10 },
    );
    const dir = project({
      "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [UNICODE]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: env() });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_FAILED.*azure-key-vault source "akv": secrets\/app-UNICODE: InternalServerError \(HTTP 500\)/,
    );
    assert.equal(azure.calls().length, 3);
  });

  test("timeout: 500ms and a vault that never answers: E_SOURCE_UNREACHABLE in bounded time", async () => {
    azure.reset();
    azure.inject({ hang: true }, { times: 10 });
    const dir = project({
      "tessera.yaml": `${source(azure, "prefix: app_, timeout: 500ms")}secrets:\n  required: [UNICODE]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: dir, env: env() });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_UNREACHABLE.*azure-key-vault source "akv": no answer within 500 ms/,
    );
    assert.ok(result.ms < 8000, `took ${result.ms} ms`);
  });

  test("connection refused, or a certificate not trusted: E_SOURCE_UNREACHABLE", async () => {
    const port = await closedPort();
    const refused = project({
      "tessera.yaml": `sources:\n  - { type: azure-key-vault, name: akv, vaultUrl: "https://localhost:${port}" }\nsecrets:\n  required: [X]\n`,
    });
    const result = await tesseraAsync(["check"], { cwd: refused, env: env() });
    assert.equal(result.status, 5, result.stderr);
    assert.match(
      result.stderr,
      /E_SOURCE_UNREACHABLE.*azure-key-vault source "akv": secrets\/X: cannot connect \(ECONNREFUSED\)/,
    );

    const untrusted = project({
      "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [UNICODE]\n`,
    });
    const tlsResult = await tesseraAsync(["check"], {
      cwd: untrusted,
      env: { AZURE_ACCESS_TOKEN: AZ_TOKEN },
    });
    assert.equal(tlsResult.status, 5, tlsResult.stderr);
    assert.match(tlsResult.stderr, /E_SOURCE_UNREACHABLE.*cannot verify the vault's TLS certificate/);
    noLeak(result.stderr + tlsResult.stderr);
  });

  test("an http:// vaultUrl or a name Key Vault cannot hold: E_SOURCE_INVALID (exit 4)", async () => {
    const http = project({
      "tessera.yaml":
        "sources:\n  - { type: azure-key-vault, name: akv, vaultUrl: http://vault.example }\nsecrets:\n  required: [X]\n",
    });
    const insecure = await tesseraAsync(["check"], { cwd: http, env: env() });
    assert.equal(insecure.status, 4, insecure.stderr);
    assert.match(insecure.stderr, /E_SOURCE_INVALID.*vaultUrl must be an https:\/\/ URL/);

    const badName = project({
      "tessera.yaml": `${source(azure)}secrets:\n  required:\n    - name: X\n      from: { source: akv, key: "has.dots" }\n`,
    });
    const bad = await tesseraAsync(["check"], { cwd: badName, env: env() });
    assert.equal(bad.status, 4, bad.stderr);
    // The catalog's key rule refuses it at the manifest line, before any request (check and build agree).
    assert.match(
      bad.stderr,
      /E_MANIFEST_INVALID.*tessera\.yaml:\d+:\d+: from: key "has\.dots" is not a Key Vault secret name/,
    );

    const plain = project({
      "tessera.yaml": `${source(azure)}secrets:\n  required:\n    - name: X\n      from: { source: akv, key: plain-text, property: x }\n`,
    });
    const notJson = await tesseraAsync(["check"], { cwd: plain, env: env() });
    assert.equal(notJson.status, 4, notJson.stderr);
    assert.match(notJson.stderr, /secrets\/plain-text is not JSON, so it has no property x/);
    noLeak(notJson.stderr, "not json");
  });

  test("AZURE_ACCESS_TOKEN does not reach a `tessera run` child unless declared", async () => {
    const dir = project({
      "tessera.yaml": `${source(azure, "prefix: app_")}secrets:\n  required: [UNICODE]\n`,
      "print.mjs": "process.stdout.write(JSON.stringify(process.env));\n",
    });
    const result = await tesseraAsync(["run", "--no-mask", "--", process.execPath, "print.mjs"], {
      cwd: dir,
      env: env(),
    });
    assert.equal(result.status, 0, result.stderr);
    const child = json(result.stdout);
    assert.equal(child.UNICODE, TRICKY.UNICODE);
    assert.ok(!("AZURE_ACCESS_TOKEN" in child));
  });
});
