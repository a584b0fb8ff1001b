/**
 * One HTTP exchange with Node's own http/https (no SDK, no undici start-up): the request, the status,
 * the headers and the whole body. Connections are kept alive through the caller's agents
 * ({@link Agents}) and closed with them; the signal aborts the exchange (the error is an AbortError).
 * Network errors keep Node's code (ECONNREFUSED…), which ./errors.ts reads.
 */

import http from "node:http";
import type https from "node:https";

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** A time limit of its own (ms): the instance and container endpoints answer at once or not at all. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** The largest answer read (a secret is at most 64 KiB; a page of parameters well under this). */
const MAX_BODY = 16 * 1024 * 1024;

/** node:https (with TLS), loaded on the first https request: a loopback endpoint never needs it. */
let httpsModule: typeof https | undefined;
async function loadHttps(): Promise<typeof https> {
  httpsModule ??= (await import("node:https")).default;
  return httpsModule;
}

/** Keep-alive agents for one fetch; destroy() closes their connections. */
export class Agents {
  #http?: http.Agent;
  #https?: https.Agent;
  for(secure?: typeof https): http.Agent {
    if (secure) {
      this.#https ??= new secure.Agent({ keepAlive: true });
      return this.#https;
    }
    this.#http ??= new http.Agent({ keepAlive: true });
    return this.#http;
  }
  destroy(): void {
    this.#http?.destroy();
    this.#https?.destroy();
  }
}

export class TimeoutError extends Error {
  override name = "TimeoutError";
}

function abortError(): Error {
  const error = new Error("the request was aborted");
  error.name = "AbortError";
  return error;
}

/** Send the request and read the whole answer. */
export async function send(request: HttpRequest, agents?: Agents): Promise<HttpResponse> {
  const { url } = request;
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`not an http(s) URL: ${url.protocol}`);
  }
  return exchange(request, url.protocol === "https:" ? await loadHttps() : undefined, agents);
}

function exchange(
  request: HttpRequest,
  secure: typeof https | undefined,
  agents?: Agents,
): Promise<HttpResponse> {
  const { url, signal } = request;
  if (signal?.aborted) return Promise.reject(abortError());
  return new Promise((resolve, reject) => {
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    const headers: Record<string, string> = { ...request.headers };
    if (body !== undefined) headers["content-length"] = String(body.length);
    const module = secure ?? http;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: Error | undefined, response?: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(response!);
    };
    const outgoing = module.request(
      url,
      {
        method: request.method,
        headers,
        agent: agents?.for(secure) ?? false,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            outgoing.destroy(new Error(`the answer is larger than ${MAX_BODY} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        incoming.on("error", (error) => finish(error));
        incoming.on("aborted", () =>
          finish(signal?.aborted ? abortError() : new Error("the answer was cut short")),
        );
        incoming.on("end", () =>
          finish(undefined, {
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    const onAbort = () => {
      finish(abortError());
      outgoing.destroy();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (request.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        finish(new TimeoutError(`no answer within ${request.timeoutMs} ms`));
        outgoing.destroy();
      }, request.timeoutMs);
    }
    outgoing.on("error", (error) => finish(error));
    outgoing.end(body);
  });
}
