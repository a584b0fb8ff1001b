/**
 * tessera build --target docker|compose|kubernetes|external-secrets: render the artifacts for a target
 * and write them (default: deploy/<target>/ next to the manifest). Prints what it wrote (stdout) and
 * what the user must still provide (stderr). Values go into artifacts only with --with-values, in files
 * of mode 0600 that a .gitignore in the output directory keeps out of git.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fingerprintKey } from "../crypto/fingerprint.js";
import { formatWarning, TesseraError } from "../errors.js";
import { displayPath, writeFileAtomic } from "../files.js";
import { type Declaration, effectiveDeclarations } from "../model/spec.js";
import { parseTemplate, referencedNames, type Template } from "../model/template.js";
import type { Resolution, ResolvedVariable } from "../resolve/resolve.js";
import type { Rendered, Service, TargetInput } from "../targets/types.js";
import { serviceFrom } from "../targets/types.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import {
  type Context,
  checkLayerFlags,
  enforceRequired,
  type LayerFlags,
  noArguments,
  printWarnings,
  type Resolved,
  resolveFromFlags,
} from "./common.js";

export const TARGETS = ["docker", "compose", "kubernetes", "external-secrets"] as const;
export type Target = (typeof TARGETS)[number];

export const RENDER_FLAGS: FlagSpecs = {
  target: { type: "string", short: "t", value: "TARGET", help: `one of ${TARGETS.join(", ")}` },
  image: { type: "string", value: "IMAGE", help: "the container image (default: from the manifest)" },
  name: { type: "string", value: "NAME", help: "the service name (default: from the manifest)" },
  namespace: {
    type: "string",
    value: "NS",
    help: "kubernetes, external-secrets: the namespace of every object",
  },
  "secrets-mode": {
    type: "string",
    value: "MODE",
    help: "compose: env-file (default) or files (/run/secrets/<name> and NAME_FILE)",
  },
  "env-style": {
    type: "string",
    value: "STYLE",
    help: "kubernetes, external-secrets: envFrom (default) or refs (secretKeyRef/configMapKeyRef per key)",
  },
  kustomize: { type: "boolean", help: "kubernetes, external-secrets: also write a kustomization.yaml" },
  "cluster-store": {
    type: "boolean",
    help: "external-secrets: a ClusterSecretStore instead of a SecretStore",
  },
  "refresh-interval": {
    type: "string",
    value: "DURATION",
    help: "external-secrets: how often ESO refreshes (default 1h)",
  },
};

export const flags: FlagSpecs = {
  ...LAYER_FLAGS,
  ...RENDER_FLAGS,
  out: {
    type: "string",
    short: "o",
    value: "DIR",
    help: "where to write (default: deploy/<target>/ next to the manifest)",
  },
  "with-values": {
    type: "boolean",
    help: "write the values into artifacts (files of mode 0600, git-ignored)",
  },
};

const usage = "tessera build --target docker|compose|kubernetes|external-secrets [options]";
const summary = "write deployment artifacts for a target, secrets and config kept apart";

export interface RenderFlags extends LayerFlags {
  target?: string;
  image?: string;
  name?: string;
  namespace?: string;
  "secrets-mode"?: string;
  "env-style"?: string;
  kustomize?: boolean;
  "cluster-store"?: boolean;
  "refresh-interval"?: string;
}

export function targetFrom(flags: RenderFlags, allowed: readonly string[] = TARGETS): Target {
  if (!flags.target)
    throw new TesseraError("E_USAGE", "--target is required", { hint: `one of ${allowed.join(", ")}` });
  if (!allowed.includes(flags.target)) {
    throw new TesseraError("E_USAGE", `unknown target ${JSON.stringify(flags.target)}`, {
      hint: `one of ${allowed.join(", ")}`,
    });
  }
  return flags.target as Target;
}

function choice<T extends string>(
  value: string | undefined,
  options: readonly T[],
  flag: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!(options as readonly string[]).includes(value)) {
    throw new TesseraError(
      "E_USAGE",
      `--${flag} takes ${options.join(" or ")}, not ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

/** Resolve and check what a target needs: every required variable, except secrets a store serves. */
export async function resolveForTarget(
  target: Target,
  options: RenderFlags,
  context: Context,
): Promise<Resolved> {
  // ESO reads the stores in the cluster: the external-secrets target fetches nothing from them.
  const resolved = await resolveFromFlags(options, context, { external: target !== "external-secrets" });
  if (target === "external-secrets") {
    // ESO reads the secrets from the stores in the cluster: only config must resolve here, and no
    // config may be built from a secret (ESO cannot interpolate, and the secret is not here anyway).
    const derived = builtFromSecrets(resolved);
    if (derived.length) {
      throw new TesseraError(
        "E_TARGET_INVALID",
        `${derived.map((variable) => variable.name).join(", ")} ${derived.length === 1 ? "is" : "are"} built from secrets by interpolation, which the External Secrets Operator cannot do`,
        { hint: "store the whole value in the external store and declare it as a secret" },
      );
    }
    printWarnings(resolved.resolution.warnings, context, options.quiet);
    const configOnly: Resolution = {
      ...resolved.resolution,
      missing: resolved.resolution.missing.filter((variable) => variable.kind === "config"),
    };
    enforceRequired(configOnly, options, context);
    return { ...resolved, resolution: configOnly };
  }
  printWarnings(resolved.resolution.warnings, context, options.quiet);
  enforceRequired(resolved.resolution, options, context);
  return resolved;
}

/**
 * Config variables whose value is built from a secret: resolved from one (derived), left unresolved
 * because a secret it refers to is missing, or taking their manifest value from a template that refers
 * to a secret, directly or through other config (`${TOKEN:-none}` included: in the cluster, TOKEN is set).
 */
export function builtFromSecrets(resolved: Resolved): ResolvedVariable[] {
  const { resolution, spec } = resolved;
  const declarations = spec ? effectiveDeclarations(spec, resolution.profile) : [];
  const byLookup = new Map(declarations.map((declaration) => [declaration.lookup, declaration]));
  const memo = new Map<string, boolean>();
  const refersToSecret = (declaration: Declaration): boolean => {
    const known = memo.get(declaration.name);
    if (known !== undefined) return known;
    memo.set(declaration.name, false); // a cycle is reported by resolution, not here
    let template: Template = [];
    try {
      template = declaration.value === undefined ? [] : parseTemplate(declaration.value);
    } catch {
      // a syntax error is reported by resolution
    }
    let found = false;
    for (const name of referencedNames(template)) {
      const target = byLookup.get(name);
      if (target && (target.kind === "secret" || refersToSecret(target))) found = true;
    }
    memo.set(declaration.name, found);
    return found;
  };
  const secretNames = new Set(declarations.filter((d) => d.kind === "secret").map((d) => d.name));
  return resolution.variables.filter((variable) => {
    if (variable.derived) return true;
    if (variable.kind !== "config") return false;
    if (variable.status === "unresolved" && variable.dependsOn && secretNames.has(variable.dependsOn))
      return true;
    const declaration = declarations.find((entry) => entry.name === variable.name);
    const fromManifest = variable.origin === undefined || variable.origin.layer === "manifest";
    return declaration !== undefined && fromManifest && refersToSecret(declaration);
  });
}

/** Render a target's artifacts (pure; lazy-loads the target's module). */
export async function render(
  target: Target,
  input: TargetInput,
  options: RenderFlags,
  context: Context,
): Promise<Rendered> {
  switch (target) {
    case "docker":
      return (await import("../targets/docker.js")).renderDocker(input);
    case "compose":
      return (await import("../targets/compose.js")).renderCompose(input, {
        secretsMode: choice(options["secrets-mode"], ["env-file", "files"] as const, "secrets-mode"),
      });
    case "kubernetes":
      return (await import("../targets/kubernetes.js")).renderKubernetes(input, {
        envStyle: choice(options["env-style"], ["envFrom", "refs"] as const, "env-style"),
        kustomize: options.kustomize,
        checksumKey: fingerprintKey(context.env),
      });
    case "external-secrets":
      return (await import("../targets/external-secrets.js")).renderExternalSecrets(input, {
        clusterStore: options["cluster-store"],
        refreshInterval: options["refresh-interval"],
        envStyle: choice(options["env-style"], ["envFrom", "refs"] as const, "env-style"),
        kustomize: options.kustomize,
      });
  }
}

export function serviceFor(resolved: Resolved, options: RenderFlags): Service {
  return serviceFrom(resolved.spec, {
    name: options.name,
    image: options.image,
    namespace: options.namespace,
  });
}

/** Files with values a build may have left behind, per target: removed when no longer written. */
const VALUE_FILES: Record<Target, string[]> = {
  docker: ["docker.env"],
  compose: ["secrets.env"],
  kubernetes: ["secret.values.yaml"],
  "external-secrets": [],
};

const IGNORES: Record<Target, string[]> = {
  docker: ["docker.env"],
  compose: ["secrets.env", "secrets/"],
  kubernetes: ["*.values.yaml"],
  "external-secrets": [],
};

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags as RenderFlags & { out?: string; "with-values"?: boolean; help?: boolean };
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  noArguments(parsed.positionals, usage);
  const target = targetFrom(options);
  const withValues = options["with-values"] === true;
  if (withValues && target === "external-secrets") {
    throw new TesseraError(
      "E_USAGE",
      "--with-values does not apply to external-secrets: the operator reads the stores",
    );
  }
  const resolved = await resolveForTarget(target, options, context);
  const service = serviceFor(resolved, options);
  const rendered = await render(
    target,
    { resolution: resolved.resolution, spec: resolved.spec, service, withValues },
    options,
    context,
  );

  const base = resolved.spec?.dir ?? context.cwd;
  const out = options.out ? resolve(context.cwd, options.out) : join(base, "deploy", target);
  mkdirSync(out, { recursive: true });
  const written: string[] = [];
  for (const artifact of rendered.artifacts) {
    const path = join(out, artifact.path);
    mkdirSync(dirname(path), { recursive: true, mode: artifact.sensitive ? 0o700 : 0o755 });
    writeFileAtomic(path, artifact.content, artifact.mode);
    written.push(displayPath(context.cwd, path));
  }
  if (IGNORES[target].length)
    writeFileAtomic(
      join(out, ".gitignore"),
      `# files with values: never commit them\n${IGNORES[target].join("\n")}\n`,
      0o644,
    );
  const removed: string[] = [];
  for (const name of VALUE_FILES[target]) {
    const path = join(out, name);
    if (!rendered.artifacts.some((artifact) => artifact.path === name) && existsSync(path)) {
      rmSync(path, { force: true });
      removed.push(displayPath(context.cwd, path));
    }
  }
  for (const path of written) context.stdout(`${path}\n`);
  if (!options.quiet) {
    for (const path of removed)
      context.stderr(`tessera: removed ${path}: it held values from an earlier --with-values build\n`);
    for (const artifact of rendered.artifacts.filter((entry) => entry.sensitive)) {
      const path = join(out, artifact.path);
      if (trackedByGit(path)) {
        context.stderr(
          `${formatWarning({
            code: "W_VALUES_NOT_IGNORED",
            message: `${displayPath(context.cwd, path)} holds values and is inside a git work tree without being ignored`,
            hint: "add it to .gitignore before anything is committed",
          })}\n`,
        );
      }
    }
    const shown = displayPath(context.cwd, out);
    for (const note of rendered.notes)
      context.stderr(`tessera: to do: ${note.replaceAll("{out}", () => shown)}\n`);
  }
  return 0;
}

/** Inside a git work tree and not ignored (git check-ignore answers 1). */
function trackedByGit(path: string): boolean {
  const result = spawnSync("git", ["check-ignore", "-q", path], { cwd: dirname(path), stdio: "ignore" });
  return result.status === 1;
}
