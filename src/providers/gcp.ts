/**
 * gcp-secret-manager: Google Cloud Secret Manager through @google-cloud/secret-manager (kept in
 * node_modules, loaded only here).
 *
 * - A searched NAME is the secret `prefix + NAME`; `from.key` is a secret id or a full resource name
 *   (projects/P/secrets/S, optionally …/versions/V); `property` a field of a JSON payload. The version
 *   is `version:` (default latest). One AccessSecretVersion call per distinct secret, through the pool.
 * - The payload is served as UTF-8 text, byte for byte; its CRC32C is checked when the answer has one.
 * - Transport: the client's REST transport (`fallback: true`, google-gax's HTTP/1.1 + JSON mode), which
 *   starts faster than gRPC, goes through HTTP proxies and lets `endpoint:` be "host", "host:port" or a
 *   URL ("http://127.0.0.1:8085" for a local emulator: the scheme becomes the REST transport's
 *   `protocol`). Every HTTP request carries the attempt's time limit; google-gax's own retries are off
 *   (the caller retries UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and 5xx).
 * - Credentials: GOOGLE_OAUTH_ACCESS_TOKEN or CLOUDSDK_AUTH_ACCESS_TOKEN (a bearer token, e.g. from
 *   `gcloud auth print-access-token`), else Application Default Credentials (google-auth-library's
 *   GoogleAuth, as re-exported by google-gax).
 * - NOT_FOUND is "missing"; PERMISSION_DENIED "denied"; UNAUTHENTICATED and credential failures "auth";
 *   UNAVAILABLE, DEADLINE_EXCEEDED and network failures "unreachable"; INVALID_ARGUMENT "invalid".
 */
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

const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** gRPC status codes, as google-gax reports them. */
const Status = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
  UNKNOWN: 2,
} as const;

interface Endpoint {
  apiEndpoint: string;
  port: number;
  protocol: "http" | "https";
}

function parseEndpoint(text: string): Endpoint {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new ProviderError("invalid", `endpoint ${text} is neither host[:port] nor a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ProviderError("invalid", `endpoint ${text}: the scheme must be http or https`);
  }
  const protocol = url.protocol === "http:" ? "http" : "https";
  const port = url.port ? Number(url.port) : protocol === "http" ? 80 : 443;
  return { apiEndpoint: url.hostname.replace(/^\[|\]$/g, ""), port, protocol };
}

/**
 * The auth object the REST transport calls: `getRequestHeaders` (checked by google-gax) and `fetch`,
 * through which every request goes, so each carries a time limit and the credential's headers.
 */
function authFor(context: ProviderContext, token: string | undefined) {
  let headers: () => Promise<Headers>;
  if (token) {
    headers = async () => new Headers({ authorization: `Bearer ${token}` });
  } else {
    let google: { getRequestHeaders(url?: string): Promise<Headers | Record<string, string>> } | undefined;
    headers = async () => {
      if (!google) {
        const { GoogleAuth } = await import("google-gax");
        google = new GoogleAuth({ scopes: [SCOPE] });
      }
      return new Headers(await google.getRequestHeaders());
    };
  }
  return {
    getRequestHeaders: headers,
    async fetch(
      url: string,
      init: {
        method?: string;
        headers?: ConstructorParameters<typeof Headers>[0];
        body?: string | Buffer;
        signal?: AbortSignal;
      },
    ) {
      // The time limit is a timer of our own, not AbortSignal.timeout: under AbortSignal.any, Node 20
      // holds a timeout signal only weakly, so it can be collected before it fires and a server that
      // never answers then holds the request, and the process, forever. (google-gax's REST transport
      // does not enforce the call's `timeout` either.)
      const controller = new AbortController();
      const cancel = () => controller.abort(init.signal?.reason);
      if (init.signal?.aborted) cancel();
      else init.signal?.addEventListener("abort", cancel, { once: true });
      const timer = setTimeout(
        () => controller.abort(new DOMException(`no answer within ${context.timeoutMs} ms`, "TimeoutError")),
        context.timeoutMs,
      );
      try {
        const merged = new Headers(init.headers);
        for (const [name, value] of await headers()) merged.set(name, value);
        const response = await fetch(url, {
          method: init.method,
          headers: merged,
          body: init.body,
          signal: controller.signal,
        });
        // The body is read within the limit too (answers are small JSON); then the timer is cleared, so
        // nothing is left pending when the call is done.
        const body = await response.arrayBuffer();
        const empty = [204, 205, 304].includes(response.status);
        return new Response(empty ? null : body, {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      } finally {
        clearTimeout(timer);
        init.signal?.removeEventListener("abort", cancel);
      }
    },
  };
}

/** CRC32C (Castagnoli), as Secret Manager computes payload checksums. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function errorText(error: unknown, token: string | undefined): string {
  let text = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
  if (token) text = text.split(token).join("…");
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** A failed call as a ProviderError, or "missing" for NOT_FOUND. */
function failure(error: unknown, name: string, token: string | undefined): ProviderError | "missing" {
  // What google-gax throws: a gRPC status `code` (a number), or a fetch failure with a `cause`.
  const errorName = propertyOf(error, "name");
  const code = propertyOf(error, "code");
  const cause = propertyOf(error, "cause");
  const said = errorText(error, token);
  if (error instanceof ProviderError) return error;
  if (
    errorName === "TimeoutError" ||
    errorName === "AbortError" ||
    propertyOf(cause, "name") === "TimeoutError"
  ) {
    return new ProviderError("timeout", `${name}: no answer in time`, { transient: true });
  }
  switch (code) {
    case Status.NOT_FOUND:
      return "missing";
    case Status.PERMISSION_DENIED:
      return new ProviderError("denied", `${name}: permission denied (${said})`, {
        hint: "the principal needs roles/secretmanager.secretAccessor on the secret or the project",
      });
    case Status.UNAUTHENTICATED:
      return new ProviderError("auth", `${name}: not authenticated (${said})`, {
        hint: "gcloud auth application-default login, or set GOOGLE_OAUTH_ACCESS_TOKEN",
      });
    case Status.UNAVAILABLE:
    case Status.DEADLINE_EXCEEDED:
      return new ProviderError("unreachable", `${name}: the service is unavailable (${said})`);
    case Status.RESOURCE_EXHAUSTED:
    case Status.INTERNAL:
    case Status.UNKNOWN:
    case Status.ABORTED:
      return new ProviderError("failed", `${name}: ${said}`, { transient: true });
    case Status.INVALID_ARGUMENT:
      return new ProviderError("invalid", `${name}: ${said}`);
    case Status.FAILED_PRECONDITION:
      return new ProviderError("failed", `${name}: ${said}`, {
        hint: "is the version disabled or destroyed?",
      });
  }
  if (
    /default credentials|could not refresh access token|invalid_grant|unable to detect a project|metadata|GOOGLE_APPLICATION_CREDENTIALS|does not exist, or it is not a file/i.test(
      said,
    )
  ) {
    return new ProviderError("auth", `no Google credentials (${said})`, {
      hint: "gcloud auth application-default login, or set GOOGLE_OAUTH_ACCESS_TOKEN (gcloud auth print-access-token)",
    });
  }
  const network = propertyOf(cause, "code") ?? code;
  if (typeof network === "string" && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(network)) {
    return new ProviderError("unreachable", `${name}: cannot connect (${network})`, {
      hint: "is endpoint: right, and the network up?",
    });
  }
  if (typeof network === "string" && /CERT|SSL|TLS/.test(network)) {
    return new ProviderError(
      "unreachable",
      `${name}: cannot verify the endpoint's TLS certificate (${network})`,
      {
        transient: false,
      },
    );
  }
  if (error instanceof TypeError && said === "fetch failed") {
    return new ProviderError("unreachable", `${name}: cannot connect`);
  }
  if (error instanceof SyntaxError) {
    return new ProviderError("failed", `${name}: the answer is not Secret Manager's JSON`, {
      hint: "is endpoint: right?",
    });
  }
  return new ProviderError("failed", `${name}: ${said}`);
}

function resourceName(key: string, project: string, version: string): string {
  if (key.startsWith("projects/")) {
    if (!/^projects\/[^/]+\/(locations\/[^/]+\/)?secrets\/[^/]+(\/versions\/[^/]+)?$/.test(key)) {
      throw new ProviderError("invalid", `${key} is not a secret's resource name`, {
        hint: "projects/PROJECT/secrets/ID[/versions/VERSION], or just the secret id",
      });
    }
    return /\/versions\/[^/]+$/.test(key) ? key : `${key}/versions/${version}`;
  }
  if (!SECRET_ID.test(key)) {
    throw new ProviderError("invalid", `${key} is not a secret id`, {
      hint: "secret ids are 1-255 letters, digits, - and _",
    });
  }
  return `projects/${project}/secrets/${key}/versions/${version}`;
}

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const { settings } = context.source;
    const project = settings.project ?? "";
    if (!project) throw new ProviderError("invalid", "no project", { hint: "set project: in the source" });
    const version = settings.version ?? "latest";
    const prefix = settings.prefix ?? "";
    const names = requests.map((request) =>
      resourceName(request.searched ? prefix + request.key : request.key, project, version),
    );
    const distinct = [...new Set(names)];

    const token =
      context.env.GOOGLE_OAUTH_ACCESS_TOKEN || context.env.CLOUDSDK_AUTH_ACCESS_TOKEN || undefined;
    const endpoint = settings.endpoint ? parseEndpoint(settings.endpoint) : undefined;
    let client: import("@google-cloud/secret-manager").SecretManagerServiceClient;
    try {
      const { SecretManagerServiceClient } = await import("@google-cloud/secret-manager");
      client = new SecretManagerServiceClient({
        fallback: true,
        auth: authFor(context, token),
        ...(endpoint ?? {}),
      } as ConstructorParameters<typeof SecretManagerServiceClient>[0]);
    } catch (error) {
      throw new ProviderError(
        "failed",
        `the Secret Manager client cannot start (${errorText(error, token)})`,
      );
    }
    try {
      await context.retry(async () => {
        try {
          await client.initialize();
        } catch (error) {
          const mapped = failure(error, "connecting", token);
          throw mapped === "missing" ? new ProviderError("failed", "connecting: not found") : mapped;
        }
      });

      const payloads = await context.pool(distinct, (name) =>
        context.retry(async () => {
          try {
            const [response] = await client.accessSecretVersion(
              { name },
              { retry: null, timeout: context.timeoutMs },
            );
            const payload = response.payload;
            const raw = payload?.data;
            const bytes =
              typeof raw === "string"
                ? Buffer.from(raw, "base64")
                : raw instanceof Uint8Array
                  ? raw
                  : new Uint8Array();
            // int64, as a decimal string (google-gax decodes longs as strings); absent on old secrets.
            const expected = payload?.dataCrc32c;
            if (expected != null && /^[0-9]+$/.test(String(expected)) && Number(expected) !== crc32c(bytes)) {
              throw new ProviderError("failed", `${name}: the payload's checksum does not match (CRC32C)`, {
                transient: true,
              });
            }
            return bytes;
          } catch (error) {
            const mapped = failure(error, name, token);
            if (mapped === "missing") return undefined;
            throw mapped;
          }
        }),
      );
      const texts = new Map<string, string | undefined>();
      for (const [index, name] of distinct.entries()) {
        const bytes = payloads[index];
        if (bytes === undefined) {
          texts.set(name, undefined);
          continue;
        }
        try {
          texts.set(name, new TextDecoder("utf-8", { fatal: true }).decode(bytes));
        } catch {
          throw new ProviderError("invalid", `${name} is not UTF-8 text`, {
            hint: "Tessera serves secrets as text; store the value base64-encoded",
          });
        }
      }

      const out = new Map<string, Fetched>();
      for (const [index, request] of requests.entries()) {
        const name = names[index]!;
        const text = texts.get(name);
        const where = request.property === undefined ? name : `${name}#${request.property}`;
        out.set(request.id, serveSecretText(text, request, name, where));
      }
      return out;
    } finally {
      void client.close().catch(() => {});
    }
  },
};

/** The gcp-secret-manager store in the catalog (./catalog.ts): its manifest schema, credentials and fetcher. */
export const store: StoreEntry = {
  type: "gcp-secret-manager",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("gcp-secret-manager"),
        name: SourceName,
        project: Type.String(),
        prefix: Type.Optional(Type.String({ description: "Secret ids are prefix + NAME." })),
        version: Type.Optional(Type.String({ description: "Default latest." })),
        endpoint: Type.Optional(Type.String({ description: "A custom API endpoint (host[:port])." })),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: () => ["GOOGLE_OAUTH_ACCESS_TOKEN", "CLOUDSDK_AUTH_ACCESS_TOKEN"],
  eso: {
    remoteRef: (name, from, store) => ({
      key: from?.key ?? `${store.settings.prefix ?? ""}${name}`,
      property: from?.property,
      version: store.settings.version ?? "latest",
    }),
    secretStore(store, _service, notes) {
      const auth = store.settings.eso?.auth;
      if (!auth)
        notes.push(
          `the GCP store "${store.name}" uses the operator's workload identity; set eso.auth to use a key`,
        );
      return { gcpsm: { projectID: store.settings.project ?? "", auth } };
    },
  },
  provider,
};
