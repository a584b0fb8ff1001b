import type { StoreEntry } from "./types.js";

/**
 * The 1password store in the catalog (./catalog.ts): its manifest schema and credentials. Its provider,
 * ./onepassword.ts, is loaded by load(), at the first fetch.
 */
export const store: StoreEntry = {
  type: "1password",
  schema: ({ Type, SourceName, StoreCommon }) =>
    Type.Object(
      {
        type: Type.Literal("1password"),
        name: SourceName,
        vault: Type.Optional(Type.String({ description: "The 1Password vault." })),
        item: Type.Optional(
          Type.String({
            description:
              "An item whose fields are the variables (by label); without it, from: op://… references.",
          }),
        ),
        account: Type.Optional(Type.String({ description: "The account (op --account)." })),
        ...StoreCommon,
      },
      { additionalProperties: false },
    ),
  credentials: () => ["OP_SERVICE_ACCOUNT_TOKEN", "OP_CONNECT_TOKEN", "OP_SESSION"],
  load: () => import("./onepassword.js").then((module) => module.provider),
};
