/**
 * Local stand-ins for HashiCorp Vault, Google Cloud Secret Manager and Azure Key Vault (and the token
 * endpoints and the proxy the cloud stores' credentials use), for protocol tests of the providers (no
 * real store can run here). Each implements only the documented API paths
 * the providers use, checks what a real server checks (the method, the path, the auth header, the
 * body of a login), answers with the real APIs' status codes and error bodies, records every request,
 * and can be told to fail: an injected reply (a status and body), a hang (never answers) or a reset.
 *
 * The tests drive the built CLI as a child process while these servers run in the test's own process,
 * so the CLI is run asynchronously (`tesseraAsync`): a synchronous spawn would block the servers.
 */
import { spawn, spawnSync } from "node:child_process";
import { createPublicKey, verify } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import { type AddressInfo, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, cleanEnv } from "../helpers.ts";

export interface Recorded {
  method: string;
  /** The path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What an injected fault does: answer with this status and body, never answer, or drop the connection. */
export type Fault =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true }
  | { reset: true };

interface Injection {
  match?: RegExp;
  times: number;
  fault: Fault;
}

export interface Tls {
  key: string;
  cert: string;
  /** The certificate's file (a self-signed certificate is its own CA). */
  certFile: string;
}

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl. */
export function selfSignedCert(): Tls {
  const dir = mkdtempSync(join(tmpdir(), "tessera-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  const result = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  return { key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8"), certFile };
}

/** A port nothing listens on (connection refused). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** A server that takes every request and never answers (see `startSilentServer`). */
export interface SilentServer {
  url: string;
  port: number;
  /** "METHOD target" of each request: "POST /token", or "CONNECT host:443" when used as a proxy. */
  seen: string[];
  /** Destroys the connections it holds open, then stops listening. */
  close(): Promise<void>;
}

/**
 * A server on 127.0.0.1 that accepts connections and requests and never answers: not a plain request
 * (a token POST), nor, as an HTTP(S) proxy (HTTPS_PROXY), the CONNECT of a tunnel. A client waiting on it
 * waits forever unless it gives up by itself.
 */
export async function startSilentServer(): Promise<SilentServer> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((request) => {
    seen.push(`${request.method} ${request.url}`);
    request.resume();
  });
  server.on("connect", (request: IncomingMessage) => seen.push(`CONNECT ${request.url}`));
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

type Handler = (request: Recorded, reply: Reply) => void;

export interface Reply {
  json(status: number, body: unknown, headers?: Record<string, string>): void;
}

/** An HTTP(S) server that records requests, plays injected faults, then hands the request to `handle`. */
export class FakeServer {
  readonly requests: Recorded[] = [];
  private readonly injections: Injection[] = [];
  private readonly sockets = new Set<Socket>();
  private server!: http.Server;
  url = "";
  port = 0;

  constructor(
    private readonly handle: Handler,
    private readonly tls?: Tls,
  ) {}

  async start(): Promise<this> {
    const listener = (request: IncomingMessage, response: ServerResponse) => this.serve(request, response);
    this.server = this.tls
      ? https.createServer({ key: this.tls.key, cert: this.tls.cert }, listener)
      : http.createServer(listener);
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    this.server.on("secureConnection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((done) => this.server.listen(0, "127.0.0.1", done));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `${this.tls ? "https" : "http"}://${this.tls ? "localhost" : "127.0.0.1"}:${this.port}`;
    return this;
  }

  /** The next `times` requests (matching `match`, a regex on "METHOD /path") get this fault. */
  inject(fault: Fault, options: { times?: number; match?: RegExp } = {}): this {
    this.injections.push({ fault, times: options.times ?? 1, match: options.match });
    return this;
  }

  /** Requests whose "METHOD /path" matches. */
  calls(match?: RegExp): Recorded[] {
    return this.requests.filter((request) => !match || match.test(`${request.method} ${request.path}`));
  }

  reset(): void {
    this.requests.length = 0;
    this.injections.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  private serve(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://fake");
      const recorded: Recorded = {
        method: request.method ?? "",
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      this.requests.push(recorded);
      const reply: Reply = {
        json: (status, body, headers = {}) => {
          const text = typeof body === "string" ? body : JSON.stringify(body);
          response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
          response.end(text);
        },
      };
      const line = `${recorded.method} ${recorded.path}`;
      const injection = this.injections.find(
        (item) => item.times > 0 && (!item.match || item.match.test(line)),
      );
      if (injection) {
        injection.times--;
        const { fault } = injection;
        if ("hang" in fault) return;
        if ("reset" in fault) {
          request.socket.destroy();
          return;
        }
        reply.json(fault.status, fault.body ?? "", fault.headers);
        return;
      }
      try {
        this.handle(recorded, reply);
      } catch (error) {
        reply.json(500, { errors: [`fake server bug: ${(error as Error).message}`] });
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// HashiCorp Vault: KV v1/v2 reads, AppRole and Kubernetes logins (https://developer.hashicorp.com/vault/api-docs)

export interface VaultOptions {
  /** Tokens that may read (X-Vault-Token). */
  tokens?: string[];
  /** Mounts: KV version and secrets (path → fields). */
  mounts?: Record<string, { version: 1 | 2; secrets: Record<string, Record<string, unknown>> }>;
  /** When set, every request must carry X-Vault-Namespace with this value. */
  namespace?: string;
  approle?: { mount?: string; roleId: string; secretId: string; issues: string };
  kubernetes?: { mount?: string; role: string; jwt: string; issues: string };
  /** API paths (e.g. "secret/data/forbidden") the tokens may not read. */
  deny?: string[];
  sealed?: boolean;
  tls?: Tls;
}

const VAULT_V2_WARNING =
  "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.";

export async function startVault(options: VaultOptions): Promise<FakeServer> {
  const tokens = new Set(options.tokens ?? []);
  const mounts = options.mounts ?? {};
  const handler: Handler = (request, reply) => {
    if (options.sealed) return reply.json(503, { errors: ["Vault is sealed"] });
    if (!request.path.startsWith("/v1/")) return reply.json(404, { errors: [] });
    const apiPath = request.path.slice(4).split("/").map(decodeURIComponent).join("/");
    if (options.namespace !== undefined && request.headers["x-vault-namespace"] !== options.namespace) {
      // A token of the namespace is unknown outside it.
      return reply.json(403, { errors: ["permission denied"] });
    }
    const login = /^auth\/(.+)\/login$/.exec(apiPath);
    if (login) {
      if (request.method !== "POST") return reply.json(405, { errors: [] });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(request.body) as Record<string, unknown>;
      } catch {
        return reply.json(400, { errors: ["failed to parse JSON input"] });
      }
      const mount = login[1];
      const issue = (token: string) => {
        tokens.add(token);
        reply.json(200, {
          request_id: "00000000-0000-0000-0000-000000000001",
          lease_id: "",
          renewable: false,
          lease_duration: 0,
          data: null,
          wrap_info: null,
          warnings: null,
          auth: {
            client_token: token,
            accessor: "fake-accessor",
            policies: ["default", "app"],
            lease_duration: 3600,
            renewable: true,
          },
        });
      };
      if (options.approle && mount === (options.approle.mount ?? "approle")) {
        if (typeof body.role_id !== "string" || !body.role_id)
          return reply.json(400, { errors: ["missing role_id"] });
        if (body.role_id !== options.approle.roleId || body.secret_id !== options.approle.secretId) {
          return reply.json(400, { errors: ["invalid role or secret ID"] });
        }
        return issue(options.approle.issues);
      }
      if (options.kubernetes && mount === (options.kubernetes.mount ?? "kubernetes")) {
        if (body.role !== options.kubernetes.role) {
          return reply.json(400, { errors: [`invalid role name "${String(body.role)}"`] });
        }
        if (body.jwt !== options.kubernetes.jwt) return reply.json(403, { errors: ["permission denied"] });
        return issue(options.kubernetes.issues);
      }
      return reply.json(404, {
        errors: [`no handler for route "auth/${mount}/login". route entry not found.`],
      });
    }
    if (request.method !== "GET") return reply.json(405, { errors: [] });
    const token = request.headers["x-vault-token"];
    if (typeof token !== "string" || !tokens.has(token)) {
      return reply.json(403, {
        errors: ["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"],
      });
    }
    if (options.deny?.includes(apiPath))
      return reply.json(403, { errors: ["1 error occurred:\n\t* permission denied\n\n"] });
    const mountName = Object.keys(mounts).find((name) => apiPath.startsWith(`${name}/`));
    if (mountName === undefined) {
      return reply.json(404, { errors: [`no handler for route "${apiPath}". route entry not found.`] });
    }
    const mount = mounts[mountName]!;
    const rest = apiPath.slice(mountName.length + 1);
    if (mount.version === 2) {
      if (!rest.startsWith("data/")) {
        return reply.json(404, { request_id: "x", data: null, warnings: [VAULT_V2_WARNING] });
      }
      const secret = mount.secrets[rest.slice(5)];
      if (!secret) return reply.json(404, { errors: [] });
      return reply.json(200, {
        request_id: "00000000-0000-0000-0000-000000000002",
        lease_id: "",
        renewable: false,
        lease_duration: 0,
        data: {
          data: secret,
          metadata: {
            created_time: "2024-01-01T00:00:00Z",
            custom_metadata: null,
            deletion_time: "",
            destroyed: false,
            version: 3,
          },
        },
        wrap_info: null,
        warnings: null,
        auth: null,
      });
    }
    const secret = mount.secrets[rest];
    if (!secret) return reply.json(404, { errors: [] });
    return reply.json(200, {
      request_id: "00000000-0000-0000-0000-000000000003",
      lease_id: "",
      renewable: false,
      lease_duration: 2764800,
      data: secret,
      wrap_info: null,
      warnings: null,
      auth: null,
    });
  };
  return new FakeServer(handler, options.tls).start();
}

// ---------------------------------------------------------------------------------------------------
// Google Cloud Secret Manager, REST: GET /v1/projects/P/secrets/S/versions/V:access
// (https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access)

export interface GcpOptions {
  token: string;
  /** project → secret id → versions (1, 2, …; "latest" is the last). */
  projects: Record<string, Record<string, Array<string | Buffer>>>;
  /** Secret ids the token may not read. */
  deny?: string[];
  /** Send a wrong CRC32C for these secret ids. */
  corrupt?: string[];
  tls?: Tls;
}

const CASTAGNOLI = (() => {
  const table: number[] = [];
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table.push(c >>> 0);
  }
  return table;
})();

/** CRC32C of bytes (crc32c("123456789") is 0xe3069283). */
export function crc32c(bytes: Buffer): number {
  let crc = ~0 >>> 0;
  for (const byte of bytes) crc = (CASTAGNOLI[(crc ^ byte) & 0xff]! ^ (crc >>> 8)) >>> 0;
  return (~crc >>> 0) >>> 0;
}

export function googleError(code: number, status: string, message: string) {
  return { error: { code, message, status } };
}

export async function startGcp(options: GcpOptions): Promise<FakeServer> {
  const handler: Handler = (request, reply) => {
    if (request.headers.authorization !== `Bearer ${options.token}`) {
      return reply.json(
        401,
        googleError(
          401,
          "UNAUTHENTICATED",
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        ),
        { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      );
    }
    const match = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/:]+):access$/.exec(request.path);
    if (!match || request.method !== "GET") {
      return reply.json(
        404,
        googleError(404, "NOT_FOUND", `The requested URL ${request.path} was not found on this server.`),
      );
    }
    const [, project, id, version] = match.map((part) => decodeURIComponent(part)) as [
      string,
      string,
      string,
      string,
    ];
    const resource = `projects/${project}/secrets/${id}/versions/${version}`;
    if (options.deny?.includes(id) || !(project in options.projects)) {
      return reply.json(
        403,
        googleError(
          403,
          "PERMISSION_DENIED",
          `Permission 'secretmanager.versions.access' denied for resource '${resource}' (or it may not exist).`,
        ),
      );
    }
    const versions = options.projects[project]![id];
    const index = version === "latest" ? (versions?.length ?? 0) - 1 : Number(version) - 1;
    const payload = versions?.[index];
    if (payload === undefined) {
      return reply.json(
        404,
        googleError(
          404,
          "NOT_FOUND",
          `Secret [projects/123456789/secrets/${id}] not found or has no versions.`,
        ),
      );
    }
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, "utf8");
    const checksum = crc32c(bytes) + (options.corrupt?.includes(id) ? 1 : 0);
    return reply.json(200, {
      name: `projects/123456789/secrets/${id}/versions/${index + 1}`,
      payload: { data: bytes.toString("base64"), dataCrc32c: String(checksum) },
    });
  };
  return new FakeServer(handler, options.tls).start();
}

// ---------------------------------------------------------------------------------------------------
// Azure Key Vault: GET /secrets/{name}[/{version}]?api-version=…, bearer challenge
// (https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret)

export interface AzureOptions {
  token: string;
  tls: Tls;
  /** Secret name (case-insensitive, as in Key Vault) → value. */
  secrets: Record<string, string>;
  deny?: string[];
  /** The resource the 401 challenge names (default https://vault.azure.net). */
  resource?: string;
  tenant?: string;
}

export async function startAzure(options: AzureOptions): Promise<FakeServer> {
  const secrets = new Map(
    Object.entries(options.secrets).map(([name, value]) => [name.toLowerCase(), { name, value }]),
  );
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${options.tenant ?? "00000000-0000-0000-0000-0000000000aa"}", resource="${options.resource ?? "https://vault.azure.net"}"`;
  let server: FakeServer;
  const handler: Handler = (request, reply) => {
    const auth = request.headers.authorization;
    if (auth === undefined) {
      return reply.json(
        401,
        { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } },
        { "www-authenticate": challenge },
      );
    }
    if (auth !== `Bearer ${options.token}`) {
      return reply.json(
        401,
        {
          error: {
            code: "Unauthorized",
            message: "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/…",
          },
        },
        { "www-authenticate": challenge },
      );
    }
    if (!request.query.get("api-version")) {
      return reply.json(400, {
        error: { code: "BadParameter", message: "The request URI contains an invalid API version." },
      });
    }
    const match = /^\/secrets\/([^/]+)(?:\/([^/]*))?$/.exec(request.path);
    if (!match || request.method !== "GET") {
      return reply.json(404, {
        error: { code: "NotFound", message: "The requested resource was not found." },
      });
    }
    const name = decodeURIComponent(match[1]!);
    if (!/^[0-9A-Za-z-]{1,127}$/.test(name)) {
      return reply.json(400, {
        error: { code: "BadParameter", message: "The request URI contains an invalid name" },
      });
    }
    if (options.deny?.map((item) => item.toLowerCase()).includes(name.toLowerCase())) {
      return reply.json(403, {
        error: {
          code: "Forbidden",
          message:
            "Caller is not authorized to perform action on resource.\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'",
          innererror: { code: "ForbiddenByRbac" },
        },
      });
    }
    const secret = secrets.get(name.toLowerCase());
    if (!secret) {
      return reply.json(404, {
        error: {
          code: "SecretNotFound",
          message: `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
        },
      });
    }
    const version = match[2] || "0123456789abcdef0123456789abcdef";
    return reply.json(200, {
      value: secret.value,
      id: `${server.url}/secrets/${secret.name}/${version}`,
      attributes: {
        enabled: true,
        created: 1700000000,
        updated: 1700000000,
        recoveryLevel: "Recoverable+Purgeable",
        recoverableDays: 90,
      },
      tags: {},
    });
  };
  server = new FakeServer(handler, options.tls);
  return server.start();
}

// ---------------------------------------------------------------------------------------------------
// What the GCP and Azure stores' credentials talk to: Google's OAuth 2.0 token endpoint
// (https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests),
// Microsoft Entra's v2 token endpoint
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow), and an
// HTTP proxy that tunnels HTTPS (CONNECT), as HTTPS_PROXY names one.

export interface GoogleTokenOptions {
  /** The service account key's public key (PEM): a jwt-bearer assertion must verify with it. */
  publicKey?: string;
  /** The refresh tokens the refresh_token grant accepts. */
  refreshTokens?: string[];
  /** The access token issued. */
  issues: string;
}

/** POST /token: the jwt-bearer grant (RS256 assertion, aud = this endpoint) and the refresh_token grant. */
export async function startGoogleTokenEndpoint(options: GoogleTokenOptions): Promise<FakeServer> {
  let server: FakeServer;
  const handler: Handler = (request, reply) => {
    const refuse = (error: string, description: string) =>
      reply.json(400, { error, error_description: description });
    if (request.method !== "POST" || request.path !== "/token") return reply.json(404, "Not Found");
    if (!/^application\/x-www-form-urlencoded\b/.test(request.headers["content-type"] ?? "")) {
      return refuse("invalid_request", "Bad Request");
    }
    const form = new URLSearchParams(request.body);
    const grant = form.get("grant_type");
    if (grant === "urn:ietf:params:oauth:grant-type:jwt-bearer" && options.publicKey) {
      const [header = "", claims = "", signature = ""] = (form.get("assertion") ?? "").split(".");
      const good = verify(
        "sha256",
        Buffer.from(`${header}.${claims}`),
        createPublicKey(options.publicKey),
        Buffer.from(signature, "base64url"),
      );
      if (!good) return refuse("invalid_grant", "Invalid JWT Signature.");
      const body = JSON.parse(Buffer.from(claims, "base64url").toString("utf8")) as Record<string, unknown>;
      if (body.aud !== `${server.url}/token`) return refuse("invalid_grant", "Invalid JWT: audience");
      if (typeof body.scope !== "string" || !body.iss) return refuse("invalid_scope", "Invalid OAuth scope");
    } else if (grant === "refresh_token") {
      if (!options.refreshTokens?.includes(form.get("refresh_token") ?? "")) {
        return refuse("invalid_grant", "Token has been expired or revoked.");
      }
    } else {
      return refuse("unsupported_grant_type", "Invalid grant_type");
    }
    reply.json(200, { access_token: options.issues, expires_in: 3599, token_type: "Bearer" });
  };
  server = new FakeServer(handler);
  return server.start();
}

export interface EntraOptions {
  tenant: string;
  clientId: string;
  clientSecret: string;
  /** The access token issued. */
  issues: string;
}

/** POST /{tenant}/oauth2/v2.0/token with the client_credentials grant and a client secret. */
export async function startEntra(options: EntraOptions): Promise<FakeServer> {
  const handler: Handler = (request, reply) => {
    if (request.method !== "POST" || request.path !== `/${options.tenant}/oauth2/v2.0/token`) {
      return reply.json(400, {
        error: "invalid_tenant",
        error_description: `AADSTS90002: Tenant '${request.path.split("/")[1]}' not found.`,
      });
    }
    const form = new URLSearchParams(request.body);
    if (form.get("grant_type") !== "client_credentials" || !form.get("scope")?.endsWith("/.default")) {
      return reply.json(400, { error: "invalid_request", error_description: "AADSTS900144: bad request" });
    }
    if (form.get("client_id") !== options.clientId || form.get("client_secret") !== options.clientSecret) {
      return reply.json(401, {
        error: "invalid_client",
        error_description: "AADSTS7000215: Invalid client secret provided.",
      });
    }
    reply.json(200, {
      token_type: "Bearer",
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: options.issues,
    });
  };
  return new FakeServer(handler).start();
}

export interface ConnectProxy {
  url: string;
  /** The target ("host:port") of each CONNECT. */
  tunnels: string[];
  close(): Promise<void>;
}

/** An HTTP proxy that tunnels CONNECT requests to 127.0.0.1 (and refuses anything else). */
export async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((_request, response) => {
    response.writeHead(405);
    response.end();
  });
  server.on("connect", (request: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(request.url ?? "");
    sockets.add(client);
    const port = Number(/:(\d+)$/.exec(request.url ?? "")?.[1]);
    const upstream = connect(port, "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", drop);
    client.on("error", drop);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------

export interface AsyncResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Wall time, ms. */
  ms: number;
}

/** Run `tessera ARGS` without blocking this process (the fake servers live in it). */
export function tesseraAsync(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined>; input?: string },
): Promise<AsyncResult> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--", CLI, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", fail);
    child.on("close", (status) => {
      clearTimeout(timer);
      done({
        status,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ms: Date.now() - started,
      });
    });
    child.stdin.end(options.input ?? "");
  });
}
