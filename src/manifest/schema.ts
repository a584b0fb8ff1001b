/**
 * The tessera.yaml schema, written once with TypeBox: it validates manifests and is published as
 * JSON Schema (`tessera schema`) so that editors complete and check the file.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { ENV_NAME } from "./spec.js";

const NamePattern = ENV_NAME.source;

const Name = Type.String({
  pattern: NamePattern,
  description: "An environment variable name: letters, digits and _, not starting with a digit.",
});

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

export const KNOWN_SOURCE_TYPES = [
  "dotenv",
  "yaml",
  "vault",
  "aws-secrets-manager",
  "aws-ssm",
  "gcp-secret-manager",
  "azure-key-vault",
  "1password",
  "pass",
  "keepassxc",
  "exec",
  "age-file",
  "dotenvx-file",
] as const;
export const SUPPORTED_SOURCE_TYPES = ["dotenv", "yaml"] as const;

const From = Type.Union(
  [
    Type.String({ description: "The name of a declared source; the key is the variable's own name." }),
    Type.Object(
      {
        source: Type.String({ description: "The `name` of a declared source." }),
        key: Type.Optional(
          Type.String({ description: "The key or path in that source (default: the variable name)." }),
        ),
        property: Type.Optional(Type.String({ description: "A field inside a structured (JSON) value." })),
      },
      { additionalProperties: false },
    ),
  ],
  { description: "Where the value lives: a declared source and a key in it." },
);

const SecretEntry = Type.Union([
  Name,
  Type.Object(
    {
      name: Name,
      description: Type.Optional(
        Type.String({ description: "What the secret is for (shown when it is missing)." }),
      ),
      default: Type.Optional(
        Type.String({ description: "Used when no layer sets the variable (interpolated)." }),
      ),
      from: Type.Optional(From),
    },
    { additionalProperties: false },
  ),
]);

const SecretList = Type.Array(SecretEntry);

const Secrets = Type.Union(
  [
    Type.Object(
      {
        required: Type.Optional(SecretList),
        optional: Type.Optional(SecretList),
      },
      { additionalProperties: false },
    ),
    Type.Array(SecretEntry, { description: "A plain list: every entry is required." }),
  ],
  { description: "Sensitive variables: never written to config artifacts, masked in `run` output." },
);

const ConfigEntry = Type.Union([
  Scalar,
  Type.Object(
    {
      value: Type.Optional(Scalar),
      description: Type.Optional(Type.String()),
      required: Type.Optional(
        Type.Boolean({ description: "When true, some layer must set a non-empty value." }),
      ),
    },
    { additionalProperties: false },
  ),
]);

const Config = Type.Record(Type.String({ pattern: NamePattern }), ConfigEntry, {
  additionalProperties: false,
  description: "Non-sensitive variables: NAME: value (interpolated) or {value, description, required}.",
});

const FileSource = (type: "dotenv" | "yaml") =>
  Type.Object(
    {
      type: Type.Literal(type),
      path: Type.String({ description: "Relative to the manifest's directory." }),
      name: Type.Optional(Type.String({ description: "A name other declarations (`from:`) can refer to." })),
      required: Type.Optional(
        Type.Boolean({ description: "Fail when the file is missing (default false)." }),
      ),
    },
    { additionalProperties: false },
  );

const OtherSource = Type.Object(
  {
    type: Type.String({ description: "A source type." }),
  },
  { additionalProperties: true },
);

const Source = Type.Union([FileSource("dotenv"), FileSource("yaml"), OtherSource]);

const Files = Type.Array(Type.String(), {
  description: "Shorthand for file sources: *.yaml/*.yml are YAML value files, anything else dotenv.",
});

const Profile = Type.Object(
  {
    config: Type.Optional(Config),
    secrets: Type.Optional(Secrets),
    sources: Type.Optional(Type.Array(Source)),
    files: Type.Optional(Files),
  },
  { additionalProperties: false },
);

const Service = Type.Object(
  {
    name: Type.Optional(Type.String({ description: "Service name used by build targets." })),
    image: Type.Optional(Type.String({ description: "Container image used by build targets." })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  },
  { additionalProperties: false },
);

export const TesseraManifestSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Optional(Type.Union([Type.Literal(1), Type.Literal("1")])),
    service: Type.Optional(Service),
    secrets: Type.Optional(Secrets),
    config: Type.Optional(Config),
    sources: Type.Optional(
      Type.Array(Source, { description: "Where values come from, in order (first wins)." }),
    ),
    files: Type.Optional(Files),
    profiles: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$" }), Profile, {
        additionalProperties: false,
        description: "Per-environment settings, selected with --env NAME or TESSERA_ENV.",
      }),
    ),
  },
  {
    additionalProperties: false,
    title: "Tessera manifest (tessera.yaml)",
    description: "Declares the variables a service needs and where their values come from, never the values.",
  },
);

export type TesseraManifest = Static<typeof TesseraManifestSchema>;

/** The JSON Schema document published by `tessera schema`. */
export function jsonSchema(): Record<string, unknown> {
  const strip = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema));
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://tessera.dev/schema/tessera.schema.json",
    ...(strip(TesseraManifestSchema) as Record<string, unknown>),
  };
}
