/**
 * Microsoft Entra tokens for azure-key-vault, read natively (HTTP and the az tool, no @azure/identity),
 * in DefaultAzureCredential's order, all from the environment handed to the provider:
 *
 * 0. AZURE_ACCESS_TOKEN: a bearer token for Key Vault as is.
 * 1. Environment: AZURE_TENANT_ID (or `tenantId:`), AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, the
 *    client-credentials grant at {AZURE_AUTHORITY_HOST or https://login.microsoftonline.com}/{tenant}/
 *    oauth2/v2.0/token. A certificate (AZURE_CLIENT_CERTIFICATE_PATH) or a user name and password
 *    (AZURE_USERNAME, AZURE_PASSWORD) instead of the secret: @azure/identity's, when installed.
 * 2. Workload identity (AKS): AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and the tenant, the file's
 *    token as client_assertion at the same endpoint.
 * 3. Managed identity: App Service / Container Apps / Functions (IDENTITY_ENDPOINT + IDENTITY_HEADER),
 *    Cloud Shell (MSI_ENDPOINT), else the VM's IMDS (http://169.254.169.254, or
 *    AZURE_POD_IDENTITY_AUTHORITY_HOST), AZURE_CLIENT_ID naming a user-assigned identity. Service
 *    Fabric and Azure Arc: @azure/identity's, when installed. In the chain, IMDS gets a short probe.
 * 4. The Azure CLI: `az account get-access-token --resource … -o json` (with `--tenant` when one is
 *    known), through the store tool runner.
 *
 * AZURE_TOKEN_CREDENTIALS picks as DefaultAzureCredential does: "prod" (1-3), "dev" (4), or one name
 * (EnvironmentCredential, WorkloadIdentityCredential, ManagedIdentityCredential, AzureCliCredential;
 * AzurePowerShellCredential, AzureDeveloperCliCredential and VisualStudioCodeCredential are
 * @azure/identity's). A credential that is installed-library-only and missing is
 * ProviderError("missing-library") naming `npm i @azure/identity`. No message carries a token or secret.
 */
import { readFileSync } from "node:fs";
import { isRecord } from "../../model/guards.js";
import { errorMessage, requestFailure, shortText } from "../cloud/errors.js";
import { type HttpClient, type HttpResponse, isAbort, jsonBody } from "../cloud/http.js";
import type { LoadLibrary } from "../cloud/optional.js";
import { runTool, type ToolOptions, type ToolOutput } from "../tool.js";
import { isProviderError, ProviderError } from "../types.js";

type Env = Readonly<Record<string, string | undefined>>;

const AUTHORITY = "https://login.microsoftonline.com";
const IMDS = "http://169.254.169.254";
/** How long IMDS gets to answer in the chain before there is no managed identity. */
export const IMDS_PROBE_MS = 1000;
export const LOGIN_HINT =
  "az login, or set AZURE_ACCESS_TOKEN (az account get-access-token --resource https://vault.azure.net)";
export const LIBRARY_HINT = "npm i @azure/identity";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export type RunTool = (command: string, args: readonly string[], options: ToolOptions) => Promise<ToolOutput>;

export interface AzureAuthContext {
  env: Env;
  cwd: string;
  http: HttpClient;
  /** The source's `tenantId:`. */
  tenantId?: string;
  /** Optional libraries (@azure/identity), undefined when not installed. */
  loadLibrary: LoadLibrary;
  /** The tool runner (default ../tool.ts's). */
  runTool?: RunTool;
  /** The attempt's time limit (ms): an IMDS probe takes at most half of it. */
  timeoutMs?: number;
}

/** A token source. */
export interface AzureCredential {
  /** A token for `scope` (a Key Vault scope, checked by the caller); `tenant` is the vault's, from its challenge. */
  token(scope: string, signal: AbortSignal, tenant?: string): Promise<string>;
}

/** A source that does not apply here: the chain moves on, and says why at the end. */
class Unavailable extends Error {}

type Source = (
  scope: string,
  signal: AbortSignal,
  tenant: string | undefined,
  chained: boolean,
) => Promise<string>;

const NATIVE = [
  "EnvironmentCredential",
  "WorkloadIdentityCredential",
  "ManagedIdentityCredential",
  "AzureCliCredential",
];
const LIBRARY_ONLY = [
  "AzurePowerShellCredential",
  "AzureDeveloperCliCredential",
  "VisualStudioCodeCredential",
];

function resourceOf(scope: string): string {
  return scope.replace(/\/?\/\.default$/, "");
}

function validTenant(tenant: string): string {
  if (!/^[0-9A-Za-z.-]+$/.test(tenant)) {
    throw new ProviderError("invalid", `${tenant} is not a tenant id`, {
      hint: "a tenant is a GUID or a domain name (contoso.onmicrosoft.com)",
    });
  }
  return tenant;
}

/** The credential the environment gives (its sources tried in order at the first token). */
export function azureCredential(context: AzureAuthContext): AzureCredential {
  const env = context.env;
  const fixed = env.AZURE_ACCESS_TOKEN;
  if (fixed) return { token: async () => fixed };
  const sources: Record<string, Source> = {
    EnvironmentCredential: (scope, signal) => environment(context, scope, signal),
    WorkloadIdentityCredential: (scope, signal) => workloadIdentity(context, scope, signal),
    ManagedIdentityCredential: (scope, signal, _tenant, chained) =>
      managedIdentity(context, scope, signal, chained),
    AzureCliCredential: (scope, signal, tenant) => azureCli(context, scope, signal, tenant),
  };
  const selected = (env.AZURE_TOKEN_CREDENTIALS ?? "").trim();
  let chain: Source[];
  const lower = selected.toLowerCase();
  if (!selected) chain = NATIVE.map((name) => sources[name]!);
  else if (lower === "prod") chain = NATIVE.slice(0, 3).map((name) => sources[name]!);
  else if (lower === "dev") chain = [sources.AzureCliCredential!];
  else {
    const name = [...NATIVE, ...LIBRARY_ONLY].find((item) => item.toLowerCase() === lower);
    if (!name) {
      throw new ProviderError(
        "invalid",
        `AZURE_TOKEN_CREDENTIALS=${selected} is not a credential Tessera knows`,
        {
          hint: `one of dev, prod, ${[...NATIVE, ...LIBRARY_ONLY].join(", ")}`,
        },
      );
    }
    chain = [
      sources[name] ??
        ((scope, signal, tenant) =>
          fromLibrary(context, name, `AZURE_TOKEN_CREDENTIALS=${name}`, scope, signal, (lib) =>
            construct(lib, name, [{ tenantId: context.tenantId || tenant }]),
          )),
    ];
  }
  const chained = chain.length > 1;
  return {
    async token(scope, signal, tenant) {
      const reasons: string[] = [];
      for (const source of chain) {
        try {
          return await source(scope, signal, tenant, chained);
        } catch (error) {
          if (!(error instanceof Unavailable)) throw error;
          reasons.push(error.message);
        }
      }
      throw new ProviderError("auth", `no Azure credential (${reasons.join("; ")})`, { hint: LOGIN_HINT });
    },
  };
}

function tenantOf(context: AzureAuthContext): string | undefined {
  const tenant = context.tenantId || context.env.AZURE_TENANT_ID;
  return tenant ? validTenant(tenant) : undefined;
}

function tokenEndpoint(context: AzureAuthContext, tenant: string): string {
  const authority = (context.env.AZURE_AUTHORITY_HOST || AUTHORITY).replace(/\/+$/, "");
  return `${authority}/${tenant}/oauth2/v2.0/token`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "an invalid URL";
  }
}

/** An OAuth 2.0 error body in its words (error: error_description's first line). */
function oauthError(response: HttpResponse, secrets: readonly (string | undefined)[]): string {
  const body = jsonBody(response);
  if (isRecord(body)) {
    const code = typeof body.error === "string" ? body.error : undefined;
    const description = typeof body.error_description === "string" ? body.error_description : undefined;
    const message = typeof body.message === "string" ? body.message : undefined;
    const said = [code, description ?? message].filter(Boolean).join(": ");
    if (said) return shortText(said, secrets);
  }
  return `HTTP ${response.status}`;
}

/** The access_token of a token endpoint's answer, or the failure in its words. */
function accessToken(
  response: HttpResponse,
  where: string,
  label: string,
  secrets: readonly (string | undefined)[],
): string {
  if (response.status === 200) {
    const body = jsonBody(response);
    const token = isRecord(body) && typeof body.access_token === "string" ? body.access_token : undefined;
    if (token) return token;
    throw new ProviderError("auth", `${where} answered no access_token for ${label}`, { hint: LOGIN_HINT });
  }
  const said = oauthError(response, secrets);
  if (response.status === 429 || response.status >= 500) {
    throw new ProviderError("failed", `${where}: ${said} (HTTP ${response.status})`, { transient: true });
  }
  throw new ProviderError("auth", `${where} refused ${label} (${said})`, { hint: LOGIN_HINT });
}

async function postForm(
  context: AzureAuthContext,
  url: string,
  form: Record<string, string>,
  label: string,
  signal: AbortSignal,
  secrets: readonly (string | undefined)[],
): Promise<string> {
  const where = `the token endpoint (${hostOf(url)})`;
  let response: HttpResponse;
  try {
    response = await context.http.request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams(form).toString(),
      signal,
    });
  } catch (error) {
    throw requestFailure(error, where, {
      subject: "the token endpoint",
      hint: "is the network up? (AZURE_AUTHORITY_HOST, HTTPS_PROXY and NO_PROXY are honoured)",
      secrets,
    });
  }
  return accessToken(response, where, label, secrets);
}

/** EnvironmentCredential: a client secret natively; a certificate or a user's password through @azure/identity. */
async function environment(context: AzureAuthContext, scope: string, signal: AbortSignal): Promise<string> {
  const env = context.env;
  const tenant = tenantOf(context);
  const clientId = env.AZURE_CLIENT_ID;
  if (!tenant || !clientId) throw new Unavailable("AZURE_TENANT_ID and AZURE_CLIENT_ID are not both set");
  const authorityHost = env.AZURE_AUTHORITY_HOST || undefined;
  if (env.AZURE_CLIENT_SECRET) {
    const secret = env.AZURE_CLIENT_SECRET;
    return postForm(
      context,
      tokenEndpoint(context, tenant),
      { client_id: clientId, client_secret: secret, scope, grant_type: "client_credentials" },
      `the client secret of ${clientId}`,
      signal,
      [secret],
    );
  }
  if (env.AZURE_CLIENT_CERTIFICATE_PATH) {
    const certificate = {
      certificatePath: env.AZURE_CLIENT_CERTIFICATE_PATH,
      ...(env.AZURE_CLIENT_CERTIFICATE_PASSWORD
        ? { certificatePassword: env.AZURE_CLIENT_CERTIFICATE_PASSWORD }
        : {}),
    };
    return fromLibrary(
      context,
      "ClientCertificateCredential",
      "a client certificate (AZURE_CLIENT_CERTIFICATE_PATH)",
      scope,
      signal,
      (lib) =>
        construct(lib, "ClientCertificateCredential", [tenant, clientId, certificate, { authorityHost }]),
    );
  }
  if (env.AZURE_USERNAME && env.AZURE_PASSWORD) {
    const { AZURE_USERNAME: username, AZURE_PASSWORD: password } = env;
    return fromLibrary(
      context,
      "UsernamePasswordCredential",
      "a user name and password (AZURE_USERNAME)",
      scope,
      signal,
      (lib) =>
        construct(lib, "UsernamePasswordCredential", [
          tenant,
          clientId,
          username,
          password,
          { authorityHost },
        ]),
    );
  }
  throw new Unavailable("no AZURE_CLIENT_SECRET (nor a certificate, nor a user name and password)");
}

/** WorkloadIdentityCredential: the federated token file's content as the client assertion. */
async function workloadIdentity(
  context: AzureAuthContext,
  scope: string,
  signal: AbortSignal,
): Promise<string> {
  const env = context.env;
  const file = env.AZURE_FEDERATED_TOKEN_FILE;
  const tenant = tenantOf(context);
  const clientId = env.AZURE_CLIENT_ID;
  if (!file || !tenant || !clientId) {
    throw new Unavailable("AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID and AZURE_CLIENT_ID are not all set");
  }
  let assertion: string;
  try {
    assertion = readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new ProviderError(
      "auth",
      `the federated token file ${file} cannot be read (${(error as NodeJS.ErrnoException).code})`,
      {
        hint: "AZURE_FEDERATED_TOKEN_FILE names the service account token the workload identity webhook projects",
      },
    );
  }
  if (!assertion)
    throw new ProviderError("auth", `the federated token file ${file} is empty`, { hint: LOGIN_HINT });
  return postForm(
    context,
    tokenEndpoint(context, tenant),
    {
      client_id: clientId,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
      scope,
      grant_type: "client_credentials",
    },
    `the workload identity of ${clientId}`,
    signal,
    [assertion],
  );
}

/** ManagedIdentityCredential: App Service's endpoint, Cloud Shell's, or IMDS. */
async function managedIdentity(
  context: AzureAuthContext,
  scope: string,
  signal: AbortSignal,
  chained: boolean,
): Promise<string> {
  const env = context.env;
  const resource = resourceOf(scope);
  const clientId = env.AZURE_CLIENT_ID;
  const label = clientId ? `the managed identity ${clientId}` : "the managed identity";
  const viaLibrary = (what: string) =>
    fromLibrary(context, "ManagedIdentityCredential", what, scope, signal, (lib) =>
      construct(lib, "ManagedIdentityCredential", [clientId ? { clientId } : {}]),
    );
  let url: URL;
  let init: { method?: "GET" | "POST"; headers: Record<string, string>; body?: string };
  let probe = false;
  if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER && env.IDENTITY_SERVER_THUMBPRINT) {
    return viaLibrary("Service Fabric's managed identity");
  } else if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) {
    url = new URL(env.IDENTITY_ENDPOINT);
    url.searchParams.set("api-version", "2019-08-01");
    url.searchParams.set("resource", resource);
    if (clientId) url.searchParams.set("client_id", clientId);
    init = { headers: { "x-identity-header": env.IDENTITY_HEADER } };
  } else if (env.IDENTITY_ENDPOINT && env.IMDS_ENDPOINT) {
    return viaLibrary("Azure Arc's managed identity");
  } else if (env.MSI_ENDPOINT && !env.MSI_SECRET) {
    url = new URL(env.MSI_ENDPOINT);
    const form: Record<string, string> = { resource };
    if (clientId) form.client_id = clientId;
    init = {
      method: "POST",
      headers: { metadata: "true", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    };
  } else if (env.MSI_ENDPOINT) {
    return viaLibrary("the managed identity of MSI_ENDPOINT and MSI_SECRET");
  } else {
    const host = (env.AZURE_POD_IDENTITY_AUTHORITY_HOST || IMDS).replace(/\/+$/, "");
    url = new URL(`${host}/metadata/identity/oauth2/token`);
    url.searchParams.set("api-version", "2018-02-01");
    url.searchParams.set("resource", resource);
    if (clientId) url.searchParams.set("client_id", clientId);
    init = { headers: { metadata: "true" } };
    probe = chained;
  }
  const where = `the managed identity endpoint (${url.host})`;
  let response: HttpResponse;
  try {
    response = await context.http.request(url, {
      ...init,
      signal,
      direct: true,
      ...(probe
        ? {
            timeoutMs: Math.min(
              IMDS_PROBE_MS,
              Math.floor((context.timeoutMs ?? Number.POSITIVE_INFINITY) / 2),
            ),
          }
        : {}),
    });
  } catch (error) {
    if (probe && !(isAbort(error) && signal.aborted))
      throw new Unavailable("no managed identity endpoint answered");
    throw requestFailure(error, where, {
      subject: "the managed identity endpoint",
      hint: "is this an Azure host with a managed identity?",
    });
  }
  if (probe && response.status !== 200) {
    throw new Unavailable(`IMDS has no identity for this host (HTTP ${response.status})`);
  }
  return accessToken(response, where, label, [env.IDENTITY_HEADER]);
}

/** AzureCliCredential: `az account get-access-token`, through the tool runner. */
async function azureCli(
  context: AzureAuthContext,
  scope: string,
  signal: AbortSignal,
  challengeTenant: string | undefined,
): Promise<string> {
  const tenant = context.tenantId
    ? validTenant(context.tenantId)
    : challengeTenant && /^[0-9A-Za-z.-]+$/.test(challengeTenant)
      ? challengeTenant
      : undefined;
  const args = ["account", "get-access-token", "--output", "json", "--resource", resourceOf(scope)];
  if (tenant) args.push("--tenant", tenant);
  const windows = process.platform === "win32";
  const run = context.runTool ?? runTool;
  let output: ToolOutput;
  try {
    output = await run(
      windows ? "cmd.exe" : "az",
      windows ? ["/d", "/s", "/c", `az ${args.join(" ")}`] : args,
      {
        env: { ...context.env },
        // Not the project's directory: an az there (az.cmd on Windows) is not the one to run.
        cwd: windows ? context.env.SystemRoot || "C:\\Windows" : "/",
        signal,
        missing: { what: "the Azure CLI (az)", hint: LOGIN_HINT },
      },
    );
  } catch (error) {
    if (isProviderError(error) && error.message.endsWith("was not found"))
      throw new Unavailable("the Azure CLI (az) is not installed");
    throw error;
  }
  if (output.code !== 0) {
    if (
      /az login|not logged in|az account set|no subscription/i.test(output.stderr) ||
      (windows && /not recognized/i.test(output.stderr))
    ) {
      throw new Unavailable(
        windows && /not recognized/i.test(output.stderr)
          ? "the Azure CLI (az) is not installed"
          : "the Azure CLI is not logged in",
      );
    }
    throw new ProviderError(
      "auth",
      `the Azure CLI could not get a token (exit ${output.code ?? output.signal})`,
      {
        hint: `run az account get-access-token --resource ${resourceOf(scope)} to see why`,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(output.stdout.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const token = isRecord(parsed) && typeof parsed.accessToken === "string" ? parsed.accessToken : undefined;
  if (!token) throw new ProviderError("auth", "the Azure CLI answered no accessToken", { hint: LOGIN_HINT });
  return token;
}

/** The part of @azure/identity's TokenCredential that is used. */
interface TokenCredentialLike {
  getToken(
    scopes: string | string[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ token: string } | null>;
}

function construct(lib: Record<string, unknown>, name: string, args: unknown[]): TokenCredentialLike {
  const Class = lib[name] as new (...args: unknown[]) => TokenCredentialLike;
  return new Class(...args);
}

/** A credential @azure/identity has and Tessera does not: the library's, when it is installed. */
async function fromLibrary(
  context: AzureAuthContext,
  className: string,
  what: string,
  scope: string,
  signal: AbortSignal,
  make: (lib: Record<string, unknown>) => TokenCredentialLike,
): Promise<string> {
  let lib: unknown;
  try {
    lib = await context.loadLibrary("@azure/identity");
  } catch (error) {
    throw new ProviderError(
      "missing-library",
      `${what} needs @azure/identity, which cannot load (${shortText(errorMessage(error))})`,
      {
        hint: `reinstall it: ${LIBRARY_HINT}`,
      },
    );
  }
  const module =
    isRecord(lib) && typeof lib[className] !== "function" && isRecord(lib.default) ? lib.default : lib;
  if (!isRecord(module) || typeof module[className] !== "function") {
    throw new ProviderError("missing-library", `${what} needs @azure/identity, which is not installed`, {
      hint: `${LIBRARY_HINT} (beside tessera, or in this project), or use a credential Tessera reads itself: AZURE_CLIENT_SECRET, workload or managed identity, az login, AZURE_ACCESS_TOKEN`,
    });
  }
  const secrets = [
    context.env.AZURE_CLIENT_SECRET,
    context.env.AZURE_CLIENT_CERTIFICATE_PASSWORD,
    context.env.AZURE_PASSWORD,
  ];
  let answer: { token: string } | null;
  try {
    answer = await make(module).getToken(scope, { abortSignal: signal });
  } catch (error) {
    if (isProviderError(error)) throw error;
    throw new ProviderError("auth", `${what} (@azure/identity): ${shortText(errorMessage(error), secrets)}`, {
      hint: LOGIN_HINT,
    });
  }
  if (!answer?.token)
    throw new ProviderError("auth", `${what} (@azure/identity) gave no token`, { hint: LOGIN_HINT });
  return answer.token;
}
