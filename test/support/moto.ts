/**
 * A real moto server (https://github.com/getmoto/moto, `python3 -m moto.server`) for the AWS provider
 * tests: Secrets Manager, SSM Parameter Store, STS and IAM over HTTP on a free loopback port, one process
 * per {@link startMoto}, stopped with {@link Moto.stop}. Its request log goes to a file (never a pipe: a
 * pipe nobody reads while a test waits in spawnSync would fill and stall the server), so tests can count
 * the requests a command made.
 *
 * Install: `pip install 'moto[server]'`. Gate tests with
 * `requireComponent("moto", haveMoto)` from ./consumers.ts.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Credentials and region moto accepts (any would do while its authentication is off). */
export const MOTO_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing-secret-access-key",
  AWS_REGION: "us-east-1",
} as const;

let available: boolean | undefined;

/** `python3 -m moto.server` can run here (moto with its server extras: flask, werkzeug…). */
export function haveMoto(): boolean {
  available ??=
    spawnSync("python3", ["-c", "import moto, moto.server, flask, flask_cors"], {
      stdio: "ignore",
      timeout: 30_000,
    }).status === 0;
  return available;
}

export interface Moto {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  /** A client configuration for the AWS SDK v3 (data set-up in tests). */
  sdk: {
    region: string;
    endpoint: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  /** The number of HTTP requests the server has answered so far (its access log). */
  requests(): number;
  /** Turn authentication and IAM authorization on: unknown keys and missing permissions are refused. */
  enforceAuth(): Promise<void>;
  /** Stop the server (idempotent). */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (free when asked: the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? done(address.port) : fail(new Error("no port")),
      );
    });
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Start moto on a free loopback port and wait until it answers (up to `timeoutMs`). */
export async function startMoto(options: { timeoutMs?: number } = {}): Promise<Moto> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastLog = "";
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "tessera-moto-"));
    const logFile = join(dir, "moto.log");
    const log = openSync(logFile, "a");
    const child = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", log, log],
      env: { ...process.env, PYTHONUNBUFFERED: "1" },
    });
    closeSync(log);
    const endpoint = `http://127.0.0.1:${port}`;
    while (Date.now() < deadline && !exited(child)) {
      try {
        const answer = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
        await answer.arrayBuffer();
        if (answer.ok) return handle(child, port, dir, logFile);
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    lastLog = readFileSync(logFile, "utf8").trim().split("\n").slice(-5).join("\n");
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    if (Date.now() >= deadline) break;
    // The port was taken meanwhile, or the server died: try another one.
  }
  throw new Error(`moto did not start${lastLog ? `:\n${lastLog}` : ""}`);
}

function handle(child: ChildProcess, port: number, dir: string, logFile: string): Moto {
  const endpoint = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port,
    sdk: {
      region: MOTO_CREDENTIALS.AWS_REGION,
      endpoint,
      credentials: {
        accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      },
      maxAttempts: 1,
    },
    requests() {
      // Werkzeug's access log: `127.0.0.1 - - [date] "POST / HTTP/1.1" 200 -`; the tests' own
      // /moto-api/ calls are not counted.
      const lines = readFileSync(logFile, "utf8").split("\n");
      return lines.filter((line) => /"[A-Z]+ \/(?!moto-api)\S* HTTP\/[0-9.]+" [0-9]{3}/.test(line)).length;
    },
    async enforceAuth() {
      const answer = await fetch(`${endpoint}/moto-api/reset-auth`, { method: "POST", body: "0" });
      if (!answer.ok) throw new Error(`moto reset-auth: HTTP ${answer.status}`);
      await answer.arrayBuffer();
    },
    stop() {
      stopping ??= (async () => {
        if (!exited(child)) {
          const gone = new Promise<void>((done) => child.once("exit", () => done()));
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
          await gone;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/**
 * Call an AWS query-protocol API (IAM) on moto, which does not check signatures while its authentication
 * is off: the Authorization header only names the service. Returns the XML answer.
 */
export async function motoQuery(
  moto: Moto,
  service: string,
  params: Record<string, string>,
): Promise<string> {
  const date = new Date().toISOString().slice(0, 10).replace(/-/g, "");
  const answer = await fetch(`${moto.endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `AWS4-HMAC-SHA256 Credential=${MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID}/${date}/${MOTO_CREDENTIALS.AWS_REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams(params).toString(),
  });
  const text = await answer.text();
  if (!answer.ok)
    throw new Error(`moto ${service} ${params.Action}: HTTP ${answer.status}: ${text.slice(0, 300)}`);
  return text;
}
