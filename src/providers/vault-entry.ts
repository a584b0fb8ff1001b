import { TesseraError } from "../errors.js";
import type { StoreEntry } from "./types.js";

/**
 * The vault store in the catalog (./catalog.ts): its manifest schema, credentials and what the External
 * Secrets Operator reads. Its provider, ./vault.ts, is loaded by load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "vault",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("vault"),
        name: SourceName,
        address: Type.Optional(
          Type.String({
            description: "The Vault server, e.g. https://vault.example.com:8200 (default: VAULT_ADDR).",
          }),
        ),
        namespace: Type.Optional(Type.String({ description: "Vault Enterprise namespace." })),
        mount: Type.Optional(Type.String({ description: "The KV mount (default secret)." })),
        path: Type.Optional(
          Type.String({ description: "The path under the mount that holds the variables as fields." }),
        ),
        version: Type.Optional(
          Type.Union([Type.Literal("v1"), Type.Literal("v2")], { description: "KV version (default v2)." }),
        ),
        caCert: Type.Optional(
          Type.String({ description: "A PEM file of CA certificates to trust (default: VAULT_CACERT)." }),
        ),
        auth: Type.Optional(
          Type.Union(
            [
              Type.Object(
                {
                  method: Type.Literal("token"),
                  tokenEnv: Type.Optional(
                    Type.String({
                      description:
                        "The variable holding the token (default VAULT_TOKEN, then ~/.vault-token).",
                    }),
                  ),
                },
                { additionalProperties: false },
              ),
              Type.Object(
                {
                  method: Type.Literal("approle"),
                  roleId: Type.String({
                    description: "The AppRole's role id (not secret; the secret id is).",
                  }),
                  secretIdEnv: Type.Optional(
                    Type.String({
                      description: "The variable holding the secret id (default VAULT_SECRET_ID).",
                    }),
                  ),
                  path: Type.Optional(Type.String({ description: "The auth mount (default approle)." })),
                },
                { additionalProperties: false },
              ),
              Type.Object(
                {
                  method: Type.Literal("kubernetes"),
                  role: Type.String({ description: "The Vault role bound to this service account." }),
                  mountPath: Type.Optional(
                    Type.String({ description: "The auth mount (default kubernetes)." }),
                  ),
                  jwtPath: Type.Optional(
                    Type.String({
                      description:
                        "The service account token (default /var/run/secrets/kubernetes.io/serviceaccount/token).",
                    }),
                  ),
                },
                { additionalProperties: false },
              ),
            ],
            {
              description:
                "How to log in: token (default: VAULT_TOKEN), approle (roleId + VAULT_SECRET_ID) or kubernetes (role + the service account token).",
            },
          ),
        ),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: (settings) => [
    "VAULT_TOKEN",
    settings.auth?.tokenEnv ?? "VAULT_TOKEN",
    settings.auth?.secretIdEnv ?? "VAULT_SECRET_ID",
  ],
  eso: {
    remoteRef(name, from, store) {
      if (from?.key) return { key: from.key, property: from.property };
      if (!store.settings.path) {
        throw new TesseraError("E_TARGET_INVALID", `${name}: the vault source "${store.name}" has no path`, {
          hint: `give the source a path (the secret holding the variables as fields), or give ${name} from: {source: ${store.name}, key: …, property: …}`,
        });
      }
      return { key: store.settings.path, property: from?.property ?? name };
    },
    secretStore(store, service, notes) {
      const settings = store.settings;
      const auth = settings.eso?.auth;
      let derived: Record<string, unknown>;
      const method = settings.auth?.method ?? "token";
      if (method === "kubernetes") {
        derived = {
          kubernetes: {
            mountPath: settings.auth?.mountPath ?? "kubernetes",
            role: settings.auth?.role ?? service,
          },
        };
      } else if (method === "approle") {
        const secretName = `${service}-vault-approle`;
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
        const secretName = `${service}-vault-token`;
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
    },
  },
  load: () => import("./vault.js").then((module) => module.provider),
};
