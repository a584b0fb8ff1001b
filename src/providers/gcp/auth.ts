/**
 * Google credentials for gcp-secret-manager, read natively (node:crypto and HTTP, no google-auth-library),
 * in Application Default Credentials' order, all from the environment handed to the provider:
 *
 * 1. GOOGLE_OAUTH_ACCESS_TOKEN or CLOUDSDK_AUTH_ACCESS_TOKEN: a bearer token as is.
 * 2. The file GOOGLE_APPLICATION_CREDENTIALS names (relative to the working directory); when it is set
 *    and cannot be read, that is the answer (no fallback).
 * 3. gcloud's well-known file: $CLOUDSDK_CONFIG/application_default_credentials.json, else
 *    ~/.config/gcloud/… (%APPDATA%\gcloud\… on Windows), written by `gcloud auth application-default login`.
 * 4. The metadata server (GCE, GKE, Cloud Run, Cloud Functions): GCE_METADATA_HOST (or GCE_METADATA_IP),
 *    else 169.254.169.254 (metadata.google.internal's fixed address, no DNS needed). Off Google Cloud
 *    it is probed briefly; METADATA_SERVER_DETECTION (assume-present, none, bios-only, ping-only) is
 *    honoured as google-auth-library does.
 *
 * A file's `type`:
 * - service_account: a JWT (RS256, signed with node:crypto) exchanged at `token_uri` (the jwt-bearer
 *   grant); in a universe other than googleapis.com, a self-signed JWT with the API as audience.
 * - authorized_user: the refresh_token grant (`token_uri` when the file has one).
 * - impersonated_service_account: its source credential (either of the above), then IAM Credentials'
 *   generateAccessToken.
 * - external_account (workload identity federation) with a `file` or `url` credential source: the STS
 *   token exchange, then service account impersonation when the file asks for it.
 * - Anything else (external_account from AWS or an executable, external_account_authorized_user,
 *   gdch_service_account…) is handed to google-auth-library when it is installed, else it is
 *   ProviderError("missing-library") naming `npm i google-auth-library`.
 *
 * GOOGLE_CLOUD_QUOTA_PROJECT, else the file's quota_project_id, goes as x-goog-user-project. No message
 * ever carries a token, a key or a secret of the file.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { isRecord } from "../../model/guards.js";
import { errorMessage, requestFailure, shortText } from "../cloud/errors.js";
import { type HttpClient, type HttpResponse, isAbort, jsonBody } from "../cloud/http.js";
import { signJwt } from "../cloud/jwt.js";
import type { LoadLibrary } from "../cloud/optional.js";
import { isProviderError, ProviderError } from "../types.js";

type Env = Readonly<Record<string, string | undefined>>;

export const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
export const DEFAULT_UNIVERSE = "googleapis.com";
const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";
const STS_TOKEN_URI = "https://sts.googleapis.com/v1/token";
const METADATA_ADDRESS = "169.254.169.254";
/** How long a metadata server off Google Cloud gets to answer before there is none. */
export const METADATA_PROBE_MS = 1500;
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export const LOGIN_HINT =
  "gcloud auth application-default login, or set GOOGLE_OAUTH_ACCESS_TOKEN (gcloud auth print-access-token)";
export const LIBRARY_HINT = "npm i google-auth-library";

export interface GcpAuthContext {
  env: Env;
  cwd: string;
  http: HttpClient;
  /** Optional libraries (google-auth-library), undefined when not installed. */
  loadLibrary: LoadLibrary;
  /** The attempt's time limit (ms): a metadata probe takes at most half of it. */
  timeoutMs?: number;
  /** Whether this machine says it is a Google Cloud VM (default: its DMI product name). */
  onGoogleCloud?: () => boolean;
  /** The Unix time in seconds (default: now). */
  now?: () => number;
}

export interface GcpCredential {
  /** What it is, for messages: a variable's name, a file's path, "the metadata server". */
  label: string;
  /** The universe domain its tokens are for (googleapis.com). */
  universe: string;
  /** Headers for every API call besides the token (x-goog-user-project). */
  headers: Record<string, string>;
  /** An access token, within the attempt's signal. */
  token(signal: AbortSignal): Promise<string>;
}

function noCredentials(detail: string): ProviderError {
  return new ProviderError("auth", `no Google credentials (${detail})`, { hint: LOGIN_HINT });
}

function probeMs(attemptMs: number | undefined): number {
  return Math.min(METADATA_PROBE_MS, Math.floor((attemptMs ?? Number.POSITIVE_INFINITY) / 2));
}

function dmiSaysGoogle(): boolean {
  try {
    return /Google/.test(readFileSync("/sys/class/dmi/id/product_name", "utf8"));
  } catch {
    return false;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Where gcloud keeps Application Default Credentials. */
export function wellKnownFile(env: Env): string {
  const dir =
    env.CLOUDSDK_CONFIG ||
    (process.platform === "win32" && env.APPDATA
      ? join(env.APPDATA, "gcloud")
      : join(env.HOME || homedir(), ".config", "gcloud"));
  return join(dir, "application_default_credentials.json");
}

function readJson(
  path: string,
  shown: string,
  missing: "error" | "skip",
): Record<string, unknown> | undefined {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    if (missing === "skip" && (code === "ENOENT" || code === "ENOTDIR")) return undefined;
    throw noCredentials(`${shown} cannot be read: ${code}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(content.charCodeAt(0) === 0xfeff ? content.slice(1) : content);
  } catch {
    throw noCredentials(`${shown} is not JSON`);
  }
  if (!isRecord(json)) throw noCredentials(`${shown} is not a JSON object`);
  return json;
}

/** The credential the environment gives, in ADC's order. Throws "auth" when there is none. */
export async function googleCredential(context: GcpAuthContext): Promise<GcpCredential> {
  const { env } = context;
  const universe = env.GOOGLE_CLOUD_UNIVERSE_DOMAIN || DEFAULT_UNIVERSE;
  const quota: Record<string, string> = env.GOOGLE_CLOUD_QUOTA_PROJECT
    ? { "x-goog-user-project": env.GOOGLE_CLOUD_QUOTA_PROJECT }
    : {};
  for (const name of ["GOOGLE_OAUTH_ACCESS_TOKEN", "CLOUDSDK_AUTH_ACCESS_TOKEN"]) {
    const token = env[name];
    if (token) return { label: name, universe, headers: quota, token: async () => token };
  }
  const named = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (named) {
    const json = readJson(resolve(context.cwd, named), `GOOGLE_APPLICATION_CREDENTIALS (${named})`, "error")!;
    return fromFile(context, json, named);
  }
  const known = wellKnownFile(env);
  const json = readJson(known, known, "skip");
  if (json) return fromFile(context, json, known);
  return metadataServer(context, universe, quota, known);
}

/** A credential file's credential. `shown` is its path (messages name it, never its content). */
export async function fromFile(
  context: GcpAuthContext,
  json: Record<string, unknown>,
  shown: string,
): Promise<GcpCredential> {
  const env = context.env;
  const universe = text(json.universe_domain) ?? (env.GOOGLE_CLOUD_UNIVERSE_DOMAIN || DEFAULT_UNIVERSE);
  const quotaProject = env.GOOGLE_CLOUD_QUOTA_PROJECT || text(json.quota_project_id);
  const headers: Record<string, string> = quotaProject ? { "x-goog-user-project": quotaProject } : {};
  const now = context.now ?? (() => Math.floor(Date.now() / 1000));
  const type = text(json.type) ?? "(no type)";
  const need = (...fields: string[]) => {
    const absent = fields.filter((field) => text(json[field]) === undefined);
    if (absent.length > 0) {
      throw noCredentials(`${shown}: a ${type} credential needs ${absent.join(", ")}`);
    }
    return fields.map((field) => text(json[field])!);
  };

  switch (type) {
    case "service_account": {
      const [email, key] = need("client_email", "private_key") as [string, string];
      const kid = text(json.private_key_id);
      const label = `the service account ${email}`;
      const sign = (claims: Record<string, unknown>) => {
        try {
          return signJwt(claims, key, kid);
        } catch {
          throw noCredentials(`${shown}: its private_key is not a key Node can read`);
        }
      };
      if (universe !== DEFAULT_UNIVERSE) {
        // Other universes have no OAuth token endpoint: a self-signed JWT for the API is the token.
        return {
          label,
          universe,
          headers,
          token: async () => {
            const iat = now();
            return sign({
              iss: email,
              sub: email,
              aud: `https://secretmanager.${universe}/`,
              iat,
              exp: iat + 3600,
            });
          },
        };
      }
      const tokenUri = text(json.token_uri) ?? GOOGLE_TOKEN_URI;
      return {
        label,
        universe,
        headers,
        token: async (signal) => {
          const iat = now();
          const assertion = sign({ iss: email, scope: SCOPE, aud: tokenUri, iat, exp: iat + 3600 });
          return tokenGrant(context, tokenUri, { grant_type: JWT_BEARER, assertion }, label, signal, [
            assertion,
          ]);
        },
      };
    }
    case "authorized_user": {
      const [clientId, clientSecret, refreshToken] = need("client_id", "client_secret", "refresh_token") as [
        string,
        string,
        string,
      ];
      const tokenUri = text(json.token_uri) ?? GOOGLE_TOKEN_URI;
      const form = {
        grant_type: "refresh_token",
        client_id: clientId,
        client_secret: clientSecret,
        refresh_token: refreshToken,
      };
      const label = `the user credentials in ${shown}`;
      return {
        label,
        universe,
        headers,
        token: (signal) => tokenGrant(context, tokenUri, form, label, signal, [clientSecret, refreshToken]),
      };
    }
    case "impersonated_service_account": {
      const [url] = need("service_account_impersonation_url") as [string];
      if (!isRecord(json.source_credentials)) {
        throw noCredentials(`${shown}: an impersonated_service_account credential needs source_credentials`);
      }
      // A source Tessera reads itself; any other (external_account…) makes the whole file the library's.
      const sourceType = json.source_credentials.type;
      if (sourceType !== "service_account" && sourceType !== "authorized_user") break;
      const source = await fromFile(context, json.source_credentials, `${shown} (source_credentials)`);
      const delegates = Array.isArray(json.delegates)
        ? json.delegates.filter((item) => typeof item === "string")
        : [];
      const label = `the impersonation of ${targetAccount(url)}`;
      return {
        label,
        universe,
        headers,
        token: async (signal) =>
          impersonate(
            context,
            url,
            await source.token(signal),
            { delegates, lifetime: "3600s" },
            label,
            signal,
          ),
      };
    }
    case "external_account": {
      const source = json.credential_source;
      if (!isRecord(source))
        throw noCredentials(`${shown}: an external_account credential needs credential_source`);
      if (text(source.file) === undefined && text(source.url) === undefined) break;
      return externalAccount(context, json, source, shown, universe, headers);
    }
  }
  return library(context, json, shown, universe, headers, type);
}

function targetAccount(url: string): string {
  return /serviceAccounts\/([^/:]+)/.exec(url)?.[1] ?? "a service account";
}

/** What an external_account's STS exchange and (optional) impersonation do. */
function externalAccount(
  context: GcpAuthContext,
  json: Record<string, unknown>,
  source: Record<string, unknown>,
  shown: string,
  universe: string,
  headers: Record<string, string>,
): GcpCredential {
  const audience = text(json.audience);
  const subjectTokenType = text(json.subject_token_type);
  if (!audience || !subjectTokenType) {
    throw noCredentials(`${shown}: an external_account credential needs audience and subject_token_type`);
  }
  const tokenUrl = text(json.token_url) ?? STS_TOKEN_URI;
  const impersonation = text(json.service_account_impersonation_url);
  const lifetime = isRecord(json.service_account_impersonation)
    ? Number(json.service_account_impersonation.token_lifetime_seconds) || 3600
    : 3600;
  const format = isRecord(source.format) ? source.format : {};
  const field = text(format.subject_token_field_name);
  const asJson = format.type === "json";
  const clientId = text(json.client_id);
  const clientSecret = text(json.client_secret);
  const userProject = text(json.workforce_pool_user_project);
  const label = impersonation
    ? `the workload identity federation of ${targetAccount(impersonation)}`
    : `the workload identity federation in ${shown}`;

  const subjectToken = async (signal: AbortSignal): Promise<string> => {
    let raw: string;
    const file = text(source.file);
    if (file) {
      try {
        raw = readFileSync(resolve(context.cwd, file), "utf8");
      } catch (error) {
        throw noCredentials(
          `${shown}: its credential_source file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code}`,
        );
      }
    } else {
      const url = text(source.url)!;
      const extra = isRecord(source.headers)
        ? Object.fromEntries(
            Object.entries(source.headers).filter(
              (entry): entry is [string, string] => typeof entry[1] === "string",
            ),
          )
        : {};
      let response: HttpResponse;
      try {
        response = await context.http.request(url, { headers: extra, signal });
      } catch (error) {
        throw requestFailure(error, `the subject token URL (${hostOf(url)})`, {
          subject: "the subject token URL",
          hint: "is credential_source.url right?",
        });
      }
      if (response.status !== 200) {
        throw new ProviderError(
          "auth",
          `the subject token URL (${hostOf(url)}) answered HTTP ${response.status}`,
          { hint: LOGIN_HINT },
        );
      }
      raw = response.body.toString("utf8");
    }
    if (!asJson) {
      if (!raw.trim()) throw noCredentials(`${shown}: the subject token is empty`);
      return raw.trim();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw noCredentials(`${shown}: the subject token source is not JSON`);
    }
    const token = isRecord(parsed) && field ? text(parsed[field]) : undefined;
    if (!token)
      throw noCredentials(`${shown}: the subject token source has no ${field ?? "subject_token_field_name"}`);
    return token;
  };

  return {
    label,
    universe,
    headers,
    token: async (signal) => {
      const subject = await subjectToken(signal);
      const form: Record<string, string> = {
        grant_type: TOKEN_EXCHANGE,
        audience,
        scope: SCOPE,
        requested_token_type: ACCESS_TOKEN_TYPE,
        subject_token: subject,
        subject_token_type: subjectTokenType,
      };
      const basic: Record<string, string> = {};
      if (clientId && clientSecret) {
        basic.authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
      } else if (userProject && !impersonation) {
        form.options = JSON.stringify({ userProject });
      }
      const federated = await tokenGrant(
        context,
        tokenUrl,
        form,
        label,
        signal,
        [subject, clientSecret],
        basic,
      );
      if (!impersonation) return federated;
      return impersonate(context, impersonation, federated, { lifetime: `${lifetime}s` }, label, signal);
    },
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "an invalid URL";
  }
}

/** An OAuth 2.0 token endpoint's error body, in its words (error: error_description). */
function oauthError(response: HttpResponse, secrets: readonly (string | undefined)[]): string {
  const body = jsonBody(response);
  if (isRecord(body)) {
    const error = isRecord(body.error) ? body.error : undefined;
    const code = text(body.error) ?? text(error?.status);
    const description = text(body.error_description) ?? text(error?.message);
    if (code || description) return shortText([code, description].filter(Boolean).join(": "), secrets);
  }
  return `HTTP ${response.status}`;
}

/** A POST of `form` to an OAuth 2.0 token endpoint; its access_token. */
export async function tokenGrant(
  context: GcpAuthContext,
  url: string,
  form: Record<string, string>,
  label: string,
  signal: AbortSignal,
  secrets: readonly (string | undefined)[],
  headers: Record<string, string> = {},
): Promise<string> {
  const where = `the token endpoint (${hostOf(url)})`;
  let response: HttpResponse;
  try {
    response = await context.http.request(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
      signal,
    });
  } catch (error) {
    throw requestFailure(error, where, {
      subject: "the token endpoint",
      hint: "is the network up? (HTTPS_PROXY and NO_PROXY are honoured)",
      secrets,
    });
  }
  return accessToken(response, where, label, "access_token", secrets);
}

function accessToken(
  response: HttpResponse,
  where: string,
  label: string,
  field: "access_token" | "accessToken",
  secrets: readonly (string | undefined)[],
): string {
  if (response.status === 200) {
    const body = jsonBody(response);
    const token = isRecord(body) ? text(body[field]) : undefined;
    if (token) return token;
    throw new ProviderError("auth", `${where} answered no ${field} for ${label}`, { hint: LOGIN_HINT });
  }
  const said = oauthError(response, secrets);
  if (response.status === 429 || response.status >= 500) {
    return failTransient(`${where}: ${said} (HTTP ${response.status})`);
  }
  if (response.status === 403 && field === "accessToken") {
    throw new ProviderError("auth", `${label} is refused (${said})`, {
      hint: "the source identity needs roles/iam.serviceAccountTokenCreator on the target service account",
    });
  }
  throw new ProviderError("auth", `${where} refused ${label} (${said})`, { hint: LOGIN_HINT });
}

function failTransient(message: string): never {
  throw new ProviderError("failed", message, { transient: true });
}

/** IAM Credentials' generateAccessToken with a bearer token of the source identity. */
async function impersonate(
  context: GcpAuthContext,
  url: string,
  sourceToken: string,
  extra: { delegates?: string[]; lifetime: string },
  label: string,
  signal: AbortSignal,
): Promise<string> {
  const where = `the IAM Credentials API (${hostOf(url)})`;
  let response: HttpResponse;
  try {
    response = await context.http.request(url, {
      method: "POST",
      headers: { authorization: `Bearer ${sourceToken}`, "content-type": "application/json" },
      body: JSON.stringify({ scope: [SCOPE], ...extra }),
      signal,
    });
  } catch (error) {
    throw requestFailure(error, where, {
      subject: "the IAM Credentials API",
      hint: "is the network up?",
      secrets: [sourceToken],
    });
  }
  return accessToken(response, where, label, "accessToken", [sourceToken]);
}

/** The metadata server's token for the instance's default service account. */
function metadataServer(
  context: GcpAuthContext,
  universe: string,
  headers: Record<string, string>,
  knownFile: string,
): GcpCredential {
  const env = context.env;
  const custom = env.GCE_METADATA_HOST || env.GCE_METADATA_IP;
  const detection = (env.METADATA_SERVER_DETECTION ?? "").toLowerCase();
  const none = noCredentials(
    `GOOGLE_APPLICATION_CREDENTIALS is not set, ${knownFile} does not exist, and no metadata server answered`,
  );
  if (detection === "none") throw none;
  const onGoogleCloud = () => (context.onGoogleCloud ?? dmiSaysGoogle)();
  let present = Boolean(custom) || detection === "assume-present";
  if (!present && detection !== "ping-only") present = onGoogleCloud();
  if (!present && detection === "bios-only") throw none;
  const host = custom || METADATA_ADDRESS;
  const url = `http://${host}/computeMetadata/v1/instance/service-accounts/default/token?scopes=${encodeURIComponent(SCOPE)}`;
  const where = "the metadata server";
  return {
    label: where,
    universe,
    headers,
    token: async (signal) => {
      let response: HttpResponse;
      try {
        response = await context.http.request(url, {
          headers: { "metadata-flavor": "Google" },
          signal,
          direct: true,
          ...(present ? {} : { timeoutMs: probeMs(context.timeoutMs) }),
        });
      } catch (error) {
        if (!present && !(isAbort(error) && signal.aborted)) throw none;
        throw requestFailure(error, `${where} (${host})`, {
          subject: "the metadata server",
          hint: "GCE_METADATA_HOST names the metadata server (host[:port])",
        });
      }
      if (response.headers["metadata-flavor"] !== "Google") {
        if (!present) throw none;
        throw new ProviderError("auth", `${host} is not a metadata server (no Metadata-Flavor: Google)`, {
          hint: LOGIN_HINT,
        });
      }
      if (response.status === 404) {
        throw new ProviderError("auth", "the metadata server has no service account for this instance", {
          hint: LOGIN_HINT,
        });
      }
      return accessToken(response, where, "the instance's service account", "access_token", []);
    },
  };
}

/** google-auth-library's GoogleAuth, as much of it as is used. */
interface GoogleAuthLibrary {
  GoogleAuth: new (options: {
    credentials: Record<string, unknown>;
    scopes: string[];
  }) => {
    getAccessToken(): Promise<string | null | undefined>;
  };
}

function isGoogleAuthLibrary(value: unknown): value is GoogleAuthLibrary {
  return isRecord(value) && typeof value.GoogleAuth === "function";
}

/** A credential type Tessera does not read itself: google-auth-library's, when it is installed. */
async function library(
  context: GcpAuthContext,
  json: Record<string, unknown>,
  shown: string,
  universe: string,
  headers: Record<string, string>,
  type: string,
): Promise<GcpCredential> {
  const source = isRecord(json.credential_source) ? json.credential_source : undefined;
  const what =
    type === "external_account" && source
      ? `an external_account credential from ${text(source.environment_id)?.startsWith("aws") ? "AWS" : source.executable ? "an executable" : "this source"}`
      : `${/^[aeiou]/.test(type) ? "an" : "a"} ${type} credential`;
  let lib: unknown;
  try {
    lib = await context.loadLibrary("google-auth-library");
  } catch (error) {
    throw new ProviderError(
      "missing-library",
      `${shown} holds ${what}, and google-auth-library cannot load (${shortText(errorMessage(error))})`,
      {
        hint: `reinstall it: ${LIBRARY_HINT}`,
      },
    );
  }
  const module = isRecord(lib) && isRecord(lib.default) && !isGoogleAuthLibrary(lib) ? lib.default : lib;
  if (!isGoogleAuthLibrary(module)) {
    throw new ProviderError(
      "missing-library",
      `${shown} holds ${what}, which needs google-auth-library, and it is not installed`,
      {
        hint: `${LIBRARY_HINT} (beside tessera, or in this project), or use a credential Tessera reads itself: GOOGLE_OAUTH_ACCESS_TOKEN, a service account key, gcloud auth application-default login`,
      },
    );
  }
  const auth = new module.GoogleAuth({ credentials: json, scopes: [SCOPE] });
  const label = `${what} (google-auth-library)`;
  return {
    label,
    universe,
    headers,
    token: async () => {
      let token: string | null | undefined;
      try {
        token = await auth.getAccessToken();
      } catch (error) {
        if (isProviderError(error)) throw error;
        throw new ProviderError("auth", `${label}: ${shortText(errorMessage(error))}`, { hint: LOGIN_HINT });
      }
      if (!token) throw new ProviderError("auth", `${label} gave no access token`, { hint: LOGIN_HINT });
      return token;
    },
  };
}
