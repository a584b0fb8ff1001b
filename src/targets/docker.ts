/**
 * The docker target: a `docker run` argument vector. Secrets travel as `-e NAME` with the value in the
 * docker CLI's own environment, so no value ever appears in the process list or a file: run the script
 * through `tessera run -- deploy/docker/run.sh`. Config values are written into the script (they are
 * not secret). With `withValues`, an `--env-file` in Docker's own dialect holds every value instead
 * (mode 0600); a value that dialect cannot carry is refused.
 */
import { TesseraError } from "../errors.js";
import { shellWord } from "../formats/encoders.js";
import type { ResolvedVariable } from "../resolve/resolve.js";
import {
  type ApplyInput,
  type Artifact,
  GENERATED,
  missingTool,
  type Rendered,
  type Service,
  SHELL_NAMES,
  splitVariables,
  type Target,
  type TargetInput,
  type Tools,
} from "./types.js";

/**
 * Docker's env-file dialect (docker/cli opts/envfile.go): one `NAME=value` per line, the value taken
 * verbatim (quotes included, nothing trimmed) up to the end of the line. Lines are split on LF and a
 * line's final CR is dropped; a line may be at most 64 KiB (bufio.Scanner's limit).
 */
export function dockerEnvLine(name: string, value: string): string {
  const problem = value.includes("\n")
    ? "contains a line break"
    : value.endsWith("\r")
      ? "ends with a carriage return"
      : Buffer.byteLength(`${name}=${value}`) >= 64 * 1024
        ? "is longer than 64 KiB"
        : undefined;
  if (problem) {
    throw new TesseraError(
      "E_VALUE_UNREPRESENTABLE",
      `the value of ${name} ${problem}, which a docker --env-file cannot carry`,
      {
        hint: "build without --with-values (the script passes values through the environment, which carries any value), or use --target compose --secrets-mode files",
      },
    );
  }
  return `${name}=${value}\n`;
}

/**
 * `docker run` arguments without any value: every variable as a bare `--env NAME`, which docker (and
 * podman) take from their own environment. Nothing shows in the process list, and no value is parsed
 * from an argument (podman turns CR LF into LF in `--env NAME=value`).
 */
export function runArguments(
  service: Service,
  variables: readonly ResolvedVariable[],
  options: { detach?: boolean; envFile?: string } = {},
): string[] {
  const args = ["run", ...(options.detach ? ["--detach"] : ["--rm"]), "--name", service.name];
  if (service.port) args.push("--publish", `${service.port}:${service.port}`);
  if (options.envFile) args.push("--env-file", options.envFile);
  else for (const variable of variables) args.push("--env", variable.name);
  return args;
}

export function renderDocker(input: TargetInput): Rendered {
  const { service, withValues } = input;
  const { secrets, config } = splitVariables(input.resolution);
  const artifacts: Artifact[] = [];
  const notes: string[] = [];
  const lines = [
    "#!/bin/sh",
    `# ${GENERATED}`,
    withValues
      ? "# Runs the service with every value from docker.env (mode 0600, next to this script; never commit it)."
      : "# Config is set below; secret values are not in this file: run it through `tessera run -- ./run.sh` (extra",
    ...(withValues
      ? []
      : [
          "# docker options after it), and each `--env NAME` takes its value from the environment docker is given.",
        ]),
    "set -eu",
  ];
  if (withValues) {
    const env = [...config, ...secrets]
      .map((variable) => dockerEnvLine(variable.name, variable.value?.reveal() ?? ""))
      .join("");
    artifacts.push({ path: "docker.env", content: env, mode: 0o600, sensitive: true });
    lines.push('here=$(dirname "$0")');
    const args = runArguments(service, [], { envFile: "$here/docker.env" });
    lines.push(
      `exec "\${DOCKER:-docker}" ${args.map((arg) => (arg === "$here/docker.env" ? '"$here/docker.env"' : shellWord(arg))).join(" ")} "$@" ${shellWord(service.image)}`,
    );
  } else {
    // Config is in the script (exported, so docker reads it from its environment like the secrets).
    for (const variable of config) {
      lines.push(`export ${variable.name}=${shellWord(variable.value?.reveal() ?? "")}`);
    }
    // Required secrets must be in the environment: fail loudly rather than start without them.
    for (const variable of secrets.filter((entry) => entry.required)) {
      lines.push(`: "\${${variable.name}?${variable.name} is not set: run this script through tessera run}"`);
    }
    const args = runArguments(service, [...config, ...secrets]);
    lines.push(`exec "\${DOCKER:-docker}" ${args.map(shellWord).join(" ")} "$@" ${shellWord(service.image)}`);
    if (secrets.length)
      notes.push(
        "run the script through `tessera run{flags} -- {out}/run.sh`: the secrets come from the environment tessera gives docker",
      );
  }
  artifacts.unshift({ path: "run.sh", content: `${lines.join("\n")}\n`, mode: 0o755, sensitive: false });
  const missing = input.resolution.missing.map((variable) => variable.name);
  if (missing.length) notes.push(`no value was found for ${missing.join(", ")}`);
  return { artifacts, notes, warnings: [] };
}

/** deploy: `docker run --detach` (or podman), every value from the engine's own environment. */
async function applyDocker(input: ApplyInput, tools: Tools): Promise<void> {
  const { service } = input;
  const { secrets, config } = splitVariables(input.resolution);
  const args = [...runArguments(service, [...config, ...secrets], { detach: true }), service.image];
  const engine = input.dryRun ? ["docker"] : tools.find([["docker"], ["podman"]], () => ["--version"]);
  if (!engine)
    throw missingTool("docker (or podman)", "install docker (Debian: apt-get install docker.io) or podman");
  const tool = engine[0]!;
  if (input.dryRun) {
    tools.plan(
      `${[tool, "rm", "--force", service.name].map(shellWord).join(" ")}   # if a container of that name exists\n`,
    );
    tools.plan(`${[tool, ...args].map(shellWord).join(" ")}\n`);
    return;
  }
  // Replace a container of the same name, as a repeated deploy should.
  if (tools.succeeds([tool, "container", "inspect", service.name]))
    await tools.run({ argv: [tool, "rm", "--force", service.name], env: input.env });
  await tools.run({ argv: [tool, ...args], env: input.env });
  tools.done(`tessera: started container ${service.name} (${tool})\n`);
}

export const target: Target = {
  name: "docker",
  names: "container",
  variableNames: SHELL_NAMES,
  options: [],
  fetchesStores: true,
  hostProcess: true,
  valueFiles: ["docker.env"],
  ignores: ["docker.env"],
  render: renderDocker,
  apply: applyDocker,
};
