/**
 * The external-secrets target: for the External Secrets Operator (API external-secrets.io/v1), a
 * SecretStore (or ClusterSecretStore) per store the manifest declares, an ExternalSecret per store
 * with one `remoteRef` per secret it serves, and the Deployment (plus ConfigMap for config) consuming the
 * Secrets ESO creates. Every field a controller would default is written out, so GitOps tools see no
 * drift. No value is written: ESO reads the stores in the cluster.
 */
import { TesseraError } from "../errors.js";
import { emitYaml, emitYamlDocuments, type YamlValue } from "../formats/yaml-emit.js";
import { ESO_STORE_TYPES } from "../manifest/schema.js";
import { effectiveSources, isStoreSource, type StoreSource } from "../model/spec.js";
import type { ResolvedVariable } from "../resolve/resolve.js";
import {
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
  type Rendered,
  type Service,
  splitVariables,
  type TargetInput,
} from "./types.js";

export interface ExternalSecretsOptions {
  /** A ClusterSecretStore instead of namespaced SecretStores. */
  clusterStore?: boolean;
  /** ESO's refresh interval (default 1h). */
  refreshInterval?: string;
  envStyle?: "envFrom" | "refs";
  /** Also write a kustomization.yaml listing the objects. */
  kustomize?: boolean;
}

const API = "external-secrets.io/v1";

interface RemoteRef {
  key: string;
  property?: string;
  version?: string;
}

/** Where a declared secret lives in a store: its `from:`, else its own name in the store's layout. */
export function remoteRef(variable: ResolvedVariable, store: StoreSource): RemoteRef {
  const from = variable.from?.source === store.name ? variable.from : undefined;
  const settings = store.settings;
  const name = variable.lookup;
  switch (store.type) {
    case "vault": {
      if (from?.key) return { key: from.key, property: from.property };
      if (!settings.path) {
        throw new TesseraError(
          "E_TARGET_INVALID",
          `${variable.name}: the vault source "${store.name}" has no path`,
          {
            hint: `give the source a path (the secret holding the variables as fields), or give ${variable.name} from: {source: ${store.name}, key: …, property: …}`,
          },
        );
      }
      return { key: settings.path, property: from?.property ?? name };
    }
    case "aws-secrets-manager":
      if (from?.key) return { key: from.key, property: from.property, version: settings.versionStage };
      if (settings.secret)
        return { key: settings.secret, property: from?.property ?? name, version: settings.versionStage };
      return {
        key: `${settings.prefix ?? ""}${name}`,
        property: from?.property,
        version: settings.versionStage,
      };
    case "aws-ssm": {
      const prefix = settings.path?.endsWith("/") ? settings.path : `${settings.path ?? ""}/`;
      return { key: from?.key ?? `${prefix}${name}`, property: from?.property };
    }
    case "gcp-secret-manager":
      return {
        key: from?.key ?? `${settings.prefix ?? ""}${name}`,
        property: from?.property,
        version: settings.version ?? "latest",
      };
    case "azure-key-vault":
      // Azure secret names allow letters, digits and - only.
      return {
        key: `secret/${from?.key ?? `${settings.prefix ?? ""}${name}`.replace(/_/g, "-")}`,
        property: from?.property,
      };
    default:
      throw notForEso(store);
  }
}

function notForEso(store: StoreSource): TesseraError {
  return new TesseraError(
    "E_TARGET_INVALID",
    `the External Secrets Operator cannot read ${store.type} sources`,
  );
}

/** The SecretStore provider block for a store, and what the user must still create for its auth. */
function provider(store: StoreSource, service: Service, notes: string[]): YamlValue {
  const settings = store.settings;
  const auth = settings.eso?.auth as YamlValue | undefined;
  switch (store.type) {
    case "vault": {
      let derived: YamlValue;
      const method = settings.auth?.method ?? "token";
      if (method === "kubernetes") {
        derived = {
          kubernetes: {
            mountPath: settings.auth?.mountPath ?? "kubernetes",
            role: settings.auth?.role ?? service.name,
          },
        };
      } else if (method === "approle") {
        const secretName = `${service.name}-vault-approle`;
        derived = {
          appRole: {
            path: settings.auth?.path ?? "approle",
            roleId: settings.auth?.roleId ?? "",
            secretRef: { name: secretName, key: "secret-id" },
          },
        };
        if (!auth)
          notes.push(`create the Secret ${secretName} with the AppRole secret id under the key secret-id`);
      } else {
        const secretName = `${service.name}-vault-token`;
        derived = { tokenSecretRef: { name: secretName, key: "token" } };
        if (!auth) notes.push(`create the Secret ${secretName} with a Vault token under the key token`);
      }
      if (!settings.address) {
        throw new TesseraError(
          "E_TARGET_INVALID",
          `the vault source "${store.name}" needs an address for the External Secrets Operator`,
          { hint: "add address: https://… to the source (Tessera itself also reads VAULT_ADDR, ESO cannot)" },
        );
      }
      return {
        vault: {
          server: settings.address,
          path: settings.mount ?? "secret",
          version: settings.version ?? "v2",
          namespace: settings.namespace,
          auth: auth ?? derived,
        },
      };
    }
    case "aws-secrets-manager":
    case "aws-ssm": {
      if (!settings.region) {
        throw new TesseraError(
          "E_TARGET_INVALID",
          `the ${store.type} source "${store.name}" needs a region for the External Secrets Operator`,
          {
            hint: "add region: to the source",
          },
        );
      }
      if (!auth && !settings.role)
        notes.push(
          `the AWS store "${store.name}" uses the operator's own credentials (IRSA); set eso.auth to use others`,
        );
      return {
        aws: {
          service: store.type === "aws-ssm" ? "ParameterStore" : "SecretsManager",
          region: settings.region,
          role: settings.role,
          auth,
        },
      };
    }
    case "gcp-secret-manager":
      if (!auth)
        notes.push(
          `the GCP store "${store.name}" uses the operator's workload identity; set eso.auth to use a key`,
        );
      return { gcpsm: { projectID: settings.project ?? "", auth } };
    case "azure-key-vault":
      if (!auth)
        notes.push(
          `the Azure store "${store.name}" uses a managed identity; set eso.auth for another method`,
        );
      return {
        azurekv: {
          vaultUrl: settings.vaultUrl ?? "",
          tenantId: settings.tenantId,
          ...((auth as Record<string, YamlValue> | undefined) ?? { authType: "ManagedIdentity" }),
        },
      };
    default:
      throw notForEso(store);
  }
}

export function renderExternalSecrets(input: TargetInput, options: ExternalSecretsOptions = {}): Rendered {
  const { service, resolution, spec } = input;
  const declared = spec ? effectiveSources(spec, resolution.profile).filter(isStoreSource) : [];
  const stores = declared.filter((store) => (ESO_STORE_TYPES as readonly string[]).includes(store.type));
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
        hint: "declare one under sources: (type vault, aws-secrets-manager, aws-ssm, gcp-secret-manager or azure-key-vault)",
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
