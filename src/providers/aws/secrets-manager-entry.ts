import type { StoreEntry } from "../types.js";
import { awsCommonFields, awsSecretStore } from "./eso.js";
import { AWS_CREDENTIALS } from "./names.js";

/**
 * The aws-secrets-manager store in the catalog (../catalog.ts): its manifest schema, credentials and what the
 * External Secrets Operator reads. Its provider, ./secrets-manager.ts, is loaded by load(), at the first
 * fetch.
 */
export const secretsManagerStore: StoreEntry = {
  type: "aws-secrets-manager",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("aws-secrets-manager"),
        name: SourceName,
        ...awsCommonFields({ Type }),
        secret: Type.Optional(
          Type.String({ description: "One JSON secret holding every variable as a key." }),
        ),
        prefix: Type.Optional(Type.String({ description: "One secret per variable, named prefix + NAME." })),
        versionStage: Type.Optional(Type.String({ description: "Default AWSCURRENT." })),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: () => AWS_CREDENTIALS,
  eso: {
    remoteRef(name, from, store) {
      const { secret, prefix, versionStage: version } = store.settings;
      if (from?.key) return { key: from.key, property: from.property, version };
      if (secret) return { key: secret, property: from?.property ?? name, version };
      return { key: `${prefix ?? ""}${name}`, property: from?.property, version };
    },
    secretStore: (store, _service, notes) => awsSecretStore(store, notes),
  },
  load: () => import("./secrets-manager.js").then((module) => module.provider),
};
