/**
 * The external-secrets target: for the External Secrets Operator (API external-secrets.io/v1), a
 * SecretStore (or ClusterSecretStore) per store the manifest declares, an ExternalSecret per store
 * with one `remoteRef` per secret it serves, and the Deployment (plus ConfigMap for config) consuming the
 * Secrets ESO creates. Every field a controller would default is written out, so GitOps tools see no
 * drift. No value is written: ESO reads the stores in the cluster.
 */
import { TesseraError } from "../errors.js";
import { emitYaml, emitYamlDocuments, type YamlValue } from "../formats/yaml-emit.js";
import {
  type Declaration,
  effectiveDeclarations,
  effectiveSources,
  isStoreSource,
  type Spec,
  type StoreSource,
} from "../model/spec.js";
import { parseTemplate, referencedNames, type Template } from "../model/template.js";
import { CATALOG, storeEntry } from "../providers/catalog.js";
import type { RemoteRef } from "../providers/types.js";
import type { Resolution, ResolvedVariable } from "../resolve/resolve.js";
import {
  applyObjects,
  checkKustomizable,
  checksums,
  configMap,
  deployment,
  kustomization,
  LABEL_NAME,
  objectNames,
} from "./kubernetes.js";
import {
  type Artifact,
  GENERATED,
  KUBERNETES_NAMES,
  type Rendered,
  type RenderOptions,
  type Service,
  splitVariables,
  type Target,
  type TargetInput,
} from "./types.js";

export type ExternalSecretsOptions = Pick<
  RenderOptions,
  "clusterStore" | "refreshInterval" | "envStyle" | "kustomize"
>;

const API = "external-secrets.io/v1";

/** Where a declared secret lives in a store: its `from:`, else its own name in the store's layout. */
export function remoteRef(variable: ResolvedVariable, store: StoreSource): RemoteRef {
  const eso = storeEntry(store.type).eso;
  if (!eso) throw notForEso(store);
  const from = variable.from?.source === store.name ? variable.from : undefined;
  return eso.remoteRef(variable.lookup, from, store);
}

function notForEso(store: StoreSource): TesseraError {
  return new TesseraError(
    "E_TARGET_INVALID",
    `the External Secrets Operator cannot read ${store.type} sources`,
  );
}

/** The SecretStore provider block for a store (the store type's ESO capability). */
function provider(store: StoreSource, service: Service, notes: string[]): YamlValue {
  const eso = storeEntry(store.type).eso;
  if (!eso) throw notForEso(store);
  return eso.secretStore(store, service.name, notes) as YamlValue;
}

/** The store types the operator can read. */
const ESO_STORE_TYPES = CATALOG.filter((entry) => entry.eso).map((entry) => entry.type);

export function renderExternalSecrets(input: TargetInput, options: ExternalSecretsOptions = {}): Rendered {
  const { service, resolution, spec } = input;
  const declared =
    input.stores ?? (spec ? effectiveSources(spec, resolution.profile).filter(isStoreSource) : []);
  const stores = declared.filter((store) => ESO_STORE_TYPES.includes(store.type));
  for (const variable of resolution.variables) {
    const named = declared.find((store) => store.name === variable.from?.source);
    if (variable.kind === "secret" && named && !stores.includes(named)) {
      throw new TesseraError(
        "E_TARGET_INVALID",
        `${variable.name} comes from the ${named.type} source "${named.name}", which the External Secrets Operator cannot read`,
        {
          hint: `ESO reads ${ESO_STORE_TYPES.join(", ")}; move the secret to one of those, or build another target (tessera build --target kubernetes --with-values)`,
        },
      );
    }
  }
  if (stores.length === 0) {
    throw new TesseraError(
      "E_TARGET_INVALID",
      "no external store is declared for the External Secrets Operator",
      {
        hint: `declare one under sources: (type ${ESO_STORE_TYPES.join(", ")})`,
      },
    );
  }
  const { secrets, config } = splitVariables(resolution);
  if (options.kustomize) checkKustomizable(config);
  const notes: string[] = [];
  // Each secret is served by the store its from: names, else by the first declared store.
  const byStore = new Map<string, { store: StoreSource; variables: ResolvedVariable[] }>();
  for (const variable of resolution.variables.filter((entry) => entry.kind === "secret")) {
    const store = stores.find((candidate) => candidate.name === variable.from?.source) ?? stores[0]!;
    const entry = byStore.get(store.name) ?? { store, variables: [] };
    entry.variables.push(variable);
    byStore.set(store.name, entry);
  }
  const storeKind = options.clusterStore ? "ClusterSecretStore" : "SecretStore";
  const single = byStore.size === 1;
  const secretName = (store: StoreSource) =>
    single ? objectNames(service).secret : `${objectNames(service).secret}-${store.name}`;
  const storeName = (store: StoreSource) => `${service.name}-${store.name}`;

  const storeDocs: YamlValue[] = [];
  const externalDocs: YamlValue[] = [];
  for (const { store, variables } of byStore.values()) {
    storeDocs.push({
      apiVersion: API,
      kind: storeKind,
      metadata: {
        name: storeName(store),
        namespace: options.clusterStore ? undefined : service.namespace,
        labels: { [LABEL_NAME]: service.name, "app.kubernetes.io/managed-by": "tessera" },
      },
      spec: { provider: provider(store, service, notes) },
    });
    externalDocs.push({
      apiVersion: API,
      kind: "ExternalSecret",
      metadata: {
        name: secretName(store),
        namespace: service.namespace,
        labels: { [LABEL_NAME]: service.name, "app.kubernetes.io/managed-by": "tessera" },
      },
      spec: {
        refreshInterval: options.refreshInterval ?? "1h",
        secretStoreRef: { name: storeName(store), kind: storeKind },
        target: { name: secretName(store), creationPolicy: "Owner", deletionPolicy: "Retain" },
        data: variables.map((variable) => {
          const ref = remoteRef(variable, store);
          return {
            secretKey: variable.name,
            remoteRef: {
              key: ref.key,
              property: ref.property,
              version: ref.version,
              conversionStrategy: "Default",
              decodingStrategy: "None",
              metadataPolicy: "None",
            },
          };
        }),
      },
    });
  }

  const refs = [...byStore.values()].map(({ store, variables }) => ({ name: secretName(store), variables }));
  const artifacts: Artifact[] = [
    {
      path: "secretstore.yaml",
      content: emitYamlDocuments(storeDocs, GENERATED),
      mode: 0o644,
      sensitive: false,
    },
    {
      path: "externalsecret.yaml",
      content: emitYamlDocuments(externalDocs, GENERATED),
      mode: 0o644,
      sensitive: false,
    },
    {
      path: "deployment.yaml",
      content: emitYaml(
        deployment(
          service,
          { secretRefs: refs, config },
          { envStyle: options.envStyle ?? "envFrom", annotations: checksums(config, secrets, false) },
        ),
        GENERATED,
      ),
      mode: 0o644,
      sensitive: false,
    },
  ];
  if (config.length)
    artifacts.push({
      path: "configmap.yaml",
      content: emitYaml(configMap(service, config), GENERATED),
      mode: 0o644,
      sensitive: false,
    });
  // The objects carry their namespaces; the kustomization sets none (a ClusterSecretStore has none).
  if (options.kustomize) artifacts.push(kustomization(artifacts.map((artifact) => artifact.path)));
  return { artifacts, notes, warnings: [] };
}

/**
 * ESO reads the secrets from the stores in the cluster: only config must resolve here, and no config
 * may be built from a secret (ESO cannot interpolate, and the secret is not here anyway).
 */
function prepare(input: { resolution: Resolution; spec?: Spec }): Resolution {
  const derived = builtFromSecrets(input.resolution, input.spec);
  if (derived.length) {
    throw new TesseraError(
      "E_TARGET_INVALID",
      `${derived.map((variable) => variable.name).join(", ")} ${derived.length === 1 ? "is" : "are"} built from secrets by interpolation, which the External Secrets Operator cannot do`,
      { hint: "store the whole value in the external store and declare it as a secret" },
    );
  }
  return {
    ...input.resolution,
    missing: input.resolution.missing.filter((variable) => variable.kind === "config"),
  };
}

/**
 * Config variables whose value is built from a secret: resolved from one (derived), left unresolved
 * because a secret it refers to is missing, or taking their manifest value from a template that refers
 * to a secret, directly or through other config (`${TOKEN:-none}` included: in the cluster, TOKEN is set).
 */
export function builtFromSecrets(resolution: Resolution, spec: Spec | undefined): ResolvedVariable[] {
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

export const target: Target = {
  name: "external-secrets",
  names: "dns-1123",
  variableNames: KUBERNETES_NAMES,
  options: ["envStyle", "kustomize", "clusterStore", "refreshInterval"],
  fetchesStores: false,
  hostProcess: false,
  noValues: "the operator reads the stores",
  valueFiles: [],
  ignores: [],
  prepare,
  render: renderExternalSecrets,
  apply: (input, tools) =>
    applyObjects(
      renderExternalSecrets(input, { ...input.options, kustomize: false }),
      input,
      tools,
      "the operator fills the Secrets from the stores",
    ),
};
