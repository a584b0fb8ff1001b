import type { StoreEntry } from "./types.js";

/**
 * The keepassxc store in the catalog (./catalog.ts): its manifest schema and credentials. Its provider,
 * ./keepassxc.ts, is loaded by load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "keepassxc",
  schema: ({ Type, SourceName, StoreCommon }) =>
    Type.Object(
      {
        type: Type.Literal("keepassxc"),
        name: SourceName,
        database: Type.String({ description: "The .kdbx file (relative to the manifest)." }),
        group: Type.Optional(
          Type.String({ description: "The group whose entries are the variables (by title)." }),
        ),
        keyFile: Type.Optional(Type.String({ description: "A key file (relative to the manifest)." })),
        passwordEnv: Type.Optional(
          Type.String({
            description: "The variable holding the database password (default KEEPASSXC_PASSWORD).",
          }),
        ),
        ...StoreCommon,
      },
      { additionalProperties: false },
    ),
  credentials: (settings) => [settings.passwordEnv ?? "KEEPASSXC_PASSWORD"],
  load: () => import("./keepassxc.js").then((module) => module.provider),
};
