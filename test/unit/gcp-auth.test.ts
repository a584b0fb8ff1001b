/**
 * gcp-secret-manager without a Google library: CRC32C against published vectors, and every credential
 * source of src/providers/gcp/auth.ts against local fakes of the endpoints it talks to (an OAuth 2.0
 * token endpoint, IAM Credentials, STS, the metadata server), the JWTs it signs verified with
 * node:crypto, and google-auth-library used only when it is there (E_PROVIDER_MISSING's kind otherwise).
 * Then a fetch through the REST fetcher from a service account key to the value.
 */
import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { pool, retry } from "../../src/layers/external.ts";
import { HttpClient } from "../../src/providers/cloud/http.ts";
import { type GcpAuthContext, googleCredential, SCOPE } from "../../src/providers/gcp/auth.ts";
import { crc32c } from "../../src/providers/gcp/crc32c.ts";
import { fetchSecrets, payloadBytes } from "../../src/providers/gcp/fetch.ts";
import {
  type Fetched,
  isProviderError,
  type ProviderContext,
  type ProviderError,
} from "../../src/providers/types.ts";
import { project } from "../helpers.ts";
import {
  FakeServer,
  crc32c as fakeCrc32c,
  type Recorded,
  type Reply,
  startGcp,
} from "../support/fake-stores.ts";

const { privateKey, publicKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const FAKE_TOKEN = "ya29.fake-issued-token-4711";
const REFRESH_TOKEN = "1//fake-refresh-token-0815";
const CLIENT_SECRET = "fake-client-secret-abcd";
const SUBJECT_TOKEN = "fake-subject-token-from-the-oidc-provider";

const clients: HttpClient[] = [];
after(() => {
  for (const client of clients) client.close();
});

function context(
  env: Record<string, string | undefined>,
  extra: Partial<GcpAuthContext> = {},
): GcpAuthContext {
  const http = new HttpClient(env);
  clients.push(http);
  return {
    env,
    cwd: project(),
    http,
    loadLibrary: async () => undefined,
    onGoogleCloud: () => false,
    ...extra,
  };
}

const signal = () => new AbortController().signal;

/** A JWT's parts, its RS256 signature checked against the test key. */
function verifiedJwt(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims, signature] = jwt.split(".");
  assert.ok(header && claims && signature, "three parts");
  assert.ok(
    verify(
      "sha256",
      Buffer.from(`${header}.${claims}`),
      createPublicKey(publicKey),
      Buffer.from(signature, "base64url"),
    ),
    "the RS256 signature verifies with the service account's public key",
  );
  return {
    header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
    claims: JSON.parse(Buffer.from(claims, "base64url").toString("utf8")),
  };
}

function form(request: Recorded): Record<string, string> {
  assert.equal(request.headers["content-type"], "application/x-www-form-urlencoded");
  return Object.fromEntries(new URLSearchParams(request.body));
}

async function server(handle: (request: Recorded, reply: Reply) => void): Promise<FakeServer> {
  const fake = await new FakeServer(handle).start();
  after(() => fake.close());
  return fake;
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isProviderError(error), `a ProviderError, not ${String(error)}`);
    return error;
  }
  assert.fail("it did not fail");
}

function noSecretIn(error: ProviderError, ...secrets: string[]): void {
  const text = `${error.message}\n${error.hint ?? ""}`;
  for (const secret of [FAKE_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, SUBJECT_TOKEN, ...secrets]) {
    assert.ok(!text.includes(secret), `the message shows a secret: ${text}`);
  }
  assert.ok(!/PRIVATE KEY/.test(text));
}

function found(fetched: Fetched | undefined): string | undefined {
  return fetched?.status === "found" ? fetched.value : undefined;
}

function keyFile(dir: string, json: Record<string, unknown>): string {
  const path = join(dir, "credentials.json");
  writeFileSync(path, JSON.stringify(json));
  return path;
}

describe("CRC32C", () => {
  test("the published check values (iSCSI, RFC 3720 B.4)", () => {
    assert.equal(crc32c(new Uint8Array()), 0);
    assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  });

  test("agrees with the fake server's own implementation on any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.equal(crc32c(bytes), fakeCrc32c(Buffer.from(bytes)));
      }),
    );
  });

  test("a payload whose dataCrc32c differs is refused (retried: it may be a corrupt transfer)", () => {
    const data = Buffer.from("fake-value");
    const answer = (checksum: unknown) => ({
      status: 200,
      headers: {},
      body: Buffer.from(JSON.stringify({ payload: { data: data.toString("base64"), dataCrc32c: checksum } })),
    });
    assert.deepEqual(Buffer.from(payloadBytes(answer(String(crc32c(data))), "n")), data);
    assert.deepEqual(
      Buffer.from(payloadBytes(answer(undefined), "n")),
      data,
      "no checksum: nothing to check",
    );
    assert.throws(
      () => payloadBytes(answer(String(crc32c(data) + 1)), "projects/p/secrets/s/versions/1"),
      (error: ProviderError) =>
        error.kind === "failed" &&
        error.transient &&
        /checksum does not match \(CRC32C\)/.test(error.message),
    );
  });
});

describe("Google credentials", () => {
  test("GOOGLE_OAUTH_ACCESS_TOKEN, then CLOUDSDK_AUTH_ACCESS_TOKEN, as they are", async () => {
    const both = await googleCredential(
      context({ GOOGLE_OAUTH_ACCESS_TOKEN: FAKE_TOKEN, CLOUDSDK_AUTH_ACCESS_TOKEN: "ya29.fake-other" }),
    );
    assert.equal(await both.token(signal()), FAKE_TOKEN);
    const cloudsdk = await googleCredential(context({ CLOUDSDK_AUTH_ACCESS_TOKEN: "ya29.fake-other" }));
    assert.equal(await cloudsdk.token(signal()), "ya29.fake-other");
  });

  test("service_account: an RS256 JWT (kid, iss, scope, aud = token_uri) exchanged with the jwt-bearer grant", async () => {
    const seen: Record<string, string>[] = [];
    const endpoint = await server((request, reply) => {
      assert.equal(request.method, "POST");
      assert.equal(request.path, "/token");
      seen.push(form(request));
      reply.json(200, { access_token: FAKE_TOKEN, expires_in: 3599, token_type: "Bearer" });
    });
    const dir = project();
    const path = keyFile(dir, {
      type: "service_account",
      project_id: "fake-project",
      private_key_id: "fake-key-id-1",
      private_key: privateKey,
      client_email: "fake@fake-project.iam.gserviceaccount.com",
      client_id: "123",
      token_uri: `${endpoint.url}/token`,
    });
    const before = Math.floor(Date.now() / 1000);
    const credential = await googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: path, HOME: dir }));
    assert.equal(await credential.token(signal()), FAKE_TOKEN);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.grant_type, "urn:ietf:params:oauth:grant-type:jwt-bearer");
    const { header, claims } = verifiedJwt(seen[0]!.assertion!);
    assert.deepEqual(header, { alg: "RS256", typ: "JWT", kid: "fake-key-id-1" });
    assert.equal(claims.iss, "fake@fake-project.iam.gserviceaccount.com");
    assert.equal(claims.scope, SCOPE);
    assert.equal(claims.aud, `${endpoint.url}/token`);
    assert.ok(Number(claims.iat) >= before - 1 && Number(claims.exp) === Number(claims.iat) + 3600);
    assert.equal(credential.universe, "googleapis.com");
  });

  test("service_account in another universe: a self-signed JWT for the API, no token endpoint", async () => {
    const dir = project();
    const path = keyFile(dir, {
      type: "service_account",
      private_key_id: "fake-key-id-2",
      private_key: privateKey,
      client_email: "fake@fake-project.iam.example",
      token_uri: "http://127.0.0.1:9/never-called",
      universe_domain: "fake-universe.example",
    });
    const credential = await googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: path }));
    assert.equal(credential.universe, "fake-universe.example");
    const { header, claims } = verifiedJwt(await credential.token(signal()));
    assert.equal(header.kid, "fake-key-id-2");
    assert.equal(claims.iss, "fake@fake-project.iam.example");
    assert.equal(claims.sub, "fake@fake-project.iam.example");
    assert.equal(claims.aud, "https://secretmanager.fake-universe.example/");
  });

  test("the well-known file (~/.config/gcloud/…, or CLOUDSDK_CONFIG) with authorized_user: the refresh_token grant and its quota project", async () => {
    const seen: Record<string, string>[] = [];
    const endpoint = await server((request, reply) => {
      seen.push(form(request));
      reply.json(200, { access_token: FAKE_TOKEN, expires_in: 3599, token_type: "Bearer", scope: SCOPE });
    });
    const user = {
      type: "authorized_user",
      client_id: "fake-client.apps.googleusercontent.com",
      client_secret: CLIENT_SECRET,
      refresh_token: REFRESH_TOKEN,
      quota_project_id: "fake-quota-project",
      token_uri: `${endpoint.url}/token`,
    };
    const home = project({ ".config/gcloud/application_default_credentials.json": JSON.stringify(user) });
    const credential = await googleCredential(context({ HOME: home }));
    assert.equal(await credential.token(signal()), FAKE_TOKEN);
    assert.deepEqual(seen[0], {
      grant_type: "refresh_token",
      client_id: "fake-client.apps.googleusercontent.com",
      client_secret: CLIENT_SECRET,
      refresh_token: REFRESH_TOKEN,
    });
    assert.deepEqual(credential.headers, { "x-goog-user-project": "fake-quota-project" });

    const config = project({ "application_default_credentials.json": JSON.stringify(user) });
    const viaConfig = await googleCredential(
      context({ HOME: project(), CLOUDSDK_CONFIG: config, GOOGLE_CLOUD_QUOTA_PROJECT: "fake-env-quota" }),
    );
    assert.equal(await viaConfig.token(signal()), FAKE_TOKEN);
    assert.deepEqual(viaConfig.headers, { "x-goog-user-project": "fake-env-quota" }, "the variable wins");
  });

  test("the token endpoint's refusal is an auth error in its words, without any secret", async () => {
    const endpoint = await server((_request, reply) =>
      reply.json(400, {
        error: "invalid_grant",
        error_description: `Bad Request: token ${REFRESH_TOKEN} has been expired or revoked.`,
      }),
    );
    const path = keyFile(project(), {
      type: "authorized_user",
      client_id: "fake-client",
      client_secret: CLIENT_SECRET,
      refresh_token: REFRESH_TOKEN,
      token_uri: `${endpoint.url}/token`,
    });
    const credential = await googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: path }));
    const error = await rejection(credential.token(signal()));
    assert.equal(error.kind, "auth");
    assert.match(
      error.message,
      /refused the user credentials .*invalid_grant: Bad Request: token … has been expired/,
    );
    assert.match(error.hint ?? "", /gcloud auth application-default login/);
    noSecretIn(error);

    const busy = await server((_request, reply) => reply.json(503, { error: "temporarily_unavailable" }));
    const path2 = keyFile(project(), {
      type: "authorized_user",
      client_id: "fake-client",
      client_secret: CLIENT_SECRET,
      refresh_token: REFRESH_TOKEN,
      token_uri: `${busy.url}/token`,
    });
    const transient = await rejection(
      (await googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: path2 }))).token(signal()),
    );
    assert.equal(transient.kind, "failed");
    assert.ok(transient.transient, "a 5xx is retried");
  });

  test("a service account key Node cannot read: auth, no key shown", async () => {
    const broken = `${privateKey.slice(0, 400)}\n-----END PRIVATE KEY-----\n`;
    const path = keyFile(project(), {
      type: "service_account",
      private_key: broken,
      client_email: "fake@fake-project.iam.gserviceaccount.com",
      token_uri: "http://127.0.0.1:9/token",
    });
    const credential = await googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: path }));
    const error = await rejection(credential.token(signal()));
    assert.equal(error.kind, "auth");
    assert.match(error.message, /private_key is not a key Node can read/);
    const body = privateKey.replace(/-----[A-Z ]+-----|\s/g, "");
    for (let at = 0; at + 16 <= body.length; at += 8)
      assert.ok(!error.message.includes(body.slice(at, at + 16)));
  });

  test("impersonated_service_account: the source's token, then generateAccessToken with scope and delegates", async () => {
    const calls: Recorded[] = [];
    const endpoint = await server((request, reply) => {
      calls.push(request);
      if (request.path === "/token") return reply.json(200, { access_token: "ya29.fake-source-token" });
      assert.equal(
        request.path,
        "/v1/projects/-/serviceAccounts/target@fake.iam.gserviceaccount.com:generateAccessToken",
      );
      assert.equal(request.headers.authorization, "Bearer ya29.fake-source-token");
      assert.deepEqual(JSON.parse(request.body), {
        scope: [SCOPE],
        delegates: ["projects/-/serviceAccounts/middle@fake.iam.gserviceaccount.com"],
        lifetime: "3600s",
      });
      reply.json(200, { accessToken: FAKE_TOKEN, expireTime: "2030-01-01T00:00:00Z" });
    });
    const path = keyFile(project(), {
      type: "impersonated_service_account",
      service_account_impersonation_url: `${endpoint.url}/v1/projects/-/serviceAccounts/target@fake.iam.gserviceaccount.com:generateAccessToken`,
      delegates: ["projects/-/serviceAccounts/middle@fake.iam.gserviceaccount.com"],
      source_credentials: {
        type: "authorized_user",
        client_id: "fake-client",
        client_secret: CLIENT_SECRET,
        refresh_token: REFRESH_TOKEN,
        token_uri: `${endpoint.url}/token`,
      },
    });
    const credential = await googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: path }));
    assert.match(credential.label, /target@fake\.iam\.gserviceaccount\.com/);
    assert.equal(await credential.token(signal()), FAKE_TOKEN);
    assert.equal(calls.length, 2);

    const refusing = await server((request, reply) =>
      request.path === "/token"
        ? reply.json(200, { access_token: "ya29.fake-source-token" })
        : reply.json(403, {
            error: {
              code: 403,
              status: "PERMISSION_DENIED",
              message: "Permission 'iam.serviceAccounts.getAccessToken' denied",
            },
          }),
    );
    const path2 = keyFile(project(), {
      type: "impersonated_service_account",
      service_account_impersonation_url: `${refusing.url}/v1/projects/-/serviceAccounts/t@fake.iam.gserviceaccount.com:generateAccessToken`,
      source_credentials: {
        type: "authorized_user",
        client_id: "c",
        client_secret: CLIENT_SECRET,
        refresh_token: REFRESH_TOKEN,
        token_uri: `${refusing.url}/token`,
      },
    });
    const error = await rejection(
      (await googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: path2 }))).token(signal()),
    );
    assert.equal(error.kind, "auth");
    assert.match(error.hint ?? "", /serviceAccountTokenCreator/);
    noSecretIn(error, "ya29.fake-source-token");
  });

  test("external_account from a file: the STS token exchange; from a URL (JSON): then impersonation", async () => {
    const calls: Recorded[] = [];
    const endpoint = await server((request, reply) => {
      calls.push(request);
      if (request.path === "/oidc") {
        assert.equal(request.headers.metadata, "True");
        return reply.json(200, { value: SUBJECT_TOKEN });
      }
      if (request.path === "/v1/token") {
        const fields = form(request);
        assert.deepEqual(
          {
            ...fields,
            subject_token:
              fields.subject_token === SUBJECT_TOKEN ? "(the subject token)" : fields.subject_token,
          },
          {
            grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
            audience:
              "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/fake-pool/providers/fake",
            scope: SCOPE,
            requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
            subject_token: "(the subject token)",
            subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
          },
        );
        return reply.json(200, {
          access_token: "ya29.fake-federated",
          issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
          token_type: "Bearer",
          expires_in: 3600,
        });
      }
      assert.equal(request.headers.authorization, "Bearer ya29.fake-federated");
      assert.deepEqual(JSON.parse(request.body), { scope: [SCOPE], lifetime: "1200s" });
      reply.json(200, { accessToken: FAKE_TOKEN, expireTime: "2030-01-01T00:00:00Z" });
    });
    const base = {
      type: "external_account",
      audience:
        "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/fake-pool/providers/fake",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: `${endpoint.url}/v1/token`,
    };
    const dir = project({ "oidc-token": `${SUBJECT_TOKEN}\n` });
    const fromFile = await googleCredential(
      context({
        GOOGLE_APPLICATION_CREDENTIALS: keyFile(dir, {
          ...base,
          credential_source: { file: join(dir, "oidc-token") },
        }),
      }),
    );
    assert.equal(await fromFile.token(signal()), "ya29.fake-federated", "no impersonation: the STS token");

    const fromUrl = await googleCredential(
      context({
        GOOGLE_APPLICATION_CREDENTIALS: keyFile(project(), {
          ...base,
          credential_source: {
            url: `${endpoint.url}/oidc`,
            headers: { Metadata: "True" },
            format: { type: "json", subject_token_field_name: "value" },
          },
          service_account_impersonation_url: `${endpoint.url}/v1/projects/-/serviceAccounts/wif@fake.iam.gserviceaccount.com:generateAccessToken`,
          service_account_impersonation: { token_lifetime_seconds: 1200 },
        }),
      }),
    );
    assert.equal(await fromUrl.token(signal()), FAKE_TOKEN);
    assert.deepEqual(
      calls.map((call) => call.path),
      [
        "/v1/token",
        "/oidc",
        "/v1/token",
        "/v1/projects/-/serviceAccounts/wif@fake.iam.gserviceaccount.com:generateAccessToken",
      ],
    );
  });

  test("a credential type Tessera does not read: google-auth-library when installed, else missing-library naming npm i google-auth-library", async () => {
    const aws = {
      type: "external_account",
      audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/aws",
      subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: {
        environment_id: "aws1",
        regional_cred_verification_url:
          "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
      },
    };
    const path = keyFile(project(), aws);
    const missing = await rejection(googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: path })));
    assert.equal(missing.kind, "missing-library");
    assert.match(
      missing.message,
      /an external_account credential from AWS, which needs google-auth-library, and it is not installed/,
    );
    assert.match(missing.hint ?? "", /^npm i google-auth-library\b/);

    const asked: unknown[] = [];
    class GoogleAuth {
      constructor(options: { credentials: unknown; scopes: string[] }) {
        asked.push(options);
      }
      async getAccessToken() {
        return FAKE_TOKEN;
      }
    }
    const loaded: string[] = [];
    const credential = await googleCredential(
      context(
        { GOOGLE_APPLICATION_CREDENTIALS: path },
        {
          loadLibrary: async (name) => {
            loaded.push(name);
            return { GoogleAuth };
          },
        },
      ),
    );
    assert.equal(await credential.token(signal()), FAKE_TOKEN);
    assert.deepEqual(loaded, ["google-auth-library"]);
    assert.deepEqual(asked, [{ credentials: aws, scopes: [SCOPE] }]);

    // A credential Tessera reads itself never loads the library.
    const native = keyFile(project(), {
      type: "authorized_user",
      client_id: "c",
      client_secret: CLIENT_SECRET,
      refresh_token: REFRESH_TOKEN,
    });
    loaded.length = 0;
    await googleCredential(
      context(
        { GOOGLE_APPLICATION_CREDENTIALS: native },
        {
          loadLibrary: async (name) => {
            loaded.push(name);
            return undefined;
          },
        },
      ),
    );
    assert.deepEqual(loaded, []);
  });

  test("the metadata server (GCE_METADATA_HOST): Metadata-Flavor both ways, the scope asked for", async () => {
    let answer: "ok" | "no-flavor" | "404" = "ok";
    const metadata = await server((request, reply) => {
      assert.equal(request.path, "/computeMetadata/v1/instance/service-accounts/default/token");
      assert.equal(request.headers["metadata-flavor"], "Google");
      assert.equal(request.query.get("scopes"), SCOPE);
      if (answer === "404") return reply.json(404, "Not Found", { "metadata-flavor": "Google" });
      reply.json(
        200,
        { access_token: FAKE_TOKEN, expires_in: 3599, token_type: "Bearer" },
        answer === "ok" ? { "metadata-flavor": "Google" } : {},
      );
    });
    const env = { HOME: project(), GCE_METADATA_HOST: `127.0.0.1:${metadata.port}` };
    const credential = await googleCredential(context(env));
    assert.equal(credential.label, "the metadata server");
    assert.equal(await credential.token(signal()), FAKE_TOKEN);

    answer = "no-flavor";
    const impostor = await rejection((await googleCredential(context(env))).token(signal()));
    assert.equal(impostor.kind, "auth");
    assert.match(impostor.message, /is not a metadata server/);
    noSecretIn(impostor);

    answer = "404";
    const none = await rejection((await googleCredential(context(env))).token(signal()));
    assert.match(none.message, /no service account for this instance/);
  });

  test("no credentials at all: auth, naming what was looked for, with the hint", async () => {
    const home = project();
    for (const env of [
      { HOME: home, METADATA_SERVER_DETECTION: "none" },
      { HOME: home, METADATA_SERVER_DETECTION: "bios-only" },
    ]) {
      const error = await rejection(googleCredential(context(env)));
      assert.equal(error.kind, "auth");
      assert.match(
        error.message,
        /^no Google credentials \(GOOGLE_APPLICATION_CREDENTIALS is not set, .*application_default_credentials\.json does not exist/,
      );
      assert.match(error.hint ?? "", /GOOGLE_OAUTH_ACCESS_TOKEN/);
    }
    const named = await rejection(
      googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: "/nonexistent/fake-adc.json" })),
    );
    assert.match(
      named.message,
      /^no Google credentials \(GOOGLE_APPLICATION_CREDENTIALS \(\/nonexistent\/fake-adc\.json\) cannot be read: ENOENT\)/,
    );
    const notJson = keyFile(project(), {});
    writeFileSync(notJson, "not json");
    assert.match(
      (await rejection(googleCredential(context({ GOOGLE_APPLICATION_CREDENTIALS: notJson })))).message,
      /is not JSON/,
    );
  });
});

describe("the REST fetcher", () => {
  let gcp: FakeServer;
  let tokens: FakeServer;
  before(async () => {
    gcp = await startGcp({
      token: FAKE_TOKEN,
      projects: { "fake-project": { API_KEY: ["fake-v1", "fake-api-key-v2"] } },
    });
    tokens = await new FakeServer((_request, reply) =>
      reply.json(200, { access_token: FAKE_TOKEN, expires_in: 3599 }),
    ).start();
  });
  after(async () => {
    await gcp.close();
    await tokens.close();
  });

  function providerContext(
    env: Record<string, string | undefined>,
    settings: Record<string, string>,
  ): ProviderContext {
    return {
      source: {
        type: "gcp-secret-manager",
        name: "gsm",
        settings,
        declaredAt: { file: "tessera.yaml", line: 1 },
      },
      env,
      dir: project(),
      cwd: project(),
      timeoutMs: 5000,
      pool: (items, fn) => pool(items, 8, fn),
      retry: (fn) => retry(fn, 5000),
      identities: async () => undefined,
    };
  }

  test("a service account key to a value: one token, then AccessSecretVersion with it", async () => {
    const path = keyFile(project(), {
      type: "service_account",
      private_key: privateKey,
      client_email: "fake@fake-project.iam.gserviceaccount.com",
      token_uri: `${tokens.url}/token`,
    });
    gcp.reset();
    const out = await fetchSecrets(
      [
        { id: "API_KEY", key: "API_KEY", searched: true },
        { id: "OLD", key: "projects/fake-project/secrets/API_KEY/versions/1", searched: false },
        { id: "NOPE", key: "NOPE", searched: true },
      ],
      providerContext(
        { GOOGLE_APPLICATION_CREDENTIALS: path },
        { project: "fake-project", endpoint: gcp.url },
      ),
      { onGoogleCloud: () => false },
    );
    assert.deepEqual(Object.fromEntries(out), {
      API_KEY: {
        status: "found",
        value: "fake-api-key-v2",
        where: "projects/fake-project/secrets/API_KEY/versions/latest",
      },
      OLD: { status: "found", value: "fake-v1", where: "projects/fake-project/secrets/API_KEY/versions/1" },
      NOPE: { status: "missing", where: "projects/fake-project/secrets/NOPE/versions/latest" },
    });
    assert.equal(gcp.calls().length, 3);
    assert.ok(gcp.calls().every((call) => call.headers.authorization === `Bearer ${FAKE_TOKEN}`));
  });

  test("HTTP_PROXY carries plain http requests; NO_PROXY keeps a host off it", async () => {
    const proxied: string[] = [];
    const proxy = await server((request, reply) => {
      proxied.push(`${request.method} ${request.path}`);
      reply.json(200, { payload: { data: Buffer.from("fake-via-proxy").toString("base64") } });
    });
    const settings = { project: "fake-project", endpoint: gcp.url };
    const viaProxy = await fetchSecrets(
      [{ id: "X", key: "API_KEY", searched: true }],
      providerContext({ GOOGLE_OAUTH_ACCESS_TOKEN: FAKE_TOKEN, HTTP_PROXY: proxy.url }, settings),
    );
    assert.equal(found(viaProxy.get("X")), "fake-via-proxy");
    assert.deepEqual(proxied, ["GET /v1/projects/fake-project/secrets/API_KEY/versions/latest:access"]);
    const direct = await fetchSecrets(
      [{ id: "X", key: "API_KEY", searched: true }],
      providerContext(
        { GOOGLE_OAUTH_ACCESS_TOKEN: FAKE_TOKEN, HTTP_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" },
        settings,
      ),
    );
    assert.equal(found(direct.get("X")), "fake-api-key-v2");
    assert.equal(proxied.length, 1);
  });
});
