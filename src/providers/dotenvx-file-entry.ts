import type { StoreEntry } from "./types.js";

/**
 * The dotenvx-file store in the catalog (./catalog.ts): its manifest schema and credentials. Its provider,
 * ./dotenvx-file.ts, is loaded by load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "dotenvx-file",
  schema: ({ Type, SourceName, StoreCommon }) =>
    Type.Object(
      {
        type: Type.Literal("dotenvx-file"),
        name: SourceName,
        path: Type.String({ description: "A .env file encrypted by dotenvx (relative to the manifest)." }),
        keysFile: Type.Optional(
          Type.String({ description: "The private keys (default: .env.keys next to the file)." }),
        ),
        environment: Type.Optional(
          Type.String({
            description:
              "Which DOTENV_PRIVATE_KEY_<ENVIRONMENT> opens it (default: from the file name, as dotenvx does).",
          }),
        ),
        ...StoreCommon,
      },
      { additionalProperties: false },
    ),
  credentials: () => ["DOTENV_PRIVATE_KEY"],
  // dotenvx's keys are DOTENV_PRIVATE_KEY and DOTENV_PRIVATE_KEY_<ENVIRONMENT>.
  isCredential: (name) => name.startsWith("DOTENV_PRIVATE_KEY"),
  load: () => import("./dotenvx-file.js").then((module) => module.provider),
};
