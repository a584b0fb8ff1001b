/**
 * tessera diff: compare without revealing. Two profiles (`--env A --env B`), the manifest with what a
 * target holds live (`--live kubernetes|docker|compose`: kubectl get secret/configmap, docker inspect),
 * or two files (value files, or directories of rendered Kubernetes objects). Per variable: the same
 * value, a different one (by keyed fingerprint, ../pipeline/diff.ts), only on one side, a different
 * sensitivity or requiredness. Never a value, not even config. Exit 6 when they differ, 0 when not (as
 * `git diff --exit-code`): a result, not an error.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, delimiter, join, resolve } from "node:path";
import { fingerprintKey } from "../crypto/fingerprint.js";
import { TesseraError } from "../errors.js";
import { displayPath } from "../files.js";
import { parseDotenv } from "../formats/dotenv.js";
import { parseYamlValues } from "../formats/yaml-values.js";
import { toolEnvironment } from "../pipeline/child-env.js";
import {
  addObjectEntries,
  addYamlObjects,
  compareSides,
  containerEnv,
  type DiffEntry,
  type DiffResult,
  type DiffSide,
  diffJson,
  formatDiff,
  holdsKubeObjects,
  type KubeObject,
  sideFromDotenv,
  sideFromJson,
  sideFromResolution,
  sideFromValueFile,
  valueEntry,
} from "../pipeline/diff.js";
import type { Resolved } from "../pipeline/pipeline.js";
import { canonicalTarget, targetNamed } from "../targets/catalog.js";
import { composeProjectName } from "../targets/compose.js";
import { objectNames } from "../targets/kubernetes.js";
import { missingTool, type Service, serviceFrom, splitVariables, type Target } from "../targets/types.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import { type Context, checkLayerFlags, type LayerFlags, openFromFlags, printWarnings } from "./common.js";

/** diff reads two profiles: its own --env takes two (the other layer flags apply to both sides). */
const { env: _env, ...SHARED_LAYER_FLAGS } = LAYER_FLAGS;

export const flags = {
  ...SHARED_LAYER_FLAGS,
  env: {
    type: "string",
    multiple: true,
    value: "PROFILE",
    help: "a profile to compare (twice: --env staging --env production; once with --live)",
  },
  live: {
    type: "string",
    value: "TARGET",
    help: "compare with what the target holds: kubernetes or k8s (Secret, ConfigMap), docker, compose (containers)",
  },
  name: { type: "string", value: "NAME", help: "--live: the service name (default: from the manifest)" },
  namespace: { type: "string", value: "NS", help: "--live kubernetes: the namespace of the objects" },
  "allow-missing-secrets": {
    type: "boolean",
    help: "accepted; diff always reports a missing variable as a state, never fails on it",
  },
  json: { type: "boolean", help: "print JSON on stdout" },
  same: {
    type: "boolean",
    help: "also list the variables that are the same (the default; --no-same hides them)",
  },
} as const satisfies FlagSpecs;

const usage =
  "tessera diff --env A --env B | --live kubernetes|docker|compose [--env P] | FILE FILE  [--json] [options]";
const summary =
  "compare profiles, live targets or two files by fingerprint, never by value (exit 6: they differ)";
const extra = `Lines: = same  ~ differs  < only in the first  > only in the second. Fingerprints are keyed
(TESSERA_FINGERPRINT_KEY, or a per-user key) and reveal nothing. Exit 0 same, 6 different.`;

/** The exit status when the sides differ (as `git diff --exit-code`): a result, not an error code. */
export const DIFFERS = 6;

type DiffFlags = Omit<LayerFlags, "env"> & {
  env?: string[];
  live?: string;
  name?: string;
  namespace?: string;
  json?: boolean;
  same?: boolean;
  help?: boolean;
};

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options: DiffFlags = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags, extra));
    return 0;
  }
  const profiles = options.env ?? [];
  for (const profile of profiles) checkLayerFlags({ ...options, env: profile }, context.env);
  if (!profiles.length) checkLayerFlags({ ...options, env: undefined }, context.env);
  const key = fingerprintKey(context.env);
  let results: DiffResult[];
  if (parsed.positionals.length) {
    if (parsed.positionals.length !== 2 || options.live || profiles.length)
      throw new TesseraError("E_USAGE", "tessera diff FILE FILE takes two files (or two directories)", {
        hint: usage,
      });
    const [a, b] = parsed.positionals as [string, string];
    results = [compareSides(fileSide(a, context, key), fileSide(b, context, key))];
  } else if (options.live) {
    if (profiles.length > 1)
      throw new TesseraError("E_USAGE", "--live compares one profile with the target", { hint: usage });
    results = await liveDiff(options, profiles[0], context, key);
  } else {
    if (profiles.length !== 2)
      throw new TesseraError("E_USAGE", "tessera diff compares two profiles: give --env twice", {
        hint: usage,
      });
    const [a, b] = profiles as [string, string];
    const left = await profileSide(a, options, context, key);
    const right = await profileSide(b, options, context, key);
    results = [compareSides(left, right)];
  }
  if (options.json) {
    const body = results.length === 1 ? diffJson(results[0]!) : { comparisons: results.map(diffJson) };
    context.stdout(`${JSON.stringify({ differ: results.some((r) => r.differ), ...body }, null, 2)}\n`);
  } else {
    context.stdout(results.map((result) => formatDiff(result, { all: options.same !== false })).join("\n"));
  }
  return results.some((result) => result.differ) ? DIFFERS : 0;
}

/** A profile through its own pipeline; missing variables are a state to report (as --allow-missing-secrets). */
async function profileSide(
  profile: string,
  options: DiffFlags,
  context: Context,
  key: Buffer,
): Promise<DiffSide> {
  const pipeline = await openFromFlags({ ...options, env: profile }, context, { deferErrors: true });
  const { resolution } = await pipeline.resolve();
  printWarnings(resolution.warnings, context, options.quiet);
  return sideFromResolution(profile, resolution, key);
}

// ---------------------------------------------------------------------------------------------- files

function fileSide(path: string, context: Context, key: Buffer): DiffSide {
  const full = resolve(context.cwd, path);
  const shown = displayPath(context.cwd, full);
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(full);
  } catch {
    throw new TesseraError("E_FILE_NOT_FOUND", `${shown} does not exist`, { hint: usage });
  }
  if (stat.isDirectory()) return artifactSide(full, shown, key);
  const text = readText(full, shown);
  const lower = basename(full).toLowerCase();
  if (lower.endsWith(".json")) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new TesseraError("E_VALUES_INVALID", `${shown} is not valid JSON`, {
        location: { file: shown },
        hint: "a JSON value file is one object of NAME: value",
      });
    }
    const side = sideFromJson(shown, data, key, shown);
    if (!side)
      throw new TesseraError("E_VALUES_INVALID", `${shown} is not an object of NAME: value`, {
        location: { file: shown },
        hint: "a JSON value file is one object of NAME: string|number|boolean|null",
      });
    return side;
  }
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) {
    if (holdsKubeObjects(text)) {
      const entries = new Map<string, DiffEntry>();
      addYamlObjects(entries, text, key, shown);
      return { label: shown, entries };
    }
    return sideFromValueFile(shown, parseYamlValues(text, shown), key, shown);
  }
  return sideFromDotenv(shown, parseDotenv(text, shown), key, shown);
}

function readText(full: string, shown: string): string {
  try {
    return readFileSync(full, "utf8");
  } catch {
    throw new TesseraError("E_FILE_INVALID", `${shown} cannot be read`, { location: { file: shown } });
  }
}

/** A directory of rendered objects: every Secret and ConfigMap in its *.yaml / *.yml files. */
function artifactSide(dir: string, shown: string, key: Buffer): DiffSide {
  const entries = new Map<string, DiffEntry>();
  const files = readdirSync(dir)
    .filter((name) => /\.ya?ml$/i.test(name))
    .sort();
  let found = false;
  for (const name of files) {
    const full = join(dir, name);
    if (!statSync(full).isFile()) continue;
    const where = `${shown.replace(/\/$/, "")}/${name}`;
    found = addYamlObjects(entries, readText(full, where), key, where) || found;
  }
  const notes = found ? [] : ["no Secret or ConfigMap in its YAML files"];
  return { label: shown, entries, notes };
}

// ----------------------------------------------------------------------------------------------- live

interface Tool {
  /** The container engine: docker, else podman when only podman is installed (as deploy chooses). */
  engine: string;
  run(argv: readonly string[]): { status: number; stdout: string; stderr: string };
}

/** Whether an executable `name` is on PATH. */
function onPath(name: string, path: string | undefined): boolean {
  return (path ?? "").split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return statSync(join(dir, name)).isFile();
    } catch {
      return false;
    }
  });
}

function tool(context: Context, resolved: Resolved, install: Record<string, string>): Tool {
  // The caller's environment without Tessera's and the stores' credentials, and no resolved value (as deploy).
  const env = toolEnvironment(context.env, resolved.storeCredentials);
  const engine =
    !onPath("docker", context.env.PATH) && onPath("podman", context.env.PATH) ? "podman" : "docker";
  return {
    engine,
    run(argv) {
      const result = spawnSync(argv[0]!, argv.slice(1), {
        env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 256 * 1024 * 1024,
      });
      if (result.error) {
        const code = (result.error as NodeJS.ErrnoException).code;
        const name = argv[0]!;
        if (code === "ENOENT") throw missingTool(name, install[name] ?? `install ${name}`);
        throw new TesseraError("E_DEPLOY_FAILED", `${name} could not be started (${code ?? "error"})`);
      }
      return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
    },
  };
}

/** What a tool said when it failed: its exit status (its output is not relayed: it may hold values). */
function toolFailed(argv: readonly string[], status: number): TesseraError {
  return new TesseraError("E_DEPLOY_FAILED", `${argv.slice(0, 3).join(" ")} failed (exit ${status})`, {
    hint: `run \`${argv.filter((word) => word !== "-o" && word !== "json").join(" ")}\` yourself to see why`,
  });
}

function parseToolJson(text: string, argv: readonly string[]): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new TesseraError("E_DEPLOY_FAILED", `${argv.slice(0, 3).join(" ")} did not print JSON`);
  }
}

const INSTALL = {
  kubectl: "install kubectl (Debian: apt-get install kubernetes-client)",
  docker: "install docker (Debian: apt-get install docker.io) or podman",
};

async function liveDiff(
  options: DiffFlags,
  profile: string | undefined,
  context: Context,
  key: Buffer,
): Promise<DiffResult[]> {
  const target = liveTarget(options.live!);
  const pipeline = await openFromFlags({ ...options, env: profile }, context, {
    external: target.fetchesStores,
    deferErrors: true,
  });
  const resolved = await pipeline.resolveFor(target);
  printWarnings(resolved.resolution.warnings, context, options.quiet);
  const service = liveService(resolved, options, target);
  // What the target would carry: set variables, and required ones (as empty slots).
  const { secrets, config } = splitVariables(resolved.resolution);
  const carried = new Set([...secrets, ...config].map((variable) => variable.name));
  const label = resolved.profile ? `manifest (--env ${resolved.profile})` : "manifest";
  const manifest = sideFromResolution(label, resolved.resolution, key, (name) => carried.has(name));
  const tools = tool(context, resolved, INSTALL);
  if (target.name === "kubernetes")
    return [compareSides(manifest, kubernetesSide(service, options, tools, key))];
  const containers =
    target.name === "docker" ? dockerContainers(service, tools) : composeContainers(service, tools);
  if (!containers.length) {
    const what =
      target.name === "docker"
        ? `no container named ${service.name}`
        : `no container of the compose service ${service.name}`;
    return [compareSides(manifest, { label: target.name, entries: new Map(), notes: [what] })];
  }
  return containers.map((container) => {
    const entries = new Map<string, DiffEntry>();
    let other = 0;
    for (const [name, value] of container.env) {
      // A container's environment also holds the image's (PATH, HOSTNAME, …): only declared names count.
      if (!manifest.entries.has(name)) {
        other++;
        continue;
      }
      entries.set(name, valueEntry(key, name, value, { where: `container ${container.name}` }));
    }
    const notes = other
      ? [`${other} other variable${other === 1 ? "" : "s"} (from the image or the engine) not compared`]
      : [];
    return compareSides(manifest, { label: `container ${container.name}`, entries, notes });
  });
}

function liveTarget(given: string): Target {
  const name = canonicalTarget(given);
  if (name !== "kubernetes" && name !== "docker" && name !== "compose")
    throw new TesseraError(
      "E_USAGE",
      `--live takes kubernetes (k8s), docker or compose, not ${JSON.stringify(given)}`,
    );
  return targetNamed(name);
}

/** The service as build names it (the image is not needed to find the objects). */
function liveService(resolved: Resolved, options: DiffFlags, target: Target): Service {
  return serviceFrom(
    resolved.spec,
    { name: options.name, image: "-", namespace: options.namespace },
    target.names,
    resolved,
  );
}

function kubernetesSide(service: Service, options: DiffFlags, tools: Tool, key: Buffer): DiffSide {
  const names = objectNames(service);
  const entries = new Map<string, DiffEntry>();
  const notes: string[] = [];
  const namespace = options.namespace ? ["--namespace", options.namespace] : [];
  for (const [kind, name] of [
    ["secret", names.secret],
    ["configmap", names.config],
  ] as const) {
    const argv = ["kubectl", "get", kind, name, "-o", "json", ...namespace];
    const result = tools.run(argv);
    if (result.status !== 0) {
      if (/NotFound|not found/i.test(result.stderr)) {
        notes.push(`the ${kind === "secret" ? "Secret" : "ConfigMap"} ${name} does not exist`);
        continue;
      }
      throw toolFailed(argv, result.status);
    }
    addObjectEntries(entries, parseToolJson(result.stdout, argv) as KubeObject, key, "cluster");
  }
  return { label: `cluster${options.namespace ? ` (namespace ${options.namespace})` : ""}`, entries, notes };
}

function inspect(ids: readonly string[], tools: Tool): ReturnType<typeof containerEnv> {
  const argv = [tools.engine, "inspect", ...ids];
  const result = tools.run(argv);
  if (result.status !== 0) {
    if (/no such (object|container)/i.test(result.stderr)) return [];
    throw toolFailed(argv, result.status);
  }
  return containerEnv(parseToolJson(result.stdout, argv));
}

function dockerContainers(service: Service, tools: Tool) {
  // The container `deploy --target docker` starts is named after the service.
  return inspect([service.name], tools);
}

function composeContainers(service: Service, tools: Tool) {
  const project = composeProjectName(service.name);
  const argv = [
    tools.engine,
    "ps",
    "--quiet",
    "--filter",
    `label=com.docker.compose.project=${project}`,
    "--filter",
    `label=com.docker.compose.service=${service.name}`,
  ];
  const result = tools.run(argv);
  if (result.status !== 0) throw toolFailed(argv, result.status);
  const ids = result.stdout.split(/\s+/).filter(Boolean);
  return ids.length ? inspect(ids, tools) : [];
}
