/**
 * The AWS client without the SDK (src/providers/aws/client.ts and what it uses): where it sends requests
 * (endpoints, region), what a request looks like on the wire, how AWS's error answers read, and the
 * store's `role:`; against a fake JSON service on loopback. Every credential here is an obvious fake.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import type { StoreSettings } from "../../src/model/spec.ts";
import { awsClient } from "../../src/providers/aws/client.ts";
import { loadSharedConfig } from "../../src/providers/aws/config-files.ts";
import { defaultEndpoint, serviceEndpoint, stsEndpoint } from "../../src/providers/aws/endpoints.ts";
import { answerError, failure, notFound } from "../../src/providers/aws/errors.ts";
import { isProviderError, type ProviderContext } from "../../src/providers/types.ts";
import { project } from "../helpers.ts";

type Env = Record<string, string | undefined>;

interface Seen {
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers) await close();
});

async function fake(
  answer: (seen: Seen, response: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const entry = {
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      seen.push(entry);
      answer(entry, response);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  closers.push(
    () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function providerContext(settings: StoreSettings, env: Env): ProviderContext {
  return {
    source: { type: "aws-ssm", name: "ssm", settings, declaredAt: { file: "tessera.yaml", line: 1 } },
    env,
    dir: "/",
    cwd: "/",
    timeoutMs: 5000,
    pool: (items, fn) => Promise.all(items.map(fn)),
    retry: (fn) => fn(new AbortController().signal),
    identities: async () => undefined,
  } as ProviderContext;
}

const KEYS = { AWS_ACCESS_KEY_ID: "AKIAFAKECLIENT", AWS_SECRET_ACCESS_KEY: "fake-client-secret" };

function noFiles(extra: Env = {}): Env {
  return { HOME: project(), AWS_EC2_METADATA_DISABLED: "true", ...extra };
}

describe("endpoints", () => {
  const config = (env: Env) => loadSharedConfig(env);

  test("regional defaults per partition, FIPS and dual-stack when asked", () => {
    const env = noFiles();
    assert.equal(
      defaultEndpoint("ssm", "eu-west-1", env, config(env)),
      "https://ssm.eu-west-1.amazonaws.com",
    );
    assert.equal(
      defaultEndpoint("secretsmanager", "cn-north-1", env, config(env)),
      "https://secretsmanager.cn-north-1.amazonaws.com.cn",
    );
    assert.equal(
      defaultEndpoint("sts", "us-gov-west-1", env, config(env)),
      "https://sts.us-gov-west-1.amazonaws.com",
    );
    assert.equal(
      defaultEndpoint("ssm", "us-iso-east-1", env, config(env)),
      "https://ssm.us-iso-east-1.c2s.ic.gov",
    );
    const fips = noFiles({ AWS_USE_FIPS_ENDPOINT: "true" });
    assert.equal(
      defaultEndpoint("ssm", "us-east-1", fips, config(fips)),
      "https://ssm-fips.us-east-1.amazonaws.com",
    );
    const dual = noFiles({ AWS_USE_DUALSTACK_ENDPOINT: "true" });
    assert.equal(
      defaultEndpoint("secretsmanager", "eu-west-1", dual, config(dual)),
      "https://secretsmanager.eu-west-1.api.aws",
    );
  });

  test("the source's endpoint, then AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the config file's services section and endpoint_url", () => {
    const home = project({
      ".aws/config": [
        "[default]",
        "endpoint_url = http://profile.example.test",
        "services = local",
        "[services local]",
        "ssm =",
        "  endpoint_url = http://ssm-from-services.example.test",
        "[profile ignoring]",
        "ignore_configured_endpoint_urls = true",
        "endpoint_url = http://ignored.example.test",
      ].join("\n"),
    });
    const at = (env: Env, service: "ssm" | "secretsmanager", own?: string) =>
      serviceEndpoint(service, "eu-west-1", own, env, loadSharedConfig(env));
    const env: Env = { HOME: home };
    assert.equal(at(env, "ssm"), "http://ssm-from-services.example.test");
    assert.equal(at(env, "secretsmanager"), "http://profile.example.test");
    assert.equal(
      at({ ...env, AWS_ENDPOINT_URL: "http://all.example.test" }, "ssm"),
      "http://all.example.test",
    );
    assert.equal(
      at(
        {
          ...env,
          AWS_ENDPOINT_URL: "http://all.example.test",
          AWS_ENDPOINT_URL_SSM: "http://ssm.example.test",
        },
        "ssm",
      ),
      "http://ssm.example.test",
    );
    assert.equal(
      at({ ...env, AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://sm.example.test" }, "secretsmanager"),
      "http://sm.example.test",
    );
    assert.equal(
      at({ ...env, AWS_ENDPOINT_URL: "http://all.example.test" }, "ssm", "http://own.example.test"),
      "http://own.example.test",
    );
    assert.equal(at({ ...env, AWS_PROFILE: "ignoring" }, "ssm"), "https://ssm.eu-west-1.amazonaws.com");
    assert.equal(
      at(
        { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true", AWS_ENDPOINT_URL: "http://all.example.test" },
        "ssm",
      ),
      "https://ssm.eu-west-1.amazonaws.com",
    );
  });

  test("STS is served at a custom endpoint (LocalStack, moto), never at an AWS VPC endpoint of another service", () => {
    const env = noFiles();
    const sts = (own?: string) => stsEndpoint("eu-west-1", own, env, loadSharedConfig(env));
    assert.equal(sts("http://localhost:4566"), "http://localhost:4566");
    assert.equal(
      sts("https://vpce-0abc.ssm.eu-west-1.vpce.amazonaws.com"),
      "https://sts.eu-west-1.amazonaws.com",
    );
    assert.equal(sts(undefined), "https://sts.eu-west-1.amazonaws.com");
  });
});

describe("AWS error answers", () => {
  test("JSON services: x-amzn-ErrorType, __type with a namespace, code; XML answers too", () => {
    const json = (body: unknown) => Buffer.from(JSON.stringify(body));
    const fromHeader = answerError(400, "ParameterNotFound:http://internal.amazon.com/coral/", json({}));
    assert.equal(fromHeader.name, "ParameterNotFound");
    assert.ok(notFound(fromHeader));
    const typed = answerError(
      400,
      undefined,
      json({ __type: "com.amazonaws.secretsmanager#ResourceNotFoundException", Message: "gone" }),
    );
    assert.equal(typed.name, "ResourceNotFoundException");
    assert.equal(typed.message, "gone");
    assert.ok(
      notFound(
        answerError(
          400,
          undefined,
          json({ __type: "InvalidRequestException", message: "It is marked for deletion" }),
        ),
      ),
    );
    const xml = answerError(
      403,
      undefined,
      Buffer.from(
        "<ErrorResponse><Error><Code>AccessDenied</Code><Message>not &lt;allowed&gt; &amp; no</Message></Error></ErrorResponse>",
      ),
    );
    assert.equal(xml.name, "AccessDenied");
    assert.equal(xml.message, "not <allowed> & no");
    assert.equal(answerError(502, undefined, Buffer.from("<html>bad gateway</html>")).name, "Unknown");
  });

  test("mapped to the right kinds: denied, auth, transient throttling and 5xx, not AWS's; credentials never shown", () => {
    const env = { AWS_SECRET_ACCESS_KEY: "fake-secret-in-env", AWS_ACCESS_KEY_ID: "AKIAFAKEINENV" };
    const map = (status: number, body: unknown) =>
      failure(answerError(status, undefined, Buffer.from(JSON.stringify(body))), "reading X", env, {
        denied: "needs ssm:GetParameters",
      });
    const denied = map(400, {
      __type: "AccessDeniedException",
      message: "User AKIAFAKEINENV is not authorized",
    });
    assert.equal(denied.kind, "denied");
    assert.equal(denied.hint, "needs ssm:GetParameters");
    assert.ok(!denied.message.includes("AKIAFAKEINENV"));
    assert.equal(map(400, { __type: "UnrecognizedClientException" }).kind, "auth");
    assert.equal(
      map(400, { __type: "InvalidSignatureException", message: "fake-secret-in-env" }).message.includes(
        "fake-secret-in-env",
      ),
      false,
    );
    const throttled = map(400, { __type: "ThrottlingException" });
    assert.equal(throttled.kind, "failed");
    assert.equal(throttled.transient, true);
    assert.equal(map(503, {}).transient, true);
    const notAws = map(404, "<html>");
    assert.match(notAws.message, /the answer is not AWS's \(HTTP 404\)/);
    assert.equal(notAws.transient, false);
  });
});

describe("the client", () => {
  test("a JSON 1.1 call: POST /, X-Amz-Target, the JSON body, signed for the region and service", async () => {
    const service = await fake((_seen, response) => {
      response.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      response.end(JSON.stringify({ Parameters: [], InvalidParameters: ["/a"] }));
    });
    const client = await awsClient(
      providerContext(
        { path: "/a", region: "eu-west-3", endpoint: service.url },
        noFiles({ ...KEYS, AWS_SESSION_TOKEN: "fake-client-token" }),
      ),
      "ssm",
    );
    try {
      const answer = await client.call(
        "GetParameters",
        { Names: ["/a"], WithDecryption: true },
        new AbortController().signal,
      );
      assert.deepEqual(answer, { Parameters: [], InvalidParameters: ["/a"] });
    } finally {
      client.close();
    }
    const [call] = service.seen;
    assert.equal(call!.url, "/");
    assert.equal(call!.headers["x-amz-target"], "AmazonSSM.GetParameters");
    assert.equal(call!.headers["content-type"], "application/x-amz-json-1.1");
    assert.equal(call!.headers["x-amz-security-token"], "fake-client-token");
    assert.deepEqual(JSON.parse(call!.body), { Names: ["/a"], WithDecryption: true });
    assert.match(
      String(call!.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=AKIAFAKECLIENT\/[0-9]{8}\/eu-west-3\/ssm\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
  });

  test("the region: the source's, AWS_REGION, AWS_DEFAULT_REGION, the profile's; none is an invalid error", async () => {
    const region = async (settings: StoreSettings, env: Env) => {
      const client = await awsClient(
        providerContext({ path: "/", endpoint: "http://127.0.0.1:9", ...settings }, env),
        "ssm",
      );
      client.close();
      return client.region;
    };
    const home = project({
      ".aws/config": "[default]\nregion = ap-south-1\n[profile p]\nregion = sa-east-1\n",
    });
    const env = { ...KEYS, HOME: home };
    assert.equal(await region({ region: "eu-north-1" }, { ...env, AWS_REGION: "us-west-2" }), "eu-north-1");
    assert.equal(
      await region({}, { ...env, AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "us-east-2" }),
      "us-west-2",
    );
    assert.equal(await region({}, { ...env, AWS_DEFAULT_REGION: "us-east-2" }), "us-east-2");
    assert.equal(await region({}, env), "ap-south-1");
    assert.equal(await region({}, { ...env, AWS_PROFILE: "p" }), "sa-east-1");
    await assert.rejects(region({}, noFiles(KEYS)), (error: unknown) => {
      assert.ok(isProviderError(error));
      assert.equal(error.kind, "invalid");
      assert.match(error.message, /no AWS region/);
      return true;
    });
  });

  test("an endpoint that is not an http(s) URL is an invalid error naming it", async () => {
    await assert.rejects(
      awsClient(
        providerContext({ path: "/", region: "eu-west-1", endpoint: "ftp://example.test" }, noFiles(KEYS)),
        "ssm",
      ),
      /the endpoint ftp:\/\/example.test is not an http\(s\) URL/,
    );
  });

  test("role: the chain's identity assumes it first (session name tessera), then every call is signed with the role's keys", async () => {
    const service = await fake((seen, response) => {
      if (seen.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")) {
        response.writeHead(200, { "content-type": "text/xml" });
        response.end(
          "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAFAKEROLE</AccessKeyId><SecretAccessKey>fake-role-secret</SecretAccessKey><SessionToken>fake-role-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
        );
        return;
      }
      response.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      response.end("{}");
    });
    const client = await awsClient(
      providerContext(
        {
          path: "/",
          region: "eu-west-1",
          endpoint: service.url,
          role: "arn:aws:iam::123456789012:role/reader",
        },
        noFiles(KEYS),
      ),
      "ssm",
    );
    try {
      await client.call("GetParameters", { Names: ["/x"] }, new AbortController().signal);
      await client.call("GetParameters", { Names: ["/y"] }, new AbortController().signal);
    } finally {
      client.close();
    }
    assert.equal(service.seen.length, 3, "one AssumeRole, then the two calls");
    const form = new URLSearchParams(service.seen[0]!.body);
    assert.equal(form.get("Action"), "AssumeRole");
    assert.equal(form.get("RoleSessionName"), "tessera");
    assert.match(
      String(service.seen[0]!.headers.authorization),
      /Credential=AKIAFAKECLIENT\/[0-9]{8}\/eu-west-1\/sts\//,
    );
    for (const call of service.seen.slice(1)) {
      assert.match(String(call.headers.authorization), /Credential=ASIAFAKEROLE\//);
      assert.equal(call.headers["x-amz-security-token"], "fake-role-token");
    }
  });

  test("credentials are resolved once for parallel calls, and again after a failure", async () => {
    let containerCalls = 0;
    let fail = true;
    const container = await fake((_seen, response) => {
      containerCalls++;
      if (fail) {
        response.writeHead(403);
        response.end();
        return;
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          AccessKeyId: "ASIAFAKETASK",
          SecretAccessKey: "s",
          Token: "t",
          Expiration: "2099-01-01T00:00:00Z",
        }),
      );
    });
    const service = await fake((_seen, response) => {
      response.writeHead(200);
      response.end("{}");
    });
    const client = await awsClient(
      providerContext(
        { path: "/", region: "eu-west-1", endpoint: service.url },
        noFiles({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.url}/c` }),
      ),
      "ssm",
    );
    try {
      const signal = new AbortController().signal;
      const first = await Promise.allSettled([client.call("A", {}, signal), client.call("B", {}, signal)]);
      assert.deepEqual(
        first.map((result) => result.status),
        ["rejected", "rejected"],
      );
      assert.equal(containerCalls, 1, "both calls waited for the same resolution");
      fail = false;
      await Promise.all([
        client.call("C", {}, signal),
        client.call("D", {}, signal),
        client.call("E", {}, signal),
      ]);
      assert.equal(containerCalls, 2, "resolved again after the failure, once");
      assert.equal(service.seen.length, 3);
    } finally {
      client.close();
    }
  });
});
