/**
 * The AWS credential chain without the SDK (src/providers/aws/credentials.ts), each source against a
 * fake HTTP server on loopback (STS, the container endpoint, the instance metadata service) or a fake
 * command, and the chain's order. Every credential here is an obvious fake.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { loadSharedConfig, type SharedConfig } from "../../src/providers/aws/config-files.ts";
import { type ChainContext, defaultCredentials } from "../../src/providers/aws/credentials.ts";
import { CredentialsError } from "../../src/providers/aws/errors.ts";
import { Agents } from "../../src/providers/aws/http.ts";
import { isProviderError } from "../../src/providers/types.ts";
import { project } from "../helpers.ts";

type Env = Record<string, string | undefined>;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

interface Fake {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

const servers: Fake[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

/** A loopback HTTP server answering with `answer` and recording every request. */
async function fake(answer: (seen: Seen, response: ServerResponse) => void): Promise<Fake> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      seen.push(entry);
      answer(entry, response);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const handle: Fake = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
  servers.push(handle);
  return handle;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

const STS_ANSWER = (action: string, keyId: string) =>
  `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result><Credentials>` +
  `<AccessKeyId>${keyId}</AccessKeyId><SecretAccessKey>fake-assumed-secret</SecretAccessKey>` +
  `<SessionToken>fake-assumed-token&amp;more</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>` +
  `</Credentials></${action}Result></${action}Response>`;

/** A fake STS: AssumeRole and AssumeRoleWithWebIdentity answer credentials named after the role. */
function fakeSts(): Promise<Fake> {
  return fake((seen, response) => {
    const form = new URLSearchParams(seen.body);
    const action = form.get("Action") ?? "";
    if (form.get("RoleArn")?.includes("forbidden")) {
      response.writeHead(403, { "content-type": "text/xml" });
      response.end(
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/fake is not authorized to perform: sts:AssumeRole</Message></Error></ErrorResponse>",
      );
      return;
    }
    const role = form.get("RoleArn")?.split("/").pop()?.toUpperCase() ?? "NONE";
    response.writeHead(200, { "content-type": "text/xml" });
    response.end(STS_ANSWER(action, `ASIAFAKE${role}`));
  });
}

/** An environment with nothing AWS in it but a private HOME (and IMDS off unless asked). */
function baseEnv(extra: Env = {}): Env {
  return { HOME: project(), AWS_EC2_METADATA_DISABLED: "true", ...extra };
}

function context(env: Env, extra: Partial<ChainContext> = {}): ChainContext {
  const config: SharedConfig = loadSharedConfig(env);
  return { env, region: "us-east-1", config, agents: new Agents(), ...extra };
}

async function credentials(env: Env, extra: Partial<ChainContext> = {}) {
  const chain = context(env, extra);
  try {
    return await defaultCredentials(chain);
  } finally {
    chain.agents.destroy();
  }
}

async function refused(env: Env, extra: Partial<ChainContext> = {}): Promise<Error> {
  try {
    await credentials(env, extra);
  } catch (error) {
    return error as Error;
  }
  assert.fail("credentials were found");
}

/** A HOME with these files under .aws/. */
function home(files: { credentials?: string; config?: string }): string {
  return project({
    ...(files.credentials === undefined ? {} : { ".aws/credentials": files.credentials }),
    ...(files.config === undefined ? {} : { ".aws/config": files.config }),
  });
}

describe("environment", () => {
  test("AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, with AWS_SESSION_TOKEN or the older AWS_SECURITY_TOKEN", async () => {
    assert.deepEqual(
      await credentials(
        baseEnv({ AWS_ACCESS_KEY_ID: "AKIAFAKEENV", AWS_SECRET_ACCESS_KEY: "fake-env-secret" }),
      ),
      { accessKeyId: "AKIAFAKEENV", secretAccessKey: "fake-env-secret" },
    );
    const withToken = await credentials(
      baseEnv({
        AWS_ACCESS_KEY_ID: "ASIAFAKEENV",
        AWS_SECRET_ACCESS_KEY: "fake-env-secret",
        AWS_SECURITY_TOKEN: "fake-legacy-token",
      }),
    );
    assert.equal(withToken.sessionToken, "fake-legacy-token");
  });

  test("no credentials anywhere: a CredentialsError saying where it looked, no secret in it", async () => {
    const error = await refused(baseEnv({ AWS_PROFILE: "nowhere" }));
    assert.ok(error instanceof CredentialsError);
    assert.match(error.message, /^no AWS credentials \(/);
    assert.match(error.message, /no profile nowhere in .*credentials or .*config/);
  });
});

describe("shared files", () => {
  test("the default profile of ~/.aws/credentials; AWS_PROFILE picks another; comments and sub-properties", async () => {
    const dir = home({
      credentials: [
        "# a comment",
        "[default]",
        "aws_access_key_id = AKIAFAKEDEFAULT ; inline comment",
        "aws_secret_access_key = fake-default-secret",
        "[work]",
        "aws_access_key_id=AKIAFAKEWORK",
        "aws_secret_access_key=fake-work-secret",
        "aws_session_token=fake-work-token",
        "",
      ].join("\n"),
      config: "[profile work]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 20\n",
    });
    assert.equal((await credentials(baseEnv({ HOME: dir }))).accessKeyId, "AKIAFAKEDEFAULT");
    assert.deepEqual(await credentials(baseEnv({ HOME: dir, AWS_PROFILE: "work" })), {
      accessKeyId: "AKIAFAKEWORK",
      secretAccessKey: "fake-work-secret",
      sessionToken: "fake-work-token",
    });
    const config = loadSharedConfig({ HOME: dir, AWS_PROFILE: "work" });
    assert.equal(config.profiles.get("work")?.region, "eu-west-1");
    assert.equal(config.profiles.get("work")?.["s3.max_concurrent_requests"], "20");
  });

  test("keys in the config file's [profile x]; the credentials file wins for the same profile; a plain [x] in the config file is no profile", async () => {
    const dir = home({
      config: [
        "[profile dev]",
        "aws_access_key_id = AKIAFAKECONFIG",
        "aws_secret_access_key = fake-config-secret",
        "[plain]",
        "aws_access_key_id = AKIAFAKEPLAIN",
        "aws_secret_access_key = fake-plain-secret",
      ].join("\n"),
    });
    assert.equal(
      (await credentials(baseEnv({ HOME: dir, AWS_PROFILE: "dev" }))).accessKeyId,
      "AKIAFAKECONFIG",
    );
    await refused(baseEnv({ HOME: dir, AWS_PROFILE: "plain" }));
    const both = home({
      config:
        "[profile dev]\naws_access_key_id = AKIAFAKECONFIG\naws_secret_access_key = fake-config-secret\n",
      credentials: "[dev]\naws_access_key_id = AKIAFAKECREDS\naws_secret_access_key = fake-creds-secret\n",
    });
    assert.equal(
      (await credentials(baseEnv({ HOME: both, AWS_PROFILE: "dev" }))).accessKeyId,
      "AKIAFAKECREDS",
    );
  });

  test("AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE name the files (HOME's are not read)", async () => {
    const elsewhere = project({
      "creds.ini": "[default]\naws_access_key_id = AKIAFAKEFILE\naws_secret_access_key = fake-file-secret\n",
      "conf.ini":
        "[profile other]\naws_access_key_id = AKIAFAKECONF\naws_secret_access_key = fake-conf-secret\n",
    });
    const dir = home({
      credentials: "[default]\naws_access_key_id = AKIAFAKEHOME\naws_secret_access_key = x\n",
    });
    const env = baseEnv({
      HOME: dir,
      AWS_SHARED_CREDENTIALS_FILE: `${elsewhere}/creds.ini`,
      AWS_CONFIG_FILE: `${elsewhere}/conf.ini`,
    });
    assert.equal((await credentials(env)).accessKeyId, "AKIAFAKEFILE");
    assert.equal((await credentials({ ...env, AWS_PROFILE: "other" })).accessKeyId, "AKIAFAKECONF");
  });

  test("role_arn + source_profile: STS AssumeRole signed with the source's keys, with the profile's settings", async () => {
    const sts = await fakeSts();
    const dir = home({
      credentials: "[base]\naws_access_key_id = AKIAFAKEBASE\naws_secret_access_key = fake-base-secret\n",
      config: [
        "[profile deploy]",
        "role_arn = arn:aws:iam::123456789012:role/deployer",
        "source_profile = base",
        "role_session_name = fake-session",
        "external_id = fake-external-id",
        "duration_seconds = 900",
        "region = eu-central-1",
      ].join("\n"),
    });
    const found = await credentials(
      baseEnv({ HOME: dir, AWS_PROFILE: "deploy", AWS_ENDPOINT_URL_STS: sts.url }),
    );
    assert.deepEqual(found, {
      accessKeyId: "ASIAFAKEDEPLOYER",
      secretAccessKey: "fake-assumed-secret",
      sessionToken: "fake-assumed-token&more",
      expiration: new Date("2099-01-01T00:00:00Z"),
    });
    assert.equal(sts.seen.length, 1);
    const [call] = sts.seen;
    const form = new URLSearchParams(call!.body);
    assert.deepEqual(Object.fromEntries(form), {
      Action: "AssumeRole",
      RoleArn: "arn:aws:iam::123456789012:role/deployer",
      RoleSessionName: "fake-session",
      ExternalId: "fake-external-id",
      DurationSeconds: "900",
      Version: "2011-06-15",
    });
    assert.match(
      String(call!.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=AKIAFAKEBASE\/[0-9]{8}\/eu-central-1\/sts\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });

  test("a chain of roles (each source assumed first); a profile that is its own source uses its keys; cycles and missing sources refused", async () => {
    const sts = await fakeSts();
    const dir = home({
      credentials: "[root]\naws_access_key_id = AKIAFAKEROOT\naws_secret_access_key = fake-root-secret\n",
      config: [
        "[profile first]",
        "role_arn = arn:aws:iam::123456789012:role/first",
        "source_profile = root",
        "[profile second]",
        "role_arn = arn:aws:iam::123456789012:role/second",
        "source_profile = first",
        "[profile self]",
        "role_arn = arn:aws:iam::123456789012:role/self",
        "source_profile = self",
        "aws_access_key_id = AKIAFAKESELF",
        "aws_secret_access_key = fake-self-secret",
        "[profile loop-a]",
        "role_arn = arn:aws:iam::123456789012:role/a",
        "source_profile = loop-b",
        "[profile loop-b]",
        "role_arn = arn:aws:iam::123456789012:role/b",
        "source_profile = loop-a",
        "[profile orphan]",
        "role_arn = arn:aws:iam::123456789012:role/orphan",
        "source_profile = missing",
        "[profile mfa]",
        "role_arn = arn:aws:iam::123456789012:role/mfa",
        "source_profile = root",
        "mfa_serial = arn:aws:iam::123456789012:mfa/fake",
        "[profile denied]",
        "role_arn = arn:aws:iam::123456789012:role/forbidden",
        "source_profile = root",
      ].join("\n"),
    });
    const env = (profile: string) =>
      baseEnv({ HOME: dir, AWS_PROFILE: profile, AWS_ENDPOINT_URL_STS: sts.url });

    assert.equal((await credentials(env("second"))).accessKeyId, "ASIAFAKESECOND");
    const [firstCall, secondCall] = sts.seen.splice(0);
    assert.match(new URLSearchParams(firstCall!.body).get("RoleArn")!, /role\/first$/);
    assert.match(String(firstCall!.headers.authorization), /Credential=AKIAFAKEROOT\//);
    assert.match(new URLSearchParams(secondCall!.body).get("RoleArn")!, /role\/second$/);
    assert.match(String(secondCall!.headers.authorization), /Credential=ASIAFAKEFIRST\//);
    assert.match(String(secondCall!.headers["x-amz-security-token"]), /^fake-assumed-token&more$/);

    assert.equal((await credentials(env("self"))).accessKeyId, "ASIAFAKESELF");
    assert.match(String(sts.seen.splice(0)[0]!.headers.authorization), /Credential=AKIAFAKESELF\//);

    const loop = await refused(env("loop-a"));
    assert.ok(loop instanceof CredentialsError);
    assert.match(loop.message, /leads back to itself/);
    assert.match((await refused(env("orphan"))).message, /source_profile missing, which is in neither/);
    const mfa = await refused(env("mfa"));
    assert.match(mfa.message, /needs an MFA code/);
    const denied = await refused(env("denied"));
    assert.ok(isProviderError(denied));
    assert.equal(denied.kind, "denied");
    assert.match(denied.message, /assuming the role .*role\/forbidden of the profile denied: AccessDenied/);
    assert.ok(!denied.message.includes("fake-root-secret"));
  });

  test("credential_source: Environment and EcsContainer feed the role; an unknown source is refused", async () => {
    const sts = await fakeSts();
    const container = await fake((_seen, response) =>
      json(response, 200, {
        AccessKeyId: "ASIAFAKECONTAINER",
        SecretAccessKey: "fake-container-secret",
        Token: "fake-container-token",
        Expiration: "2099-01-01T00:00:00Z",
      }),
    );
    const dir = home({
      config: [
        "[profile from-container]",
        "role_arn = arn:aws:iam::123456789012:role/boxed",
        "credential_source = EcsContainer",
        "[profile from-env]",
        "role_arn = arn:aws:iam::123456789012:role/env-role",
        "credential_source = Environment",
        "[profile odd]",
        "role_arn = arn:aws:iam::123456789012:role/odd",
        "credential_source = Floppy",
      ].join("\n"),
    });
    const env = baseEnv({
      HOME: dir,
      AWS_PROFILE: "from-container",
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.url}/v2/credentials`,
    });
    assert.equal((await credentials(env)).accessKeyId, "ASIAFAKEBOXED");
    assert.match(String(sts.seen[0]!.headers.authorization), /Credential=ASIAFAKECONTAINER\//);
    assert.match((await refused({ ...env, AWS_PROFILE: "odd" })).message, /credential_source = Floppy/);
    // The environment's keys are the role's source here (elsewhere they win over AWS_PROFILE).
    const fromEnv = {
      ...env,
      AWS_PROFILE: "from-env",
      AWS_ACCESS_KEY_ID: "AKIAFAKEENV",
      AWS_SECRET_ACCESS_KEY: "x",
    };
    assert.equal((await credentials(fromEnv)).accessKeyId, "ASIAFAKEENV-ROLE");
    assert.match(String(sts.seen[1]!.headers.authorization), /Credential=AKIAFAKEENV\//);
    const noKeys = { ...fromEnv, AWS_ACCESS_KEY_ID: undefined };
    assert.match(
      (await refused(noKeys)).message,
      /takes its credentials from the environment .*which has none/,
    );
  });

  test("web_identity_token_file + role_arn in a profile", async () => {
    const sts = await fakeSts();
    const dir = project({
      "token.jwt": "fake.profile.jwt\n",
    });
    const config = project({
      ".aws/config": `[profile irsa]\nweb_identity_token_file = ${dir}/token.jwt\nrole_arn = arn:aws:iam::123456789012:role/irsa\n`,
    });
    const found = await credentials(
      baseEnv({ HOME: config, AWS_PROFILE: "irsa", AWS_ENDPOINT_URL_STS: sts.url }),
    );
    assert.equal(found.accessKeyId, "ASIAFAKEIRSA");
    const form = new URLSearchParams(sts.seen[0]!.body);
    assert.equal(form.get("Action"), "AssumeRoleWithWebIdentity");
    assert.equal(form.get("WebIdentityToken"), "fake.profile.jwt");
  });
});

describe("credential_process", () => {
  const script = (body: string) => project({ "creds.mjs": body });
  const profile = (dir: string, extra = "") =>
    home({
      config: `[profile proc]\ncredential_process = "${process.execPath}" "${dir}/creds.mjs" ${extra}\n`,
    });

  test("its JSON (Version 1) is the credentials; it runs with the provider's environment", async () => {
    const dir = script(
      `process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: "AKIAFAKEPROC", SecretAccessKey: "fake-proc-secret", SessionToken: process.env.FAKE_MARKER + ":" + process.argv[2], Expiration: "2099-01-01T00:00:00Z" }));`,
    );
    const found = await credentials(
      baseEnv({ HOME: profile(dir, "--arg"), AWS_PROFILE: "proc", FAKE_MARKER: "from-context-env" }),
    );
    assert.deepEqual(found, {
      accessKeyId: "AKIAFAKEPROC",
      secretAccessKey: "fake-proc-secret",
      sessionToken: "from-context-env:--arg",
      expiration: new Date("2099-01-01T00:00:00Z"),
    });
  });

  test("a failing process, wrong JSON or expired credentials: a CredentialsError that never shows its output", async () => {
    const failing = script(
      `process.stdout.write("fake-leaked-stdout"); process.stderr.write("fake-leaked-stderr"); process.exit(3);`,
    );
    const error = await refused(baseEnv({ HOME: profile(failing), AWS_PROFILE: "proc" }));
    assert.ok(error instanceof CredentialsError);
    assert.match(error.message, /the credential_process of the profile proc failed \(exit status 3\)/);
    assert.ok(!error.message.includes("fake-leaked") && !String(error.hint).includes("fake-leaked"));

    const wrong = script(
      `process.stdout.write(JSON.stringify({ Version: 2, AccessKeyId: "AKIAFAKE", SecretAccessKey: "fake-wrong-secret" }));`,
    );
    const bad = await refused(baseEnv({ HOME: profile(wrong), AWS_PROFILE: "proc" }));
    assert.match(bad.message, /did not print credentials/);
    assert.ok(!bad.message.includes("fake-wrong-secret"));

    const expired = script(
      `process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: "AKIAFAKE", SecretAccessKey: "x", Expiration: "2001-01-01T00:00:00Z" }));`,
    );
    assert.match(
      (await refused(baseEnv({ HOME: profile(expired), AWS_PROFILE: "proc" }))).message,
      /expired/,
    );
  });
});

describe("web identity (EKS IRSA)", () => {
  test("AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: an unsigned AssumeRoleWithWebIdentity with the file's token", async () => {
    const sts = await fakeSts();
    const dir = project({ token: "fake.header.payload" });
    const found = await credentials(
      baseEnv({
        AWS_WEB_IDENTITY_TOKEN_FILE: `${dir}/token`,
        AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/pod",
        AWS_ROLE_SESSION_NAME: "fake-pod-session",
        AWS_ENDPOINT_URL_STS: sts.url,
      }),
    );
    assert.equal(found.accessKeyId, "ASIAFAKEPOD");
    assert.equal(found.sessionToken, "fake-assumed-token&more");
    const [call] = sts.seen;
    assert.equal(call!.headers.authorization, undefined, "the token is the proof: no signature");
    assert.deepEqual(Object.fromEntries(new URLSearchParams(call!.body)), {
      Action: "AssumeRoleWithWebIdentity",
      RoleArn: "arn:aws:iam::123456789012:role/pod",
      RoleSessionName: "fake-pod-session",
      WebIdentityToken: "fake.header.payload",
      Version: "2011-06-15",
    });
  });

  test("an unreadable token file is a CredentialsError naming it; a refused token is an auth error", async () => {
    const missing = await refused(
      baseEnv({ AWS_WEB_IDENTITY_TOKEN_FILE: "/nonexistent/token", AWS_ROLE_ARN: "arn:aws:iam::1:role/x" }),
    );
    assert.ok(missing instanceof CredentialsError);
    assert.match(missing.message, /cannot read the web identity token .*\/nonexistent\/token.*ENOENT/);

    const sts = await fake((_seen, response) => {
      response.writeHead(400, { "content-type": "text/xml" });
      response.end(
        "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>No OpenIDConnect provider found</Message></Error></ErrorResponse>",
      );
    });
    const dir = project({ token: "fake.refused.token" });
    const error = await refused(
      baseEnv({
        AWS_WEB_IDENTITY_TOKEN_FILE: `${dir}/token`,
        AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/pod",
        AWS_ENDPOINT_URL_STS: sts.url,
      }),
    );
    assert.ok(isProviderError(error));
    assert.equal(error.kind, "auth");
    assert.match(error.message, /InvalidIdentityToken/);
    assert.ok(!error.message.includes("fake.refused.token"));
  });
});

describe("container credentials (ECS, EKS Pod Identity)", () => {
  const answer = {
    AccessKeyId: "ASIAFAKETASK",
    SecretAccessKey: "fake-task-secret",
    Token: "fake-task-token",
    Expiration: "2099-01-01T00:00:00Z",
  };

  test("FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN; the token file wins over the token", async () => {
    const server = await fake((_seen, response) => json(response, 200, answer));
    const found = await credentials(
      baseEnv({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${server.url}/v1/credentials?id=1`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "fake-auth-token",
      }),
    );
    assert.deepEqual(found, {
      accessKeyId: "ASIAFAKETASK",
      secretAccessKey: "fake-task-secret",
      sessionToken: "fake-task-token",
      expiration: new Date("2099-01-01T00:00:00Z"),
    });
    assert.equal(server.seen[0]!.method, "GET");
    assert.equal(server.seen[0]!.url, "/v1/credentials?id=1");
    assert.equal(server.seen[0]!.headers.authorization, "fake-auth-token");

    const dir = project({ "eks-pod-identity-token": "fake-file-token\n" });
    await credentials(
      baseEnv({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${server.url}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "fake-auth-token",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: `${dir}/eks-pod-identity-token`,
      }),
    );
    assert.equal(server.seen[1]!.headers.authorization, "fake-file-token");
  });

  test("RELATIVE_URI is on the ECS host (here a fake one) and wins over FULL_URI", async () => {
    const ecs = await fake((_seen, response) => json(response, 200, answer));
    const other = await fake((_seen, response) => json(response, 500, {}));
    const found = await credentials(
      baseEnv({
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/fake-guid",
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${other.url}/x`,
      }),
      { containerHost: ecs.url },
    );
    assert.equal(found.accessKeyId, "ASIAFAKETASK");
    assert.equal(ecs.seen[0]!.url, "/v2/credentials/fake-guid");
    assert.equal(other.seen.length, 0);
  });

  test("an http endpoint that is neither loopback nor the ECS/EKS host is refused without asking it", async () => {
    const error = await refused(baseEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://192.0.2.1/creds" }));
    assert.ok(error instanceof CredentialsError);
    assert.match(error.message, /is refused: it must be https/);
  });

  test("refused (4xx) is not asked again; a failing endpoint (5xx) three times, then a transient error", async () => {
    const forbidden = await fake((_seen, response) => json(response, 403, { Code: "AccessDenied" }));
    const error = await refused(baseEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${forbidden.url}/c` }));
    assert.ok(error instanceof CredentialsError);
    assert.match(error.message, /failed: HTTP 403/);
    assert.equal(error.transient, false);
    assert.equal(forbidden.seen.length, 1);

    const failing = await fake((_seen, response) => json(response, 500, {}));
    const down = await refused(baseEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${failing.url}/c` }));
    assert.ok(down instanceof CredentialsError);
    assert.equal(down.transient, true);
    assert.equal(failing.seen.length, 3);
  });
});

describe("EC2 instance metadata", () => {
  const role = {
    Code: "Success",
    AccessKeyId: "ASIAFAKEINSTANCE",
    SecretAccessKey: "fake-instance-secret",
    Token: "fake-instance-token",
    Expiration: "2099-01-01T00:00:00Z",
  };

  /** A fake IMDS; `tokens` decides the answer to the token PUT (200 with a token, or a status). */
  function imds(tokens: number) {
    return fake((seen, response) => {
      if (seen.method === "PUT" && seen.url === "/latest/api/token") {
        if (tokens !== 200) return json(response, tokens, {});
        response.writeHead(200);
        response.end("fake-imds-session-token");
        return;
      }
      if (tokens === 200 && seen.headers["x-aws-ec2-metadata-token"] !== "fake-imds-session-token") {
        response.writeHead(401);
        response.end();
        return;
      }
      if (seen.url === "/latest/meta-data/iam/security-credentials/") {
        response.writeHead(200);
        response.end("fake-instance-role\n");
        return;
      }
      if (seen.url === "/latest/meta-data/iam/security-credentials/fake-instance-role")
        return json(response, 200, role);
      response.writeHead(404);
      response.end();
    });
  }

  test("IMDSv2: a token PUT, then the role and its credentials with the token", async () => {
    const server = await imds(200);
    const found = await credentials(
      baseEnv({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url }),
    );
    assert.equal(found.accessKeyId, "ASIAFAKEINSTANCE");
    assert.equal(found.sessionToken, "fake-instance-token");
    assert.deepEqual(
      server.seen.map((seen) => `${seen.method} ${seen.url}`),
      [
        "PUT /latest/api/token",
        "GET /latest/meta-data/iam/security-credentials/",
        "GET /latest/meta-data/iam/security-credentials/fake-instance-role",
      ],
    );
    assert.equal(server.seen[0]!.headers["x-aws-ec2-metadata-token-ttl-seconds"], "21600");
  });

  test("a refused token PUT falls back to IMDSv1, unless AWS_EC2_METADATA_V1_DISABLED", async () => {
    const server = await imds(403);
    const env = baseEnv({
      AWS_EC2_METADATA_DISABLED: undefined,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url,
    });
    assert.equal((await credentials(env)).accessKeyId, "ASIAFAKEINSTANCE");
    assert.equal(server.seen[1]!.headers["x-aws-ec2-metadata-token"], undefined);
    const error = await refused({ ...env, AWS_EC2_METADATA_V1_DISABLED: "true" });
    assert.match(error.message, /forbids IMDSv1/);
  });

  test("AWS_EC2_METADATA_DISABLED: the service is never asked", async () => {
    const server = await imds(200);
    const error = await refused(baseEnv({ AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url }));
    assert.match(error.message, /^no AWS credentials/);
    assert.equal(server.seen.length, 0);
  });

  test("no instance role (404) or nothing listening: no credentials, and the chain says so", async () => {
    const none = await fake((seen, response) => {
      if (seen.method === "PUT") {
        response.writeHead(200);
        response.end("fake-imds-session-token");
        return;
      }
      response.writeHead(404);
      response.end();
    });
    const error = await refused(
      baseEnv({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: none.url }),
    );
    assert.match(error.message, /^no AWS credentials/);
    const closed = await fake(() => {});
    const port = new URL(closed.url).port;
    await closed.close();
    const nothing = await refused(
      baseEnv({
        AWS_EC2_METADATA_DISABLED: undefined,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${port}`,
      }),
    );
    assert.match(nothing.message, /^no AWS credentials/);
  });
});

describe("SSO and aws login profiles: the optional SDK", () => {
  const dir = () =>
    home({
      config: [
        "[profile sso]",
        "sso_session = corp",
        "sso_account_id = 123456789012",
        "sso_role_name = Reader",
        "[sso-session corp]",
        "sso_start_url = https://fake.awsapps.com/start",
        "sso_region = us-east-1",
        "[profile console]",
        "login_session = arn:aws:iam::123456789012:user/fake",
      ].join("\n"),
    });

  test("without the package: missing-library (E_PROVIDER_MISSING) naming the exact npm i", async () => {
    const load = async (specifier: string) => {
      throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: "MODULE_NOT_FOUND" });
    };
    const error = await refused(baseEnv({ HOME: dir(), AWS_PROFILE: "sso" }), { load });
    assert.ok(isProviderError(error));
    assert.equal(error.kind, "missing-library");
    assert.match(
      error.message,
      /the SSO profile sso needs @aws-sdk\/credential-provider-sso, which is not installed/,
    );
    assert.match(error.hint ?? "", /^npm i @aws-sdk\/credential-provider-sso\b/);

    const login = await refused(baseEnv({ HOME: dir(), AWS_PROFILE: "console" }), { load });
    assert.ok(isProviderError(login));
    assert.match(login.hint ?? "", /^npm i @aws-sdk\/credential-provider-login\b/);
  });

  test("with the package: its fromSSO, given the profile and the files", async () => {
    const home = dir();
    const calls: unknown[] = [];
    const load = async (specifier: string) => {
      assert.equal(specifier, "@aws-sdk/credential-provider-sso");
      return {
        fromSSO: (init: unknown) => {
          calls.push(init);
          return async () => ({
            accessKeyId: "ASIAFAKESSO",
            secretAccessKey: "fake-sso-secret",
            sessionToken: "t",
          });
        },
      };
    };
    const found = await credentials(baseEnv({ HOME: home, AWS_PROFILE: "sso" }), { load });
    assert.equal(found.accessKeyId, "ASIAFAKESSO");
    assert.deepEqual(calls, [
      { profile: "sso", filepath: `${home}/.aws/credentials`, configFilepath: `${home}/.aws/config` },
    ]);
  });

  test("any other failure to load the package is not hidden as missing-library", async () => {
    const load = async () => {
      throw new SyntaxError("Unexpected token in the package");
    };
    const error = await refused(baseEnv({ HOME: dir(), AWS_PROFILE: "sso" }), { load });
    assert.ok(error instanceof SyntaxError);
  });
});

describe("the chain's order", () => {
  test("environment, then the profile, then web identity, then the container, then instance metadata", async () => {
    const sts = await fakeSts();
    const container = await fake((_seen, response) =>
      json(response, 200, {
        AccessKeyId: "ASIAFAKECONTAINER",
        SecretAccessKey: "fake-container-secret",
        Token: "fake-container-token",
        Expiration: "2099-01-01T00:00:00Z",
      }),
    );
    const imds = await fake((seen, response) => {
      if (seen.method === "PUT") {
        response.writeHead(200);
        response.end("fake-imds-session-token");
      } else if (seen.url.endsWith("/security-credentials/")) {
        response.writeHead(200);
        response.end("r");
      } else {
        json(response, 200, {
          AccessKeyId: "ASIAFAKEIMDS",
          SecretAccessKey: "fake-imds-secret",
          Token: "t",
          Expiration: "2099-01-01T00:00:00Z",
        });
      }
    });
    const token = project({ token: "fake.web.identity" });
    const all: Env = {
      HOME: home({
        credentials:
          "[default]\naws_access_key_id = AKIAFAKEPROFILE\naws_secret_access_key = fake-profile-secret\n",
      }),
      AWS_ACCESS_KEY_ID: "AKIAFAKEENV",
      AWS_SECRET_ACCESS_KEY: "fake-env-secret",
      AWS_WEB_IDENTITY_TOKEN_FILE: `${token}/token`,
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/web",
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.url}/c`,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    };
    const order = ["AKIAFAKEENV", "AKIAFAKEPROFILE", "ASIAFAKEWEB", "ASIAFAKECONTAINER", "ASIAFAKEIMDS"];
    const without = [
      [],
      ["AWS_ACCESS_KEY_ID"],
      ["AWS_ACCESS_KEY_ID", "HOME"],
      ["AWS_ACCESS_KEY_ID", "HOME", "AWS_WEB_IDENTITY_TOKEN_FILE"],
      ["AWS_ACCESS_KEY_ID", "HOME", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"],
    ];
    for (const [index, names] of without.entries()) {
      const env: Env = { ...all };
      for (const name of names) env[name] = name === "HOME" ? project() : undefined;
      assert.equal(
        (await credentials(env)).accessKeyId,
        order[index],
        `without ${names.join(", ") || "nothing"}`,
      );
    }
  });

  test("as before, keys in the environment win over AWS_PROFILE", async () => {
    const dir = home({
      credentials: "[p]\naws_access_key_id = AKIAFAKEPROFILE\naws_secret_access_key = x\n",
    });
    const found = await credentials(
      baseEnv({ HOME: dir, AWS_PROFILE: "p", AWS_ACCESS_KEY_ID: "AKIAFAKEENV", AWS_SECRET_ACCESS_KEY: "x" }),
    );
    assert.equal(found.accessKeyId, "AKIAFAKEENV");
  });
});
