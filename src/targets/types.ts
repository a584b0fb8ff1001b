/**
 * What every target shares: the Target interface the catalog lists (./catalog.ts), the service being
 * deployed, the artifacts a target renders, and the split of resolved variables by sensitivity.
 * Rendering is pure: a Resolution in, artifacts (data) out. Applying runs programs only through the
 * Tools it is handed (spawning, masking and temporary files belong to the command that applies).
 */
import { type Diagnostic, TesseraError } from "../errors.js";
import type { Spec, StoreSource } from "../model/spec.js";
import type { Resolution, ResolvedVariable } from "../resolve/resolve.js";

export interface Service {
  /** A DNS-1123 label: the container, Deployment and compose service name. */
  name: string;
  image: string;
  port?: number;
  namespace?: string;
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
  spec?: Spec;
  /** The external stores in effect, fields interpolated (default: the manifest's, as written). */
  stores?: readonly StoreSource[];
  service: Service;
  /** Write values into the artifacts (0600 files) instead of templates. */
  withValues: boolean;
}

/** The render flags, as data: each target says which it reads. */
export interface RenderOptions {
  /** compose: env-file (default) or files (/run/secrets/<name> and NAME_FILE). */
  secretsMode?: "env-file" | "files";
  /** kubernetes, external-secrets: envFrom (default) or refs (one secretKeyRef/configMapKeyRef per key). */
  envStyle?: "envFrom" | "refs";
  /** kubernetes, external-secrets: also write a kustomization.yaml listing the objects. */
  kustomize?: boolean;
  /** external-secrets: a ClusterSecretStore instead of namespaced SecretStores. */
  clusterStore?: boolean;
  /** external-secrets: ESO's refresh interval (default 1h). */
  refreshInterval?: string;
  /** kubernetes: the key of the checksum of secret values (a per-user key: the checksum reveals nothing). */
  checksumKey?: Buffer;
}

/** The render options a user sets with a flag. */
export type RenderOption = Exclude<keyof RenderOptions, "checksumKey">;

/** A program run by `apply`: its argument vector, its whole environment, what it reads on stdin. */
export interface Step {
  argv: string[];
  env: Record<string, string>;
  input?: string;
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
  /** false: the consumer reads the external stores itself, so none is fetched here. */
  fetchesStores: boolean;
  /**
   * The values reach a program on this host (docker and compose read them from their own environment;
   * run.sh runs here): a manifest from another repository may then not declare names that steer it.
   */
  hostProcess: boolean;
  /** Why --with-values does not apply, where it does not. */
  noValues?: string;
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
 * The service from the manifest, with flags as the fallback: the name from tessera.yaml `service.name`,
 * a Dockfile's `agent.name` or a Ploinky agent's directory, else --name; the image from `service.image`,
 * a Ploinky `container`, Dockrion's own naming (dockrion/NAME:dev), else --image; the port likewise.
 *
 * Docker and compose take the name as it is (camelCase Ploinky agents included). Kubernetes needs a
 * DNS-1123 label: a name from the manifest is turned into one (gitAgent → git-agent) and `renamed` says
 * so; a --name the user typed must already be one.
 */
export function serviceFrom(
  spec: Spec | undefined,
  flags: { name?: string; image?: string; namespace?: string },
  rule: NameRule = "dns-1123",
): Service & { renamed?: { from: string; to: string } } {
  const given = flags.name ?? spec?.service.name;
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
    port: spec?.service.port,
    namespace: flags.namespace,
    ...(renamed ? { renamed } : {}),
  };
}

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
