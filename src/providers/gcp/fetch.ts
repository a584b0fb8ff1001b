/**
 * gcp-secret-manager's fetcher, over Secret Manager's REST API with node:https (no SDK): a lazily
 * loaded chunk of its own, so only a run that reads this store loads it.
 *
 * - One `GET {endpoint}/v1/projects/P/secrets/S/versions/V:access` per distinct secret, through the
 *   pool, on keep-alive connections; each attempt under the caller's time limit and retry policy
 *   (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL and 5xx are retried).
 * - `endpoint:` is "host", "host:port" (HTTPS) or a URL ("http://127.0.0.1:8085" for an emulator);
 *   default secretmanager.googleapis.com (the credential's universe), and for a regional resource name
 *   (projects/P/locations/L/…) secretmanager.L.rep.googleapis.com.
 * - The payload (base64) is served as UTF-8 text, byte for byte, after its CRC32C (dataCrc32c, when
 *   the answer has one) is checked.
 * - Credentials: ./auth.ts, one token per fetch, asked for once before the secrets.
 * - NOT_FOUND is "missing"; PERMISSION_DENIED "denied"; UNAUTHENTICATED and credential failures "auth";
 *   UNAVAILABLE, DEADLINE_EXCEEDED and network failures "unreachable"; INVALID_ARGUMENT "invalid".
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
import { type GcpCredential, googleCredential, LOGIN_HINT } from "./auth.js";
import { crc32c } from "./crc32c.js";

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const API_CLIENT = `gl-node/${process.versions.node} tessera-rest/1`;

/** google.rpc.Code names by HTTP status, for an error body that does not say its status. */
const STATUS_BY_HTTP: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** The API's origin from `endpoint:`: a host, host:port (HTTPS) or an http(s) URL. */
export function parseEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new ProviderError("invalid", `endpoint ${text} is neither host[:port] nor a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ProviderError("invalid", `endpoint ${text}: the scheme must be http or https`);
  }
  return url.origin;
}

/** The secret version's resource name for a key: a secret id, or a resource name (with or without a version). */
export function resourceName(key: string, project: string, version: string): string {
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

/** The API origin that serves `name`. */
function apiOrigin(name: string, endpoint: string | undefined, universe: string): string {
  if (endpoint) return endpoint;
  const location = /^projects\/[^/]+\/locations\/([^/]+)\//.exec(name)?.[1];
  return location
    ? `https://secretmanager.${encodeURIComponent(location)}.rep.${universe}`
    : `https://secretmanager.${universe}`;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A Google API error answer as a ProviderError, or "missing" for NOT_FOUND. */
export function apiFailure(
  response: HttpResponse,
  name: string,
  secrets: readonly string[],
): ProviderError | "missing" {
  const body = jsonBody(response);
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const http = response.status;
  if (!error) {
    // Not Google's JSON error: something else answered (a wrong endpoint, a proxy).
    const transient = http === 429 || http >= 500;
    return new ProviderError("failed", `${name}: the answer is not Secret Manager's (HTTP ${http})`, {
      hint: "is endpoint: right?",
      transient,
    });
  }
  const status = text(error.status) ?? STATUS_BY_HTTP[http] ?? `HTTP ${http}`;
  const message = text(error.message);
  const said = shortText(message ? `${status}: ${message}` : status, secrets);
  switch (status) {
    case "NOT_FOUND":
      return "missing";
    case "PERMISSION_DENIED":
      return new ProviderError("denied", `${name}: permission denied (${said})`, {
        hint: "the principal needs roles/secretmanager.secretAccessor on the secret or the project",
      });
    case "UNAUTHENTICATED":
      return new ProviderError("auth", `${name}: not authenticated (${said})`, {
        hint: `the token is invalid or expired: ${LOGIN_HINT}`,
      });
    case "UNAVAILABLE":
    case "DEADLINE_EXCEEDED":
      return new ProviderError("unreachable", `${name}: the service is unavailable (${said})`);
    case "RESOURCE_EXHAUSTED":
    case "INTERNAL":
    case "UNKNOWN":
    case "ABORTED":
      return new ProviderError("failed", `${name}: ${said}`, { transient: true });
    case "INVALID_ARGUMENT":
    case "OUT_OF_RANGE":
      return new ProviderError("invalid", `${name}: ${said}`);
    case "FAILED_PRECONDITION":
      return new ProviderError("failed", `${name}: ${said}`, {
        hint: "is the version disabled or destroyed?",
      });
  }
  return new ProviderError("failed", `${name}: ${said}`, { transient: http === 429 || http >= 500 });
}

/** The payload's bytes from an AccessSecretVersion answer, its checksum checked. */
export function payloadBytes(response: HttpResponse, name: string): Uint8Array {
  const body = jsonBody(response);
  if (!isRecord(body)) {
    throw new ProviderError("failed", `${name}: the answer is not Secret Manager's JSON`, {
      hint: "is endpoint: right?",
    });
  }
  const payload = isRecord(body.payload) ? body.payload : {};
  const data = typeof payload.data === "string" ? Buffer.from(payload.data, "base64") : Buffer.alloc(0);
  // int64, as a decimal string in JSON; absent on old secrets.
  const expected = payload.dataCrc32c;
  if (
    (typeof expected === "string" || typeof expected === "number") &&
    /^[0-9]+$/.test(String(expected)) &&
    Number(expected) !== crc32c(data)
  ) {
    throw new ProviderError("failed", `${name}: the payload's checksum does not match (CRC32C)`, {
      transient: true,
    });
  }
  return data;
}

export interface GcpFetchOptions {
  /** Optional libraries (default: from beside Tessera, else the project). */
  loadLibrary?: LoadLibrary;
  /** Whether the machine is a Google Cloud VM (default: its DMI product name). */
  onGoogleCloud?: () => boolean;
}

export async function fetchSecrets(
  requests: readonly LookupRequest[],
  context: ProviderContext,
  options: GcpFetchOptions = {},
): Promise<Map<string, Fetched>> {
  const { settings } = context.source;
  const project = settings.project ?? "";
  if (!project) throw new ProviderError("invalid", "no project", { hint: "set project: in the source" });
  const version = settings.version ?? "latest";
  const prefix = settings.prefix ?? "";
  const names = requests.map((request) =>
    resourceName(request.searched ? prefix + request.key : request.key, project, version),
  );
  const distinct = [...new Set(names)];
  const endpoint = settings.endpoint ? parseEndpoint(settings.endpoint) : undefined;
  const out = new Map<string, Fetched>();
  if (distinct.length === 0) return out;

  const http = new HttpClient(context.env);
  try {
    const credential: GcpCredential = await googleCredential({
      env: context.env,
      cwd: context.cwd,
      http,
      loadLibrary: options.loadLibrary ?? optionalLibraries(context.cwd),
      onGoogleCloud: options.onGoogleCloud,
      timeoutMs: context.timeoutMs,
    });
    const token = await context.retry((signal) => credential.token(signal));
    const headers = {
      authorization: `Bearer ${token}`,
      accept: "application/json",
      "x-goog-api-client": API_CLIENT,
      "user-agent": "tessera",
      ...credential.headers,
    };
    const payloads = await context.pool(distinct, (name) =>
      context.retry(async (signal) => {
        const path = name.split("/").map(encodeURIComponent).join("/");
        let response: HttpResponse;
        try {
          response = await http.request(
            `${apiOrigin(name, endpoint, credential.universe)}/v1/${path}:access`,
            {
              headers,
              signal,
            },
          );
        } catch (error) {
          throw requestFailure(error, name, {
            subject: "the endpoint",
            hint: "is endpoint: right, and the network up?",
            secrets: [token],
          });
        }
        if (response.status === 200) return payloadBytes(response, name);
        const failure = apiFailure(response, name, [token]);
        if (failure === "missing") return undefined;
        throw failure;
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
    for (const [index, request] of requests.entries()) {
      const name = names[index]!;
      const where = request.property === undefined ? name : `${name}#${request.property}`;
      out.set(request.id, serveSecretText(texts.get(name), request, name, where));
    }
    return out;
  } finally {
    http.close();
  }
}

/** The provider the catalog entry (./index.ts) loads at the first fetch. */
export const provider: Provider = { fetch: (requests, context) => fetchSecrets(requests, context) };
