/**
 * tessera deploy --target docker|compose|kubernetes|external-secrets [--dry-run]: resolve, render and
 * apply in one step, through the target's `apply` (../targets/catalog.ts). Values never touch the disk:
 * docker and compose get them in their own environment (`--env NAME`, `${NAME}` in compose.yaml),
 * kubectl through a pipe (`kubectl apply -f -`). What the tools print passes through the masked relay
 * `tessera run` uses. --dry-run prints the plan (without values) and changes nothing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { TesseraError } from "../errors.js";
import { writeFileAtomic } from "../files.js";
import type { Maskable } from "../formats/mask.js";
import { childEnvironment, secretsToMask, toolEnvironment } from "../pipeline/child-env.js";
import { runMasked } from "../run/relay.js";
import { checkEnvironmentSizes } from "../run/run.js";
import { TARGET_NAMES, targetNamed } from "../targets/catalog.js";
import { missingTool, type Tools } from "../targets/types.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import { RENDER_FLAGS, renderOptions, resolveForTarget, serviceFor } from "./build.js";
import { type Context, checkLayerFlags, noArguments } from "./common.js";

// --kustomize writes a file; deploy writes none.
const { kustomize: _kustomize, ...DEPLOY_RENDER_FLAGS } = RENDER_FLAGS;

export const flags = {
  ...LAYER_FLAGS,
  ...DEPLOY_RENDER_FLAGS,
  "dry-run": { type: "boolean", help: "print what would be applied (without values) and change nothing" },
} as const satisfies FlagSpecs;

const usage = `tessera deploy --target ${TARGET_NAMES.join("|")} [--dry-run] [options]`;
const summary =
  "resolve, render and apply: docker run, docker compose up, kubectl apply (values never on disk)";

/** Our stderr as a stream: the CLI's own, or (in process) one that decodes into context.stderr. */
function stderrStream(context: Context): Writable {
  if (context.output) return context.output.stderr;
  const decoder = new StringDecoder("utf8");
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = decoder.write(chunk);
      if (text) context.stderr(text);
      callback();
    },
  });
}

/** The Tools a target's apply is handed: real programs, their output masked, stdout kept for the plan. */
export function deployTools(
  context: Context,
  secrets: readonly Maskable[],
  options: { quiet: boolean; hostEnv: Record<string, string> },
): Tools {
  // Probes get the caller's environment without Tessera's and the stores' credentials, like every tool.
  const succeeds = (argv: readonly string[]) =>
    spawnSync(argv[0]!, argv.slice(1), { stdio: "ignore", env: options.hostEnv }).status === 0;
  return {
    find(candidates, probe) {
      const found = candidates.find((argv) => succeeds([argv[0]!, ...probe(argv)]));
      return found && [...found];
    },
    succeeds,
    async run(step) {
      checkEnvironmentSizes(step.env);
      // The tools' own output is diagnostics: it goes to stderr, so stdout stays ours.
      const { code, signal } = await runMasked(step, secrets, stderrStream(context)).catch(
        (error: NodeJS.ErrnoException) => {
          const tool = step.argv[0]!;
          throw missingTool(tool, error.code === "ENOENT" ? `install ${tool}` : String(error.code));
        },
      );
      if (code === 0) return;
      throw new TesseraError(
        "E_DEPLOY_FAILED",
        `${step.argv.slice(0, 2).join(" ")} failed (${code === null ? `killed by ${signal}` : `exit ${code}`})`,
        { hint: "its own message is above" },
      );
    },
    async withFile(name, content, use) {
      const dir = mkdtempSync(join(tmpdir(), "tessera-deploy-"));
      try {
        const file = join(dir, name);
        writeFileAtomic(file, content, 0o600);
        return await use(file);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    plan: (text) => context.stdout(text),
    done: (text) => {
      if (!options.quiet) context.stderr(text);
    },
  };
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  noArguments(parsed.positionals, usage);
  const target = targetNamed(options.target);
  if (!target.apply) throw new TesseraError("E_USAGE", `${target.name} cannot be deployed: build it instead`);
  const renderWith = renderOptions(options, context);
  const resolved = await resolveForTarget(target, options, context);
  const { resolution } = resolved;
  const secrets = secretsToMask(resolution);
  // kubectl reads the values from the pipe: its environment is the caller's, without them.
  const hostEnv = toolEnvironment(context.env, resolved.storeCredentials);
  await target.apply(
    {
      resolution,
      spec: resolved.spec,
      stores: resolved.stores,
      service: serviceFor(resolved, options, target, context),
      withValues: false,
      options: renderWith,
      dryRun: options["dry-run"] === true,
      env: childEnvironment(resolution, context.env, { strip: resolved.storeCredentials }),
      hostEnv,
    },
    deployTools(context, secrets, { quiet: options.quiet === true, hostEnv }),
  );
  return 0;
}
