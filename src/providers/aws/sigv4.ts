/**
 * AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html),
 * header signing with HMAC-SHA256: what the AWS stores need to call Secrets Manager, SSM and STS
 * without the AWS SDK. Checked against AWS's published test suite (test/fixtures/aws/sigv4-vectors.json).
 *
 * Every header handed in is signed (the caller hands in only those it means to sign: host, content-type,
 * x-amz-date, x-amz-target, x-amz-security-token); `host` is the URL's and `x-amz-date` the signing
 * date's unless given; a session token is sent and signed as x-amz-security-token.
 */

import { createHash, createHmac } from "node:crypto";

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigningRequest {
  method: string;
  url: URL;
  /** Header name → value (names in any case; a list is joined with commas). */
  headers: Readonly<Record<string, string | readonly string[]>>;
  body: string | Uint8Array;
  region: string;
  service: string;
  credentials: SigningCredentials;
  date: Date;
}

const ALGORITHM = "AWS4-HMAC-SHA256";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** 20150830T123600Z */
export function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.[0-9]{3}/, "");
}

/** RFC 3986 percent-encoding of everything but the unreserved characters (A-Z a-z 0-9 - . _ ~). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The canonical URI: each segment of the (decoded) path encoded once, as every service but S3 wants it. */
function canonicalUri(url: URL): string {
  const path = url.pathname || "/";
  return path
    .split("/")
    .map((segment) => uriEncode(safeDecode(segment)))
    .join("/");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The canonical query string: each name and value encoded, sorted by name then value. */
function canonicalQuery(url: URL): string {
  const pairs: [string, string][] = [];
  for (const [name, value] of url.searchParams) pairs.push([uriEncode(name), uriEncode(value)]);
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join("&");
}

/** The headers to sign, by lowercase name: the request's, with host, x-amz-date and the session token. */
export function signedHeaderMap(request: SigningRequest): Map<string, string> {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers)) {
    const text = typeof value === "string" ? value : value.join(",");
    const key = name.toLowerCase();
    const before = headers.get(key);
    headers.set(key, before === undefined ? text : `${before},${text}`);
  }
  if (!headers.has("host")) headers.set("host", request.url.host);
  if (!headers.has("x-amz-date")) headers.set("x-amz-date", amzDate(request.date));
  const token = request.credentials.sessionToken;
  if (token && !headers.has("x-amz-security-token")) headers.set("x-amz-security-token", token);
  return headers;
}

function canonicalValue(value: string): string {
  return value.trim().replace(/ +/g, " ");
}

/** The canonical request and the list of signed header names. */
export function canonicalRequest(request: SigningRequest): { text: string; signedHeaders: string } {
  const headers = signedHeaderMap(request);
  const names = [...headers.keys()].sort();
  const canonicalHeaders = names.map((name) => `${name}:${canonicalValue(headers.get(name)!)}\n`).join("");
  const signedHeaders = names.join(";");
  const text = [
    request.method.toUpperCase(),
    canonicalUri(request.url),
    canonicalQuery(request.url),
    canonicalHeaders,
    signedHeaders,
    sha256Hex(request.body),
  ].join("\n");
  return { text, signedHeaders };
}

function scope(request: SigningRequest): string {
  return `${amzDate(request.date).slice(0, 8)}/${request.region}/${request.service}/aws4_request`;
}

export function stringToSign(request: SigningRequest, canonical: string): string {
  return [ALGORITHM, amzDate(request.date), scope(request), sha256Hex(canonical)].join("\n");
}

const keys = new Map<string, Buffer>();

function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const id = `${sha256Hex(secret)}/${day}/${region}/${service}`;
  let key = keys.get(id);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), "aws4_request");
    if (keys.size > 16) keys.clear();
    keys.set(id, key);
  }
  return key;
}

/**
 * The headers to send: those handed in, host, x-amz-date, x-amz-security-token (with a session token)
 * and authorization.
 */
export function sign(request: SigningRequest): Record<string, string> {
  const { text, signedHeaders } = canonicalRequest(request);
  const day = amzDate(request.date).slice(0, 8);
  const key = signingKey(request.credentials.secretAccessKey, day, request.region, request.service);
  const signature = createHmac("sha256", key).update(stringToSign(request, text), "utf8").digest("hex");
  const headers: Record<string, string> = Object.fromEntries(signedHeaderMap(request));
  headers.authorization = `${ALGORITHM} Credential=${request.credentials.accessKeyId}/${scope(request)}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
