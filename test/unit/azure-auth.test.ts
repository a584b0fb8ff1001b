/**
 * azure-key-vault without an Azure library: every credential source of src/providers/azure/auth.ts
 * against local fakes of what it talks to (Microsoft Entra's v2 token endpoint, IMDS, App Service's and
 * Cloud Shell's identity endpoints, the az tool through a fake tool runner), AZURE_TOKEN_CREDENTIALS,
 * @azure/identity used only when it is there (the missing-library kind otherwise), and the bearer
 * challenge's rules (a token only for a Key Vault scope).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type AzureAuthContext, azureCredential, type RunTool } from "../../src/providers/azure/auth.ts";
import { checkChallenge, parseChallenge } from "../../src/providers/azure/fetch.ts";
import { HttpClient } from "../../src/providers/cloud/http.ts";
import type { ToolOptions } from "../../src/providers/tool.ts";
import { isProviderError, type ProviderError } from "../../src/providers/types.ts";
import { project } from "../helpers.ts";
import { FakeServer, type Recorded, type Reply } from "../support/fake-stores.ts";

const SCOPE = "https://vault.azure.net/.default";
const TENANT = "00000000-0000-0000-0000-0000000000aa";
const CLIENT_ID = "11111111-2222-3333-4444-555555555555";
const CLIENT_SECRET = "fake~client~secret~value";
const FAKE_TOKEN = "eyJ0eXAiOiJKV1QifQ.fake-entra-token.sig";
const FEDERATED = "eyJhbGciOiJSUzI1NiJ9.fake-federated-service-account-token.sig";
const IDENTITY_HEADER = "fake-identity-header-value";

const clients: HttpClient[] = [];
after(() => {
  for (const client of clients) client.close();
});

const signal = () => new AbortController().signal;

/** A tool runner that must not be called (the az tool is not what the test is about). */
const noAz: RunTool = async () => {
  throw new Error("az was run");
};

function context(
  env: Record<string, string | undefined>,
  extra: Partial<AzureAuthContext> = {},
): AzureAuthContext {
  const http = new HttpClient(env);
  clients.push(http);
  return { env, cwd: project(), http, loadLibrary: async () => undefined, runTool: noAz, ...extra };
}

async function server(handle: (request: Recorded, reply: Reply) => void): Promise<FakeServer> {
  const fake = await new FakeServer(handle).start();
  after(() => fake.close());
  return fake;
}

function form(request: Recorded): Record<string, string> {
  assert.equal(request.headers["content-type"], "application/x-www-form-urlencoded");
  return Object.fromEntries(new URLSearchParams(request.body));
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

function noSecretIn(error: ProviderError): void {
  const text = `${error.message}\n${error.hint ?? ""}`;
  for (const secret of [CLIENT_SECRET, FAKE_TOKEN, FEDERATED, IDENTITY_HEADER]) {
    assert.ok(!text.includes(secret), `the message shows a secret: ${text}`);
  }
}

/** A fake Entra: POST /{tenant}/oauth2/v2.0/token, recording the forms. */
async function entra(answer?: (fields: Record<string, string>, reply: Reply) => void) {
  const forms: { path: string; fields: Record<string, string> }[] = [];
  const fake = await server((request, reply) => {
    assert.equal(request.method, "POST");
    const fields = form(request);
    forms.push({ path: request.path, fields });
    if (answer) return answer(fields, reply);
    reply.json(200, {
      token_type: "Bearer",
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: FAKE_TOKEN,
    });
  });
  return { fake, forms };
}

describe("Azure credentials", () => {
  test("AZURE_ACCESS_TOKEN as it is", async () => {
    const credential = azureCredential(context({ AZURE_ACCESS_TOKEN: FAKE_TOKEN }));
    assert.equal(await credential.token(SCOPE, signal()), FAKE_TOKEN);
  });

  test("a client secret: the client_credentials grant at AZURE_AUTHORITY_HOST's v2 endpoint; tenantId: wins over AZURE_TENANT_ID", async () => {
    const { fake, forms } = await entra();
    const env = {
      AZURE_AUTHORITY_HOST: `${fake.url}/`,
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_CLIENT_SECRET: CLIENT_SECRET,
    };
    assert.equal(await azureCredential(context(env)).token(SCOPE, signal()), FAKE_TOKEN);
    assert.deepEqual(forms[0], {
      path: `/${TENANT}/oauth2/v2.0/token`,
      fields: {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        scope: SCOPE,
        grant_type: "client_credentials",
      },
    });
    await azureCredential(context(env, { tenantId: "contoso.onmicrosoft.com" })).token(SCOPE, signal());
    assert.equal(forms[1]?.path, "/contoso.onmicrosoft.com/oauth2/v2.0/token");
  });

  test("Entra's refusal is an auth error in its words, the secret cut out even when echoed; a tenant that is not one is refused", async () => {
    const { fake } = await entra((_fields, reply) =>
      reply.json(401, {
        error: "invalid_client",
        error_description: `AADSTS7000215: Invalid client secret provided (${CLIENT_SECRET}).\r\nTrace ID: fake-trace`,
        error_codes: [7000215],
      }),
    );
    const env = {
      AZURE_AUTHORITY_HOST: fake.url,
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_CLIENT_SECRET: CLIENT_SECRET,
    };
    const error = await rejection(azureCredential(context(env)).token(SCOPE, signal()));
    assert.equal(error.kind, "auth");
    assert.match(
      error.message,
      /refused the client secret of 1111.*\(invalid_client: AADSTS7000215: Invalid client secret provided \(…\)\.\)$/,
    );
    noSecretIn(error);

    const bad = await rejection(
      azureCredential(context({ ...env, AZURE_TENANT_ID: "../evil" })).token(SCOPE, signal()),
    );
    assert.equal(bad.kind, "invalid");
  });

  test("workload identity: the federated token file as client_assertion", async () => {
    const { fake, forms } = await entra();
    const dir = project({ token: `${FEDERATED}\n` });
    const env = {
      AZURE_AUTHORITY_HOST: fake.url,
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_FEDERATED_TOKEN_FILE: join(dir, "token"),
    };
    assert.equal(await azureCredential(context(env)).token(SCOPE, signal()), FAKE_TOKEN);
    assert.deepEqual(forms[0]?.fields, {
      client_id: CLIENT_ID,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: FEDERATED,
      scope: SCOPE,
      grant_type: "client_credentials",
    });
    const missing = await rejection(
      azureCredential(context({ ...env, AZURE_FEDERATED_TOKEN_FILE: join(dir, "nope") })).token(
        SCOPE,
        signal(),
      ),
    );
    assert.match(missing.message, /federated token file .*nope cannot be read \(ENOENT\)/);
  });

  test("managed identity through IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST): Metadata: true, the resource, a user-assigned client_id", async () => {
    const seen: Recorded[] = [];
    const imds = await server((request, reply) => {
      seen.push(request);
      reply.json(200, {
        access_token: FAKE_TOKEN,
        expires_on: "1900000000",
        resource: "https://vault.azure.net",
        token_type: "Bearer",
      });
    });
    const only = {
      AZURE_TOKEN_CREDENTIALS: "ManagedIdentityCredential",
      AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url,
    };
    assert.equal(await azureCredential(context(only)).token(SCOPE, signal()), FAKE_TOKEN);
    assert.equal(seen[0]?.path, "/metadata/identity/oauth2/token");
    assert.equal(seen[0]?.headers.metadata, "true");
    assert.deepEqual(Object.fromEntries(seen[0]!.query), {
      "api-version": "2018-02-01",
      resource: "https://vault.azure.net",
    });
    await azureCredential(context({ ...only, AZURE_CLIENT_ID: CLIENT_ID })).token(SCOPE, signal());
    assert.equal(seen[1]?.query.get("client_id"), CLIENT_ID);
  });

  test("in the chain, IMDS without an identity (or silent past the probe) is skipped, and the Azure CLI answers", async () => {
    const imds = await server((_request, reply) =>
      reply.json(400, { error: "invalid_request", error_description: "Identity not found" }),
    );
    const runs: { command: string; args: readonly string[]; options: ToolOptions }[] = [];
    const az: RunTool = async (command, args, options) => {
      runs.push({ command, args, options });
      return {
        code: 0,
        signal: null,
        stdout: Buffer.from(
          JSON.stringify({
            accessToken: FAKE_TOKEN,
            expiresOn: "2030-01-01 00:00:00.000000",
            tenant: TENANT,
            tokenType: "Bearer",
          }),
        ),
        stderr: "",
      };
    };
    const env = { AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url, HOME: project() };
    assert.equal(
      await azureCredential(context(env, { runTool: az })).token(SCOPE, signal(), TENANT),
      FAKE_TOKEN,
    );
    assert.equal(imds.calls().length, 1, "IMDS was asked first");
    assert.equal(runs.length, 1);
    if (process.platform !== "win32") {
      assert.equal(runs[0]!.command, "az");
      assert.deepEqual(runs[0]!.args, [
        "account",
        "get-access-token",
        "--output",
        "json",
        "--resource",
        "https://vault.azure.net",
        "--tenant",
        TENANT,
      ]);
      assert.equal(runs[0]!.options.cwd, "/", "never an az from the project's directory");
    }
    assert.equal(runs[0]!.options.env.HOME, env.HOME, "the environment handed to the provider");

    // A silent IMDS: the probe gives up (after IMDS_PROBE_MS) and the chain goes on.
    const silent = await server(() => {});
    assert.equal(
      await azureCredential(
        context({ AZURE_POD_IDENTITY_AUTHORITY_HOST: silent.url }, { runTool: az }),
      ).token(SCOPE, signal()),
      FAKE_TOKEN,
    );
    assert.equal(silent.calls().length, 1, "IMDS was probed");
    assert.ok(!runs[1]!.args.includes("--tenant"), "no tenant known: none passed");
  });

  test("App Service / Container Apps (IDENTITY_ENDPOINT + IDENTITY_HEADER) and Cloud Shell (MSI_ENDPOINT)", async () => {
    const seen: Recorded[] = [];
    const endpoint = await server((request, reply) => {
      seen.push(request);
      reply.json(200, {
        access_token: FAKE_TOKEN,
        expires_on: "1900000000",
        resource: "https://vault.azure.net",
        token_type: "Bearer",
      });
    });
    const appService = {
      IDENTITY_ENDPOINT: `${endpoint.url}/msi/token`,
      IDENTITY_HEADER: IDENTITY_HEADER,
      AZURE_CLIENT_ID: CLIENT_ID,
    };
    assert.equal(await azureCredential(context(appService)).token(SCOPE, signal()), FAKE_TOKEN);
    assert.equal(seen[0]?.method, "GET");
    assert.equal(seen[0]?.path, "/msi/token");
    assert.equal(seen[0]?.headers["x-identity-header"], IDENTITY_HEADER);
    assert.deepEqual(Object.fromEntries(seen[0]!.query), {
      "api-version": "2019-08-01",
      resource: "https://vault.azure.net",
      client_id: CLIENT_ID,
    });

    assert.equal(
      await azureCredential(context({ MSI_ENDPOINT: `${endpoint.url}/oauth2/token` })).token(SCOPE, signal()),
      FAKE_TOKEN,
    );
    assert.equal(seen[1]?.method, "POST");
    assert.equal(seen[1]?.headers.metadata, "true");
    assert.deepEqual(form(seen[1]!), { resource: "https://vault.azure.net" });

    const refusing = await server((_request, reply) =>
      reply.json(500, { error: "unknown", error_description: "fake failure" }),
    );
    const error = await rejection(
      azureCredential(context({ IDENTITY_ENDPOINT: `${refusing.url}/msi/token`, IDENTITY_HEADER })).token(
        SCOPE,
        signal(),
      ),
    );
    assert.equal(error.kind, "failed");
    assert.ok(error.transient);
    noSecretIn(error);
  });

  test("the Azure CLI not logged in, or not installed: no Azure credential, each reason said, the hint names AZURE_ACCESS_TOKEN", async () => {
    const notLoggedIn: RunTool = async () => ({
      code: 1,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: "ERROR: Please run 'az login' to setup account.",
    });
    const error = await rejection(
      azureCredential(context({ AZURE_TOKEN_CREDENTIALS: "dev" }, { runTool: notLoggedIn })).token(
        SCOPE,
        signal(),
      ),
    );
    assert.equal(error.kind, "auth");
    assert.equal(error.message, "no Azure credential (the Azure CLI is not logged in)");
    assert.match(error.hint ?? "", /AZURE_ACCESS_TOKEN/);

    const notFound: RunTool = async (_command, _args, options) => {
      throw Object.assign(new Error(`${options.missing.what} was not found`), {
        name: "ProviderError",
        kind: "failed",
        transient: false,
      });
    };
    const none = await rejection(
      azureCredential(
        context({ AZURE_TOKEN_CREDENTIALS: "AzureCliCredential" }, { runTool: notFound }),
      ).token(SCOPE, signal()),
    );
    assert.equal(none.message, "no Azure credential (the Azure CLI (az) is not installed)");

    const env = await rejection(
      azureCredential(context({ AZURE_TOKEN_CREDENTIALS: "EnvironmentCredential" })).token(SCOPE, signal()),
    );
    assert.equal(env.message, "no Azure credential (AZURE_TENANT_ID and AZURE_CLIENT_ID are not both set)");

    const failing: RunTool = async () => ({
      code: 2,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: `ERROR: something ${FAKE_TOKEN}`,
    });
    const failed = await rejection(
      azureCredential(context({ AZURE_TOKEN_CREDENTIALS: "dev" }, { runTool: failing })).token(
        SCOPE,
        signal(),
      ),
    );
    assert.equal(failed.message, "the Azure CLI could not get a token (exit 2)");
    noSecretIn(failed);
  });

  test("AZURE_TOKEN_CREDENTIALS: an unknown name is invalid; prod never runs az", async () => {
    assert.throws(
      () => azureCredential(context({ AZURE_TOKEN_CREDENTIALS: "FakeCredential" })),
      (error: ProviderError) =>
        error.kind === "invalid" && /AZURE_TOKEN_CREDENTIALS=FakeCredential/.test(error.message),
    );
    const imds = await server((_request, reply) =>
      reply.json(400, { error: "invalid_request", error_description: "Identity not found" }),
    );
    const error = await rejection(
      azureCredential(
        context({ AZURE_TOKEN_CREDENTIALS: "prod", AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url }),
      ).token(SCOPE, signal()),
    );
    assert.match(
      error.message,
      /^no Azure credential \(AZURE_TENANT_ID .*; AZURE_FEDERATED_TOKEN_FILE.*; IMDS has no identity for this host \(HTTP 400\)\)$/,
    );
  });

  test("a certificate (and the credentials only @azure/identity has): the library when installed, else missing-library naming npm i @azure/identity", async () => {
    const env = {
      AZURE_TENANT_ID: TENANT,
      AZURE_CLIENT_ID: CLIENT_ID,
      AZURE_CLIENT_CERTIFICATE_PATH: "/fake/cert.pem",
      AZURE_CLIENT_CERTIFICATE_PASSWORD: "fake-cert-password",
    };
    const missing = await rejection(azureCredential(context(env)).token(SCOPE, signal()));
    assert.equal(missing.kind, "missing-library");
    assert.match(
      missing.message,
      /a client certificate \(AZURE_CLIENT_CERTIFICATE_PATH\) needs @azure\/identity, which is not installed/,
    );
    assert.match(missing.hint ?? "", /^npm i @azure\/identity\b/);

    const made: unknown[][] = [];
    const scopes: unknown[] = [];
    class ClientCertificateCredential {
      constructor(...args: unknown[]) {
        made.push(args);
      }
      async getToken(scope: string) {
        scopes.push(scope);
        return { token: FAKE_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
      }
    }
    const loaded: string[] = [];
    const library = async (name: string) => {
      loaded.push(name);
      return { ClientCertificateCredential };
    };
    assert.equal(
      await azureCredential(context(env, { loadLibrary: library })).token(SCOPE, signal()),
      FAKE_TOKEN,
    );
    assert.deepEqual(loaded, ["@azure/identity"]);
    assert.deepEqual(made, [
      [
        TENANT,
        CLIENT_ID,
        { certificatePath: "/fake/cert.pem", certificatePassword: "fake-cert-password" },
        { authorityHost: undefined },
      ],
    ]);
    assert.deepEqual(scopes, [SCOPE]);

    const azd = await rejection(
      azureCredential(context({ AZURE_TOKEN_CREDENTIALS: "AzureDeveloperCliCredential" })).token(
        SCOPE,
        signal(),
      ),
    );
    assert.equal(azd.kind, "missing-library");

    // A credential Tessera reads itself never loads the library.
    const { fake } = await entra();
    loaded.length = 0;
    await azureCredential(
      context(
        {
          AZURE_AUTHORITY_HOST: fake.url,
          AZURE_TENANT_ID: TENANT,
          AZURE_CLIENT_ID: CLIENT_ID,
          AZURE_CLIENT_SECRET: CLIENT_SECRET,
        },
        { loadLibrary: library },
      ),
    ).token(SCOPE, signal());
    assert.deepEqual(loaded, []);
  });
});

describe("the bearer challenge", () => {
  test("resource or scope, and the tenant of the authorization URI", () => {
    assert.deepEqual(
      parseChallenge(
        `Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`,
      ),
      { scope: SCOPE, tenant: TENANT },
    );
    assert.deepEqual(
      parseChallenge(
        `Bearer authorization_uri="https://login.microsoftonline.com/${TENANT}/oauth2/authorize", scope="https://vault.azure.net/.default"`,
      ),
      { scope: SCOPE, tenant: TENANT },
    );
    assert.deepEqual(parseChallenge('PoP nonce="x", Bearer resource="https://vault.azure.cn"'), {
      scope: "https://vault.azure.cn/.default",
    });
    assert.equal(parseChallenge('Basic realm="x"'), undefined);
    assert.equal(parseChallenge(undefined), undefined);
  });

  test("a token is handed only for a Key Vault scope, and a vault in a Key Vault domain only for its own", () => {
    const vault = new URL("https://fake-vault.vault.azure.net");
    checkChallenge({ scope: SCOPE }, vault);
    checkChallenge({ scope: SCOPE }, new URL("https://localhost:8443"));
    assert.throws(
      () => checkChallenge({ scope: "https://management.azure.com/.default" }, vault),
      /the vault asked for a token for https:\/\/management\.azure\.com\/\.default, which is not Key Vault's/,
    );
    assert.throws(
      () => checkChallenge({ scope: "https://vault.azure.cn/.default" }, vault),
      /which is not its own domain's/,
    );
  });
});
