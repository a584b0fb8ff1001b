/**
 * tessera deploy --target docker|compose|kubernetes [--dry-run]: resolve, render and apply in one step.
 * Values never touch the disk: docker and compose get them in their own environment (`--env NAME`,
 * `${NAME}` in compose.yaml), kubectl through a pipe (`kubectl apply -f -`). What the tools print passes
 * through the same masking as `tessera run`. --dry-run prints the plan (without values) and changes nothing.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { TesseraError } from "../errors.js";
import { writeFileAtomic } from "../files.js";
import { shellWord } from "../formats/encoders.js";
import { Masker, maskPatterns } from "../formats/mask.js";
import { childEnvironment, secretsToMask } from "../pipeline/child-env.js";
import type { ResolvedVariable } from "../resolve/resolve.js";
import { checkEnvironmentSizes } from "../run/run.js";
import { splitVariables } from "../targets/types.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import { RENDER_FLAGS, type RenderFlags, render, resolveForTarget, serviceFor, targetFrom } from "./build.js";
import { type Context, checkLayerFlags, noArguments } from "./common.js";

const DEPLOY_TARGETS = ["docker", "compose", "kubernetes", "external-secrets"] as const;

// --kustomize writes a file; deploy writes none.
const { kustomize: _kustomize, ...DEPLOY_RENDER_FLAGS } = RENDER_FLAGS;

export const flags: FlagSpecs = {
  ...LAYER_FLAGS,
  ...DEPLOY_RENDER_FLAGS,
  "dry-run": { type: "boolean", help: "print what would be applied (without values) and change nothing" },
};

const usage = "tessera deploy --target docker|compose|kubernetes|external-secrets [--dry-run] [options]";
const summary =
  "resolve, render and apply: docker run, docker compose up, kubectl apply (values never on disk)";

/** The first of these commands that answers, as an argument vector. */
function findTool(
  candidates: readonly (readonly string[])[],
  probe: (argv: readonly string[]) => string[],
): string[] | undefined {
  for (const argv of candidates) {
    const result = spawnSync(argv[0]!, probe(argv), { stdio: "ignore" });
    if (result.status === 0) return [...argv];
  }
  return undefined;
}

function missingTool(what: string, install: string): TesseraError {
  return new TesseraError("E_TOOL_MISSING", `${what} is not available`, { hint: install });
}

interface Step {
  argv: string[];
  env: Record<string, string>;
  input?: string;
}

/** Run a tool with its output masked; a failure is an error naming the tool and its status. */
function runStep(step: Step, secrets: ReturnType<typeof secretsToMask>, context: Context): Promise<void> {
  checkEnvironmentSizes(step.env);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(step.argv[0]!, step.argv.slice(1), {
      env: step.env,
      stdio: [step.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const patterns = maskPatterns(secrets);
    const relay = (stream: NodeJS.ReadableStream, write: (text: string) => void) => {
      const masker = new Masker(patterns);
      // Characters split across chunks are decoded whole.
      const decoder = new StringDecoder("utf8");
      stream.on("data", (chunk: Buffer) => write(decoder.write(masker.push(chunk))));
      stream.on("end", () => write(decoder.write(masker.end()) + decoder.end()));
    };
    // The tools' own output is diagnostics: it goes to stderr, so stdout stays ours.
    if (child.stdout) relay(child.stdout, (text) => text && context.stderr(text));
    if (child.stderr) relay(child.stderr, (text) => text && context.stderr(text));
    if (step.input !== undefined && child.stdin) {
      // A tool that exits before reading everything (a bad flag, no cluster) closes the pipe: its exit
      // status tells what happened, not our EPIPE.
      child.stdin.on("error", () => {});
      child.stdin.end(step.input);
    }
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        missingTool(step.argv[0]!, error.code === "ENOENT" ? `install ${step.argv[0]}` : String(error.code)),
      ),
    );
    child.once("close", (code, signal) => {
      if (code === 0) resolvePromise();
      else
        reject(
          new TesseraError(
            "E_DEPLOY_FAILED",
            `${step.argv.slice(0, 2).join(" ")} failed (${code === null ? `killed by ${signal}` : `exit ${code}`})`,
            { hint: "its own message is above" },
          ),
        );
    });
  });
}

/** An argument vector as a shell line, for --dry-run (no values: secrets are bare NAMEs). */
function showCommand(argv: readonly string[]): string {
  return argv.map(shellWord).join(" ");
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags as RenderFlags & { "dry-run"?: boolean; help?: boolean };
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  noArguments(parsed.positionals, usage);
  const target = targetFrom(options, DEPLOY_TARGETS);
  const dryRun = options["dry-run"] === true;
  const resolved = await resolveForTarget(target, options, context);
  const service = serviceFor(resolved, options);
  const { resolution } = resolved;
  const secrets = secretsToMask(resolution);
  const env = childEnvironment(resolution, context.env, { strip: resolved.storeCredentials });

  if (target === "docker") {
    const { runArguments } = await import("../targets/docker.js");
    const { secrets: secretVariables, config } = splitVariables(resolution);
    const args = [...runArguments(service, [...config, ...secretVariables], { detach: true }), service.image];
    const engine = dryRun ? ["docker"] : findTool([["docker"], ["podman"]], () => ["--version"]);
    if (!engine)
      throw missingTool("docker (or podman)", "install docker (Debian: apt-get install docker.io) or podman");
    if (dryRun) {
      context.stdout(
        `${showCommand([engine[0]!, "rm", "--force", service.name])}   # if a container of that name exists\n`,
      );
      context.stdout(`${showCommand([engine[0]!, ...args])}\n`);
      return 0;
    }
    // Replace a container of the same name, as a repeated deploy should.
    if (spawnSync(engine[0]!, ["container", "inspect", service.name], { stdio: "ignore" }).status === 0) {
      await runStep({ argv: [engine[0]!, "rm", "--force", service.name], env }, secrets, context);
    }
    await runStep({ argv: [engine[0]!, ...args], env }, secrets, context);
    if (!options.quiet) context.stderr(`tessera: started container ${service.name} (${engine[0]})\n`);
    return 0;
  }

  if (target === "compose") {
    if (options["secrets-mode"] === "files") {
      throw new TesseraError(
        "E_USAGE",
        "deploy --target compose uses the env-file mode (values from the environment, never on disk)",
        {
          hint: "for file secrets, build with --secrets-mode files --with-values and provision the files, then run compose yourself",
        },
      );
    }
    const rendered = await render(
      target,
      { resolution, spec: resolved.spec, service, withValues: false },
      options,
      context,
    );
    const compose = rendered.artifacts.find((artifact) => artifact.path === "compose.yaml")!;
    const tool = dryRun
      ? ["docker", "compose"]
      : findTool([["docker", "compose"], ["docker-compose"], ["podman-compose"]], (candidate) => [
          ...candidate.slice(1),
          "version",
        ]);
    if (!tool)
      throw missingTool(
        "docker compose (or docker-compose, or podman-compose)",
        "install docker-compose (Debian: apt-get install docker-compose) or podman-compose",
      );
    if (tool[0] === "podman-compose") refuseCrLf(resolution.variables, "podman-compose");
    const dir = mkdtempSync(join(tmpdir(), "tessera-compose-"));
    try {
      const file = join(dir, "compose.yaml");
      const argv = [...tool, "--file", file, "--project-name", service.name, "up", "--detach"];
      if (dryRun) {
        context.stdout(compose.content);
        context.stdout(`# then, with the secrets in its environment:\n${showCommand(argv)}\n`);
        return 0;
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileAtomic(file, compose.content, 0o600);
      // An optional secret without a value is `${NAME}` in compose.yaml: empty, and said so quietly.
      const composeEnv = { ...env };
      for (const variable of resolution.variables)
        if (variable.value === undefined) composeEnv[variable.name] ??= "";
      await runStep({ argv, env: composeEnv }, secrets, context);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (!options.quiet)
      context.stderr(`tessera: started compose project ${service.name} (${tool.join(" ")})\n`);
    return 0;
  }

  // kubernetes: every object, the Secret with its values, through a pipe; external-secrets: the
  // operator's objects (no values at all).
  const rendered = await render(
    target,
    { resolution, spec: resolved.spec, service, withValues: target === "kubernetes" && !dryRun },
    options,
    context,
  );
  // One stream of objects: each file's header comment and leading `---` dropped, so that no empty
  // document sits between two objects.
  const documents = rendered.artifacts
    .filter((artifact) => artifact.path !== "kustomization.yaml")
    .map((artifact) => artifact.content.replace(/^(?:#.*\n)*(?:---\n)?/, ""))
    .join("---\n");
  if (dryRun) {
    context.stdout(documents);
    context.stdout(
      target === "kubernetes"
        ? "# then: kubectl apply -f - (the Secret with its values, through a pipe)\n"
        : "# then: kubectl apply -f - (the operator fills the Secrets from the stores)\n",
    );
    return 0;
  }
  const kubectl = findTool([["kubectl"]], () => ["version", "--client"]);
  if (!kubectl) throw missingTool("kubectl", "install kubectl (Debian: apt-get install kubernetes-client)");
  // kubectl reads the values from the pipe: its environment is the caller's, without them.
  const kubectlEnv = childEnvironment({ ...resolution, variables: [] }, context.env);
  await runStep(
    { argv: ["kubectl", "apply", "-f", "-"], env: kubectlEnv, input: documents },
    secrets,
    context,
  );
  return 0;
}

/**
 * podman-compose hands each value to podman as `-e NAME=value`, and podman (4.3) turns every CR LF in
 * such an argument into LF: refuse rather than deliver a different value.
 */
function refuseCrLf(variables: readonly ResolvedVariable[], tool: string): void {
  for (const variable of variables) {
    if (!variable.value?.reveal().includes("\r\n")) continue;
    throw new TesseraError(
      "E_VALUE_UNREPRESENTABLE",
      `the value of ${variable.name} contains CR LF, which ${tool} passes to podman as \`-e NAME=value\`, where it becomes LF`,
      {
        hint: "deploy with docker compose or docker-compose, or use --target docker (podman takes values from its environment exactly)",
      },
    );
  }
}
