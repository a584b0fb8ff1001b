import type { StoreEntry } from "./types.js";

/**
 * The age-file store in the catalog (./catalog.ts): its manifest schema. Its provider, ./age-file.ts, is
 * loaded by load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "age-file",
  schema: ({ Type, SourceName, StoreCommon }) =>
    Type.Object(
      {
        type: Type.Literal("age-file"),
        name: SourceName,
        path: Type.String({
          description: "An age-encrypted file (relative to the manifest), opened with your identity.",
        }),
        format: Type.Optional(
          Type.Union([Type.Literal("dotenv"), Type.Literal("json"), Type.Literal("yaml")], {
            description:
              "What it holds once decrypted (default: by the name without .age; dotenv otherwise).",
          }),
        ),
        ...StoreCommon,
      },
      { additionalProperties: false },
    ),
  load: () => import("./age-file.js").then((module) => module.provider),
};
