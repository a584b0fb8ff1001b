/**
 * The aws-secrets-manager store: GetSecretValue (AWS JSON 1.1, signed by Tessera itself, no AWS SDK),
 * stage `versionStage` (default AWSCURRENT). Region, endpoint and credentials: ./client.ts, imported
 * only when a fetch happens.
 *
 * - `secret: ID`: one secret holding a JSON object; a searched NAME is a field of it. A `from: {key}`
 *   names a field of it, or else another secret (its id); `property` is a field inside the value (a
 *   dotted path such as `db.host` walks into nested objects).
 * - `prefix: P`: one secret per variable, id P + NAME. A `from: {key}` is a secret id, absolute (else
 *   P + key); `property` a field of its JSON value.
 * A binary secret is served as its bytes when they are UTF-8. Each secret id is fetched once, however many
 * variables read it, and the secrets of a source are fetched in parallel through the shared pool.
 * Not found is "missing", never an error (./errors.ts).
 */

import {
  type Fetched,
  field,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
} from "../types.js";
import type { AwsClient } from "./client.js";
import { failure, notFound } from "./errors.js";
import { parseJson, pick } from "./values.js";

const CURRENT = "AWSCURRENT";

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const { awsClient } = await import("./client.js");
    return fetchSecrets(requests, context, await awsClient(context, "secretsmanager"));
  },
};

interface Secret {
  text: string;
  /** The text as JSON, parsed once (undefined: not JSON). */
  json(): unknown;
}

async function fetchSecrets(
  requests: readonly LookupRequest[],
  context: ProviderContext,
  client: AwsClient,
): Promise<Map<string, Fetched>> {
  const { secret: mapId, prefix = "", versionStage } = context.source.settings;
  const stage = versionStage || CURRENT;
  const stageNote = stage === CURRENT ? "" : ` (stage ${stage})`;

  const fetched = new Map<string, Promise<Secret | undefined>>();
  const read = (id: string): Promise<Secret | undefined> => {
    let promise = fetched.get(id);
    if (!promise) {
      promise = context.retry(async (signal) => {
        try {
          const answer = await client.call("GetSecretValue", { SecretId: id, VersionStage: stage }, signal);
          return secretOf(id, answer.SecretString, answer.SecretBinary);
        } catch (error) {
          if (notFound(error)) return undefined;
          throw failure(error, `reading the secret ${id}${stageNote}`, context.env, {
            denied: `the identity needs secretsmanager:GetSecretValue on ${id} (and kms:Decrypt on its key)`,
          });
        }
      });
      fetched.set(id, promise);
    }
    return promise;
  };
  /** The `secret:` map's JSON object, or undefined when the secret does not exist. */
  const readMap = async (): Promise<object | undefined> => {
    if (!mapId) return undefined;
    const secret = await read(mapId);
    if (!secret) return undefined;
    const json = secret.json();
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new ProviderError("invalid", `the secret ${mapId}${stageNote} is not a JSON object`, {
        hint: 'secret: names one secret holding {"NAME": "value", …}; for one secret per variable use prefix:',
      });
    }
    return json;
  };

  const found = (value: string, where: string): Fetched => ({
    status: "found",
    value,
    where: where + stageNote,
  });
  const resolveOne = async (request: LookupRequest): Promise<Fetched> => {
    const { key, property } = request;
    const suffix = property === undefined ? "" : `#${property}`;
    // 1. A field of the `secret:` map (for a `from:`, with `property` inside that field's value).
    if (mapId) {
      const map = await readMap();
      const value = map ? field(map, key) : undefined;
      if (value !== undefined) {
        if (property === undefined) return found(value, `${mapId}#${key}`);
        const inner = pick(value, property);
        if (inner !== undefined) return found(inner, `${mapId}#${key}.${property}`);
      }
      if (request.searched && !context.source.settings.prefix)
        return { status: "missing", where: `${mapId}#${key}` };
    }
    // 2. A secret of its own: the key as an id (a `from:`), then with the prefix.
    const ids = request.searched
      ? [prefix + key]
      : prefix && prefix + key !== key
        ? [key, prefix + key]
        : [key];
    for (const id of ids) {
      const secret = await read(id);
      if (!secret) continue;
      if (property === undefined) return found(secret.text, id);
      const value = pick(secret.json(), property);
      if (value !== undefined) return found(value, `${id}${suffix}`);
    }
    // 3. `from: {property}` alone on a `secret:` source: a field of the map (the key was the variable's name).
    if (mapId && property !== undefined) {
      const value = pick(await readMap(), property);
      if (value !== undefined) return found(value, `${mapId}#${property}`);
    }
    return { status: "missing", where: `${ids[0]}${suffix}` };
  };

  try {
    const results = await context.pool(requests, resolveOne);
    return new Map(requests.map((request, index) => [request.id, results[index]!]));
  } finally {
    client.close();
  }
}

/** The secret's value: SecretString, else SecretBinary (base64 in JSON) as UTF-8 text. */
function secretOf(id: string, text: unknown, binary: unknown): Secret | undefined {
  let value = typeof text === "string" ? text : undefined;
  if (value === undefined && typeof binary === "string") {
    try {
      value = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
        Buffer.from(binary, "base64"),
      );
    } catch {
      throw new ProviderError("invalid", `the secret ${id} is binary and not UTF-8 text`, {
        hint: "Tessera serves text: store the value as a string (base64 for bytes)",
      });
    }
  }
  if (value === undefined) return undefined;
  const string = value;
  let parsed: { json: unknown } | undefined;
  return {
    text: string,
    json() {
      parsed ??= { json: parseJson(string) };
      return parsed.json;
    },
  };
}
