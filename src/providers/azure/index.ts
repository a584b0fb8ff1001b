/**
 * azure-key-vault: Azure Key Vault secrets, over Key Vault's REST API with no Azure library.
 *
 * - A searched NAME is the secret `prefix + NAME` with every _ written - (Key Vault names hold only
 *   letters, digits and -); `from.key` is a secret name as written, or NAME/VERSION; `property` a field
 *   of a JSON value. One get per distinct secret, through the pool.
 * - The fetcher (./fetch.ts: REST over node:https, challenge-based auth) and the credentials
 *   (./auth.ts: AZURE_ACCESS_TOKEN, a client secret, workload identity, managed identity and the Azure
 *   CLI natively; @azure/identity only for the credential types Tessera does not read, when installed)
 *   are a chunk of their own, loaded at the first fetch: the catalog (this file) stays small.
 */
import type { StoreEntry } from "../types.js";
import { searchedName, targetProblem } from "./names.js";

/**
 * The azure-key-vault store in the catalog (../catalog.ts): its manifest schema, credentials and what the
 * External Secrets Operator reads. Its provider, ./fetch.ts, is loaded by load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "azure-key-vault",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("azure-key-vault"),
        name: SourceName,
        vaultUrl: Type.String({ description: "e.g. https://my-vault.vault.azure.net" }),
        prefix: Type.Optional(
          Type.String({ description: "Secret names are prefix + NAME, with _ written as - (Azure's rule)." }),
        ),
        tenantId: Type.Optional(
          Type.String({
            description:
              "The Microsoft Entra tenant to sign in to (default AZURE_TENANT_ID; the Azure CLI: the vault's).",
          }),
        ),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: () => [
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_PASSWORD",
    "AZURE_ACCESS_TOKEN",
  ],
  keyProblem: (key) => (targetProblem(key) ? "is not a Key Vault secret name" : undefined),
  eso: {
    // The same rule as the provider's: a searched NAME is prefix + NAME with _ written -, a from: key as written.
    remoteRef: (name, from, store) => ({
      key: `secret/${from?.key ?? searchedName(store.settings.prefix, name)}`,
      property: from?.property,
    }),
    secretStore(store, _service, notes) {
      const auth = store.settings.eso?.auth;
      if (!auth)
        notes.push(
          `the Azure store "${store.name}" uses a managed identity; set eso.auth for another method`,
        );
      return {
        azurekv: {
          vaultUrl: store.settings.vaultUrl ?? "",
          tenantId: store.settings.tenantId,
          ...(auth ?? { authType: "ManagedIdentity" }),
        },
      };
    },
  },
  load: () => import("./fetch.js").then((module) => module.provider),
};
