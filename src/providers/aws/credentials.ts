/**
 * The AWS credential chain, in the order the AWS SDK v3 follows (and Tessera gave users through it),
 * read only from the environment handed to the provider:
 *
 * 1. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN, or the older
 *    AWS_SECURITY_TOKEN). As before (and as the AWS CLI does), these win over AWS_PROFILE, unless that
 *    profile assumes a role with them (`credential_source = Environment`);
 * 2. the profile (AWS_PROFILE, else `default`) of the shared files (./config-files.ts), as the SDK's
 *    fromIni resolves it: `role_arn` with `source_profile` (resolved the same way, a cycle refused) or
 *    `credential_source` (Environment, Ec2InstanceMetadata, EcsContainer), assumed with STS AssumeRole
 *    (`role_session_name`, `external_id`, `duration_seconds`; `mfa_serial` cannot be prompted for);
 *    static keys; `web_identity_token_file` + `role_arn`; `credential_process`; an SSO or `aws login`
 *    profile through the optional SDK package (./optional-sdk.ts);
 * 3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), STS
 *    AssumeRoleWithWebIdentity (EKS IRSA);
 * 4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (ECS, on 169.254.170.2) or
 *    AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity; https, or http to a loopback or the ECS/EKS
 *    link-local hosts), with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN;
 * 5. the EC2 instance metadata service, IMDSv2 (a token PUT, then GETs with it; IMDSv1 when the token
 *    PUT is refused or times out, unless AWS_EC2_METADATA_V1_DISABLED), at
 *    AWS_EC2_METADATA_SERVICE_ENDPOINT or its mode's address; never with AWS_EC2_METADATA_DISABLED.
 *
 * A source that is not configured is passed over; one that is configured and fails stops the chain
 * with its own error (as the SDK's do). Nothing found is a CredentialsError naming where it looked.
 */

import { readFileSync } from "node:fs";
import {
  type ApiTarget,
  type AwsCredentials,
  assumeRole,
  assumeRoleWithWebIdentity,
  endpointUrl,
} from "./api.js";
import type { Section, SharedConfig } from "./config-files.js";
import { stsEndpoint } from "./endpoints.js";
import { CredentialsError, failure } from "./errors.js";
import { type Agents, send } from "./http.js";
import {
  importModule,
  LOGIN_PACKAGE,
  type LoginModule,
  type ModuleLoader,
  optionalPackage,
  SSO_PACKAGE,
  type SsoModule,
} from "./optional-sdk.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface ChainContext {
  env: Env;
  /** The store's region: STS is called there (unless a profile names its own region). */
  region: string;
  config: SharedConfig;
  /** The source's `endpoint:` (STS is served there too when it is not AWS's). */
  sourceEndpoint?: string;
  agents: Agents;
  signal?: AbortSignal;
  /** The ECS container credentials host (tests point it elsewhere). */
  containerHost?: string;
  /** How an optional SDK package is imported (tests stand in for it). */
  load?: ModuleLoader;
}

const ECS_HOST = "http://169.254.170.2";
const IMDS_IPV4 = "http://169.254.169.254";
const IMDS_IPV6 = "http://[fd00:ec2::254]";
const METADATA_TIMEOUT_MS = 1000;
const CONTAINER_ATTEMPTS = 3;

function set(value: string | undefined): value is string {
  return value !== undefined && value !== "";
}

/** The credentials of the default chain. */
export async function defaultCredentials(context: ChainContext): Promise<AwsCredentials> {
  const { env, config } = context;
  const fromEnv = environmentCredentials(env);
  const chosen = env.AWS_PROFILE ? config.profiles.get(env.AWS_PROFILE) : undefined;
  const rolesFromEnv = chosen && isAssumeRole(chosen) && chosen.credential_source === "Environment";
  if (fromEnv && !rolesFromEnv) return fromEnv;

  const profile = await profileCredentials(config.profileName, context);
  if (profile) return profile;

  if (set(env.AWS_WEB_IDENTITY_TOKEN_FILE) && set(env.AWS_ROLE_ARN)) {
    return webIdentity(
      env.AWS_WEB_IDENTITY_TOKEN_FILE,
      env.AWS_ROLE_ARN,
      env.AWS_ROLE_SESSION_NAME,
      "AWS_WEB_IDENTITY_TOKEN_FILE",
      context,
    );
  }
  if (set(env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) || set(env.AWS_CONTAINER_CREDENTIALS_FULL_URI)) {
    return containerCredentials(context);
  }
  if (!imdsDisabled(env)) {
    const instance = await instanceCredentials(context);
    if (instance) return instance;
  }
  const named = env.AWS_PROFILE && !config.profiles.has(env.AWS_PROFILE);
  throw new CredentialsError(
    `no AWS credentials (none in the environment, ${named ? `no profile ${env.AWS_PROFILE} in ${config.credentialsFile} or ${config.configFile}` : `the profile ${config.profileName} has none`}, no web identity, container or instance credentials)`,
  );
}

/** AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN / AWS_SECURITY_TOKEN). */
export function environmentCredentials(env: Env): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.AWS_SESSION_TOKEN || env.AWS_SECURITY_TOKEN;
  const expiration = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    ...(expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {}),
  };
}

function imdsDisabled(env: Env): boolean {
  const value = env.AWS_EC2_METADATA_DISABLED;
  return value !== undefined && value !== "" && value.toLowerCase() !== "false";
}

// ---------------------------------------------------------------------------------------------------
// Profiles

function has(section: Section, key: string): boolean {
  return typeof section[key] === "string";
}

function isStatic(section: Section): boolean {
  return has(section, "aws_access_key_id") && has(section, "aws_secret_access_key");
}

function isAssumeRole(section: Section): boolean {
  if (!has(section, "role_arn")) return false;
  return has(section, "source_profile") !== has(section, "credential_source");
}

function isCredentialSourceWithoutRole(section: Section | undefined): boolean {
  return section !== undefined && !has(section, "role_arn") && has(section, "credential_source");
}

function isSso(section: Section): boolean {
  return ["sso_start_url", "sso_account_id", "sso_session", "sso_region", "sso_role_name"].some((key) =>
    has(section, key),
  );
}

/**
 * A profile's credentials, as the SDK's fromIni resolves them; undefined when the profile does not
 * exist or holds no credentials (the chain goes on).
 */
async function profileCredentials(
  name: string,
  context: ChainContext,
  visited: ReadonlySet<string> = new Set(),
  sourceOnly = false,
): Promise<AwsCredentials | undefined> {
  const section = context.config.profiles.get(name);
  if (!section) return undefined;
  if (visited.size > 0 && isStatic(section)) return staticCredentials(section);
  if (sourceOnly || isAssumeRole(section)) return roleProfile(name, section, context, visited);
  if (isStatic(section)) return staticCredentials(section);
  if (has(section, "web_identity_token_file") && has(section, "role_arn")) {
    return webIdentity(
      section.web_identity_token_file!,
      section.role_arn!,
      section.role_session_name,
      `web_identity_token_file of the profile ${name}`,
      context,
    );
  }
  if (has(section, "credential_process")) return processCredentials(name, section, context);
  if (isSso(section)) return sdkCredentials(name, "sso", context);
  if (has(section, "login_session")) return sdkCredentials(name, "login", context);
  return undefined;
}

function staticCredentials(section: Section): AwsCredentials {
  const token = section.aws_session_token;
  return {
    accessKeyId: section.aws_access_key_id!,
    secretAccessKey: section.aws_secret_access_key!,
    ...(token ? { sessionToken: token } : {}),
  };
}

/** `role_arn` with `source_profile` or `credential_source`: the source's credentials assume the role. */
async function roleProfile(
  name: string,
  section: Section,
  context: ChainContext,
  visited: ReadonlySet<string>,
): Promise<AwsCredentials> {
  const source = section.source_profile;
  let base: AwsCredentials;
  if (source !== undefined) {
    if (visited.has(source)) {
      throw new CredentialsError(
        `the profile ${name} names source_profile ${source}, which leads back to itself (${[...visited, source].join(" → ")})`,
        { hint: "a source_profile chain must end in a profile with credentials" },
      );
    }
    const sourceSection = context.config.profiles.get(source);
    const found = sourceSection
      ? await profileCredentials(
          source,
          context,
          new Set([...visited, source]),
          isCredentialSourceWithoutRole(sourceSection),
        )
      : undefined;
    if (!found) {
      throw new CredentialsError(
        `the profile ${name} names source_profile ${source}, which ${sourceSection ? "has no credentials" : `is in neither ${context.config.credentialsFile} nor ${context.config.configFile}`}`,
      );
    }
    base = found;
  } else {
    base = await credentialSource(name, section.credential_source ?? "", context);
  }
  if (!has(section, "role_arn")) return base; // a credential_source without a role: the source itself
  if (has(section, "mfa_serial")) {
    throw new CredentialsError(
      `the profile ${name} needs an MFA code (mfa_serial), which Tessera cannot ask for`,
      {
        hint: "get temporary credentials first (aws sts get-session-token, aws-vault exec, or a credential_process) and hand them in the environment",
      },
    );
  }
  const roleArn = section.role_arn!;
  const region = section.region || context.region;
  const api: ApiTarget = {
    endpoint: endpointUrl(stsEndpoint(region, context.sourceEndpoint, context.env, context.config)),
    region,
    service: "sts",
  };
  try {
    return await assumeRole(
      api,
      {
        RoleArn: roleArn,
        RoleSessionName: section.role_session_name || `tessera-${Date.now()}`,
        ExternalId: section.external_id,
        DurationSeconds: section.duration_seconds || "3600",
      },
      base,
      context.signal,
      context.agents,
    );
  } catch (error) {
    throw failure(error, `assuming the role ${roleArn} of the profile ${name}`, context.env, {
      denied: `the profile's source identity may not assume ${roleArn} (sts:AssumeRole, and the role's trust policy)`,
    });
  }
}

async function credentialSource(name: string, kind: string, context: ChainContext): Promise<AwsCredentials> {
  const none = (where: string) =>
    new CredentialsError(`the profile ${name} takes its credentials from ${where}, which has none`);
  switch (kind) {
    case "Environment": {
      const found = environmentCredentials(context.env);
      if (!found) throw none("the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
      return found;
    }
    case "Ec2InstanceMetadata": {
      const found = await instanceCredentials(context);
      if (!found) throw none("the EC2 instance metadata");
      return found;
    }
    case "EcsContainer":
      if (
        !set(context.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) &&
        !set(context.env.AWS_CONTAINER_CREDENTIALS_FULL_URI)
      ) {
        throw none("the container (no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)");
      }
      return containerCredentials(context);
    default:
      throw new CredentialsError(
        `the profile ${name} has credential_source = ${kind}, which is not one of Environment, Ec2InstanceMetadata, EcsContainer`,
      );
  }
}

// ---------------------------------------------------------------------------------------------------
// Web identity

async function webIdentity(
  tokenFile: string,
  roleArn: string,
  sessionName: string | undefined,
  label: string,
  context: ChainContext,
): Promise<AwsCredentials> {
  let token: string;
  try {
    token = readFileSync(tokenFile, "utf8").trim();
  } catch (error) {
    throw new CredentialsError(
      `cannot read the web identity token (${label}, ${tokenFile}): ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`,
    );
  }
  const api: ApiTarget = {
    endpoint: endpointUrl(stsEndpoint(context.region, context.sourceEndpoint, context.env, context.config)),
    region: context.region,
    service: "sts",
  };
  try {
    return await assumeRoleWithWebIdentity(
      api,
      { RoleArn: roleArn, RoleSessionName: sessionName || `tessera-${Date.now()}`, WebIdentityToken: token },
      context.signal,
      context.agents,
    );
  } catch (error) {
    throw failure(error, `assuming the role ${roleArn} with the web identity token`, context.env, {
      denied: `the token's identity may not assume ${roleArn} (sts:AssumeRoleWithWebIdentity, and the role's trust policy)`,
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// credential_process

/** The profile's credential_process: its standard output is `{"Version": 1, "AccessKeyId": …}`. */
async function processCredentials(
  name: string,
  section: Section,
  context: ChainContext,
): Promise<AwsCredentials> {
  const command = section.credential_process!;
  const label = `the credential_process of the profile ${name}`;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(context.env)) if (value !== undefined) env[key] = value;
  const { exec } = await import("node:child_process");
  const stdout = await new Promise<string>((resolve, reject) => {
    exec(
      command,
      { env, signal: context.signal, maxBuffer: 1024 * 1024, windowsHide: true, encoding: "utf8" },
      (error, out) => {
        if (!error) return resolve(out);
        if (error.name === "AbortError") return reject(error);
        const code = (error as { code?: unknown }).code;
        const why = typeof code === "number" ? `exit status ${code}` : String(code ?? error.name);
        reject(
          new CredentialsError(`${label} failed (${why})`, {
            hint: "run the profile's credential_process yourself to see why (its output is never shown)",
          }),
        );
      },
    );
  });
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  const fields = json !== null && typeof json === "object" ? (json as Record<string, unknown>) : {};
  const text = (key: string) => (typeof fields[key] === "string" ? (fields[key] as string) : undefined);
  const accessKeyId = text("AccessKeyId");
  const secretAccessKey = text("SecretAccessKey");
  if (fields.Version !== 1 || !accessKeyId || !secretAccessKey) {
    throw new CredentialsError(
      `${label} did not print credentials (JSON with "Version": 1, AccessKeyId and SecretAccessKey)`,
      { hint: "see https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html" },
    );
  }
  const sessionToken = text("SessionToken");
  const expirationText = text("Expiration");
  const expiration = expirationText ? new Date(expirationText) : undefined;
  if (expiration && expiration.getTime() < Date.now()) {
    throw new CredentialsError(`${label} printed credentials that expired at ${expiration.toISOString()}`);
  }
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    ...(expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// SSO and `aws login` profiles: the optional SDK

async function sdkCredentials(
  name: string,
  kind: "sso" | "login",
  context: ChainContext,
): Promise<AwsCredentials> {
  const init = {
    profile: name,
    filepath: context.config.credentialsFile,
    configFilepath: context.config.configFile,
  };
  const load = context.load ?? importModule;
  const provider =
    kind === "sso"
      ? (await optionalPackage<SsoModule>(SSO_PACKAGE, `the SSO profile ${name}`, load)).fromSSO(init)
      : (
          await optionalPackage<LoginModule>(LOGIN_PACKAGE, `the aws login profile ${name}`, load)
        ).fromLoginCredentials(init);
  const found = await provider();
  return {
    accessKeyId: found.accessKeyId,
    secretAccessKey: found.secretAccessKey,
    ...(found.sessionToken ? { sessionToken: found.sessionToken } : {}),
    ...(found.expiration ? { expiration: found.expiration } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Container credentials (ECS task role, EKS Pod Identity)

const CONTAINER_HOSTS = new Set(["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"]);

function allowedContainerUrl(url: URL): boolean {
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const host = url.hostname;
  if (CONTAINER_HOSTS.has(host) || host === "localhost" || host === "[::1]") return true;
  return /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(host);
}

function metadataCredentials(json: unknown): AwsCredentials | undefined {
  if (json === null || typeof json !== "object") return undefined;
  const fields = json as Record<string, unknown>;
  if (typeof fields.AccessKeyId !== "string" || typeof fields.SecretAccessKey !== "string") return undefined;
  const token = typeof fields.Token === "string" ? fields.Token : undefined;
  const expiration = typeof fields.Expiration === "string" ? new Date(fields.Expiration) : undefined;
  return {
    accessKeyId: fields.AccessKeyId,
    secretAccessKey: fields.SecretAccessKey,
    ...(token ? { sessionToken: token } : {}),
    ...(expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {}),
  };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

async function containerCredentials(context: ChainContext): Promise<AwsCredentials> {
  const { env } = context;
  const relative = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  const variable = set(relative)
    ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
    : "AWS_CONTAINER_CREDENTIALS_FULL_URI";
  let url: URL;
  try {
    url = new URL(set(relative) ? `${context.containerHost ?? ECS_HOST}${relative}` : full!);
  } catch {
    throw new CredentialsError(`${variable} does not make a URL`);
  }
  const shown = `${url.origin}${url.pathname}`;
  if (!allowedContainerUrl(url)) {
    throw new CredentialsError(
      `the container credentials endpoint ${shown} (${variable}) is refused: it must be https, a loopback address or the ECS/EKS host`,
    );
  }
  const headers: Record<string, string> = {};
  const tokenFile = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
  let token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  if (set(tokenFile)) {
    try {
      token = readFileSync(tokenFile, "utf8").replace(/[\r\n]+$/, "");
    } catch (error) {
      throw new CredentialsError(
        `cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (${tokenFile}): ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`,
      );
    }
  }
  if (set(token)) {
    if (/[\r\n]/.test(token))
      throw new CredentialsError("the container authorization token holds a line break");
    headers.authorization = token;
  }
  let last = "";
  for (let attempt = 1; attempt <= CONTAINER_ATTEMPTS; attempt++) {
    try {
      const answer = await send(
        { method: "GET", url, headers, signal: context.signal, timeoutMs: METADATA_TIMEOUT_MS },
        context.agents,
      );
      if (answer.status === 200) {
        const found = metadataCredentials(parseJson(answer.body));
        if (found) return found;
        throw new CredentialsError(`the container credentials endpoint ${shown} answered no credentials`);
      }
      last = `HTTP ${answer.status}`;
      if (answer.status >= 400 && answer.status < 500) break; // refused: asking again will not help
    } catch (error) {
      if (error instanceof CredentialsError || (error as Error).name === "AbortError") throw error;
      last = (error as NodeJS.ErrnoException).code ?? (error as Error).name;
    }
  }
  throw new CredentialsError(`the container credentials endpoint ${shown} (${variable}) failed: ${last}`, {
    hint: "check the task or pod's role (ECS task role, EKS Pod Identity association)",
    transient: !/^HTTP 4/.test(last),
  });
}

// ---------------------------------------------------------------------------------------------------
// EC2 instance metadata (IMDSv2, IMDSv1 as the fallback the SDK keeps)

const IMDS_ROLES = "/latest/meta-data/iam/security-credentials/";

function imdsBase(context: ChainContext): string {
  const { env } = context;
  const profile = context.config.profiles.get(context.config.profileName);
  const endpoint = env.AWS_EC2_METADATA_SERVICE_ENDPOINT || profile?.ec2_metadata_service_endpoint;
  if (endpoint) return endpoint.replace(/\/+$/, "");
  const mode = env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE || profile?.ec2_metadata_service_endpoint_mode;
  return mode?.toLowerCase() === "ipv6" ? IMDS_IPV6 : IMDS_IPV4;
}

function v1Disabled(context: ChainContext): boolean {
  const value =
    context.env.AWS_EC2_METADATA_V1_DISABLED ??
    context.config.profiles.get(context.config.profileName)?.ec2_metadata_v1_disabled;
  return value !== undefined && value !== "" && value.toLowerCase() !== "false";
}

class MetadataStatus extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** The instance role's credentials; undefined when there is no instance metadata service or no role. */
async function instanceCredentials(context: ChainContext): Promise<AwsCredentials | undefined> {
  let base: URL;
  try {
    base = new URL(imdsBase(context));
  } catch {
    throw new CredentialsError("AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL");
  }
  const get = async (path: string, method: "GET" | "PUT", headers: Record<string, string>) => {
    const answer = await send(
      {
        method,
        url: new URL(path, base),
        headers,
        signal: context.signal,
        timeoutMs: METADATA_TIMEOUT_MS,
      },
      context.agents,
    );
    if (answer.status < 200 || answer.status >= 300) throw new MetadataStatus(answer.status);
    return answer.body.toString("utf8");
  };
  const headers: Record<string, string> = {};
  try {
    headers["x-aws-ec2-metadata-token"] = await get("/latest/api/token", "PUT", {
      "x-aws-ec2-metadata-token-ttl-seconds": "21600",
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    const status = error instanceof MetadataStatus ? error.status : undefined;
    const fallback = (error as Error).name === "TimeoutError" || [403, 404, 405].includes(status ?? 0);
    if (!fallback) return undefined; // nothing there (refused, unreachable, or a 400)
    if (v1Disabled(context)) {
      throw new CredentialsError(
        "the instance metadata service refused a token (IMDSv2) and AWS_EC2_METADATA_V1_DISABLED forbids IMDSv1",
      );
    }
  }
  try {
    const role = (await get(IMDS_ROLES, "GET", headers)).trim().split("\n")[0]?.trim();
    if (!role) return undefined;
    const found = metadataCredentials(parseJson(Buffer.from(await get(IMDS_ROLES + role, "GET", headers))));
    if (!found) throw new CredentialsError("the instance metadata service answered no credentials");
    return found;
  } catch (error) {
    if (error instanceof CredentialsError || (error as Error).name === "AbortError") throw error;
    if (error instanceof MetadataStatus && error.status === 404) return undefined; // no instance role
    if (error instanceof MetadataStatus) {
      throw new CredentialsError(`the instance metadata service answered ${error.message}`, {
        transient: error.status >= 500,
      });
    }
    return undefined; // not on EC2
  }
}
