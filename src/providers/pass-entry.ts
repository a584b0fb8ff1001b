import type { StoreEntry } from "./types.js";

/**
 * The pass store in the catalog (./catalog.ts): its manifest schema. Its provider, ./pass.ts, is loaded by
 * load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "pass",
  schema: ({ Type, SourceName, StoreCommon }) =>
    Type.Object(
      {
        type: Type.Literal("pass"),
        name: SourceName,
        prefix: Type.Optional(
          Type.String({ description: "The folder in the password store: entries are prefix/NAME." }),
        ),
        storeDir: Type.Optional(
          Type.String({
            description: "The password store (default PASSWORD_STORE_DIR or ~/.password-store).",
          }),
        ),
        ...StoreCommon,
      },
      { additionalProperties: false },
    ),
  load: () => import("./pass.js").then((module) => module.provider),
};
