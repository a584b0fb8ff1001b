/**
 * azure-key-vault's fetcher, over Key Vault's REST API with node:https (no SDK): a lazily loaded chunk of
 * its own, so only a run that reads this store loads it.
 *
 * - `GET {vaultUrl}/secrets/{name}/{version}?api-version=7.5` per distinct secret, through the pool,
 *   on keep-alive connections, each attempt under the caller's time limit and retry policy (429 and
 *   5xx are retried).
 * - Challenge-based auth, as Key Vault's SDKs do it: the first secret is asked for without a token; its
 *   401 names, in WWW-Authenticate, the resource (or scope) and the tenant. A token is asked for only
 *   when that scope is Key Vault's (a server that asks for another resource gets nothing), and, for a
 *   vault in a known Key Vault domain, only when the resource is that vault's domain.
 * - Credentials: ./auth.ts (AZURE_ACCESS_TOKEN, else the environment, workload and managed identity,
 *   the Azure CLI; @azure/identity only for what Tessera does not read, when installed).
 * - 404 is "missing"; 403 "denied"; 401 and credential failures "auth"; network failures
 *   "unreachable"; 400 "invalid".
 */
import { isRecord } from "../../model/guards.js";
import { requestFailure, shortText } from "../cloud/errors.js";
import { HttpClient, type HttpResponse, jsonBody } from "../cloud/http.js";
import { type LoadLibrary, optionalLibraries } from "../cloud/optional.js";
import {
  type Fetched,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
} from "../types.js";
import { serveSecretText } from "../values.js";
import { azureCredential, type RunTool } from "./auth.js";
import { searchedName, type Target, target } from "./names.js";

export const API_VERSION = "7.5";

/** Key Vault's domains, public and sovereign clouds (managed HSMs too). */
const VAULT_DOMAINS = [
  "vault.azure.net",
  "vault.azure.cn",
  "vault.usgovcloudapi.net",
  "vault.microsoftazure.de",
  "managedhsm.azure.net",
  "managedhsm.azure.cn",
  "managedhsm.usgovcloudapi.net",
];
/** The scopes a token may be handed for. */
export const SCOPES = new Set(
  VAULT_DOMAINS.flatMap((domain) => [`https://${domain}/.default`, `https://${domain}//.default`]),
);

function knownVaultHost(host: string): boolean {
  return VAULT_DOMAINS.some((domain) => host.endsWith(`.${domain}`));
}

export interface Challenge {
  /** The scope a token is asked for: the challenge's resource + "/.default", or its scope. */
  scope: string;
  /** The tenant of the authorization URI, when it names one. */
  tenant?: string;
}

/** A `WWW-Authenticate: Bearer authorization="…", resource="…"` header's challenge, if it has one. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  const bearer = header ? /(?:^|,\s*)Bearer\s+(.*)$/i.exec(header)?.[1] : undefined;
  if (!bearer) return undefined;
  const params = new Map<string, string>();
  for (const match of bearer.matchAll(/([A-Za-z_]+)\s*=\s*"([^"]*)"/g)) {
    const key = match[1]!.toLowerCase();
    if (!params.has(key)) params.set(key, match[2]!);
  }
  const resource = params.get("resource");
  const scope = resource ? `${resource}/.default` : params.get("scope");
  if (!scope) return undefined;
  const authorization = params.get("authorization") ?? params.get("authorization_uri");
  let tenant: string | undefined;
  try {
    tenant = authorization ? new URL(authorization).pathname.split("/").filter(Boolean)[0] : undefined;
  } catch {
    tenant = undefined;
  }
  return tenant ? { scope, tenant } : { scope };
}

/** Checks a challenge: a Key Vault scope, and for a vault in a Key Vault domain, that domain's. */
export function checkChallenge(challenge: Challenge, vault: URL): void {
  if (!SCOPES.has(challenge.scope)) {
    throw new ProviderError(
      "auth",
      `the vault asked for a token for ${challenge.scope}, which is not Key Vault's`,
      {
        hint: "vaultUrl: must be an Azure Key Vault",
        transient: false,
      },
    );
  }
  const resourceHost = new URL(challenge.scope).hostname;
  if (knownVaultHost(vault.hostname) && !vault.hostname.endsWith(`.${resourceHost}`)) {
    throw new ProviderError(
      "auth",
      `the vault asked for a token for ${challenge.scope}, which is not its own domain's`,
      { hint: "vaultUrl: must be an Azure Key Vault", transient: false },
    );
  }
}

/** A Key Vault error answer as a ProviderError, or "missing" for 404. */
export function vaultFailure(response: HttpResponse, where: string): ProviderError | "missing" {
  const status = response.status;
  const body = jsonBody(response);
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const code = typeof error?.code === "string" ? shortText(error.code) : undefined;
  if (status === 404) return "missing";
  if (status === 401) {
    return new ProviderError("auth", `${where}: not authenticated (${code ?? "Unauthorized"})`, {
      hint: "the token is invalid, expired or for another tenant: az login, or renew AZURE_ACCESS_TOKEN",
    });
  }
  if (status === 403) {
    return new ProviderError("denied", `${where}: permission denied (${code ?? "Forbidden"})`, {
      hint: "the identity needs the Key Vault Secrets User role (or a get permission in the access policy)",
    });
  }
  if (status === 429 || status >= 500) {
    return new ProviderError("failed", `${where}: ${code ?? "error"} (HTTP ${status})`, { transient: true });
  }
  if (status === 400) return new ProviderError("invalid", `${where}: ${code ?? "bad request"} (HTTP 400)`);
  return new ProviderError("failed", `${where}: ${code ?? "error"} (HTTP ${status})`);
}

/** A secret's value from a 200 answer. */
function secretValue(response: HttpResponse, where: string): string | undefined {
  const body = jsonBody(response);
  if (!isRecord(body)) {
    throw new ProviderError("failed", `${where}: the answer is not Key Vault's JSON`, {
      hint: "is vaultUrl: right?",
    });
  }
  return typeof body.value === "string" ? body.value : undefined;
}

export interface AzureFetchOptions {
  /** Optional libraries (default: from beside Tessera, else the project). */
  loadLibrary?: LoadLibrary;
  /** The tool runner for the Azure CLI (default ../tool.ts's). */
  runTool?: RunTool;
}

export async function fetchSecrets(
  requests: readonly LookupRequest[],
  context: ProviderContext,
  options: AzureFetchOptions = {},
): Promise<Map<string, Fetched>> {
  const { settings } = context.source;
  let vault: URL;
  try {
    vault = new URL(settings.vaultUrl ?? "");
  } catch {
    throw new ProviderError("invalid", "vaultUrl is not a URL", {
      hint: "e.g. https://my-vault.vault.azure.net",
    });
  }
  if (vault.protocol !== "https:") {
    throw new ProviderError("invalid", "vaultUrl must be an https:// URL", {
      hint: "e.g. https://my-vault.vault.azure.net",
    });
  }
  const targets = requests.map((request) =>
    target(request.searched ? searchedName(settings.prefix, request.key) : request.key),
  );
  const keyOf = (t: Target) => (t.version === undefined ? t.name : `${t.name}/${t.version}`);
  const distinct = new Map<string, Target>();
  for (const t of targets) distinct.set(keyOf(t).toLowerCase(), t);
  const out = new Map<string, Fetched>();
  if (distinct.size === 0) return out;

  const base = vault.origin + vault.pathname.replace(/\/+$/, "");
  const http = new HttpClient(context.env);
  try {
    const credential = azureCredential({
      env: context.env,
      cwd: context.cwd,
      http,
      tenantId: settings.tenantId,
      loadLibrary: options.loadLibrary ?? optionalLibraries(context.cwd),
      runTool: options.runTool,
      timeoutMs: context.timeoutMs,
    });
    const send = async (t: Target, signal: AbortSignal, token: string | undefined) => {
      const url = `${base}/secrets/${encodeURIComponent(t.name)}/${t.version === undefined ? "" : encodeURIComponent(t.version)}?api-version=${API_VERSION}`;
      const headers: Record<string, string> = { accept: "application/json", "user-agent": "tessera" };
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      try {
        return await http.request(url, { headers, signal });
      } catch (error) {
        throw requestFailure(error, `secrets/${keyOf(t)}`, {
          subject: "the vault",
          hint: "is vaultUrl: right, and the network up?",
          secrets: [token],
        });
      }
    };
    const answer = (response: HttpResponse, t: Target): string | undefined => {
      const where = `secrets/${keyOf(t)}`;
      if (response.status === 200) return secretValue(response, where);
      const failure = vaultFailure(response, where);
      if (failure === "missing") return undefined;
      throw failure;
    };

    // The challenge: the first secret, asked for without a token.
    const entries = [...distinct.entries()];
    const first = entries[0]![1];
    const challenged = await context.retry(async (signal) => {
      const response = await send(first, signal, undefined);
      if (response.status === 429 || response.status >= 500) {
        const failure = vaultFailure(response, `secrets/${keyOf(first)}`);
        if (failure !== "missing") throw failure;
      }
      return response;
    });
    let token: string | undefined;
    if (challenged.status === 401) {
      const challenge = parseChallenge(headerText(challenged.headers["www-authenticate"]));
      if (!challenge) {
        throw new ProviderError(
          "auth",
          `secrets/${keyOf(first)}: the vault's 401 carries no Bearer challenge`,
          {
            hint: "vaultUrl: must be an Azure Key Vault",
          },
        );
      }
      checkChallenge(challenge, vault);
      token = await context.retry((signal) => credential.token(challenge.scope, signal, challenge.tenant));
    }
    const values = await context.pool(entries, ([, t]) =>
      context.retry(async (signal) => answer(await send(t, signal, token), t)),
    );
    const byKey = new Map(entries.map(([key], index) => [key, values[index]]));

    for (const [index, request] of requests.entries()) {
      const t = targets[index]!;
      const text = byKey.get(keyOf(t).toLowerCase());
      const where = `secrets/${keyOf(t)}`;
      out.set(
        request.id,
        serveSecretText(
          text,
          request,
          where,
          request.property === undefined ? where : `${where}#${request.property}`,
        ),
      );
    }
    return out;
  } finally {
    http.close();
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The provider the catalog entry (./index.ts) loads at the first fetch. */
export const provider: Provider = { fetch: (requests, context) => fetchSecrets(requests, context) };
