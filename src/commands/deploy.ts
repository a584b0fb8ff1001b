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
import { type Diagnostic, TesseraError } from "../errors.js";
import { writeFileAtomic } from "../files.js";
import { shellWord } from "../formats/encoders.js";
import type { Maskable } from "../formats/mask.js";
import { childEnvironment, secretsToMask, toolEnvironment } from "../pipeline/child-env.js";
import { runMasked } from "../run/relay.js";
import { checkEnvironmentSizes } from "../run/run.js";
import { TARGET_NAMES, targetNamed } from "../targets/catalog.js";
import { missingTool, type Tools } from "../targets/types.js";
import { type FlagSpecs, type FlagValues, helpText, LAYER_FLAGS } from "./args.js";
import { RENDER_FLAGS, renderOptions, resolveForTarget, serviceFor, serviceJson } from "./build.js";
import {
  type Context,
  checkLayerFlags,
  noArguments,
  parsedWithJsonErrors,
  printJson,
  warningJson,
} from "./common.js";

// --kustomize writes a file; deploy writes none.
const { kustomize: _kustomize, ...DEPLOY_RENDER_FLAGS } = RENDER_FLAGS;

export const flags = {
  ...LAYER_FLAGS,
  ...DEPLOY_RENDER_FLAGS,
  "dry-run": { type: "boolean", help: "print what would be applied (without values) and change nothing" },
  json: {
    type: "boolean",
    help: "print a JSON report on stdout (the tool and what it ran, or the plan; never values)",
  },
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
  // With --json, every error (a usage error too) is the JSON report `check --json` prints for one.
  return parsedWithJsonErrors(argv, flags, context, (parsed) =>
    deploy(parsed.flags, parsed.positionals, context),
  );
}

/** What `deploy --json` records of a run: the tool chosen, the commands run, what the target said it did. */
interface Recorded {
  tool?: string;
  steps: { command: string; exit: number }[];
  plan: string[];
  done: string[];
}

/** Tools that report into `record` instead of printing (the tools' own output still goes to stderr, masked). */
function recordingTools(tools: Tools, record: Recorded): Tools {
  return {
    ...tools,
    find(candidates, probe) {
      const found = tools.find(candidates, probe);
      if (found) record.tool = found.join(" ");
      return found;
    },
    async run(step) {
      await tools.run(step);
      // The argument vector holds no value (values travel in the environment or the pipe).
      record.steps.push({ command: step.argv.map(shellWord).join(" "), exit: 0 });
    },
    plan: (text) => {
      record.plan.push(text);
    },
    done: (text) => {
      record.done.push(text);
    },
  };
}

async function deploy(
  options: FlagValues<typeof flags>,
  positionals: readonly string[],
  context: Context,
): Promise<number> {
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  const json = options.json === true;
  checkLayerFlags(options, context.env);
  noArguments(positionals, usage);
  const target = targetNamed(options.target);
  if (!target.apply) throw new TesseraError("E_USAGE", `${target.name} cannot be deployed: build it instead`);
  const renderWith = renderOptions(options, context);
  const warnings: Diagnostic[] | undefined = json ? [] : undefined;
  const resolved = await resolveForTarget(target, options, context, warnings);
  const { resolution } = resolved;
  const secrets = secretsToMask(resolution);
  // kubectl reads the values from the pipe: its environment is the caller's, without them.
  const hostEnv = toolEnvironment(context.env, resolved.storeCredentials);
  const dryRun = options["dry-run"] === true;
  const service = serviceFor(resolved, options, target, context, json);
  const tools = deployTools(context, secrets, { quiet: options.quiet === true, hostEnv });
  const record: Recorded = { steps: [], plan: [], done: [] };
  await target.apply(
    {
      resolution,
      spec: resolved.spec,
      stores: resolved.stores,
      service,
      withValues: false,
      options: renderWith,
      dryRun,
      env: childEnvironment(resolution, context.env, { strip: resolved.storeCredentials }),
      hostEnv,
    },
    json ? recordingTools(tools, record) : tools,
  );
  if (!json) return 0;
  const plan = dryRun ? await planJson(record.plan) : null;
  printJson(context, {
    ok: true,
    command: "deploy",
    target: target.name,
    dryRun,
    manifest: resolved.spec?.file ?? null,
    profile: resolved.profile ?? null,
    service: serviceJson(service),
    tool: record.tool ?? (plan ? toolOf(plan.commands[plan.commands.length - 1]?.command) : null),
    steps: record.steps,
    result: record.done.map((text) => text.replace(/^tessera: /, "").trim()).join("\n") || null,
    plan,
    written: [],
    removed: [],
    warnings: (warnings ?? []).map(warningJson),
    todo: [],
  });
  return 0;
}

/** The programs a target may run, longest first: the tool of a planned command is its first match. */
const TOOLS = ["docker compose", "docker-compose", "podman-compose", "docker", "podman", "kubectl"];

function toolOf(command: string | undefined): string | null {
  if (command === undefined) return null;
  return TOOLS.find((tool) => command === tool || command.startsWith(`${tool} `)) ?? null;
}

/**
 * The plan a target printed (--dry-run), as data without a value: the commands it would run, each with
 * the target's remark on it (`# if a container of that name exists`, `# then: …`), and the objects it
 * would apply (Kubernetes objects by kind, name and namespace; compose services by name). The objects'
 * content is left out: the ConfigMap, a compose file and a Secret template can hold config values and a
 * manifest's own defaults.
 */
async function planJson(texts: readonly string[]): Promise<{
  commands: { command: string; note: string | null }[];
  objects: { kind: string; name: string | null; namespace: string | null }[];
}> {
  const commands: { command: string; note: string | null }[] = [];
  const documents: string[] = [];
  for (const text of texts) {
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    const isCommand = (line: string) => toolOf(line) !== null;
    // A piece of the plan is either commands (with `#` remarks) or YAML (objects, a compose file).
    if (
      !lines.every((line) => line.startsWith("#") || isCommand(line)) ||
      !lines.some((line) => line.startsWith("# then") || isCommand(line))
    ) {
      documents.push(text);
      continue;
    }
    let pending: string | null = null;
    for (const line of lines) {
      const then = /^# then(?:,\s*([^:]*))?:\s*(.*)$/.exec(line);
      if (then) {
        const rest = then[2]!.trim();
        if (!rest) {
          pending = then[1]?.trim() || null;
          continue;
        }
        const remark = /^(.*?)\s*\(([^()]*)\)$/.exec(rest);
        commands.push(remark ? { command: remark[1]!, note: remark[2]! } : { command: rest, note: null });
        continue;
      }
      if (line.startsWith("#")) continue;
      const [command, ...note] = line.split(/\s+#\s+/);
      commands.push({ command: command!.trim(), note: note.join(" # ") || pending });
      pending = null;
    }
  }
  const objects: { kind: string; name: string | null; namespace: string | null }[] = [];
  if (documents.length) {
    const { parseAllDocuments } = await import("yaml");
    for (const document of parseAllDocuments(documents.join("---\n"))) {
      const body: unknown = document.toJS();
      if (typeof body !== "object" || body === null) continue;
      const fields = body as {
        kind?: unknown;
        metadata?: { name?: unknown; namespace?: unknown };
        services?: unknown;
      };
      if (typeof fields.kind === "string") {
        objects.push({
          kind: fields.kind,
          name: typeof fields.metadata?.name === "string" ? fields.metadata.name : null,
          namespace: typeof fields.metadata?.namespace === "string" ? fields.metadata.namespace : null,
        });
      } else if (typeof fields.services === "object" && fields.services !== null) {
        for (const name of Object.keys(fields.services))
          objects.push({ kind: "compose service", name, namespace: null });
      }
    }
  }
  return { commands, objects };
}
