/**
 * azure-key-vault: Azure Key Vault secrets through @azure/keyvault-secrets (kept in node_modules, loaded
 * only here).
 *
 * - A searched NAME is the secret `prefix + NAME` with every _ written - (Key Vault names hold only
 *   letters, digits and -); `from.key` is a secret name as written, or NAME/VERSION; `property` a field
 *   of a JSON value. One getSecret call per distinct secret, through the pool; the SDK's own retries
 *   are off (the caller retries 429 and 5xx), each call carries the attempt's abort signal.
 * - Credentials: AZURE_ACCESS_TOKEN (a bearer token for https://vault.azure.net, e.g. from
 *   `az account get-access-token --resource https://vault.azure.net`), else DefaultAzureCredential
 *   (@azure/identity, loaded only then; `tenantId:` passed to it). Whichever it is, a token is handed
 *   only for a Key Vault scope: a server that asks for another resource in its challenge gets nothing.
 * - The SDK authenticates by challenge (a first request without a token, answered 401 with
 *   WWW-Authenticate naming the resource). It checks that the resource matches the vault's domain;
 *   for a vault URL outside the known Key Vault domains (a private DNS name, a test server) that check
 *   is turned off — the scope check above still holds.
 * - 404 is "missing"; 403 "denied"; 401 and credential failures "auth"; network failures
 *   "unreachable"; 429 and 5xx are retried.
 */
import type { TokenCredential } from "@azure/identity";
import { propertyOf } from "../model/guards.js";
import {
  type Fetched,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
  type StoreEntry,
} from "./types.js";
import { serveSecretText } from "./values.js";

const NAME = /^[0-9A-Za-z-]{1,127}$/;
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
const SCOPES = new Set(
  VAULT_DOMAINS.flatMap((domain) => [`https://${domain}/.default`, `https://${domain}//.default`]),
);

function knownVaultHost(host: string): boolean {
  return VAULT_DOMAINS.some((domain) => host.endsWith(`.${domain}`));
}

interface Target {
  name: string;
  version?: string;
}

/** Key Vault's rule for a key: NAME or NAME/VERSION, a NAME of 1-127 letters, digits and -. */
function targetProblem(key: string): boolean {
  const [name = "", version, extra] = key.split("/");
  return (
    !NAME.test(name) || extra !== undefined || (version !== undefined && !/^[0-9A-Za-z]+$/.test(version))
  );
}

/** The secret a searched variable is: prefix + NAME, every _ written - (Key Vault names hold no _). */
function searchedName(prefix: string | undefined, name: string): string {
  return `${prefix ?? ""}${name}`.replaceAll("_", "-");
}

function target(key: string): Target {
  if (targetProblem(key)) {
    throw new ProviderError("invalid", `${key} is not a Key Vault secret name`, {
      hint: "secret names are 1-127 letters, digits and - (optionally NAME/VERSION)",
    });
  }
  const [name = "", version] = key.split("/");
  return version === undefined ? { name } : { name, version };
}

function shortText(error: unknown, token: string | undefined): string {
  let text = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
  if (token) text = text.split(token).join("…");
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

async function credentialFor(context: ProviderContext, token: string | undefined): Promise<TokenCredential> {
  let inner: TokenCredential;
  if (token) {
    inner = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  } else {
    const { DefaultAzureCredential } = await import("@azure/identity");
    const tenantId = context.source.settings.tenantId;
    inner = new DefaultAzureCredential(tenantId ? { tenantId } : {});
  }
  return {
    async getToken(scopes, options) {
      const asked = Array.isArray(scopes) ? scopes : [scopes];
      const other = asked.find((scope) => !SCOPES.has(scope));
      if (other !== undefined) {
        throw new ProviderError(
          "auth",
          `the vault asked for a token for ${other}, which is not Key Vault's`,
          {
            hint: "vaultUrl: must be an Azure Key Vault",
            transient: false,
          },
        );
      }
      return inner.getToken(scopes, options);
    },
  };
}

function failure(error: unknown, where: string, token: string | undefined): ProviderError | "missing" {
  if (error instanceof ProviderError) return error;
  // What the Azure SDK throws: a RestError (statusCode, code), a credential error (name), a Node error (code).
  const name = propertyOf(error, "name");
  const statusCode = propertyOf(error, "statusCode");
  const errorCode = propertyOf(error, "code");
  const status = typeof statusCode === "number" ? statusCode : undefined;
  const code = typeof errorCode === "string" ? errorCode : undefined;
  const said = shortText(error, token);
  if (name === "AbortError")
    return new ProviderError("timeout", `${where}: no answer in time`, { transient: true });
  if (
    name === "CredentialUnavailableError" ||
    name === "AuthenticationError" ||
    name === "AggregateAuthenticationError"
  ) {
    return new ProviderError("auth", `no Azure credential (${said})`, {
      hint: "az login, or set AZURE_ACCESS_TOKEN (az account get-access-token --resource https://vault.azure.net)",
    });
  }
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
  if (status === 429 || (status !== undefined && status >= 500)) {
    return new ProviderError("failed", `${where}: ${code ?? "error"} (HTTP ${status})`, {
      transient: true,
    });
  }
  if (status === 400) return new ProviderError("invalid", `${where}: ${code ?? "bad request"} (HTTP 400)`);
  if (status !== undefined)
    return new ProviderError("failed", `${where}: ${code ?? "error"} (HTTP ${status})`);
  const network = code ?? "";
  if (/CERT|SSL|TLS|EPROTO/.test(network)) {
    return new ProviderError(
      "unreachable",
      `${where}: cannot verify the vault's TLS certificate (${network})`,
      {
        hint: "NODE_EXTRA_CA_CERTS can name a PEM of extra CAs to trust",
        transient: false,
      },
    );
  }
  if (network === "REQUEST_SEND_ERROR" || /^E[A-Z]+$/.test(network)) {
    return new ProviderError("unreachable", `${where}: cannot connect (${network})`, {
      hint: "is vaultUrl: right, and the network up?",
    });
  }
  if (/challenge/i.test(said)) return new ProviderError("auth", `${where}: ${said}`);
  return new ProviderError("failed", `${where}: ${said}`);
}

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const { settings } = context.source;
    let url: URL;
    try {
      url = new URL(settings.vaultUrl ?? "");
    } catch {
      throw new ProviderError("invalid", "vaultUrl is not a URL", {
        hint: "e.g. https://my-vault.vault.azure.net",
      });
    }
    if (url.protocol !== "https:") {
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

    const token = context.env.AZURE_ACCESS_TOKEN || undefined;
    let client: import("@azure/keyvault-secrets").SecretClient;
    try {
      const { SecretClient } = await import("@azure/keyvault-secrets");
      client = new SecretClient(
        url.origin + url.pathname.replace(/\/+$/, ""),
        await credentialFor(context, token),
        {
          disableChallengeResourceVerification: !knownVaultHost(url.hostname),
          retryOptions: { maxRetries: 0 },
        },
      );
    } catch (error) {
      throw new ProviderError("failed", `the Key Vault client cannot start (${shortText(error, token)})`);
    }

    const entries = [...distinct.entries()];
    const values = await context.pool(entries, ([, t]) =>
      context.retry(async (signal) => {
        try {
          const secret = await client.getSecret(t.name, {
            abortSignal: signal,
            ...(t.version === undefined ? {} : { version: t.version }),
          });
          return secret.value;
        } catch (error) {
          const mapped = failure(error, `secrets/${keyOf(t)}`, token);
          if (mapped === "missing") return undefined;
          throw mapped;
        }
      }),
    );
    const byKey = new Map(entries.map(([key], index) => [key, values[index]]));

    const out = new Map<string, Fetched>();
    for (const [index, request] of requests.entries()) {
      const t = targets[index]!;
      const text = byKey.get(keyOf(t).toLowerCase());
      const base = `secrets/${keyOf(t)}`;
      const where = request.property === undefined ? base : `${base}#${request.property}`;
      out.set(request.id, serveSecretText(text ?? undefined, request, base, where));
    }
    return out;
  },
};

/** The azure-key-vault store in the catalog (./catalog.ts): its manifest schema, credentials and fetcher. */
export const store: StoreEntry = {
  type: "azure-key-vault",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("azure-key-vault"),
        name: SourceName,
        vaultUrl: Type.String({ description: "e.g. https://my-vault.vault.azure.net" }),
        prefix: Type.Optional(
          Type.String({ description: "Secret names are prefix + NAME, with _ written as - (Azure's rule)." }),
        ),
        tenantId: Type.Optional(Type.String()),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: () => [
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_PASSWORD",
    "AZURE_ACCESS_TOKEN",
  ],
  keyProblem: (key) => (targetProblem(key) ? "is not a Key Vault secret name" : undefined),
  eso: {
    // The same rule as the provider's: a searched NAME is prefix + NAME with _ written -, a from: key as written.
    remoteRef: (name, from, store) => ({
      key: `secret/${from?.key ?? searchedName(store.settings.prefix, name)}`,
      property: from?.property,
    }),
    secretStore(store, _service, notes) {
      const auth = store.settings.eso?.auth;
      if (!auth)
        notes.push(
          `the Azure store "${store.name}" uses a managed identity; set eso.auth for another method`,
        );
      return {
        azurekv: {
          vaultUrl: store.settings.vaultUrl ?? "",
          tenantId: store.settings.tenantId,
          ...(auth ?? { authType: "ManagedIdentity" }),
        },
      };
    },
  },
  provider,
};
