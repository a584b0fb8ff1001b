import type { StoreEntry } from "../types.js";
import { awsCommonFields, awsSecretStore } from "./eso.js";
import { AWS_CREDENTIALS } from "./names.js";

/**
 * The aws-ssm store in the catalog (../catalog.ts): its manifest schema, credentials and what the External
 * Secrets Operator reads. Its provider, ./ssm.ts, is loaded by load(), at the first fetch.
 */
export const ssmStore: StoreEntry = {
  type: "aws-ssm",
  schema: ({ Type, SourceName, StoreCommon, EsoBlock }) =>
    Type.Object(
      {
        type: Type.Literal("aws-ssm"),
        name: SourceName,
        ...awsCommonFields({ Type }),
        path: Type.String({ description: "The parameter path prefix, e.g. /app/production/." }),
        recursive: Type.Optional(
          Type.Boolean({
            description:
              "List the whole hierarchy under path (GetParametersByPath) and find a NAME deeper down by its last segment.",
          }),
        ),
        decrypt: Type.Optional(
          Type.Boolean({ description: "Decrypt SecureString parameters (default true)." }),
        ),
        ...StoreCommon,
        eso: EsoBlock,
      },
      { additionalProperties: false },
    ),
  credentials: () => AWS_CREDENTIALS,
  eso: {
    remoteRef(name, from, store) {
      const path = store.settings.path;
      const prefix = path?.endsWith("/") ? path : `${path ?? ""}/`;
      return { key: from?.key ?? `${prefix}${name}`, property: from?.property };
    },
    secretStore: (store, _service, notes) => awsSecretStore(store, notes),
  },
  load: () => import("./ssm.js").then((module) => module.provider),
};
