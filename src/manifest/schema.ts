/**
 * The tessera.yaml schema, written once with TypeBox: it validates manifests and is published as
 * JSON Schema (`tessera schema`) so that editors complete and check the file.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { ENV_NAME } from "../model/spec.js";

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
/** Source types the manifest accepts: every known one. */
export const SUPPORTED_SOURCE_TYPES = KNOWN_SOURCE_TYPES;
/** External stores (layer 6): every source type but the value files. */
export const STORE_TYPES = [
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
/** The stores the External Secrets Operator can read in a cluster (the external-secrets target). */
export const ESO_STORE_TYPES = [
  "vault",
  "aws-secrets-manager",
  "aws-ssm",
  "gcp-secret-manager",
  "azure-key-vault",
] as const;

const Duration = Type.String({
  pattern: "^[0-9]+(ms|s|m|h|d)$",
  description: "A duration: a number and a unit, ms, s, m, h or d (30s, 10m, 1h).",
});

/** Fields every external store takes: a local encrypted cache of what was fetched, and a time limit. */
const StoreCommon = {
  cache: Type.Optional(
    Type.Object(
      { maxAge: Duration },
      {
        additionalProperties: false,
        description:
          "Keep fetched values encrypted on disk (age, your identity) for maxAge; --offline uses the cache only.",
      },
    ),
  ),
  timeout: Type.Optional(
    Type.String({
      pattern: "^[0-9]+(ms|s|m|h|d)$",
      description: "How long one request may take (default 10s), e.g. 30s.",
    }),
  ),
};

const EsoBlock = Type.Optional(
  Type.Object(
    {
      auth: Type.Optional(
        Type.Record(Type.String(), Type.Unknown(), {
          description:
            "The `auth` block of the ESO SecretStore provider, passed as written (overrides the one Tessera derives).",
        }),
      ),
    },
    { additionalProperties: false, description: "Settings for the External Secrets Operator target." },
  ),
);

const SourceName = Type.Optional(
  Type.String({ pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", description: "Default: the type." }),
);

export const VaultSourceSchema = Type.Object(
  {
    type: Type.Literal("vault"),
    name: SourceName,
    address: Type.Optional(
      Type.String({
        description: "The Vault server, e.g. https://vault.example.com:8200 (default: VAULT_ADDR).",
      }),
    ),
    namespace: Type.Optional(Type.String({ description: "Vault Enterprise namespace." })),
    mount: Type.Optional(Type.String({ description: "The KV mount (default secret)." })),
    path: Type.Optional(
      Type.String({ description: "The path under the mount that holds the variables as fields." }),
    ),
    version: Type.Optional(
      Type.Union([Type.Literal("v1"), Type.Literal("v2")], { description: "KV version (default v2)." }),
    ),
    caCert: Type.Optional(
      Type.String({ description: "A PEM file of CA certificates to trust (default: VAULT_CACERT)." }),
    ),
    auth: Type.Optional(
      Type.Union([
        Type.Object(
          {
            method: Type.Literal("token"),
            tokenEnv: Type.Optional(
              Type.String({
                description: "The variable holding the token (default VAULT_TOKEN, then ~/.vault-token).",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        Type.Object(
          {
            method: Type.Literal("approle"),
            roleId: Type.String(),
            secretIdEnv: Type.Optional(
              Type.String({ description: "The variable holding the secret id (default VAULT_SECRET_ID)." }),
            ),
            path: Type.Optional(Type.String({ description: "The auth mount (default approle)." })),
          },
          { additionalProperties: false },
        ),
        Type.Object(
          {
            method: Type.Literal("kubernetes"),
            role: Type.String(),
            mountPath: Type.Optional(Type.String({ description: "The auth mount (default kubernetes)." })),
            jwtPath: Type.Optional(
              Type.String({
                description:
                  "The service account token (default /var/run/secrets/kubernetes.io/serviceaccount/token).",
              }),
            ),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    ...StoreCommon,
    eso: EsoBlock,
  },
  { additionalProperties: false },
);

export const AwsSecretsManagerSourceSchema = Type.Object(
  {
    type: Type.Literal("aws-secrets-manager"),
    name: SourceName,
    region: Type.Optional(Type.String()),
    secret: Type.Optional(Type.String({ description: "One JSON secret holding every variable as a key." })),
    prefix: Type.Optional(Type.String({ description: "One secret per variable, named prefix + NAME." })),
    versionStage: Type.Optional(Type.String({ description: "Default AWSCURRENT." })),
    role: Type.Optional(Type.String({ description: "An IAM role to assume." })),
    endpoint: Type.Optional(
      Type.String({ description: "A custom endpoint URL (a VPC endpoint, LocalStack)." }),
    ),
    ...StoreCommon,
    eso: EsoBlock,
  },
  { additionalProperties: false },
);

export const AwsSsmSourceSchema = Type.Object(
  {
    type: Type.Literal("aws-ssm"),
    name: SourceName,
    region: Type.Optional(Type.String()),
    path: Type.String({ description: "The parameter path prefix, e.g. /app/production/." }),
    recursive: Type.Optional(Type.Boolean()),
    decrypt: Type.Optional(Type.Boolean({ description: "Decrypt SecureString parameters (default true)." })),
    role: Type.Optional(Type.String()),
    endpoint: Type.Optional(
      Type.String({ description: "A custom endpoint URL (a VPC endpoint, LocalStack)." }),
    ),
    ...StoreCommon,
    eso: EsoBlock,
  },
  { additionalProperties: false },
);

export const GcpSourceSchema = Type.Object(
  {
    type: Type.Literal("gcp-secret-manager"),
    name: SourceName,
    project: Type.String(),
    prefix: Type.Optional(Type.String({ description: "Secret ids are prefix + NAME." })),
    version: Type.Optional(Type.String({ description: "Default latest." })),
    endpoint: Type.Optional(Type.String({ description: "A custom API endpoint (host[:port])." })),
    ...StoreCommon,
    eso: EsoBlock,
  },
  { additionalProperties: false },
);

export const AzureSourceSchema = Type.Object(
  {
    type: Type.Literal("azure-key-vault"),
    name: SourceName,
    vaultUrl: Type.String({ description: "e.g. https://my-vault.vault.azure.net" }),
    prefix: Type.Optional(
      Type.String({ description: "Secret names are prefix + NAME, with _ written as - (Azure's rule)." }),
    ),
    tenantId: Type.Optional(Type.String()),
    ...StoreCommon,
    eso: EsoBlock,
  },
  { additionalProperties: false },
);

export const OnePasswordSourceSchema = Type.Object(
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
);

export const PassSourceSchema = Type.Object(
  {
    type: Type.Literal("pass"),
    name: SourceName,
    prefix: Type.Optional(
      Type.String({ description: "The folder in the password store: entries are prefix/NAME." }),
    ),
    storeDir: Type.Optional(
      Type.String({ description: "The password store (default PASSWORD_STORE_DIR or ~/.password-store)." }),
    ),
    ...StoreCommon,
  },
  { additionalProperties: false },
);

export const KeePassXcSourceSchema = Type.Object(
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
);

export const ExecSourceSchema = Type.Object(
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
);

export const AgeFileSourceSchema = Type.Object(
  {
    type: Type.Literal("age-file"),
    name: SourceName,
    path: Type.String({
      description: "An age-encrypted file (relative to the manifest), opened with your identity.",
    }),
    format: Type.Optional(
      Type.Union([Type.Literal("dotenv"), Type.Literal("json"), Type.Literal("yaml")], {
        description: "What it holds once decrypted (default: by the name without .age; dotenv otherwise).",
      }),
    ),
    ...StoreCommon,
  },
  { additionalProperties: false },
);

export const DotenvxFileSourceSchema = Type.Object(
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
);

export const STORE_SCHEMAS = {
  "1password": OnePasswordSourceSchema,
  pass: PassSourceSchema,
  keepassxc: KeePassXcSourceSchema,
  exec: ExecSourceSchema,
  "age-file": AgeFileSourceSchema,
  "dotenvx-file": DotenvxFileSourceSchema,
  vault: VaultSourceSchema,
  "aws-secrets-manager": AwsSecretsManagerSourceSchema,
  "aws-ssm": AwsSsmSourceSchema,
  "gcp-secret-manager": GcpSourceSchema,
  "azure-key-vault": AzureSourceSchema,
} as const;

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
      from: Type.Optional(From),
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

const Source = Type.Union([
  FileSource("dotenv"),
  FileSource("yaml"),
  VaultSourceSchema,
  AwsSecretsManagerSourceSchema,
  AwsSsmSourceSchema,
  GcpSourceSchema,
  AzureSourceSchema,
  OnePasswordSourceSchema,
  PassSourceSchema,
  KeePassXcSourceSchema,
  ExecSourceSchema,
  AgeFileSourceSchema,
  DotenvxFileSourceSchema,
  OtherSource,
]);

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
