/**
 * The AWS SDK clients of both AWS stores (./secrets-manager.ts, ./ssm.ts): their region, endpoint and
 * credentials. The SDK packages themselves are imported by the fetchers, only when a fetch happens.
 *
 * The region is the source's `region`, else AWS_REGION, else AWS_DEFAULT_REGION; `endpoint` overrides the
 * SDK's own endpoint (which honours AWS_ENDPOINT_URL). Credentials are AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from the environment when set, else the SDK's default chain
 * (AWS_PROFILE, SSO, web identity, the instance or container role…); with `role`, that identity assumes
 * the role first (STS AssumeRole, session name "tessera"). The SDK does not retry (maxAttempts 1): the
 * framework's retry does, with a time limit on each attempt that aborts the request.
 */

import { type ProviderContext, ProviderError } from "../types.js";
import { failure, keepErrorBody } from "./errors.js";

type Env = ProviderContext["env"];

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface ClientConfig {
  region: string;
  maxAttempts: number;
  endpoint?: string;
  credentials?: Credentials;
  profile?: string;
}

/** The credentials the AWS stores read from the environment. */
export const AWS_CREDENTIALS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/** The configuration of the source's clients: region, endpoint, and credentials (a role assumed first). */
export async function clientConfig(context: ProviderContext): Promise<ClientConfig> {
  const { settings } = context.source;
  const env = context.env;
  const region = settings.region || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new ProviderError("invalid", "no AWS region", {
      hint: "give the source a region (region: eu-west-1), or set AWS_REGION",
    });
  }
  const config: ClientConfig = { region, maxAttempts: 1 };
  if (settings.endpoint) config.endpoint = settings.endpoint;
  const fromEnv = environmentCredentials(env);
  if (fromEnv) config.credentials = fromEnv;
  else if (env.AWS_PROFILE) config.profile = env.AWS_PROFILE;
  if (settings.role) config.credentials = await assumeRole(settings.role, config, context);
  return config;
}

function environmentCredentials(env: Env): Credentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.AWS_SESSION_TOKEN || env.AWS_SECURITY_TOKEN;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

async function assumeRole(
  role: string,
  config: ClientConfig,
  context: ProviderContext,
): Promise<Credentials> {
  const sts = await import("@aws-sdk/client-sts");
  // A custom endpoint (LocalStack, moto) serves STS too; an AWS VPC endpoint is one service's only.
  const { endpoint, ...rest } = config;
  const client = makeClient(() => new sts.STSClient(endpoint && !isAwsHost(endpoint) ? config : rest));
  try {
    const answer = await context.retry((signal) =>
      client
        .send(new sts.AssumeRoleCommand({ RoleArn: role, RoleSessionName: "tessera" }), {
          abortSignal: signal,
        })
        .catch((error: unknown) => {
          throw failure(error, `assuming the role ${role}`, context.env, {
            denied: `the identity may not assume ${role} (sts:AssumeRole, and the role's trust policy)`,
          });
        }),
    );
    const credentials = answer.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
      throw new ProviderError("failed", `assuming the role ${role}: STS returned no credentials`);
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
    };
  } finally {
    client.destroy();
  }
}

function isAwsHost(endpoint: string): boolean {
  try {
    return /(^|\.)amazonaws\.com(\.cn)?$/.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** The next handler of the SDK's deserialize step, as far as {@link keepBody} needs it. */
type Deserialize<Args> = (args: Args) => Promise<{ response: unknown }>;

/** What every SDK client has: a middleware stack that takes a deserialize-step middleware. */
interface SdkClient {
  middlewareStack: {
    add(
      middleware: <Args>(next: Deserialize<Args>) => Deserialize<Args>,
      options: { step: "deserialize"; name: string; priority: "low" },
    ): void;
  };
}

/** A client of the SDK that keeps the bodies of error answers for the error mapping (./errors.ts). */
export function makeClient<C extends SdkClient>(make: () => C): C {
  const client = make();
  client.middlewareStack.add(keepBody, { step: "deserialize", name: "tesseraErrorBody", priority: "low" });
  return client;
}

/** Reads the streamed body of an error answer into bytes the SDK reads as they are, and remembers its text. */
function keepBody<Args>(next: Deserialize<Args>): Deserialize<Args> {
  return async (args) => {
    const result = await next(args);
    const { response } = result;
    if (
      typeof response === "object" &&
      response !== null &&
      "statusCode" in response &&
      typeof response.statusCode === "number" &&
      response.statusCode >= 400 &&
      "body" in response &&
      isByteStream(response.body)
    ) {
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) chunks.push(Buffer.from(chunk));
      const bytes = Buffer.concat(chunks);
      response.body = bytes; // the SDK reads a Uint8Array body as it is
      keepErrorBody(response, bytes.subarray(0, 65_536).toString("utf8"));
    }
    return result;
  };
}

/** A body still to be read: the SDK's Node handler streams it (an IncomingMessage, chunks of bytes). */
function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return (
    typeof body === "object" &&
    body !== null &&
    Symbol.asyncIterator in body &&
    typeof body[Symbol.asyncIterator] === "function"
  );
}
