/**
 * Calls of the AWS APIs the stores use, over ./http.ts, signed with ./sigv4.ts: the AWS JSON 1.1
 * protocol (Secrets Manager, SSM: a POST of JSON with X-Amz-Target) and STS's query protocol (a POST of
 * form fields, an XML answer) for AssumeRole and AssumeRoleWithWebIdentity. An error answer throws an
 * AwsError (./errors.ts) named as AWS names it.
 */

import { ProviderError } from "../types.js";
import { AwsError, answerError, xmlField } from "./errors.js";
import { type Agents, send } from "./http.js";
import { type SigningCredentials, sign } from "./sigv4.js";

export interface AwsCredentials extends SigningCredentials {
  expiration?: Date;
}

/** Where an API is: its endpoint URL, its region and its signing name. */
export interface ApiTarget {
  endpoint: URL;
  region: string;
  service: string;
}

/** The endpoint as a URL, or an "invalid" error naming it. */
export function endpointUrl(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ProviderError("invalid", `the endpoint ${endpoint} is not a URL`, {
      hint: "endpoint: is the service's URL, e.g. https://vpce-….ssm.eu-west-1.vpce.amazonaws.com",
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ProviderError("invalid", `the endpoint ${endpoint} is not an http(s) URL`, {
      hint: "endpoint: is the service's URL, e.g. https://vpce-….ssm.eu-west-1.vpce.amazonaws.com",
    });
  }
  return url;
}

const USER_AGENT = "tessera";

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** One AWS JSON 1.1 call: `target` is the X-Amz-Target ("AmazonSSM.GetParameters"). */
export async function callJson(
  api: ApiTarget,
  target: string,
  payload: unknown,
  credentials: AwsCredentials,
  signal: AbortSignal | undefined,
  agents: Agents,
): Promise<Record<string, unknown>> {
  const body = JSON.stringify(payload);
  const headers = sign({
    method: "POST",
    url: api.endpoint,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": target },
    body,
    region: api.region,
    service: api.service,
    credentials,
    date: new Date(),
  });
  const answer = await send(
    { method: "POST", url: api.endpoint, headers: { ...headers, "user-agent": USER_AGENT }, body, signal },
    agents,
  );
  if (answer.status < 200 || answer.status >= 300) {
    throw answerError(answer.status, headerText(answer.headers["x-amzn-errortype"]), answer.body);
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.body.toString("utf8"));
  } catch {
    json = undefined;
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new AwsError("NotAwsAnswer", "the answer is not JSON", answer.status);
  }
  return json as Record<string, unknown>;
}

/** One STS query call (Version 2011-06-15); unsigned without credentials. Returns the XML answer. */
async function callSts(
  api: ApiTarget,
  params: Record<string, string | undefined>,
  credentials: AwsCredentials | undefined,
  signal: AbortSignal | undefined,
  agents: Agents,
): Promise<string> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...params, Version: "2011-06-15" })) {
    if (value !== undefined) form.append(name, value);
  }
  const body = form.toString();
  const base = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };
  const headers = credentials
    ? sign({
        method: "POST",
        url: api.endpoint,
        headers: base,
        body,
        region: api.region,
        service: api.service,
        credentials,
        date: new Date(),
      })
    : { ...base, host: api.endpoint.host };
  const answer = await send(
    { method: "POST", url: api.endpoint, headers: { ...headers, "user-agent": USER_AGENT }, body, signal },
    agents,
  );
  const text = answer.body.toString("utf8");
  if (answer.status < 200 || answer.status >= 300) {
    throw answerError(answer.status, headerText(answer.headers["x-amzn-errortype"]), answer.body);
  }
  return text;
}

/** The <Credentials> of an STS answer. */
function stsCredentials(xml: string, status = 200): AwsCredentials {
  const accessKeyId = xmlField(xml, "AccessKeyId");
  const secretAccessKey = xmlField(xml, "SecretAccessKey");
  if (!accessKeyId || !secretAccessKey) {
    throw new AwsError("NotAwsAnswer", "STS returned no credentials", status);
  }
  const sessionToken = xmlField(xml, "SessionToken");
  const expiration = xmlField(xml, "Expiration");
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    ...(expiration && !Number.isNaN(Date.parse(expiration)) ? { expiration: new Date(expiration) } : {}),
  };
}

export interface AssumeRoleRequest {
  RoleArn: string;
  RoleSessionName: string;
  ExternalId?: string;
  DurationSeconds?: string;
}

/** STS AssumeRole, signed with `credentials`. */
export async function assumeRole(
  api: ApiTarget,
  request: AssumeRoleRequest,
  credentials: AwsCredentials,
  signal: AbortSignal | undefined,
  agents: Agents,
): Promise<AwsCredentials> {
  const params = { Action: "AssumeRole", ...request };
  return stsCredentials(await callSts(api, params, credentials, signal, agents));
}

/** STS AssumeRoleWithWebIdentity (unsigned: the token is the proof). */
export async function assumeRoleWithWebIdentity(
  api: ApiTarget,
  request: { RoleArn: string; RoleSessionName: string; WebIdentityToken: string },
  signal: AbortSignal | undefined,
  agents: Agents,
): Promise<AwsCredentials> {
  const params = { Action: "AssumeRoleWithWebIdentity", ...request };
  return stsCredentials(await callSts(api, params, undefined, signal, agents));
}
