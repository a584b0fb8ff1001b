/**
 * A writer for store-durability.test.ts: sets PREFIX_0 … PREFIX_<COUNT-1> in the workspace store at ROOT,
 * one updateStore (one lock acquisition) per variable, through the library the CLI uses.
 *
 *   node --import tsx test/e2e/store-writer.ts ROOT PREFIX COUNT [GO_FILE]
 *
 * GO_FILE is a barrier: the process prints `ready` and starts writing only once that file exists, so that
 * processes started one after the other contend from their first write. Notices (a created identity or
 * store directory) go to stderr. Each write also checks that the store still holds every
 * variable this process wrote before (a lost update fails the process at once, naming the write).
 * Prints `{"writes": COUNT, "ms": …}` when done; exits 1 with a message on any error.
 */
import { existsSync } from "node:fs";
import { workspaceAt } from "../../src/workspace/workspace.ts";
import { updateStore } from "../../src/workspace/write.ts";

const [root, prefix, countText, go] = process.argv.slice(2);
if (!root || !prefix || !countText) {
  process.stderr.write("usage: store-writer.ts ROOT PREFIX COUNT [GO_FILE]\n");
  process.exit(2);
}
const count = Number(countText);
const expected = (i: number) => `value of ${prefix}_${i}: "${"x".repeat(i % 7)}" é $$ ${i}`;

if (go) {
  process.stdout.write("ready\n");
  while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 2));
}

const workspace = workspaceAt(root);
const started = performance.now();
try {
  for (let i = 0; i < count; i++) {
    await updateStore(
      workspace,
      { env: process.env, cwd: root, notice: (text) => process.stderr.write(text) },
      (contents) => {
        for (let j = 0; j < i; j++) {
          if (contents.values.get(`${prefix}_${j}`) !== expected(j)) {
            throw new Error(`write ${i}: ${prefix}_${j}, written earlier by this process, is lost`);
          }
        }
        contents.values.set(`${prefix}_${i}`, expected(i));
        return true;
      },
    );
  }
} catch (error) {
  const e = error as { code?: string; message?: string };
  process.stderr.write(`store-writer ${prefix}: ${e.code ?? "error"}: ${e.message ?? String(error)}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ writes: count, ms: Math.round(performance.now() - started) })}\n`);
