/**
 * gcp-secret-manager: Google Cloud Secret Manager, over its REST API with no Google library.
 *
 * - A searched NAME is the secret `prefix + NAME`; `from.key` is a secret id or a full resource name
 *   (projects/P/secrets/S, optionally …/versions/V); `property` a field of a JSON payload. The version
 *   is `version:` (default latest). One AccessSecretVersion call per distinct secret, through the pool.
 * - The fetcher (./fetch.ts, REST over node:https) and the credentials (./auth.ts: tokens from the
 *   environment, Application Default Credentials read natively, the metadata server; google-auth-library
 *   only for the credential types Tessera does not read, when installed) are a chunk of their own,
 *   loaded at the first fetch: the catalog (this file) stays small.
 */
import type { StoreEntry } from "../types.js";

/**
 * The gcp-secret-manager store in the catalog (../catalog.ts): its manifest schema, credentials and what the
 * External Secrets Operator reads. Its provider, ./fetch.ts, is loaded by load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "gcp-secret-manager",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("gcp-secret-manager"),
        name: SourceName,
        project: Type.String({
          description: "The Google Cloud project (id or number) that holds the secrets.",
        }),
        prefix: Type.Optional(Type.String({ description: "Secret ids are prefix + NAME." })),
        version: Type.Optional(Type.String({ description: "Default latest." })),
        endpoint: Type.Optional(
          Type.String({
            description:
              "A custom API endpoint: host or host:port (HTTPS), or a URL (http://127.0.0.1:8085 for an emulator).",
          }),
        ),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: () => ["GOOGLE_OAUTH_ACCESS_TOKEN", "CLOUDSDK_AUTH_ACCESS_TOKEN"],
  eso: {
    remoteRef: (name, from, store) => ({
      key: from?.key ?? `${store.settings.prefix ?? ""}${name}`,
      property: from?.property,
      version: store.settings.version ?? "latest",
    }),
    secretStore(store, _service, notes) {
      const auth = store.settings.eso?.auth;
      if (!auth)
        notes.push(
          `the GCP store "${store.name}" uses the operator's workload identity; set eso.auth to use a key`,
        );
      return { gcpsm: { projectID: store.settings.project ?? "", auth } };
    },
  },
  load: () => import("./fetch.js").then((module) => module.provider),
};
