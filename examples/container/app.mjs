// The app: it reads its settings from plain environment variables, as most apps do, and never learns that
// its secrets arrived as files. It logs a fingerprint of each one (length and the start of a SHA-256, never
// the value), then serves GET /health on PORT; `node app.mjs --check` logs and exits.
import { createHash } from "node:crypto";
import { createServer } from "node:http";

const fingerprint = (value) =>
  value === undefined
    ? "(not set)"
    : `${value.length} characters, sha256 ${createHash("sha256").update(value).digest("hex").slice(0, 16)}`;

const uid = process.getuid?.();
const lines = [`greeter running as uid ${uid}${uid === 0 ? " (root!)" : ""}`];
for (const name of ["OPENAI_API_KEY", "DB_PASSWORD"])
  lines.push(`${name}: ${fingerprint(process.env[name])}`);
for (const name of ["LOG_LEVEL", "PORT"]) lines.push(`${name}: ${process.env[name] ?? "(not set)"}`);
console.log(lines.join("\n"));

if (!process.argv.includes("--check")) {
  const port = Number(process.env.PORT ?? 8080);
  createServer((request, response) => {
    response.writeHead(request.url === "/health" ? 200 : 404, { "content-type": "text/plain" });
    response.end(request.url === "/health" ? "ok\n" : "not found\n");
  }).listen(port, () => console.log(`listening on ${port}`));
  // tessera run passes SIGTERM on; end cleanly when the container is stopped
  process.once("SIGTERM", () => process.exit(0));
}
