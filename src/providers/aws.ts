/**
 * aws-secrets-manager and aws-ssm, through the AWS SDK v3 (required from node_modules at run time, and
 * only the client the source's type needs).
 *
 * Both: the region is the source's `region`, else AWS_REGION, else AWS_DEFAULT_REGION; `endpoint`
 * overrides the SDK's own endpoint (which honours AWS_ENDPOINT_URL). Credentials are AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from the environment when set, else the SDK's default chain
 * (AWS_PROFILE, SSO, web identity, the instance or container role…); with `role`, that identity assumes
 * the role first (STS AssumeRole, session name "tessera"). The SDK does not retry (maxAttempts 1): the
 * framework's retry does, with a time limit on each attempt that aborts the request.
 *
 * Secrets Manager (GetSecretValue, stage `versionStage`, default AWSCURRENT):
 * - `secret: ID`: one secret holding a JSON object; a searched NAME is a field of it. A `from: {key}`
 *   names a field of it, or else another secret (its id); `property` is a field inside the value (a
 *   dotted path such as `db.host` walks into nested objects).
 * - `prefix: P`: one secret per variable, id P + NAME. A `from: {key}` is a secret id, absolute (else
 *   P + key); `property` a field of its JSON value.
 * A binary secret is served as its bytes when they are UTF-8. Each secret id is fetched once, however many
 * variables read it, and the secrets of a source are fetched in parallel through the shared pool.
 *
 * SSM Parameter Store: a searched NAME is the parameter `path` + NAME; a `from: {key}` is a parameter
 * name, absolute when it starts with `/`, else relative to `path`. Parameters are read by name with
 * GetParameters, ten names a call (the API's limit), the calls in parallel through the pool: 80 names
 * cost one round trip. (GetParametersByPath would return at most ten parameters a page, pages strictly
 * one after the other, and every parameter under the path, needed or not.) SecureString values are
 * decrypted unless `decrypt: false`; StringList values are served as stored (comma-separated).
 *
 * Not found is "missing", never an error. Error messages name the secret or parameter and AWS's error,
 * never a value or a credential.
 */

import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { TesseraError } from "../errors.js";
import type { StoreSource } from "../model/spec.js";
import {
  type Fetched,
  field,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
  type StoreEntry,
} from "./types.js";

type Env = Readonly<Record<string, string | undefined>>;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

interface ClientConfig {
  region: string;
  maxAttempts: number;
  endpoint?: string;
  credentials?: Credentials;
  profile?: string;
}

const SSM_BATCH = 10;
const CURRENT = "AWSCURRENT";

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const config = await clientConfig(context);
    return context.source.type === "aws-ssm"
      ? fetchParameters(requests, context, config)
      : fetchSecrets(requests, context, config);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Configuration and credentials

async function clientConfig(context: ProviderContext): Promise<ClientConfig> {
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

/** A client of the SDK that keeps the bodies of error answers for {@link sdkError}. */
function makeClient<C extends { middlewareStack: { add(middleware: never, options: object): void } }>(
  make: () => C,
): C {
  const client = make();
  const keepBody =
    (next: (args: unknown) => Promise<{ response: unknown }>) =>
    async (args: unknown): Promise<{ response: unknown }> => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; body?: unknown } | undefined;
      const body = response?.body as AsyncIterable<Uint8Array> | undefined;
      if (
        response &&
        (response.statusCode ?? 0) >= 400 &&
        typeof body?.[Symbol.asyncIterator] === "function"
      ) {
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(Buffer.from(chunk));
        const bytes = Buffer.concat(chunks);
        response.body = bytes; // the SDK reads a Uint8Array body as it is
        errorBodies.set(response, bytes.subarray(0, 65_536).toString("utf8"));
      }
      return result;
    };
  client.middlewareStack.add(keepBody as never, {
    step: "deserialize",
    name: "tesseraErrorBody",
    priority: "low",
  });
  return client;
}

/** The body of an error answer, by the SDK's response object (error.$response). */
const errorBodies = new WeakMap<object, string>();

// ---------------------------------------------------------------------------------------------------------------
// Errors

const NOT_FOUND = new Set(["ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"]);
const AUTH = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "ExpiredToken",
  "RequestExpired",
  "MissingAuthenticationToken",
  "MissingAuthenticationTokenException",
  "AuthFailure",
]);
const DENIED = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnauthorizedOperation",
  "DecryptionFailure",
]);
const THROTTLED = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ProvisionedThroughputExceededException",
  "InternalServiceError",
  "InternalServiceErrorException",
  "InternalFailure",
  "InternalServerError",
  "ServiceUnavailable",
  "ServiceUnavailableException",
]);
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ECONNABORTED",
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $responseBodyText?: string;
  $response?: object;
}

/**
 * The error as AWS named it. An error answer the SDK could not parse (a JSON service answering in XML,
 * as a front end or an emulator may) still carries AWS's <Code> and <Message>: read them.
 */
function sdkError(error: unknown): SdkError {
  const sdk = (error ?? {}) as SdkError;
  if (sdk.name !== "SyntaxError") return sdk;
  const body = sdk.$responseBodyText ?? (sdk.$response ? errorBodies.get(sdk.$response) : undefined) ?? "";
  const code = /<Code>([A-Za-z0-9.]+)<\/Code>/.exec(body)?.[1];
  if (!code) return sdk;
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? "";
  const text = message.replace(/&(lt|gt|quot|apos|amp);/g, (_, entity: string) => ENTITIES[entity]!);
  return { name: code, message: text, $metadata: sdk.$metadata };
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" };

/** True when AWS said the thing is not there. */
function notFound(error: unknown): boolean {
  const sdk = sdkError(error);
  const name = sdk.name ?? "";
  if (NOT_FOUND.has(name)) return true;
  // A secret scheduled for deletion cannot be read: as good as gone.
  return name === "InvalidRequestException" && /marked for deletion/i.test(sdk.message ?? "");
}

/** What an SDK error means for the user; `what` names the request ("reading the secret app/db"). */
function failure(error: unknown, what: string, env: Env, hints: { denied: string }): ProviderError {
  if (error instanceof ProviderError) return error;
  const sdk = sdkError(error);
  const name = sdk.name ?? "Error";
  const status = sdk.$metadata?.httpStatusCode;
  const detail = scrub(sdk.message ?? "", env);
  const said = detail ? `${name}: ${detail}` : name;
  if (name === "CredentialsProviderError" || name === "ProviderError") {
    return new ProviderError("auth", `${what}: no AWS credentials (${detail || name})`, {
      hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (after `aws sso login` for SSO)",
    });
  }
  if (AUTH.has(name)) {
    return new ProviderError("auth", `${what}: AWS refused the credentials (${said})`, {
      hint: "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or AWS_PROFILE; `aws sts get-caller-identity` shows who they are",
    });
  }
  if (DENIED.has(name)) return new ProviderError("denied", `${what}: ${said}`, { hint: hints.denied });
  if (name === "AbortError") return new ProviderError("timeout", `${what}: aborted`, { transient: true });
  if (NETWORK.has(sdk.code ?? "") || name === "TimeoutError" || name === "RequestTimeout") {
    return new ProviderError("unreachable", `${what}: ${sdk.code ?? name} (${detail})`, {
      hint: "check the source's endpoint and region, and the network",
      transient: true,
    });
  }
  if (THROTTLED.has(name) || (status !== undefined && (status === 429 || status >= 500))) {
    return new ProviderError("failed", `${what}: ${said}${status ? ` (HTTP ${status})` : ""}`, {
      transient: true,
    });
  }
  if (name === "ValidationException" || name === "InvalidParameterException" || name === "InvalidKeyId") {
    return new ProviderError("invalid", `${what}: ${said}`);
  }
  if (name === "SyntaxError" || name === "Unknown" || name === "UnknownError") {
    return new ProviderError(
      "failed",
      `${what}: the answer is not AWS's${status ? ` (HTTP ${status})` : ""}`,
      { hint: "check the source's endpoint: it should be the service's URL" },
    );
  }
  return new ProviderError("failed", `${what}: ${said}${status ? ` (HTTP ${status})` : ""}`);
}

/** An error message's first line, without anything that looks like a credential. */
function scrub(message: string, env: Env): string {
  let text = message.split("\n")[0]!.trim();
  for (const name of [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY_ID",
  ]) {
    const value = env[name];
    if (value && value.length >= 4) text = text.split(value).join("…");
  }
  text = text.replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, "…");
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

// ---------------------------------------------------------------------------------------------------------------
// Values

/** A JSON text's value, or undefined when the text is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A field of a value (a string holding JSON is read as that JSON): the one property rule, ./types.ts. */
function pick(value: unknown, property: string): string | undefined {
  return field(typeof value === "string" ? parseJson(value) : value, property);
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets Manager

interface Secret {
  text: string;
  /** The text as JSON, parsed once (undefined: not JSON). */
  json(): unknown;
}

async function fetchSecrets(
  requests: readonly LookupRequest[],
  context: ProviderContext,
  config: ClientConfig,
): Promise<Map<string, Fetched>> {
  const { secret: mapId, prefix = "", versionStage } = context.source.settings;
  const stage = versionStage || CURRENT;
  const stageNote = stage === CURRENT ? "" : ` (stage ${stage})`;
  const sdk = await import("@aws-sdk/client-secrets-manager");
  const client: SecretsManagerClient = makeClient(() => new sdk.SecretsManagerClient(config));

  const fetched = new Map<string, Promise<Secret | undefined>>();
  const read = (id: string): Promise<Secret | undefined> => {
    let promise = fetched.get(id);
    if (!promise) {
      promise = context.retry(async (signal) => {
        try {
          const answer = await client.send(
            new sdk.GetSecretValueCommand({ SecretId: id, VersionStage: stage }),
            {
              abortSignal: signal,
            },
          );
          return secretOf(id, answer.SecretString, answer.SecretBinary);
        } catch (error) {
          if (notFound(error)) return undefined;
          throw failure(error, `reading the secret ${id}${stageNote}`, context.env, {
            denied: `the identity needs secretsmanager:GetSecretValue on ${id} (and kms:Decrypt on its key)`,
          });
        }
      });
      fetched.set(id, promise);
    }
    return promise;
  };
  /** The `secret:` map's JSON object, or undefined when the secret does not exist. */
  const readMap = async (): Promise<Record<string, unknown> | undefined> => {
    if (!mapId) return undefined;
    const secret = await read(mapId);
    if (!secret) return undefined;
    const json = secret.json();
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new ProviderError("invalid", `the secret ${mapId}${stageNote} is not a JSON object`, {
        hint: 'secret: names one secret holding {"NAME": "value", …}; for one secret per variable use prefix:',
      });
    }
    return json as Record<string, unknown>;
  };

  const found = (value: string, where: string): Fetched => ({
    status: "found",
    value,
    where: where + stageNote,
  });
  const resolveOne = async (request: LookupRequest): Promise<Fetched> => {
    const { key, property } = request;
    const suffix = property === undefined ? "" : `#${property}`;
    // 1. A field of the `secret:` map (for a `from:`, with `property` inside that field's value).
    if (mapId) {
      const map = await readMap();
      const value = map ? field(map, key) : undefined;
      if (value !== undefined) {
        if (property === undefined) return found(value, `${mapId}#${key}`);
        const inner = pick(value, property);
        if (inner !== undefined) return found(inner, `${mapId}#${key}.${property}`);
      }
      if (request.searched && !context.source.settings.prefix)
        return { status: "missing", where: `${mapId}#${key}` };
    }
    // 2. A secret of its own: the key as an id (a `from:`), then with the prefix.
    const ids = request.searched
      ? [prefix + key]
      : prefix && prefix + key !== key
        ? [key, prefix + key]
        : [key];
    for (const id of ids) {
      const secret = await read(id);
      if (!secret) continue;
      if (property === undefined) return found(secret.text, id);
      const value = pick(secret.json(), property);
      if (value !== undefined) return found(value, `${id}${suffix}`);
    }
    // 3. `from: {property}` alone on a `secret:` source: a field of the map (the key was the variable's name).
    if (mapId && property !== undefined) {
      const value = pick(await readMap(), property);
      if (value !== undefined) return found(value, `${mapId}#${property}`);
    }
    return { status: "missing", where: `${ids[0]}${suffix}` };
  };

  try {
    const results = await context.pool(requests, resolveOne);
    return new Map(requests.map((request, index) => [request.id, results[index]!]));
  } finally {
    client.destroy();
  }
}

function secretOf(id: string, text: string | undefined, binary: Uint8Array | undefined): Secret | undefined {
  let value = text;
  if (value === undefined && binary !== undefined) {
    try {
      value = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(binary);
    } catch {
      throw new ProviderError("invalid", `the secret ${id} is binary and not UTF-8 text`, {
        hint: "Tessera serves text: store the value as a string (base64 for bytes)",
      });
    }
  }
  if (value === undefined) return undefined;
  const string = value;
  let parsed: { json: unknown } | undefined;
  return {
    text: string,
    json() {
      parsed ??= { json: parseJson(string) };
      return parsed.json;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SSM Parameter Store

async function fetchParameters(
  requests: readonly LookupRequest[],
  context: ProviderContext,
  config: ClientConfig,
): Promise<Map<string, Fetched>> {
  const { path = "", decrypt } = context.source.settings;
  if (!path.startsWith("/")) {
    throw new ProviderError("invalid", `the path ${path || "(empty)"} does not start with /`, {
      hint: "path: is a parameter hierarchy, e.g. path: /app/production/",
    });
  }
  const base = path.endsWith("/") ? path : `${path}/`;
  const recursive = context.source.settings.recursive === true;
  const direct = (request: LookupRequest) =>
    !request.searched && request.key.startsWith("/") ? request.key : base + request.key;
  const sdk = await import("@aws-sdk/client-ssm");
  const client: SSMClient = makeClient(() => new sdk.SSMClient(config));
  const values = new Map<string, string>();
  // recursive: one listing of the whole hierarchy (GetParametersByPath, page after page); a searched
  // NAME is path/NAME, else the one parameter deeper down whose last segment is NAME.
  let deeper: Map<string, string[]> | undefined;
  if (recursive && requests.length > 0) {
    try {
      deeper = await listHierarchy(sdk, client, base, decrypt ?? true, values, context);
    } catch (error) {
      client.destroy();
      throw error;
    }
  }
  const nameOf = (request: LookupRequest): string => {
    const name = direct(request);
    if (!deeper || !request.searched || values.has(name)) return name;
    const matches = deeper.get(request.key) ?? [];
    if (matches.length > 1) {
      throw new ProviderError(
        "invalid",
        `${request.key} is found at ${matches.length} places under ${base}: ${matches.join(", ")}`,
        { hint: `name the one you mean with from: {key: ...} on the declaration of ${request.key}` },
      );
    }
    return matches[0] ?? name;
  };
  try {
    const names = [...new Set(requests.map(nameOf))].filter(
      (name) => !(recursive && (values.has(name) || name.startsWith(base))),
    );
    const batches: string[][] = [];
    for (let index = 0; index < names.length; index += SSM_BATCH)
      batches.push(names.slice(index, index + SSM_BATCH));
    await context.pool(batches, (batch) =>
      context.retry(async (signal) => {
        try {
          const answer = await client.send(
            new sdk.GetParametersCommand({ Names: batch, WithDecryption: decrypt ?? true }),
            { abortSignal: signal },
          );
          for (const parameter of answer.Parameters ?? []) {
            if (parameter.Name === undefined || parameter.Value === undefined) continue;
            values.set(parameter.Name + (parameter.Selector ?? ""), parameter.Value);
          }
        } catch (error) {
          if (notFound(error)) return; // absent names come back in InvalidParameters, not as an error
          const shown = batch.length === 1 ? batch[0] : `${batch[0]} and ${batch.length - 1} more`;
          throw failure(error, `reading the parameters ${shown}`, context.env, {
            denied: `the identity needs ssm:GetParameters on ${base}* (and kms:Decrypt for SecureString parameters)`,
          });
        }
      }),
    );
  } finally {
    client.destroy();
  }

  const out = new Map<string, Fetched>();
  for (const request of requests) {
    const name = nameOf(request);
    const where = request.property === undefined ? name : `${name}#${request.property}`;
    const stored = values.get(name);
    const value =
      stored === undefined || request.property === undefined ? stored : pick(stored, request.property);
    out.set(
      request.id,
      value === undefined ? { status: "missing", where } : { status: "found", value, where },
    );
  }
  return out;
}

/**
 * Every parameter under `base`, at any depth: GetParametersByPath with Recursive, ten a page (the API's
 * limit), pages one after the other (each needs the previous page's token). Fills `values` by full name;
 * returns the deeper parameters by last segment.
 */
async function listHierarchy(
  sdk: typeof import("@aws-sdk/client-ssm"),
  client: SSMClient,
  base: string,
  decrypt: boolean,
  values: Map<string, string>,
  context: ProviderContext,
): Promise<Map<string, string[]>> {
  const deeper = new Map<string, string[]>();
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await context.retry(async (signal) => {
      try {
        return await client.send(
          new sdk.GetParametersByPathCommand({
            Path: base.length > 1 ? base.slice(0, -1) : base,
            Recursive: true,
            WithDecryption: decrypt,
            MaxResults: SSM_BATCH,
            NextToken: token,
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        throw failure(error, `listing the parameters under ${base}`, context.env, {
          denied: `the identity needs ssm:GetParametersByPath on ${base}* (and kms:Decrypt for SecureString parameters)`,
        });
      }
    });
    for (const parameter of page.Parameters ?? []) {
      if (parameter.Name === undefined || parameter.Value === undefined) continue;
      values.set(parameter.Name, parameter.Value);
      const rest = parameter.Name.startsWith(base) ? parameter.Name.slice(base.length) : parameter.Name;
      if (!rest.includes("/")) continue;
      const leaf = rest.slice(rest.lastIndexOf("/") + 1);
      deeper.set(leaf, [...(deeper.get(leaf) ?? []), parameter.Name]);
    }
    token = page.NextToken || undefined;
    if (++pages > 10_000) {
      throw new ProviderError("failed", `listing ${base} did not end after ${pages} pages`);
    }
  } while (token);
  return deeper;
}

function awsSecretStore(store: StoreSource, notes: string[]): Record<string, unknown> {
  const settings = store.settings;
  const auth = settings.eso?.auth;
  if (!settings.region) {
    throw new TesseraError(
      "E_TARGET_INVALID",
      `the ${store.type} source "${store.name}" needs a region for the External Secrets Operator`,
      { hint: "add region: to the source" },
    );
  }
  if (!auth && !settings.role)
    notes.push(
      `the AWS store "${store.name}" uses the operator's own credentials (IRSA); set eso.auth to use others`,
    );
  return {
    aws: {
      service: store.type === "aws-ssm" ? "ParameterStore" : "SecretsManager",
      region: settings.region,
      role: settings.role,
      auth,
    },
  };
}

/** The credentials the AWS stores read from the environment. */
const AWS_CREDENTIALS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/** The aws-secrets-manager store in the catalog (./catalog.ts): its manifest schema, credentials and fetcher. */
export const secretsManagerStore: StoreEntry = {
  type: "aws-secrets-manager",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("aws-secrets-manager"),
        name: SourceName,
        region: Type.Optional(Type.String()),
        secret: Type.Optional(
          Type.String({ description: "One JSON secret holding every variable as a key." }),
        ),
        prefix: Type.Optional(Type.String({ description: "One secret per variable, named prefix + NAME." })),
        versionStage: Type.Optional(Type.String({ description: "Default AWSCURRENT." })),
        role: Type.Optional(Type.String({ description: "An IAM role to assume." })),
        endpoint: Type.Optional(
          Type.String({ description: "A custom endpoint URL (a VPC endpoint, LocalStack)." }),
        ),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: () => AWS_CREDENTIALS,
  eso: {
    remoteRef(name, from, store) {
      const { secret, prefix, versionStage: version } = store.settings;
      if (from?.key) return { key: from.key, property: from.property, version };
      if (secret) return { key: secret, property: from?.property ?? name, version };
      return { key: `${prefix ?? ""}${name}`, property: from?.property, version };
    },
    secretStore: (store, _service, notes) => awsSecretStore(store, notes),
  },
  provider,
};

/** The aws-ssm store in the catalog (./catalog.ts): its manifest schema, credentials and fetcher. */
export const ssmStore: StoreEntry = {
  type: "aws-ssm",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("aws-ssm"),
        name: SourceName,
        region: Type.Optional(Type.String()),
        path: Type.String({ description: "The parameter path prefix, e.g. /app/production/." }),
        recursive: Type.Optional(Type.Boolean()),
        decrypt: Type.Optional(
          Type.Boolean({ description: "Decrypt SecureString parameters (default true)." }),
        ),
        role: Type.Optional(Type.String()),
        endpoint: Type.Optional(
          Type.String({ description: "A custom endpoint URL (a VPC endpoint, LocalStack)." }),
        ),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: () => AWS_CREDENTIALS,
  eso: {
    remoteRef(name, from, store) {
      const path = store.settings.path;
      const prefix = path?.endsWith("/") ? path : `${path ?? ""}/`;
      return { key: from?.key ?? `${prefix}${name}`, property: from?.property };
    },
    secretStore: (store, _service, notes) => awsSecretStore(store, notes),
  },
  provider,
};
