/**
 * A small HTTP(S) client for the REST stores (gcp-secret-manager, azure-key-vault) and their token
 * endpoints, on node:http and node:https alone: no SDK, nothing to load but Node's own modules.
 *
 * - Keep-alive connections, one pool per client (`close()` ends them), so a fetch of many secrets pays
 *   one TLS handshake per concurrent connection, not one per secret.
 * - Proxies from the environment handed in (never process.env): HTTPS_PROXY / https_proxy for https
 *   URLs (a CONNECT tunnel), HTTP_PROXY / http_proxy for http URLs, NO_PROXY / no_proxy (host suffixes,
 *   `*`, optional :port). The cloud metadata addresses (169.254.169.254, metadata.google.internal) and
 *   requests marked `direct` (a machine-local identity endpoint) never go through a proxy.
 * - Every request takes an AbortSignal (the attempt's time limit) and optionally a limit of its own;
 *   an answer's body is read within them and capped at MAX_BODY bytes.
 * - Trust: Node's default CAs plus NODE_EXTRA_CA_CERTS, as for every TLS connection Node makes.
 *
 * Failures are thrown as they come (a Node error with its `code`, ECONNREFUSED or
 * DEPTH_ZERO_SELF_SIGNED_CERT; an AbortError; a TimeoutError for the request's own limit): the store
 * maps them to its own words. No message carries a header, so no credential.
 */
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import tls from "node:tls";

type Env = Readonly<Record<string, string | undefined>>;

/** An answer larger than this is refused (a secret is at most 64 KiB in GCP, 25 KB in Key Vault). */
export const MAX_BODY = 4 * 1024 * 1024;

export interface HttpRequest {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** The attempt's signal: aborting it ends the request (and its connection). */
  signal?: AbortSignal;
  /** A limit of this request's own, in ms (a metadata server probe), besides the signal. */
  timeoutMs?: number;
  /** Never through a proxy: an endpoint only this machine serves (a metadata or identity endpoint). */
  direct?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A failure of the request itself, with Node's code (ECONNREFUSED, CERT_HAS_EXPIRED…) when it has one. */
export function networkCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = Reflect.get(error, "code");
  if (typeof code === "string") return code;
  const cause = Reflect.get(error, "cause");
  return cause === error ? undefined : networkCode(cause);
}

/** Whether the error is the end of a request by its signal or its own limit. */
export function isAbort(error: unknown): error is Error {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}

/** The body as JSON, or undefined when it is not JSON. */
export function jsonBody(response: HttpResponse): unknown {
  try {
    return JSON.parse(response.body.toString("utf8"));
  } catch {
    return undefined;
  }
}

const NEVER_PROXIED = new Set(["169.254.169.254", "metadata.google.internal", "metadata.google.internal."]);

function proxyVariable(env: Env, name: string): string | undefined {
  return env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;
}

/** Whether NO_PROXY keeps `url` off the proxy: `*`, a host, a domain suffix (.example.com or example.com), host:port. */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (NEVER_PROXIED.has(host)) return true;
  if (!noProxy) return false;
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    const match = /^(.*?)(?::([0-9]+))?$/.exec(entry.replace(/^\[|\](?=:|$)/g, ""));
    const name = (match?.[1] ?? entry).replace(/^\*?\./, "");
    const entryPort = match?.[2];
    if (entryPort && entryPort !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy for `url` from the environment, if any. */
export function proxyFor(url: URL, env: Env): URL | undefined {
  const text =
    url.protocol === "https:" ? proxyVariable(env, "https_proxy") : proxyVariable(env, "http_proxy");
  if (!text || bypassesProxy(url, proxyVariable(env, "no_proxy"))) return undefined;
  try {
    const proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
    return proxy.protocol === "http:" || proxy.protocol === "https:" ? proxy : undefined;
  } catch {
    return undefined;
  }
}

function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { "proxy-authorization": `Basic ${Buffer.from(credentials).toString("base64")}` };
}

type ConnectOptions = tls.ConnectionOptions & { host?: string; port?: number | string; servername?: string };

/** An https.Agent whose connections are TLS inside a CONNECT tunnel through `proxy`. */
class TunnelAgent extends https.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: true });
  }

  override createConnection(
    args: http.ClientRequestArgs,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): undefined {
    const options = args as ConnectOptions;
    const done = (error: Error | null, socket?: Duplex) => callback?.(error, socket as Duplex);
    const host = String(options.host ?? "localhost");
    const port = Number(options.port ?? 443);
    const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const transport = this.proxy.protocol === "https:" ? https : http;
    const connect = transport.request({
      host: this.proxy.hostname.replace(/^\[|\]$/g, ""),
      port: this.proxy.port || (this.proxy.protocol === "https:" ? 443 : 80),
      method: "CONNECT",
      path: target,
      headers: { host: target, ...proxyAuthorization(this.proxy) },
      agent: false,
    });
    const fail = (error: Error) => done(error);
    connect.once("error", fail);
    connect.once("connect", (response, socket) => {
      connect.off("error", fail);
      if (response.statusCode !== 200) {
        socket.destroy();
        const error = new Error(`the proxy refused the tunnel (HTTP ${response.statusCode})`);
        Object.assign(error, { code: "EPROXY" });
        done(error);
        return;
      }
      const secure = tls.connect({ ...options, socket, servername: options.servername ?? host });
      secure.once("secureConnect", () => done(null, secure));
      secure.once("error", (error) => done(error));
    });
    connect.end();
    return undefined;
  }
}

/** One client: its connection pools, closed together. */
export class HttpClient {
  private readonly agents = new Map<string, http.Agent>();

  constructor(private readonly env: Env = {}) {}

  private agentFor(url: URL, proxy: URL | undefined): http.Agent {
    const key = proxy ? `${url.protocol}via${proxy.href}` : url.protocol;
    let agent: http.Agent | undefined = this.agents.get(key);
    if (agent === undefined) {
      if (proxy && url.protocol === "https:") agent = new TunnelAgent(proxy);
      else if (proxy) agent = new (proxy.protocol === "https:" ? https : http).Agent({ keepAlive: true });
      else agent = new (url.protocol === "https:" ? https : http).Agent({ keepAlive: true });
      this.agents.set(key, agent);
    }
    return agent;
  }

  request(target: string | URL, init: HttpRequest = {}): Promise<HttpResponse> {
    const url = new URL(target);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return Promise.reject(new TypeError(`not an http(s) URL: ${url.protocol}`));
    }
    const proxy = init.direct ? undefined : proxyFor(url, this.env);
    const plainViaProxy = proxy !== undefined && url.protocol === "http:";
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    if (plainViaProxy) Object.assign(headers, proxyAuthorization(proxy));
    const controller = new AbortController();
    const outer = init.signal;
    const onAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) onAbort();
    else outer?.addEventListener("abort", onAbort, { once: true });
    // A timer of our own, not AbortSignal.timeout: under AbortSignal.any Node 20 holds a timeout signal
    // only weakly, and a collected one never fires.
    let timedOut = false;
    const timer =
      init.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, init.timeoutMs);
    const transport = (plainViaProxy ? proxy.protocol === "https:" : url.protocol === "https:")
      ? https
      : http;
    return new Promise<HttpResponse>((done, fail) => {
      const finish = (error: Error | undefined, response?: HttpResponse) => {
        clearTimeout(timer);
        outer?.removeEventListener("abort", onAbort);
        if (error) {
          if (timedOut) {
            const timeout = new Error(`no answer within ${init.timeoutMs} ms`);
            timeout.name = "TimeoutError";
            fail(timeout);
          } else fail(error);
        } else done(response!);
      };
      const options: http.RequestOptions = {
        method: init.method ?? "GET",
        headers,
        agent: this.agentFor(url, proxy),
        signal: controller.signal,
      };
      const request = plainViaProxy
        ? transport.request(
            {
              ...options,
              host: proxy.hostname.replace(/^\[|\]$/g, ""),
              port: proxy.port || (proxy.protocol === "https:" ? 443 : 80),
              path: url.href,
              headers: { host: url.host, ...headers },
            },
            (response) => read(response),
          )
        : transport.request(url, options, (response) => read(response));
      const read = (response: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            const error = new Error(`the answer is larger than ${MAX_BODY} bytes`);
            Object.assign(error, { code: "ETOOBIG" });
            request.destroy(error);
            return;
          }
          chunks.push(chunk);
        });
        response.once("error", (error) => finish(error));
        response.once("end", () =>
          finish(undefined, {
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
      };
      request.once("error", (error) => finish(error));
      request.end(init.body);
    });
  }

  /** Ends every pooled connection. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
