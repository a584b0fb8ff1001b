/**
 * The SigV4 signer (src/providers/aws/sigv4.ts) against AWS's published test suite
 * (test/fixtures/aws/sigv4-vectors.json), and the shape of the JSON 1.1 requests the stores send.
 */
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  amzDate,
  canonicalRequest,
  type SigningRequest,
  sign,
  stringToSign,
  uriEncode,
} from "../../src/providers/aws/sigv4.ts";
import { ROOT } from "../helpers.ts";

interface Vector {
  name: string;
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  body: string;
  authorization: string;
  sessionToken?: string;
  canonicalRequest?: string;
  stringToSign?: string;
}

const suite = JSON.parse(
  readFileSync(join(ROOT, "test", "fixtures", "aws", "sigv4-vectors.json"), "utf8"),
) as {
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  service: string;
  date: string;
  vectors: Vector[];
};

function requestOf(vector: Vector): SigningRequest {
  const url = new URL(`https://${vector.headers.host}`);
  url.pathname = vector.path;
  for (const [name, value] of vector.query) url.searchParams.append(name, value);
  return {
    method: vector.method,
    url,
    headers: vector.headers,
    body: vector.body,
    region: suite.region,
    service: suite.service,
    credentials: {
      ...suite.credentials,
      ...(vector.sessionToken ? { sessionToken: vector.sessionToken } : {}),
    },
    date: new Date(suite.date),
  };
}

describe("SigV4 against AWS's test suite", () => {
  assert.ok(suite.vectors.length >= 15, "the fixture holds the suite's vectors");
  for (const vector of suite.vectors) {
    test(vector.name, () => {
      const request = requestOf(vector);
      const headers = sign(request);
      assert.equal(headers.authorization, vector.authorization);
      assert.equal(headers["x-amz-date"], "20150830T123600Z");
      if (vector.canonicalRequest) assert.equal(canonicalRequest(request).text, vector.canonicalRequest);
      if (vector.stringToSign) {
        assert.equal(stringToSign(request, canonicalRequest(request).text), vector.stringToSign);
      }
    });
  }

  test("host and x-amz-date are added when not given; the session token is sent and signed", () => {
    const vanilla = suite.vectors.find((vector) => vector.name === "get-vanilla")!;
    const { host: _host, "x-amz-date": _date, ...rest } = vanilla.headers;
    assert.equal(sign({ ...requestOf(vanilla), headers: rest }).authorization, vanilla.authorization);

    const before = suite.vectors.find((vector) => vector.name === "post-sts-header-before")!;
    const asHeader = {
      ...requestOf(before),
      credentials: suite.credentials,
      headers: { ...before.headers, "x-amz-security-token": before.sessionToken! },
    };
    assert.equal(sign(asHeader).authorization, before.authorization);
    const fromCredentials = sign(requestOf(before));
    assert.equal(fromCredentials["x-amz-security-token"], before.sessionToken);
  });
});

describe("SigV4 helpers", () => {
  test("amzDate and uriEncode", () => {
    assert.equal(amzDate(new Date("2024-02-29T23:59:58.123Z")), "20240229T235958Z");
    assert.equal(uriEncode("a b+c/d~e_f.g-h*!'()"), "a%20b%2Bc%2Fd~e_f.g-h%2A%21%27%28%29");
    assert.equal(uriEncode("ሴ"), "%E1%88%B4");
  });

  test("a JSON 1.1 request: every header that matters is signed, and the signature is the documented derivation", () => {
    const body = JSON.stringify({ Names: ["/app/prod/A"], WithDecryption: true });
    const request: SigningRequest = {
      method: "POST",
      url: new URL("http://127.0.0.1:4566/"),
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameters" },
      body,
      region: "eu-west-1",
      service: "ssm",
      credentials: {
        accessKeyId: "AKIAFAKEFAKEFAKEFAKE",
        secretAccessKey: "fake-secret-access-key",
        sessionToken: "fake-session-token",
      },
      date: new Date("2024-05-06T07:08:09Z"),
    };
    const headers = sign(request);
    assert.equal(headers.host, "127.0.0.1:4566", "the port is part of the signed host");
    const match =
      /^AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKEFAKE\/20240506\/eu-west-1\/ssm\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
        headers.authorization!,
      );
    assert.ok(match, headers.authorization);
    assert.equal(match[1], "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
    // The derivation written out independently of the signer.
    const hex = (data: string) => createHash("sha256").update(data).digest("hex");
    const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
    const canonical = [
      "POST",
      "/",
      "",
      "content-type:application/x-amz-json-1.1\nhost:127.0.0.1:4566\nx-amz-date:20240506T070809Z\nx-amz-security-token:fake-session-token\nx-amz-target:AmazonSSM.GetParameters\n",
      "content-type;host;x-amz-date;x-amz-security-token;x-amz-target",
      hex(body),
    ].join("\n");
    const toSign = `AWS4-HMAC-SHA256\n20240506T070809Z\n20240506/eu-west-1/ssm/aws4_request\n${hex(canonical)}`;
    const key = hmac(
      hmac(hmac(hmac("AWS4fake-secret-access-key", "20240506"), "eu-west-1"), "ssm"),
      "aws4_request",
    );
    assert.equal(match[2], createHmac("sha256", key).update(toSign).digest("hex"));
    assert.ok(!JSON.stringify(headers).includes("fake-secret-access-key"), "the secret key is never sent");
  });
});
