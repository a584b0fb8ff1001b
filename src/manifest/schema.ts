/**
 * The tessera.yaml schema, written once with TypeBox: it validates manifests and is published as
 * JSON Schema (`tessera schema`) so that editors complete and check the file.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { isRecord } from "../model/guards.js";
import {
  ENV_NAME,
  type FileSourceType,
  SCHEMA_URL,
  type StoreSettings,
  type StoreType,
  type ValueType,
} from "../model/spec.js";
import { CATALOG } from "../providers/catalog.js";

const NamePattern = ENV_NAME.source;

const Name = Type.String({
  pattern: NamePattern,
  description: "An environment variable name: letters, digits and _, not starting with a digit.",
});

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

/** External stores: every type in the store catalog. */
export const STORE_TYPES: readonly StoreType[] = CATALOG.map((entry) => entry.type);
/** Source types the manifest accepts: the value files and every store type. */
export const KNOWN_SOURCE_TYPES: readonly string[] = ["dotenv", "yaml", "files", ...STORE_TYPES];

export function isStoreType(type: string): type is StoreType {
  return STORE_TYPES.some((known) => known === type);
}

export function isFileSourceType(type: string): type is FileSourceType {
  return type === "dotenv" || type === "yaml" || type === "files";
}

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

/** The types a declared value may be checked against (model/spec.ts ValueType). */
export const VALUE_TYPES = [
  "string",
  "url",
  "port",
  "integer",
  "number",
  "boolean",
  "enum",
  "email",
  "json",
  "pem",
  "base64",
  "duration",
  "hostname",
] as const satisfies readonly ValueType[];

/** What a value must look like (issue 12): checked before anything runs, E_VALUE_INVALID (exit 4). */
const ShapeKeys = {
  type: Type.Optional(
    Type.Union(
      VALUE_TYPES.map((type) => Type.Literal(type)),
      {
        description:
          "What the value must be: string, url, port (1-65535), integer, number, boolean (true/false/1/0/yes/no), enum (one of enum:), email, json, pem, base64, duration (30s, 1h30m) or hostname. A value that does not fit stops check, run, build, deploy and export (E_VALUE_INVALID, exit 4).",
      },
    ),
  ),
  enum: Type.Optional(
    Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
      description: "The values allowed (compared as text); implies type: enum when no type is given.",
    }),
  ),
  pattern: Type.Optional(
    Type.String({
      description: "A regular expression the whole value must match (anchored: ^(?:pattern)$, Unicode mode).",
    }),
  ),
  startsWith: Type.Optional(
    Type.String({ description: "Text the value must start with (a key's prefix: sk_live_)." }),
  ),
  minLength: Type.Optional(
    Type.Integer({ minimum: 0, description: "The fewest characters the value may have." }),
  ),
  maxLength: Type.Optional(
    Type.Integer({ minimum: 0, description: "The most characters the value may have." }),
  ),
  min: Type.Optional(Type.Number({ description: "The smallest number allowed (port, integer, number)." })),
  max: Type.Optional(Type.Number({ description: "The largest number allowed (port, integer, number)." })),
};

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
      ...ShapeKeys,
    },
    { additionalProperties: false },
  ),
]);

const Secrets = Type.Union(
  [
    Type.Object(
      {
        required: Type.Optional(
          Type.Array(SecretEntry, {
            description: "Secrets that must be set: a missing one stops run, build and deploy (exit 3).",
          }),
        ),
        optional: Type.Optional(
          Type.Array(SecretEntry, {
            description: "Secrets that may be absent (left out of what is delivered).",
          }),
        ),
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
      value: Type.Optional(
        Type.Union([Type.String(), Type.Number(), Type.Boolean()], {
          description: "The value (interpolated); any layer above the manifest overrides it.",
        }),
      ),
      description: Type.Optional(
        Type.String({ description: "What the setting is for (shown by explain and when it is missing)." }),
      ),
      required: Type.Optional(
        Type.Boolean({ description: "When true, some layer must set a non-empty value." }),
      ),
      from: Type.Optional(From),
      ...ShapeKeys,
    },
    { additionalProperties: false },
  ),
]);

const Config = Type.Record(Type.String({ pattern: NamePattern }), ConfigEntry, {
  additionalProperties: false,
  description:
    "Non-sensitive variables: NAME: value (interpolated) or {value, description, required, from, type, enum, pattern, …}.",
});

const FileSource = (type: FileSourceType) =>
  Type.Object(
    {
      type: Type.Literal(type, {
        description:
          type === "files"
            ? "A directory of one-file secrets (/run/secrets, a Kubernetes secret volume): each file's name is a variable, its text the value."
            : type === "yaml"
              ? "A YAML value file: a flat mapping of names to scalars."
              : "A dotenv file (the Compose dialect).",
      }),
      path: Type.String({ description: "Relative to the manifest's directory." }),
      name: Type.Optional(Type.String({ description: "A name other declarations (`from:`) can refer to." })),
      required: Type.Optional(
        Type.Boolean({ description: "Fail when the file is missing (default false)." }),
      ),
    },
    { additionalProperties: false },
  );

/**
 * Any other `type`: admitted by the schema so that the manifest reader reports an unknown type with a
 * suggestion (E_SOURCE_UNKNOWN) instead of a union error. The published schema leaves it out (editors
 * reject an unknown type at once): see jsonSchema().
 */
const CATCH_ALL = "catch-all: unknown source types are reported by the manifest reader";
const OtherSource = Type.Object(
  {
    type: Type.String({ description: "A source type." }),
  },
  { additionalProperties: true, $comment: CATCH_ALL },
);

/** Each store type's schema, from the store catalog (../providers/catalog.ts). */
const STORE_SCHEMAS = new Map<string, TSchema>(
  CATALOG.map((entry) => [entry.type, entry.schema({ Type, SourceName, StoreCommon, EsoBlock })]),
);

/** The manifest schema of a store type's source. */
export function storeSchema(type: StoreType): TSchema {
  return STORE_SCHEMAS.get(type)!;
}

/**
 * A store's source as its schema admits it: its type, name and the store's settings. Each store's
 * schema (in its file under ../providers/) allows only fields of StoreSettings, with their types.
 */
export type StoreSourceEntry = StoreSettings & { type: StoreType; name?: string };

const Source = Type.Union([
  FileSource("dotenv"),
  FileSource("yaml"),
  FileSource("files"),
  ...STORE_SCHEMAS.values(),
  OtherSource,
]);

const Files = Type.Array(Type.String(), {
  description: "Shorthand for file sources: *.yaml/*.yml are YAML value files, anything else dotenv.",
});

const Profile = Type.Object(
  {
    config: Type.Optional(Config),
    secrets: Type.Optional(Secrets),
    sources: Type.Optional(
      Type.Array(Source, {
        description: "The profile's sources: they rank above the workspace store and the generic files.",
      }),
    ),
    files: Type.Optional(Files),
  },
  {
    additionalProperties: false,
    description:
      "A profile's own config, secrets and sources; its values outrank the generic files (`{}` declares a profile with nothing of its own).",
  },
);

const Service = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description:
          "Service name used by build targets: the container, compose service and Kubernetes objects (turned into a DNS-1123 label for Kubernetes).",
      }),
    ),
    image: Type.Optional(Type.String({ description: "Container image used by build targets." })),
    port: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description:
          "The port the service listens on (1–65535): published by docker/compose, the container port in Kubernetes.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "Facts about the service that build targets need; flags (--name, --image) override them.",
  },
);

export const TesseraManifestSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: "The JSON Schema this file follows (for editors)." })),
    version: Type.Optional(
      Type.Union([Type.Literal(1), Type.Literal("1")], {
        description: "The manifest format's version: 1 (the only one so far).",
      }),
    ),
    service: Type.Optional(Service),
    secrets: Type.Optional(Secrets),
    config: Type.Optional(Config),
    sources: Type.Optional(
      Type.Array(Source, { description: "Where values come from, in order (first wins)." }),
    ),
    files: Type.Optional(Files),
    emptyIsUnset: Type.Optional(
      Type.Boolean({
        description:
          "An empty value counts as unset: it does not shadow lower layers (CI systems turn unset variables into empty ones). Same as --empty-is-unset.",
      }),
    ),
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
/** One entry of a `secrets:` list: a name, or a mapping with one. */
export type SecretEntry = Static<typeof SecretEntry>;

/** The JSON Schema document published by `tessera schema`: one branch per source type, no catch-all. */
export function jsonSchema(): Record<string, unknown> {
  // Through JSON: TypeBox's own (symbol) keys are left out; the catch-all source branch too.
  const plain: unknown = JSON.parse(JSON.stringify(TesseraManifestSchema), (_key, value: unknown) =>
    Array.isArray(value)
      ? value.filter((entry) => !(isRecord(entry) && entry.$comment === CATCH_ALL))
      : value,
  );
  if (!isRecord(plain)) throw new TypeError("the manifest schema is not an object");
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: SCHEMA_URL,
    ...plain,
  };
}
