import type { StoreEntry } from "./types.js";

/**
 * The exec store in the catalog (./catalog.ts): its manifest schema. Its provider, ./exec.ts, is loaded by
 * load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "exec",
  schema: ({ Type, SourceName, StoreCommon }) =>
    Type.Object(
      {
        type: Type.Literal("exec"),
        name: SourceName,
        command: Type.Array(Type.String(), {
          minItems: 1,
          description: "The command and its arguments (no shell); it prints the values.",
        }),
        format: Type.Optional(
          Type.Union([Type.Literal("json"), Type.Literal("dotenv")], {
            description: "What it prints: a JSON object of strings (default) or dotenv.",
          }),
        ),
        ...StoreCommon,
      },
      { additionalProperties: false },
    ),
  load: () => import("./exec.js").then((module) => module.provider),
};
