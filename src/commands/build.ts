import { fingerprintKey } from "../crypto/fingerprint.js";
import type { Diagnostic } from "../errors.js";
import { missingError, missingWarnings } from "../pipeline/missing.js";
import {
  buildTarget,
  choice,
  ENV_STYLES,
  type NamedService,
  refuseValues,
  resolveTarget,
  SECRETS_MODES,
} from "../targets/build.js";
import { TARGET_NAMES, TARGETS, targetList, targetNamed } from "../targets/catalog.js";
import type { OutputResult, WrittenFile } from "../targets/outputs.js";
import { type RenderOption, type RenderOptions, serviceFrom, type Target } from "../targets/types.js";
import { type FlagSpecs, type FlagValues, helpText, LAYER_FLAGS } from "./args.js";
import {
  type Context,
  checkLayerFlags,
  enforceRequired,
  type LayerFlags,
  noArguments,
  openFromFlags,
  parsedWithJsonErrors,
  printJson,
  printWarnings,
  type Resolved,
  warningJson,
} from "./common.js";

export const RENDER_FLAGS = {
  target: { type: "string", short: "t", value: "TARGET", help: `one of ${targetList()}` },
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
    help: `${readers("secretsMode")}: env-file (default) or files (/run/secrets/<name> and NAME_FILE)`,
  },
  "env-style": {
    type: "string",
    value: "STYLE",
    help: `${readers("envStyle")}: envFrom (default) or refs (secretKeyRef/configMapKeyRef per key)`,
  },
  kustomize: { type: "boolean", help: `${readers("kustomize")}: also write a kustomization.yaml` },
  "cluster-store": {
    type: "boolean",
    help: `${readers("clusterStore")}: a ClusterSecretStore instead of a SecretStore`,
  },
  "refresh-interval": {
    type: "string",
    value: "DURATION",
    help: `${readers("refreshInterval")}: how often ESO refreshes (default 1h)`,
  },
} as const satisfies FlagSpecs;

/** The targets that read a render option, for the help text. */
function readers(option: RenderOption): string {
  return TARGETS.filter((target) => target.options.includes(option))
    .map((target) => target.name)
    .join(", ");
}

export const flags = {
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
  json: {
    type: "boolean",
    help: "print a JSON report on stdout (files written and removed, warnings, to-dos; never values)",
  },
} as const satisfies FlagSpecs;

const usage = `tessera build --target ${TARGET_NAMES.join("|")} [options]`;
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

/** The render flags as the targets' options. */
export function renderOptions(flags: RenderFlags, context: Context): RenderOptions {
  return {
    secretsMode: choice(flags["secrets-mode"], SECRETS_MODES, "--secrets-mode"),
    envStyle: choice(flags["env-style"], ENV_STYLES, "--env-style"),
    kustomize: flags.kustomize,
    clusterStore: flags["cluster-store"],
    refreshInterval: flags["refresh-interval"],
    checksumKey: fingerprintKey(context.env),
  };
}

/**
 * Resolve and check what a target needs: every required variable, except what the target leaves out.
 * Warnings (and the missing variables --allow-missing-secrets lets through) go to stderr, or into
 * `report` when one is given (--json).
 */
export async function resolveForTarget(
  target: Target,
  options: RenderFlags,
  context: Context,
  report?: Diagnostic[],
): Promise<Resolved> {
  const pipeline = await openFromFlags(options, context, { external: target.fetchesStores });
  const resolved = await resolveTarget(pipeline, target);
  reportResolved(resolved, options, context, report);
  return resolved;
}

/** The resolution's warnings and missing variables: printed, or into `report` (--json; missing ones refused there unless allowed). */
function reportResolved(
  resolved: Resolved,
  options: RenderFlags,
  context: Context,
  report?: Diagnostic[],
): void {
  if (report) {
    report.push(...resolved.resolution.warnings);
    if (resolved.resolution.missing.length && !options["allow-missing-secrets"])
      throw missingError(resolved.resolution);
    report.push(...missingWarnings(resolved.resolution));
    return;
  }
  printWarnings(resolved.resolution.warnings, context, options.quiet);
  enforceRequired(resolved.resolution, options, context);
}

export function serviceFor(
  resolved: Resolved,
  options: RenderFlags,
  target: Target,
  context: Context,
  /** Say nothing on stderr (--json reports the renaming itself). */
  silent = false,
): NamedService {
  const service = serviceFrom(
    resolved.spec,
    { name: options.name, image: options.image, namespace: options.namespace },
    target.names,
    resolved,
  );
  if (!silent) noticeRenamed(service, target, options, context);
  return service;
}

function noticeRenamed(service: NamedService, target: Target, options: RenderFlags, context: Context): void {
  if (service.renamed && !options.quiet)
    context.stderr(
      `tessera: ${target.name} names must be DNS-1123 labels: the service ${JSON.stringify(service.renamed.from)} is named ${service.renamed.to} there (--name sets it)\n`,
    );
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  // With --json, every error (a usage error too) is the JSON report `check --json` prints for one.
  return parsedWithJsonErrors(argv, flags, context, (parsed) =>
    build(parsed.flags, parsed.positionals, context),
  );
}

async function build(
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
  const withValues = options["with-values"] === true;
  refuseValues(target, withValues);
  const renderWith = renderOptions(options, context);
  const pipeline = await openFromFlags(options, context, { external: target.fetchesStores });
  // Without --json, the resolution's warnings (and the missing variables allowed) are printed as soon
  // as they are known, and the renaming when the service is named: before any later error.
  let printed = 0;
  const result = await buildTarget({
    pipeline,
    target,
    cwd: context.cwd,
    env: context.env,
    out: options.out ? options.out : undefined,
    withValues,
    service: { name: options.name, image: options.image, namespace: options.namespace },
    options: renderWith,
    allowMissing: options["allow-missing-secrets"],
    selection: {
      manifest: options.manifest,
      values: options.values,
      envFiles: options["env-file"],
      secretsFrom: options["secrets-from"],
      allowHostEnv: options["allow-host-env"],
    },
    onResolved: json
      ? undefined
      : (resolved) => {
          reportResolved(resolved, options, context);
          printed = resolved.resolution.warnings.length + resolved.resolution.missing.length;
        },
    onService: json ? undefined : (service) => noticeRenamed(service, target, options, context),
  });
  if (json) {
    printJson(context, {
      ok: true,
      command: "build",
      target: result.target,
      manifest: result.manifest ?? null,
      profile: result.profile ?? null,
      out: result.out,
      withValues,
      service: serviceJson(result.service),
      written: result.files.map(writtenJson),
      removed: removedJson(result.removed),
      warnings: result.warnings.map(warningJson),
      todo: result.notes.map(todoJson),
    });
    return 0;
  }
  for (const path of result.written) context.stdout(`${path}\n`);
  printWarnings(result.warnings.slice(printed), context, options.quiet);
  if (!options.quiet) {
    for (const { path, sensitive } of result.removed)
      context.stderr(
        sensitive
          ? `tessera: removed ${path}: it held values from an earlier --with-values build\n`
          : `tessera: removed ${path}: an earlier build wrote it and this one does not\n`,
      );
    for (const note of result.notes) context.stderr(`tessera: to do: ${note}\n`);
  }
  return 0;
}

/** The role of a file a build writes, in `--json` reports. */
export type FileRole = "artifact" | "value-file" | "kustomization" | "gitignore" | "record";

function roleOf(file: Pick<WrittenFile, "name" | "kind" | "sensitive">): FileRole {
  if (file.kind !== "artifact") return file.kind;
  if (file.sensitive) return "value-file";
  return file.name === "kustomization.yaml" ? "kustomization" : "artifact";
}

function writtenJson(file: WrittenFile) {
  return {
    path: file.path,
    role: roleOf(file),
    values: file.sensitive,
    mode: file.mode.toString(8).padStart(4, "0"),
  };
}

function removedJson(removed: OutputResult["removed"]) {
  return removed.map(({ path, sensitive }) => ({
    path,
    role: sensitive ? "value-file" : "artifact",
    values: sensitive,
  }));
}

/** The service as `--json` reports it: its name (and what the manifest called it), its namespace. */
export function serviceJson(service: NamedService) {
  return {
    name: service.name,
    namespace: service.namespace ?? null,
    renamed: service.renamed ?? null,
  };
}

/** A to-do in `--json` reports: the sentence the text output prints, and the commands in it, runnable as printed. */
export function todoJson(note: string): { message: string; commands: string[] } {
  return { message: note, commands: [...note.matchAll(/`([^`]+)`/g)].map((match) => match[1]!) };
}
