/**
 * Signals: a signal sent to the `tessera run` process reaches the child; Tessera then exits with the
 * child's status, or 128+N when the child died of signal N. Every test waits for the child to print
 * "ready" (its handlers are installed by then) before signalling.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { describe, test } from "node:test";
import { CLI, cleanEnv, project } from "../helpers.ts";
import {
  collect,
  exited,
  hasScript,
  killGroup,
  NODE,
  sh,
  startTesseraGroup,
  waitForStdout,
} from "./cli-support.ts";

const FORWARDED = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR2"] as const;

/** A child that reports the first signal it gets and exits with CODE_<signal> (or 50). */
const TRAP = `
for (const signal of ${JSON.stringify(FORWARDED)}) {
  process.on(signal, () => {
    process.stdout.write("child got " + signal + "\\n");
    process.exit(Number(process.env["CODE_" + signal] ?? 50));
  });
}
process.stdout.write("ready\\n");
setInterval(() => {}, 1000);
`;

/** A child with no handlers: the signal's default action kills it. */
const NO_TRAP = 'process.stdout.write("ready\\n"); setInterval(() => {}, 1000);\n';

const MANIFEST = "secrets:\n  optional:\n    - name: API_KEY\n";

async function signalRun(
  child: string,
  signal: NodeJS.Signals,
  options: { env?: Record<string, string>; args?: string[] } = {},
) {
  const cwd = project({ "tessera.yaml": MANIFEST, "child.mjs": child });
  const tessera = startTesseraGroup(["run", ...(options.args ?? []), "--", NODE, "child.mjs"], {
    cwd,
    env: options.env,
  });
  const output = collect(tessera);
  const done = exited(tessera);
  // Whatever happens, nothing outlives the test (a stray child would keep our pipes open).
  const guard = setTimeout(() => killGroup(tessera), 20_000);
  try {
    await waitForStdout(tessera, output, /^ready$/m, 15_000);
    assert.ok(tessera.kill(signal), `could not send ${signal}`);
    const result = await done;
    return { ...result, ...output };
  } finally {
    clearTimeout(guard);
    killGroup(tessera);
  }
}

describe("run: signals sent to tessera reach the child", { timeout: 60_000 }, () => {
  FORWARDED.forEach((signal, index) => {
    const code = 60 + index;
    test(`${signal}: the child's handler runs and tessera exits with the child's code (${code})`, async () => {
      const result = await signalRun(TRAP, signal, { env: { [`CODE_${signal}`]: String(code) } });
      assert.equal(result.signal, null, "tessera exits, it is not killed");
      assert.equal(result.code, code, result.stderr);
      assert.equal(result.stdout, `ready\nchild got ${signal}\n`);
      assert.equal(result.stderr, "");
    });
  });

  test("forwarding also works while output is masked (a secret is set)", async () => {
    const child = `${TRAP}\nprocess.stdout.write("key " + process.env.API_KEY + "\\n");\n`;
    const result = await signalRun(child, "SIGTERM", {
      args: ["--secret", "API_KEY=fake-api-key-1234"],
      env: { CODE_SIGTERM: "17" },
    });
    assert.equal(result.code, 17);
    assert.ok(!result.stdout.includes("fake-api-key-1234"));
    assert.match(result.stdout, /key \[masked:API_KEY\]\n/);
    assert.match(result.stdout, /child got SIGTERM\n/);
  });

  test("a child's exit code of 0 after a signal is 0", async () => {
    const result = await signalRun(TRAP, "SIGINT", { env: { CODE_SIGINT: "0" } });
    assert.equal(result.code, 0);
  });

  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    test(`${signal} kills a child without a handler: tessera exits 128+${constants.signals[signal]}`, async () => {
      const result = await signalRun(NO_TRAP, signal);
      assert.equal(result.signal, null);
      assert.equal(result.code, 128 + constants.signals[signal]);
      assert.equal(result.stderr, "");
    });
  }

  test("with --pristine and masking, SIGTERM still reaches the child", async () => {
    const result = await signalRun(TRAP, "SIGTERM", {
      args: ["--pristine", "--secret", "API_KEY=fake-api-key-1234"],
    });
    assert.equal(result.code, 50, "CODE_SIGTERM is not in a pristine environment: the default code");
    assert.match(result.stdout, /child got SIGTERM/);
  });
});

describe("run: Ctrl-C on a terminal", {
  skip: hasScript() ? false : "util-linux `script` is not available",
  timeout: 30_000,
}, () => {
  test("the child receives one SIGINT for one Ctrl-C", async () => {
    const cwd = project({
      "count.mjs": `
let count = 0;
process.on("SIGINT", () => {
  count++;
  if (count === 1) setTimeout(() => { process.stdout.write("SIGINT x" + count + "\\n"); process.exit(0); }, 300);
});
process.stdout.write("ready\\n");
setInterval(() => {}, 1000);
`,
    });
    const command = [process.execPath, CLI, "run", "--", NODE, "count.mjs"].map(sh).join(" ");
    const terminal = spawn("script", ["-qec", command, "/dev/null"], {
      cwd,
      env: cleanEnv(),
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const output = collect(terminal);
    const done = exited(terminal);
    const guard = setTimeout(() => killGroup(terminal), 15_000);
    try {
      await waitForStdout(terminal, output, /ready/);
      terminal.stdin?.write("\x03"); // Ctrl-C on the pseudo-terminal
      await waitForStdout(terminal, output, /SIGINT x\d/);
      terminal.stdin?.end();
      await done;
    } finally {
      clearTimeout(guard);
      killGroup(terminal);
    }
    assert.match(output.stdout, /SIGINT x1/);
  });
});
