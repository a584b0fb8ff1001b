/**
 * vault: HashiCorp Vault's KV secrets engine (version 2 by default, or 1) over its HTTP API, with
 * Node's own http/https (no SDK).
 *
 * - A searched NAME is a field of the secret at `path` under `mount`: one read serves every name.
 *   Without `path`, the source serves only `from:` references (searched names are missing).
 * - `from: {key, property}`: `key` is a secret path under the mount, `property` one of its fields; with
 *   no property, a secret with exactly one field gives that field. One read per distinct path, in
 *   parallel through the shared pool.
 * - KV v2 reads GET /v1/{mount}/data/{path} (the map is data.data), KV v1 GET /v1/{mount}/{path} (data).
 *   A field that is not a string is served as its JSON text.
 * - Auth (once per fetch): a token (tokenEnv, default VAULT_TOKEN, then ~/.vault-token); AppRole
 *   (POST /v1/auth/{path}/login {role_id, secret_id}); Kubernetes (POST /v1/auth/{mountPath}/login
 *   {role, jwt}, the service account token read from jwtPath). X-Vault-Namespace when a namespace is set
 *   (namespace:, default VAULT_NAMESPACE). `caCert` (default VAULT_CACERT) is a PEM of CAs to trust.
 * - 404 is "missing"; 403 "denied" ("auth" when Vault says the token is invalid); a failed login "auth";
 *   connection, DNS and TLS failures "unreachable"; 429, 5xx and 412 are retried; a sealed Vault is
 *   "unreachable". Messages name paths and HTTP statuses, never a token or a value; of an error body,
 *   only a well-known Vault error, in fixed words ("permission denied"), never the body's text.
 */

import { readFileSync } from "node:fs";
import http from "node:http";
import type https from "node:https";
import { join, resolve } from "node:path";
import { errnoCode } from "../errors.js";
import { isRecord, propertyOf } from "../model/guards.js";
import {
  type Fetched,
  field,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
} from "./types.js";

interface Connection {
  /** The address, without a trailing slash. */
  base: URL;
  namespace?: string;
  ca?: string;
}

interface Answer {
  status: number;
  body: string;
}

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "EPROTO",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

/** What Node lets through as a header value (RFC 7230 field-vchar, space and tab). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** node:https (with TLS, about 10 ms to load), loaded by the first https exchange only. */
let httpsModule: typeof https | undefined;

/** One HTTP exchange. Network, DNS and TLS failures become "unreachable" ProviderErrors. */
async function exchange(
  connection: Connection,
  method: "GET" | "POST",
  apiPath: string,
  token: string | undefined,
  body: unknown,
  signal: AbortSignal,
): Promise<Answer> {
  const url = new URL(`${connection.base.pathname.replace(/\/$/, "")}/v1/${apiPath}`, connection.base);
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== undefined) {
    // A token HTTP cannot carry (a control character, a BOM from a file or a login answer) is an
    // authentication problem, named without the token.
    if (!HEADER_VALUE.test(token)) {
      return Promise.reject(
        new ProviderError("auth", "the Vault token holds a character an HTTP header cannot carry", {
          hint: "check VAULT_TOKEN (or the token file, or what the login returned): a token is printable text",
        }),
      );
    }
    headers["x-vault-token"] = token;
  }
  if (connection.namespace) headers["x-vault-namespace"] = connection.namespace;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) headers["content-type"] = "application/json";
  const secure = url.protocol === "https:";
  const client = secure ? (httpsModule ??= (await import("node:https")).default) : http;
  return new Promise((done, fail) => {
    const request = client.request(
      url,
      { method, headers, signal, ...(secure && connection.ca !== undefined ? { ca: connection.ca } : {}) },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          done({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", (error) => fail(networkError(error, connection)));
      },
    );
    request.on("error", (error) => fail(networkError(error, connection)));
    request.end(payload);
  });
}

function networkError(error: NodeJS.ErrnoException, connection: Connection): ProviderError {
  if (error.name === "AbortError") {
    // The caller's time limit ran out; it reports that itself.
    return new ProviderError("timeout", `no answer from ${connection.base.origin}`, { transient: true });
  }
  const code = error.code ?? "";
  if (TLS_CODES.has(code) || /certificate|ssl|tls/i.test(code)) {
    return new ProviderError(
      "unreachable",
      `cannot verify the TLS certificate of ${connection.base.origin} (${code})`,
      {
        hint: "set caCert: (or VAULT_CACERT) to a PEM file of the CA that signed the Vault's certificate",
        transient: false,
      },
    );
  }
  const what = code === "ENOTFOUND" || code === "EAI_AGAIN" ? "cannot resolve" : "cannot connect to";
  return new ProviderError("unreachable", `${what} ${connection.base.origin} (${code || error.message})`, {
    hint: "is address: (or VAULT_ADDR) right, and the Vault running?",
  });
}

/**
 * What Vault said, in fixed words: the first of Vault's well-known errors that its `errors` list holds.
 * The body itself is never shown: Vault (or a proxy in front of it) may echo a request's data, a
 * path's contents or a credential in it. Undefined when it says nothing we know.
 */
const VAULT_ERRORS: readonly (readonly [RegExp, string])[] = [
  [/\bVault is sealed\b/i, "Vault is sealed"],
  [/\binvalid token\b|\bbad token\b|\btoken\b.*\bexpired\b/i, "invalid token"],
  [/\bmissing client token\b/i, "missing client token"],
  [/\binvalid role or secret ID\b|\binvalid secret id\b|\binvalid role ID\b/i, "invalid role or secret ID"],
  [/\bmissing role_id\b/i, "missing role_id"],
  [/\binvalid role name\b/i, "invalid role name"],
  [/\bservice account name not authorized\b/i, "service account name not authorized"],
  [/\bpermission denied\b/i, "permission denied"],
  [/\bno handler for route\b/i, "no handler for route"],
  [/\bunsupported path\b/i, "unsupported path"],
  [/\brate limit quota exceeded\b/i, "rate limit quota exceeded"],
  [/\b(?:local node not active|standby)\b/i, "no active Vault node"],
  [/\binternal error\b/i, "internal error"],
];

/** Fixed words for an HTTP status, when Vault's errors say nothing we know. */
const STATUS_TEXT: Record<number, string> = {
  400: "bad request",
  401: "unauthorized",
  403: "permission denied",
  404: "not found",
  405: "method not allowed",
  412: "precondition failed",
  429: "too many requests",
  500: "internal error",
  502: "bad gateway",
  503: "service unavailable",
  504: "gateway timeout",
};

function vaultReason(answer: Answer): string | undefined {
  let errors: unknown;
  try {
    errors = propertyOf(JSON.parse(answer.body), "errors");
  } catch {
    return undefined; // not JSON (a proxy's page): say nothing of it
  }
  if (!Array.isArray(errors)) return undefined;
  const said = errors.filter((item): item is string => typeof item === "string");
  for (const [pattern, words] of VAULT_ERRORS) if (said.some((text) => pattern.test(text))) return words;
  return undefined;
}

/** The failure an HTTP status stands for (not 200, not a 404 read): the status and fixed words only. */
function statusError(answer: Answer, what: string, login: boolean): ProviderError {
  const reason = vaultReason(answer);
  const { status } = answer;
  const because = `: ${reason ?? STATUS_TEXT[status] ?? "unexpected answer"} (HTTP ${status})`;
  if (status === 503 && reason === "Vault is sealed") {
    return new ProviderError("unreachable", `${what}: the Vault is sealed`, {
      hint: "the Vault is sealed: it must be unsealed before it serves anything",
      transient: false,
    });
  }
  if (status === 429 || status === 412 || status >= 500) {
    return new ProviderError("failed", `${what}${because}`, { transient: true });
  }
  if (login && (status === 400 || status === 401 || status === 403)) {
    return new ProviderError("auth", `${what}: the login was refused${because}`, {
      hint: "check the role and the credential given to it",
    });
  }
  if (status === 401 || (status === 403 && reason === "invalid token")) {
    return new ProviderError("auth", `${what}: the token is not valid (HTTP ${status})`, {
      hint: "log in again (vault login), or set the token's variable",
    });
  }
  if (status === 403) {
    return new ProviderError("denied", `${what}: permission denied (HTTP 403)`, {
      hint: "the token's policies do not allow reading this path",
    });
  }
  return new ProviderError("failed", `${what}${because}`);
}

function parseJson(answer: Answer, what: string): Record<string, unknown> {
  try {
    const json: unknown = JSON.parse(answer.body);
    if (isRecord(json)) return json;
  } catch {
    // below
  }
  throw new ProviderError(
    "failed",
    `${what}: the answer is not a Vault JSON response (HTTP ${answer.status})`,
    {
      hint: "is address: the Vault's API address?",
    },
  );
}

function connect(context: ProviderContext): Connection {
  const { settings } = context.source;
  const address = settings.address ?? context.env.VAULT_ADDR;
  if (!address) {
    throw new ProviderError("invalid", "no address", { hint: "set address: in the source, or VAULT_ADDR" });
  }
  let base: URL;
  try {
    base = new URL(address);
  } catch {
    base = new URL("invalid:");
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new ProviderError("invalid", "address is not an http(s) URL", {
      hint: "e.g. https://vault.example.com:8200",
    });
  }
  base.username = "";
  base.password = "";
  base.search = "";
  base.hash = "";
  const namespace = settings.namespace ?? context.env.VAULT_NAMESPACE;
  let ca: string | undefined;
  const caFile = settings.caCert
    ? resolve(context.dir, settings.caCert)
    : context.env.VAULT_CACERT
      ? resolve(context.cwd, context.env.VAULT_CACERT)
      : undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile, "utf8");
    } catch (error) {
      throw new ProviderError("invalid", `cannot read the CA certificate ${caFile} (${errnoCode(error)})`, {
        hint: settings.caCert
          ? "caCert: is relative to the manifest's directory"
          : "VAULT_CACERT names a PEM file",
      });
    }
  }
  return { base, namespace: namespace || undefined, ca };
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, "");
}

function encodePath(path: string): string {
  return trimSlashes(path)
    .split("/")
    .filter((segment) => segment !== "")
    .map(encodeURIComponent)
    .join("/");
}

async function login(connection: Connection, context: ProviderContext): Promise<string> {
  const { auth } = context.source.settings;
  const method = auth?.method ?? "token";
  if (method === "token") {
    const variable = auth?.tokenEnv ?? "VAULT_TOKEN";
    const fromEnv = context.env[variable];
    if (fromEnv) return fromEnv.trim();
    const home = context.env.HOME;
    if (home) {
      try {
        const token = readFileSync(join(home, ".vault-token"), "utf8").trim();
        if (token) return token;
      } catch {
        // no token file
      }
    }
    throw new ProviderError("auth", `no token: ${variable} is not set and there is no ~/.vault-token`, {
      hint: `log in with \`vault login\`, or set ${variable}`,
    });
  }
  let mount: string;
  let body: Record<string, string>;
  if (method === "approle") {
    const variable = auth?.secretIdEnv ?? "VAULT_SECRET_ID";
    const secretId = context.env[variable];
    if (!secretId) {
      throw new ProviderError("auth", `AppRole login: ${variable} is not set`, {
        hint: `set ${variable} to the role's secret id`,
      });
    }
    mount = auth?.path ?? "approle";
    body = { role_id: auth?.roleId ?? "", secret_id: secretId };
  } else {
    const jwtPath = resolve(
      context.dir,
      auth?.jwtPath ?? "/var/run/secrets/kubernetes.io/serviceaccount/token",
    );
    let jwt: string;
    try {
      jwt = readFileSync(jwtPath, "utf8").trim();
    } catch (error) {
      throw new ProviderError(
        "auth",
        `Kubernetes login: cannot read the service account token ${jwtPath} (${errnoCode(error)})`,
        { hint: "outside a pod, set jwtPath: to a service account token, or use another auth method" },
      );
    }
    mount = auth?.mountPath ?? "kubernetes";
    body = { role: auth?.role ?? "", jwt };
  }
  const apiPath = `auth/${encodePath(mount)}/login`;
  const what = `${method === "approle" ? "AppRole" : "Kubernetes"} login at auth/${trimSlashes(mount)}`;
  const answer = await context.retry(async (signal) => {
    const reply = await exchange(connection, "POST", apiPath, undefined, body, signal);
    if (reply.status === 200) return reply;
    if (reply.status === 404) {
      throw new ProviderError("auth", `${what}: no such auth method (HTTP 404)`, {
        hint: `is the auth method enabled at ${trimSlashes(mount)}?`,
      });
    }
    throw statusError(reply, what, true);
  });
  const token = propertyOf(parseJson(answer, what).auth, "client_token");
  if (typeof token !== "string" || token === "") {
    throw new ProviderError("auth", `${what}: the answer holds no client token`);
  }
  return token;
}

/** A secret's fields, or undefined when there is none at the path. */
async function readSecret(
  connection: Connection,
  token: string,
  mount: string,
  path: string,
  v2: boolean,
  context: ProviderContext,
): Promise<Record<string, unknown> | undefined> {
  const where = secretWhere(mount, path, v2);
  const apiPath = `${encodePath(mount)}/${v2 ? "data/" : ""}${encodePath(path)}`;
  return context.retry(async (signal) => {
    const answer = await exchange(connection, "GET", apiPath, token, undefined, signal);
    if (answer.status === 404) {
      if (vaultReason(answer) === "no handler for route") {
        throw new ProviderError(
          "invalid",
          `${where}: no secrets engine is mounted at ${trimSlashes(mount)} (HTTP 404)`,
          {
            hint: "check mount: (the KV engine's path)",
          },
        );
      }
      if (!v2 && /versioned K\/V/i.test(answer.body)) {
        throw new ProviderError("invalid", `${where}: ${trimSlashes(mount)} is a KV version 2 engine`, {
          hint: "set version: v2 (or leave it out: v2 is the default)",
        });
      }
      return undefined;
    }
    if (answer.status === 204) return undefined;
    if (answer.status !== 200) throw statusError(answer, where, false);
    const json = parseJson(answer, where);
    const fields = v2 ? propertyOf(json.data, "data") : json.data;
    if (fields === null || fields === undefined) return undefined;
    if (!isRecord(fields)) {
      throw new ProviderError("failed", `${where}: the answer holds no map of fields`, {
        hint: v2 ? "is this a KV version 1 engine? set version: v1" : undefined,
      });
    }
    return fields;
  });
}

function secretWhere(mount: string, path: string, v2: boolean): string {
  return `${trimSlashes(mount)}/${v2 ? "data/" : ""}${trimSlashes(path)}`;
}

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const { settings } = context.source;
    const mount = trimSlashes(settings.mount ?? "secret");
    const v2 = (settings.version ?? "v2") !== "v1";
    const path = settings.path === undefined ? undefined : trimSlashes(settings.path);
    const connection = connect(context);
    const out = new Map<string, Fetched>();

    const searched = requests.filter((request) => request.searched);
    const refs = requests.filter((request) => !request.searched);
    const paths = new Set<string>();
    if (path && searched.length > 0) paths.add(path);
    for (const request of refs) paths.add(trimSlashes(request.key));
    if (path === undefined || path === "") {
      for (const request of searched) {
        out.set(request.id, { status: "missing", where: `${mount} (no path:, from: references only)` });
      }
    }
    if (paths.size === 0) return out;

    const token = await login(connection, context);
    const list = [...paths];
    const secrets = new Map<string, Record<string, unknown> | undefined>();
    const read = await context.pool(list, (item) => readSecret(connection, token, mount, item, v2, context));
    for (const [index, item] of list.entries()) secrets.set(item, read[index]);

    if (path) {
      const fields = secrets.get(path);
      for (const request of searched) {
        const where = `${secretWhere(mount, path, v2)}#${request.key}`;
        const value = fields === undefined ? undefined : field(fields, request.key);
        out.set(
          request.id,
          value === undefined ? { status: "missing", where } : { status: "found", value, where },
        );
      }
    }
    for (const request of refs) {
      const secretPath = trimSlashes(request.key);
      const fields = secrets.get(secretPath);
      const base = secretWhere(mount, secretPath, v2);
      let property = request.property;
      if (property === undefined && fields !== undefined) {
        const names = Object.keys(fields);
        if (names.length !== 1) {
          throw new ProviderError(
            "invalid",
            `${base} has ${names.length} fields${names.length ? ` (${names.slice(0, 10).join(", ")}${names.length > 10 ? ", …" : ""})` : ""}: say which one`,
            { hint: `from: {source: ${context.source.name}, key: ${request.key}, property: FIELD}` },
          );
        }
        property = names[0]!;
      }
      const where = property === undefined ? base : `${base}#${property}`;
      const value = fields === undefined || property === undefined ? undefined : field(fields, property);
      out.set(
        request.id,
        value === undefined ? { status: "missing", where } : { status: "found", value, where },
      );
    }
    return out;
  },
};
