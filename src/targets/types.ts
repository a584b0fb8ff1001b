/**
 * What every target shares: the Target interface the catalog lists (./catalog.ts), the service being
 * deployed, the artifacts a target renders, and the split of resolved variables by sensitivity.
 * Rendering is pure: a Resolution in, artifacts (data) out. Applying runs programs only through the
 * Tools it is handed (spawning, masking and temporary files belong to the command that applies).
 */

import { type Diagnostic, type Location, TesseraError } from "../errors.js";
import { isKubernetesEnvName, isShellName } from "../model/names.js";
import type { Spec, StoreSource } from "../model/spec.js";
import { effectiveDeclarations } from "../model/spec.js";
import {
  type Lookup,
  parseTemplate,
  referencedNames,
  render,
  type Template,
  TemplateReferenceError,
  TemplateSyntaxError,
} from "../model/template.js";
import { type Resolution, type ResolvedVariable, shownMessage } from "../resolve/resolve.js";

export interface Service {
  /** A DNS-1123 label: the container, Deployment and compose service name. */
  name: string;
  image: string;
  port?: number | undefined;
  namespace?: string | undefined;
}

export interface Artifact {
  /** Relative to the output directory. */
  path: string;
  content: string;
  /** 0o600 for files that hold values, 0o644 otherwise (0o755 for scripts). */
  mode: number;
  /** Holds values: never to be committed. */
  sensitive: boolean;
}

export interface Rendered {
  artifacts: Artifact[];
  /**
   * What the user must still provide or do, in plain words. `{out}` stands for the output directory and
   * `{flags}` for the options that chose these values (--env, --manifest, …), so a command works as printed.
   */
  notes: string[];
  warnings: Diagnostic[];
}

export interface TargetInput {
  resolution: Resolution;
  spec?: Spec | undefined;
  /** The external stores in effect, fields interpolated (default: the manifest's, as written). */
  stores?: readonly StoreSource[] | undefined;
  service: Service;
  /** Write values into the artifacts (0600 files) instead of templates. */
  withValues: boolean;
}

/** The render flags, as data: each target says which it reads. */
export interface RenderOptions {
  /** compose: env-file (default) or files (/run/secrets/<name> and NAME_FILE). */
  secretsMode?: "env-file" | "files" | undefined;
  /** kubernetes, external-secrets: envFrom (default) or refs (one secretKeyRef/configMapKeyRef per key). */
  envStyle?: "envFrom" | "refs" | undefined;
  /** kubernetes, external-secrets: also write a kustomization.yaml listing the objects. */
  kustomize?: boolean | undefined;
  /** external-secrets: a ClusterSecretStore instead of namespaced SecretStores. */
  clusterStore?: boolean | undefined;
  /** external-secrets: ESO's refresh interval (default 1h). */
  refreshInterval?: string | undefined;
  /** kubernetes: the key of the checksum of secret values (a per-user key: the checksum reveals nothing). */
  checksumKey?: Buffer | undefined;
}

/** The render options a user sets with a flag. */
export type RenderOption = Exclude<keyof RenderOptions, "checksumKey">;

/** A program run by `apply`: its argument vector, its whole environment, what it reads on stdin. */
export interface Step {
  argv: string[];
  env: Record<string, string>;
  input?: string | undefined;
}

/** What `apply` may do to the world, handed in by the command (a fake in tests). */
export interface Tools {
  /** The first candidate command line that answers `probe` with exit 0. */
  find(
    candidates: readonly (readonly string[])[],
    probe: (argv: readonly string[]) => string[],
  ): string[] | undefined;
  /** Whether a command exits 0 (its output ignored). */
  succeeds(argv: readonly string[]): boolean;
  /** Run a program, its output masked and relayed to stderr; rejects with E_DEPLOY_FAILED on failure. */
  run(step: Step): Promise<void>;
  /** A private temporary file (0600 in a 0700 directory) for the length of `use`, removed after. */
  withFile<T>(name: string, content: string, use: (path: string) => Promise<T>): Promise<T>;
  /** The plan (--dry-run): stdout. */
  plan(text: string): void;
  /** What was done: stderr, unless --quiet. */
  done(text: string): void;
}

export interface ApplyInput extends TargetInput {
  options: RenderOptions;
  /** Print the plan (never a value) and change nothing. */
  dryRun: boolean;
  /** The caller's environment less Tessera's and the stores' credentials, plus every resolved value. */
  env: Record<string, string>;
  /** The same without the resolved values (for a tool that reads them from a pipe). */
  hostEnv: Record<string, string>;
}

/** A deployment target: one file each, one line in ./catalog.ts. */
export interface Target {
  name: string;
  /** The render flags it reads. */
  options: readonly RenderOption[];
  /** What its consumer accepts as the service's name. */
  names: NameRule;
  /**
   * Which variable names its artifacts can carry (a name from a .env may hold . - [ ]), and what carries
   * them; a name it cannot carry is refused (E_VALUE_UNREPRESENTABLE), never mangled.
   */
  variableNames: { test(name: string): boolean; rule: string };
  /** false: the consumer reads the external stores itself, so none is fetched here. */
  fetchesStores: boolean;
  /**
   * The values reach a program on this host (docker and compose read them from their own environment;
   * run.sh runs here): a manifest from another repository may then not declare names that steer it.
   */
  hostProcess: boolean;
  /** Why --with-values does not apply, where it does not. */
  noValues?: string | undefined;
  /** Files with values a --with-values build writes: removed when a build no longer writes them. */
  valueFiles: readonly string[];
  /** The output directory's .gitignore lines (files with values). */
  ignores: readonly string[];
  /** Check the resolution and keep what must resolve here (default: all of it). */
  prepare?(input: { resolution: Resolution; spec?: Spec }): Resolution;
  render(input: TargetInput, options: RenderOptions): Rendered;
  /** deploy: apply the artifacts (values never on disk). Absent: the target cannot be deployed. */
  apply?(input: ApplyInput, tools: Tools): Promise<void>;
}

export function missingTool(what: string, install: string): TesseraError {
  return new TesseraError("E_TOOL_MISSING", `${what} is not available`, { hint: install });
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 label (Kubernetes object names, container names), or a clear error. */
export function checkLabel(name: string, what: string, hint: string): string {
  if (name.length > 63 || !LABEL.test(name)) {
    throw new TesseraError("E_TARGET_INVALID", `${what} ${JSON.stringify(name)} is not a DNS-1123 label`, {
      hint: `use at most 63 lowercase letters, digits and -, starting and ending with a letter or digit; ${hint}`,
    });
  }
  return name;
}

/** What a target's consumer accepts as a name: a DNS-1123 label (Kubernetes) or a container name. */
export type NameRule = "dns-1123" | "container";

/** Docker's and podman's container names (and compose service names): [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The DNS-1123 label for a name Kubernetes would refuse: gitAgent → git-agent, my_agent.v2 → my-agent-v2. */
export function kubernetesName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/**
 * What the service facts written with `${…}` are expanded from: the resolution (Resolved from the
 * pipeline has both), the name → value lookup of its merged scope, and which names are secrets.
 */
export interface ServiceValues {
  resolution: Resolution;
  /** The value of any name in the merged scope, as templates see it (Resolved.scopeValue). */
  scopeValue(name: string): Lookup;
}

type TemplateField = keyof NonNullable<Spec["serviceTemplates"]>;

/** Where each manifest kind writes a service fact, for messages. */
const FIELD_PATHS: Record<Spec["kind"], Record<TemplateField, string>> = {
  dockfile: { name: "agent.name", image: "image", port: "expose.port" },
  ploinky: { name: "name", image: "container", port: "port" },
  tessera: { name: "service.name", image: "service.image", port: "service.port" },
};

const FIELD_FLAGS: Record<TemplateField, string> = {
  name: "pass --name NAME",
  image: "pass --image IMAGE",
  port: "write the port as a number",
};

/**
 * The place of a templated field in the manifest: the implicit reference the reader recorded for it
 * (one naming `variable`, when given), else the manifest itself.
 */
function fieldLocation(spec: Spec, path: string, variable?: string): Location {
  const suffix = ` in ${path}`;
  const found =
    spec.implicitReferences.find(
      (reference) =>
        reference.context.endsWith(suffix) && (variable === undefined || reference.name === variable),
    ) ?? spec.implicitReferences.find((reference) => reference.context.endsWith(suffix));
  return found?.location ?? { file: spec.file };
}

/**
 * Expand a service fact the manifest writes with `${…}` (serviceTemplates), with the template syntax
 * and the scope every other value is interpolated with. Undefined when the manifest has no such template.
 */
function expandField(
  spec: Spec | undefined,
  field: TemplateField,
  values: ServiceValues | undefined,
): { text: string; path: string; location: Location } | undefined {
  const source = spec?.serviceTemplates?.[field];
  if (!spec || source === undefined) return undefined;
  const path = FIELD_PATHS[spec.kind][field];
  const shown = `${path} (${JSON.stringify(source)})`;
  let template: Template;
  try {
    template = parseTemplate(source);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    throw new TesseraError("E_TEMPLATE_SYNTAX", `${shown}: ${error.message}`, {
      location: fieldLocation(spec, path),
      hint: `write \${NAME} or \${NAME:-default}, or ${FIELD_FLAGS[field]}`,
    });
  }
  if (!values) {
    throw new TesseraError("E_USAGE", `${shown} is expanded from the resolved values, which are not given`, {
      location: fieldLocation(spec, path),
      hint: FIELD_FLAGS[field],
    });
  }
  // A service's name, image and port are written in plain text into every artifact: never from a secret.
  const secrets = new Set(
    values.resolution.variables
      .filter((variable) => variable.kind === "secret")
      .flatMap((variable) => [variable.name, variable.lookup]),
  );
  for (const name of referencedNames(template)) {
    if (secrets.has(name)) {
      throw new TesseraError(
        "E_TARGET_INVALID",
        `${shown} reads ${name}, a secret: the service's ${field} is written into the artifacts in plain text`,
        {
          location: fieldLocation(spec, path, name),
          hint: `declare ${name} as config (${spec.kind === "dockfile" ? "under config:, or secret: false" : "not a secret"}), or ${FIELD_FLAGS[field]}`,
        },
      );
    }
  }
  try {
    const text = render(template, (name) => {
      const found = values.scopeValue(name);
      return found.set ? found.value : undefined;
    });
    return { text, path, location: fieldLocation(spec, path) };
  } catch (error) {
    if (!(error instanceof TemplateReferenceError)) throw error;
    const name = error.reference.name;
    const location = fieldLocation(spec, path, name);
    if (error.kind === "required") {
      throw new TesseraError(
        "E_REF_REQUIRED",
        `${name} is required by ${shown}${shownMessage(error.reference, "manifest")}`,
        { location, hint: `set ${name}, or ${FIELD_FLAGS[field]}` },
      );
    }
    throw new TesseraError("E_REF_UNSET", `${shown} refers to ${name}, which is not set`, {
      location,
      hint: `set ${name} (in .env, env.yaml, the environment or with --secret ${name}=…), write \${${name}:-default}, or ${FIELD_FLAGS[field]}`,
    });
  }
}

/**
 * The service from the manifest, with flags as the fallback: the name from tessera.yaml `service.name`,
 * a Dockfile's `agent.name` or a Ploinky agent's directory, else --name; the image from `service.image`,
 * a Ploinky `container`, Dockrion's own naming (dockrion/NAME:dev), else --image; the port likewise.
 * A fact the manifest writes with `${…}` (`agent.name: ${AGENT_NAME}`, `expose.port: ${PORT:-8080}`, a
 * Ploinky `container: ${IMG}`) is expanded from `values` (the resolution), unless a flag replaces it; an
 * unset reference without a default is E_REF_UNSET naming the variable and the manifest line.
 *
 * Docker and compose take the name as it is (camelCase Ploinky agents included). Kubernetes needs a
 * DNS-1123 label: a name from the manifest is turned into one (gitAgent → git-agent) and `renamed` says
 * so; a --name the user typed must already be one.
 */
export function serviceFrom(
  spec: Spec | undefined,
  flags: { name?: string; image?: string; namespace?: string },
  rule: NameRule = "dns-1123",
  values?: ServiceValues,
): Service & { renamed?: { from: string; to: string } } {
  let given = flags.name ?? spec?.service.name;
  if (given === undefined) {
    const expanded = expandField(spec, "name", values);
    if (expanded && !expanded.text.trim()) {
      throw new TesseraError("E_TARGET_INVALID", `${expanded.path} expands to an empty name`, {
        location: expanded.location,
        hint: "give the variables it reads a value, or pass --name NAME",
      });
    }
    given = expanded?.text;
  }
  if (!given) {
    throw new TesseraError("E_USAGE", "no service name", {
      hint: "pass --name NAME (a tessera.yaml can declare service: {name, image, port})",
    });
  }
  let name = given;
  let renamed: { from: string; to: string } | undefined;
  if (rule === "container") {
    if (given.length > 253 || !CONTAINER_NAME.test(given)) {
      throw new TesseraError(
        "E_TARGET_INVALID",
        `the service name ${JSON.stringify(given)} is not a container name`,
        {
          hint: "use letters, digits, _, . and -, starting with a letter or digit; pass --name NAME",
        },
      );
    }
  } else if (flags.name === undefined && (given.length > 63 || !LABEL.test(given))) {
    name = kubernetesName(given);
    if (!name) checkLabel(given, "the service name", "pass --name NAME");
    renamed = { from: given, to: name };
  } else {
    checkLabel(name, "the service name", "pass --name NAME");
  }
  const image =
    flags.image ??
    spec?.service.image ??
    nonEmpty(expandField(spec, "image", values), "an image") ??
    (spec?.kind === "dockfile" ? `dockrion/${given.toLowerCase()}:dev` : undefined);
  if (!image) {
    throw new TesseraError("E_USAGE", "no image", {
      hint: "pass --image IMAGE (a tessera.yaml can declare service: {image})",
    });
  }
  if (flags.namespace !== undefined) checkLabel(flags.namespace, "the namespace", "pass a valid --namespace");
  return {
    name,
    image,
    port: spec?.service.port ?? portOf(expandField(spec, "port", values)) ?? typedPort(spec, values),
    namespace: flags.namespace,
    ...(renamed ? { renamed } : {}),
  };
}

function nonEmpty(
  expanded: { text: string; path: string; location: Location } | undefined,
  what: string,
): string | undefined {
  if (expanded && !expanded.text.trim()) {
    throw new TesseraError("E_TARGET_INVALID", `${expanded.path} expands to ${what} that is empty`, {
      location: expanded.location,
      hint: "give the variables it reads a value, or pass --image IMAGE",
    });
  }
  return expanded?.text;
}

/**
 * Types survive into targets: with no port in the manifest, the one config variable declared
 * `type: port` (checked 1–65535 before any target runs) is the container's port. Two such variables
 * are ambiguous, and none is taken.
 */
function typedPort(spec: Spec | undefined, values: ServiceValues | undefined): number | undefined {
  if (!spec || !values) return undefined;
  const ports = effectiveDeclarations(spec, values.resolution.profile).filter(
    (declaration) => declaration.kind === "config" && declaration.shape?.type === "port",
  );
  if (ports.length !== 1) return undefined;
  const variable = values.resolution.variables.find((entry) => entry.name === ports[0]!.name);
  const text = variable?.kind === "config" ? variable.value?.reveal().trim() : undefined;
  const port = text && /^\d+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}

/** An expanded port: an integer 1–65535 (the value itself is not repeated: it came from the layers). */
function portOf(
  expanded: { text: string; path: string; location: Location } | undefined,
): number | undefined {
  if (!expanded) return undefined;
  const text = expanded.text.trim();
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TesseraError(
      "E_TARGET_INVALID",
      `${expanded.path} does not expand to a port number (1–65535)`,
      {
        location: expanded.location,
        hint: "give the variable it reads a port number, or a default: ${PORT:-8080}",
      },
    );
  }
  return port;
}

/** run.sh is a shell script (`export NAME`, `${NAME?}`): names a POSIX shell can carry. */
export const SHELL_NAMES = {
  test: isShellName,
  rule: "letters, digits and _, not starting with a digit (a shell name)",
};
/** Compose interpolates `${NAME}` (secrets, run through tessera run) with the shell's rule. */
export const COMPOSE_NAMES = {
  test: isShellName,
  rule: "letters, digits and _, not starting with a digit (Compose's ${NAME} interpolation)",
};
/** Kubernetes env names and Secret/ConfigMap keys: [-._a-zA-Z][-._a-zA-Z0-9]* (no brackets). */
export const KUBERNETES_NAMES = {
  test: isKubernetesEnvName,
  rule: "letters, digits, -, . and _, not starting with a digit (a Kubernetes env name and key)",
};

/** Exported variables split by sensitivity; `missing` are required ones allowed to be absent. */
export interface Split {
  secrets: ResolvedVariable[];
  config: ResolvedVariable[];
}

/** Every variable that goes into artifacts: set ones, and required ones that are missing (as empty slots). */
export function splitVariables(resolution: Resolution): Split {
  const wanted = resolution.variables.filter((variable) => variable.value !== undefined || variable.required);
  return {
    secrets: wanted.filter((variable) => variable.kind === "secret"),
    config: wanted.filter((variable) => variable.kind === "config"),
  };
}

export const GENERATED = "Generated by tessera build. Edit the manifest, not this file.";
