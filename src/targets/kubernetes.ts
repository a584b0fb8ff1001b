/**
 * The kubernetes target: a Deployment, a ConfigMap (config) and a Secret (secrets), wired with
 * `envFrom` or per-key `configMapKeyRef`/`secretKeyRef` (`envStyle`). The Secret is a template with
 * empty values for CI or an operator to fill, or with `withValues` holds the values (`stringData`) in a
 * file of its own (mode 0600). A checksum of the config (and, with values, a keyed checksum of the
 * secrets) on the pod template rolls the pods when a value changes.
 */
import { createHash, createHmac } from "node:crypto";
import { TesseraError } from "../errors.js";
import { emitYaml, type YamlValue } from "../formats/yaml-emit.js";
import { effectiveDeclarations } from "../model/spec.js";
import { parseTemplate, referencedNames } from "../model/template.js";
import type { ResolvedVariable } from "../resolve/resolve.js";
import {
  type ApplyInput,
  type Artifact,
  GENERATED,
  KUBERNETES_NAMES,
  missingTool,
  type Rendered,
  type RenderOptions,
  type Service,
  splitVariables,
  type Target,
  type TargetInput,
  type Tools,
} from "./types.js";

export type EnvStyle = NonNullable<RenderOptions["envStyle"]>;

export type KubernetesOptions = Pick<RenderOptions, "envStyle" | "kustomize" | "checksumKey">;

export const LABEL_NAME = "app.kubernetes.io/name";

export function objectNames(service: Service) {
  return { deployment: service.name, config: `${service.name}-config`, secret: `${service.name}-secrets` };
}

function metadata(service: Service, name: string): { [key: string]: YamlValue | undefined } {
  return {
    name,
    namespace: service.namespace,
    labels: { [LABEL_NAME]: service.name, "app.kubernetes.io/managed-by": "tessera" },
  };
}

const value = (variable: ResolvedVariable): string => variable.value?.reveal() ?? "";

/**
 * U+0085 (NEL), U+2028 and U+2029 are line breaks to YAML 1.1. Our files escape them, and the API
 * server's reader (kubectl apply -f) reads them back exactly, but kustomize re-emits YAML and folds
 * them into spaces (kubectl kustomize 5.5: "a\u0085b" becomes "a b"). Secret values holding one go
 * base64 under `data:`, which every tool passes through untouched.
 */
const FOLDED = /[\u0085\u2028\u2029]/;

/** Whether a string would not survive a kustomize round trip as a YAML string. */
export function foldedByKustomize(text: string): boolean {
  return FOLDED.test(text);
}

/** Config a kustomization would change: refused, with the way out. */
export function checkKustomizable(config: readonly ResolvedVariable[]): void {
  for (const variable of config) {
    if (!foldedByKustomize(value(variable))) continue;
    throw new TesseraError(
      "E_VALUE_UNREPRESENTABLE",
      `the value of ${variable.name} contains U+0085, U+2028 or U+2029, which kustomize (kubectl kustomize, kubectl apply -k) turns into a space in a ConfigMap`,
      {
        hint: `build without --kustomize (kubectl apply -f reads the ConfigMap exactly), or declare ${variable.name} as a secret (Secret values holding these characters are written base64)`,
      },
    );
  }
}

export function configMap(service: Service, config: readonly ResolvedVariable[]): YamlValue {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(service, objectNames(service).config),
    data: Object.fromEntries(config.map((variable) => [variable.name, value(variable)])),
  };
}

export function secret(
  service: Service,
  secrets: readonly ResolvedVariable[],
  withValues: boolean,
  /** Secrets whose value is the manifest's own literal default: written even in the template. */
  defaults: ReadonlySet<string> = new Set(),
): YamlValue {
  const stringData: Record<string, string> = {};
  const data: Record<string, string> = {};
  for (const variable of secrets) {
    const text = withValues || defaults.has(variable.name) ? value(variable) : "";
    if (foldedByKustomize(text)) data[variable.name] = Buffer.from(text, "utf8").toString("base64");
    else stringData[variable.name] = text;
  }
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: metadata(service, objectNames(service).secret),
    type: "Opaque",
    data: Object.keys(data).length ? data : undefined,
    stringData: Object.keys(stringData).length || !Object.keys(data).length ? stringData : undefined,
  };
}

export interface PodEnv {
  /** Secrets the container reads, by Secret object name. */
  secretRefs: { name: string; variables: readonly ResolvedVariable[] }[];
  config: readonly ResolvedVariable[];
}

export function deployment(
  service: Service,
  env: PodEnv,
  options: { envStyle: EnvStyle; annotations: Record<string, string> },
): YamlValue {
  const names = objectNames(service);
  const container: { [key: string]: YamlValue | undefined } = {
    name: service.name,
    image: service.image,
    ports: service.port ? [{ containerPort: service.port }] : undefined,
  };
  if (options.envStyle === "envFrom") {
    const from: YamlValue[] = [];
    if (env.config.length) from.push({ configMapRef: { name: names.config } });
    for (const ref of env.secretRefs) if (ref.variables.length) from.push({ secretRef: { name: ref.name } });
    container.envFrom = from.length ? from : undefined;
  } else {
    const entries: YamlValue[] = [
      ...env.config.map((variable) => ({
        name: variable.name,
        valueFrom: {
          configMapKeyRef: { name: names.config, key: variable.name, optional: !variable.required },
        },
      })),
      ...env.secretRefs.flatMap((ref) =>
        ref.variables.map((variable) => ({
          name: variable.name,
          valueFrom: { secretKeyRef: { name: ref.name, key: variable.name, optional: !variable.required } },
        })),
      ),
    ];
    container.env = entries.length ? entries : undefined;
  }
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(service, names.deployment),
    spec: {
      replicas: 1,
      selector: { matchLabels: { [LABEL_NAME]: service.name } },
      template: {
        metadata: {
          labels: { [LABEL_NAME]: service.name },
          annotations: Object.keys(options.annotations).length ? options.annotations : undefined,
        },
        spec: { containers: [container] },
      },
    },
  };
}

/** A stable digest of name → value pairs (sorted, length-prefixed so no two maps collide). */
function digest(variables: readonly ResolvedVariable[], key?: Buffer): string {
  const hash = key ? createHmac("sha256", key) : createHash("sha256");
  for (const variable of [...variables].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const text = value(variable);
    hash.update(`${variable.name.length}:${variable.name}${Buffer.byteLength(text)}:`).update(text);
  }
  return hash.digest("hex");
}

export function checksums(
  config: readonly ResolvedVariable[],
  secrets: readonly ResolvedVariable[],
  withValues: boolean,
  key?: Buffer,
): Record<string, string> {
  const annotations: Record<string, string> = {};
  if (config.length) annotations["checksum/config"] = digest(config);
  // A plain hash of secret values in a committed Deployment could be brute-forced: keyed, and only
  // when the values are in the build at all.
  if (withValues && secrets.length && key) annotations["checksum/secret"] = digest(secrets, key);
  return annotations;
}

export function renderKubernetes(input: TargetInput, options: KubernetesOptions = {}): Rendered {
  const { service, withValues } = input;
  const { secrets, config } = splitVariables(input.resolution);
  const envStyle = options.envStyle ?? "envFrom";
  const names = objectNames(service);
  if (options.kustomize) checkKustomizable(config);
  const artifacts: Artifact[] = [];
  const notes: string[] = [];
  const files: string[] = [];
  const doc = (path: string, body: YamlValue, sensitive = false) => {
    files.push(path);
    artifacts.push({ path, content: emitYaml(body, GENERATED), mode: sensitive ? 0o600 : 0o644, sensitive });
  };
  doc(
    "deployment.yaml",
    deployment(
      service,
      { secretRefs: [{ name: names.secret, variables: secrets }], config },
      { envStyle, annotations: checksums(config, secrets, withValues, options.checksumKey) },
    ),
  );
  if (config.length) doc("configmap.yaml", configMap(service, config));
  if (secrets.length) {
    // The template (committable) and the file with values (never committed) have different names.
    const defaults = literalDefaults(input);
    doc(
      withValues ? "secret.values.yaml" : "secret.yaml",
      secret(service, secrets, withValues, defaults),
      withValues,
    );
    const toFill = secrets.filter((variable) => !defaults.has(variable.name));
    if (!withValues && toFill.length) {
      notes.push(
        `the Secret ${names.secret} is a template: fill ${toFill.map((variable) => variable.name).join(", ")} in CI or with an operator, or apply with values by \`tessera deploy --target kubernetes{flags}\``,
      );
    }
  }
  const missing = input.resolution.missing.map((variable) => variable.name);
  if (missing.length) notes.push(`no value was found for ${missing.join(", ")}: their keys are empty`);
  if (options.kustomize) artifacts.push(kustomization(files, service.namespace));
  return { artifacts, notes, warnings: [] };
}

/**
 * Secrets whose value is the manifest's own default, written as plain text (no reference to another
 * variable): it is committed in the manifest already, so the template carries it and the pod gets it.
 * An empty template value is left only for a value someone must fill.
 */
export function literalDefaults(input: TargetInput): Set<string> {
  const out = new Set<string>();
  if (!input.spec) return out;
  const declarations = new Map(
    effectiveDeclarations(input.spec, input.resolution.profile).map((declaration) => [
      declaration.name,
      declaration,
    ]),
  );
  for (const variable of input.resolution.variables) {
    const declaration = declarations.get(variable.name);
    if (variable.kind !== "secret" || variable.value === undefined || variable.origin?.layer !== "manifest")
      continue;
    if (declaration?.value === undefined || variable.derived) continue;
    try {
      if (referencedNames(parseTemplate(declaration.value)).size === 0) out.add(variable.name);
    } catch {
      // not a template resolution accepted: leave it to be filled
    }
  }
  return out;
}

/** A kustomization.yaml listing the objects' files. */
export function kustomization(files: readonly string[], namespace?: string): Artifact {
  return {
    path: "kustomization.yaml",
    content: emitYaml(
      {
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        namespace,
        resources: [...files],
      },
      GENERATED,
    ),
    mode: 0o644,
    sensitive: false,
  };
}

/**
 * deploy: every object through a pipe (`kubectl apply -f -`), in one stream: each file's header comment
 * and leading `---` dropped, so that no empty document sits between two objects. kubectl's environment
 * is the caller's, without the values (they are in the pipe).
 */
export async function applyObjects(
  rendered: Rendered,
  input: ApplyInput,
  tools: Tools,
  then: string,
): Promise<void> {
  const documents = rendered.artifacts
    .filter((artifact) => artifact.path !== "kustomization.yaml")
    .map((artifact) => artifact.content.replace(/^(?:#.*\n)*(?:---\n)?/, ""))
    .join("---\n");
  if (input.dryRun) {
    tools.plan(documents);
    tools.plan(`# then: kubectl apply -f - (${then})\n`);
    return;
  }
  const kubectl = tools.find([["kubectl"]], () => ["version", "--client"]);
  if (!kubectl) throw missingTool("kubectl", "install kubectl (Debian: apt-get install kubernetes-client)");
  await tools.run({ argv: ["kubectl", "apply", "-f", "-"], env: input.hostEnv, input: documents });
}

export const target: Target = {
  name: "kubernetes",
  names: "dns-1123",
  variableNames: KUBERNETES_NAMES,
  options: ["envStyle", "kustomize"],
  fetchesStores: true,
  hostProcess: false,
  valueFiles: ["secret.values.yaml"],
  ignores: ["*.values.yaml"],
  render: renderKubernetes,
  apply: (input, tools) =>
    applyObjects(
      // The Secret with its values goes through the pipe; a dry run shows the template.
      renderKubernetes({ ...input, withValues: !input.dryRun }, { ...input.options, kustomize: false }),
      input,
      tools,
      "the Secret with its values, through a pipe",
    ),
};
