/**
 * The compose target: a compose.yaml service, config in `environment:` (literal `$` written `$$`), and
 * secrets in one of two modes:
 *   env-file (default, for development): without values, `${NAME:?…}` guards take each secret from the
 *     deploying shell (`tessera run -- docker compose up -d`); with values, an `env_file:` points to a
 *     generated secrets.env (mode 0600, git-ignored).
 *   files (for production): each secret is a top-level `secrets:` entry with a `file:` source, mounted at
 *     /run/secrets/<name>, and the service gets NAME_FILE=/run/secrets/<name>, the convention official
 *     images use; with values, the files are written (mode 0600).
 */
import { TesseraError } from "../errors.js";
import { shellWord } from "../formats/encoders.js";
import { emitYaml, type YamlValue } from "../formats/yaml-emit.js";
import type { ResolvedVariable } from "../resolve/resolve.js";
import {
  type ApplyInput,
  type Artifact,
  COMPOSE_NAMES,
  GENERATED,
  missingTool,
  type Rendered,
  type RenderOptions,
  splitVariables,
  type Target,
  type TargetInput,
  type Tools,
} from "./types.js";

export type SecretsMode = NonNullable<RenderOptions["secretsMode"]>;

export type ComposeOptions = Pick<RenderOptions, "secretsMode">;

/** Compose interpolates `$` in compose.yaml values: a literal one is written `$$`. */
export function composeLiteral(value: string): string {
  // A function, not the string "$$": in a replacement string "$$" stands for a single "$".
  return value.replaceAll("$", () => "$$");
}

/** Whitespace as any of the parsers sees it (JavaScript's \s, plus U+0085 and U+180E for Go and Python). */
const SPACE = "[\\s\\u0085\\u180e]";
const EDGE_SPACE = new RegExp(`^${SPACE}|${SPACE}$`);
const SPACE_HASH = new RegExp(`${SPACE}#`);

/**
 * An env_file line every Compose reads back identically (measured against docker-compose 1.29 with
 * python-dotenv 0.21, compose-go and podman-compose 1.0.3, which hands the file to `podman --env-file`):
 * the value unquoted and untouched. That common ground excludes line breaks, whitespace at either end or
 * before a `#`, a leading quote, and `$` (interpolated by some, literal for others). Other values are
 * refused rather than mangled.
 */
export function composeEnvLine(name: string, value: string): string {
  const problem = /[\n\r]/.test(value)
    ? "contains a line break"
    : EDGE_SPACE.test(value)
      ? "starts or ends with whitespace"
      : SPACE_HASH.test(value)
        ? "has whitespace before a #"
        : /^['"]/.test(value)
          ? "starts with a quote"
          : value.includes("$")
            ? "contains $"
            : Buffer.byteLength(`${name}=${value}`) > 65535
              ? "is longer than 64 KiB"
              : undefined;
  if (problem) {
    throw new TesseraError(
      "E_VALUE_UNREPRESENTABLE",
      `the value of ${name} ${problem}: the Compose implementations read such a line from an env_file differently`,
      {
        hint: "use --secrets-mode files (a file carries any value), or build without --with-values and start compose through tessera run (the environment carries any value)",
      },
    );
  }
  return `${name}=${value}\n`;
}

/** The name of a secret file (and of the compose secret) for a variable. */
export function secretFileName(name: string): string {
  return name.toLowerCase();
}

export function renderCompose(input: TargetInput, options: ComposeOptions = {}): Rendered {
  const { service, withValues } = input;
  const mode = options.secretsMode ?? "env-file";
  const { secrets, config } = splitVariables(input.resolution);
  const artifacts: Artifact[] = [];
  const notes: string[] = [];
  const environment: Record<string, YamlValue> = {};
  for (const variable of config) environment[variable.name] = composeLiteral(variable.value?.reveal() ?? "");
  const body: { [key: string]: YamlValue | undefined } = { image: service.image };
  if (service.port) body.ports = [`${service.port}:${service.port}`];

  let topSecrets: Record<string, YamlValue> | undefined;
  if (mode === "env-file") {
    if (withValues) {
      body.env_file = ["secrets.env"];
      artifacts.push({
        path: "secrets.env",
        content: secrets
          .map((variable) => composeEnvLine(variable.name, variable.value?.reveal() ?? ""))
          .join(""),
        mode: 0o600,
        sensitive: true,
      });
    } else {
      for (const variable of secrets) {
        environment[variable.name] = variable.required
          ? `\${${variable.name}:?${variable.name} is a secret: start compose through tessera run or use tessera deploy}`
          : // Not `${NAME:-}`: podman-compose (1.0) leaves that literal. Unset reads as empty either way.
            `\${${variable.name}}`;
      }
      if (secrets.length)
        notes.push(
          "start compose through `tessera run{flags} -- docker compose --file {out}/compose.yaml up -d` (or `tessera deploy --target compose{flags}`): the secrets come from that environment",
        );
    }
  } else {
    topSecrets = {};
    const fileNames = new Map<string, string>();
    const declared = new Set(input.resolution.variables.map((variable) => variable.name));
    for (const variable of secrets) {
      const file = secretFileName(variable.name);
      const clash = fileNames.get(file);
      if (clash) {
        throw new TesseraError(
          "E_TARGET_INVALID",
          `${clash} and ${variable.name} would share the secret file ${file}`,
          {
            hint: "rename one of them (secret files are named in lowercase)",
          },
        );
      }
      fileNames.set(file, variable.name);
      const pointer = `${variable.name}_FILE`;
      if (declared.has(pointer)) {
        throw new TesseraError(
          "E_TARGET_INVALID",
          `${pointer} is declared, but --secrets-mode files sets it to the path of ${variable.name}'s file`,
          {
            hint: `rename ${pointer}, or use --secrets-mode env-file`,
          },
        );
      }
      environment[pointer] = `/run/secrets/${file}`;
      topSecrets[file] = { file: `./secrets/${file}` };
      if (withValues) {
        artifacts.push({
          path: `secrets/${file}`,
          content: variable.value?.reveal() ?? "",
          // Readable inside the container whatever user its process runs as (a bind mount keeps the
          // host's owner and mode, as Docker's own secrets are 0444); on the host the 0700 directory
          // keeps everyone but the owner out.
          mode: 0o444,
          sensitive: true,
        });
      }
    }
    body.secrets = Object.keys(topSecrets);
    if (secrets.length && !withValues) {
      notes.push(
        `provide the secret files ${[...fileNames.keys()].map((file) => `{out}/secrets/${file}`).join(", ")} (mode 0600), or build with --with-values`,
      );
    }
  }
  body.environment = Object.keys(environment).length ? environment : undefined;
  const document: { [key: string]: YamlValue | undefined } = { services: { [service.name]: body } };
  if (topSecrets && Object.keys(topSecrets).length) document.secrets = topSecrets;
  artifacts.unshift({
    path: "compose.yaml",
    content: emitYaml(document, GENERATED),
    mode: 0o644,
    sensitive: false,
  });
  const missing = input.resolution.missing.map((variable) => variable.name);
  if (missing.length) notes.push(`no value was found for ${missing.join(", ")}`);
  return { artifacts, notes, warnings: [] };
}

/**
 * deploy: `docker compose up --detach` (or docker-compose, or podman-compose) on a private copy of
 * compose.yaml, the values in the tool's own environment (`${NAME}`), never on disk.
 */
async function applyCompose(input: ApplyInput, tools: Tools): Promise<void> {
  if (input.options.secretsMode === "files") {
    throw new TesseraError(
      "E_USAGE",
      "deploy --target compose uses the env-file mode (values from the environment, never on disk)",
      {
        hint: "for file secrets, build with --secrets-mode files --with-values and provision the files, then run compose yourself",
      },
    );
  }
  const { service, resolution } = input;
  const rendered = renderCompose({ ...input, withValues: false }, input.options);
  const compose = rendered.artifacts.find((artifact) => artifact.path === "compose.yaml")!;
  const tool = input.dryRun
    ? ["docker", "compose"]
    : tools.find([["docker", "compose"], ["docker-compose"], ["podman-compose"]], (candidate) => [
        ...candidate.slice(1),
        "version",
      ]);
  if (!tool)
    throw missingTool(
      "docker compose (or docker-compose, or podman-compose)",
      "install docker-compose (Debian: apt-get install docker-compose) or podman-compose",
    );
  if (tool[0] === "podman-compose") refuseCrLf(resolution.variables, "podman-compose");
  const project = composeProjectName(service.name);
  const command = (file: string) => [...tool, "--file", file, "--project-name", project, "up", "--detach"];
  if (input.dryRun) {
    tools.plan(compose.content);
    tools.plan(
      `# then, with the secrets in its environment:\n${command("compose.yaml").map(shellWord).join(" ")}\n`,
    );
    return;
  }
  // An optional secret without a value is `${NAME}` in compose.yaml: empty, and said so quietly.
  const env = { ...input.env };
  for (const variable of resolution.variables) if (variable.value === undefined) env[variable.name] ??= "";
  await tools.withFile("compose.yaml", compose.content, (file) => tools.run({ argv: command(file), env }));
  tools.done(`tessera: started compose project ${service.name} (${tool.join(" ")})\n`);
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

export const target: Target = {
  name: "compose",
  names: "container",
  variableNames: COMPOSE_NAMES,
  options: ["secretsMode"],
  fetchesStores: true,
  hostProcess: true,
  valueFiles: ["secrets.env"],
  ignores: ["secrets.env", "secrets/"],
  render: renderCompose,
  apply: applyCompose,
};

export type { ResolvedVariable };

/**
 * The compose project `deploy --target compose` starts (and `diff --live compose` looks for): named after
 * the service, as compose wants project names (lowercase letters, digits, - and _; service names in the
 * file are not restricted so).
 */
export function composeProjectName(service: string): string {
  return service.toLowerCase().replace(/[^a-z0-9_-]/g, "-");
}
