/**
 * The aws-ssm store: SSM Parameter Store (AWS JSON 1.1, signed by Tessera itself, no AWS SDK). Region,
 * endpoint and credentials: ./client.ts, imported only when a fetch happens.
 *
 * A searched NAME is the parameter `path` + NAME; a `from: {key}` is a parameter name, absolute when it
 * starts with `/`, else relative to `path`. Parameters are read by name with GetParameters, ten names a
 * call (the API's limit), the calls in parallel through the pool: 80 names cost one round trip.
 * (GetParametersByPath would return at most ten parameters a page, pages strictly one after the other,
 * and every parameter under the path, needed or not.) SecureString values are decrypted unless
 * `decrypt: false`; StringList values are served as stored (comma-separated). Not found is "missing",
 * never an error (./errors.ts).
 */

import {
  type Fetched,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
} from "../types.js";
import type { AwsClient } from "./client.js";
import { failure, notFound } from "./errors.js";
import { pick } from "./values.js";

const SSM_BATCH = 10;

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    checkPath(context.source.settings.path ?? "");
    const { awsClient } = await import("./client.js");
    return fetchParameters(requests, context, await awsClient(context, "ssm"));
  },
};

function checkPath(path: string): void {
  if (!path.startsWith("/")) {
    throw new ProviderError("invalid", `the path ${path || "(empty)"} does not start with /`, {
      hint: "path: is a parameter hierarchy, e.g. path: /app/production/",
    });
  }
}

/** A parameter of an answer: its name (with a selector) and value, when both are there. */
function parameterOf(item: unknown): { name: string; value: string } | undefined {
  if (item === null || typeof item !== "object") return undefined;
  const { Name, Value, Selector } = item as Record<string, unknown>;
  if (typeof Name !== "string" || typeof Value !== "string") return undefined;
  return { name: Name + (typeof Selector === "string" ? Selector : ""), value: Value };
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

async function fetchParameters(
  requests: readonly LookupRequest[],
  context: ProviderContext,
  client: AwsClient,
): Promise<Map<string, Fetched>> {
  const { path = "", decrypt } = context.source.settings;
  const base = path.endsWith("/") ? path : `${path}/`;
  const recursive = context.source.settings.recursive === true;
  const direct = (request: LookupRequest) =>
    !request.searched && request.key.startsWith("/") ? request.key : base + request.key;
  const values = new Map<string, string>();
  // recursive: one listing of the whole hierarchy (GetParametersByPath, page after page); a searched
  // NAME is path/NAME, else the one parameter deeper down whose last segment is NAME.
  let deeper: Map<string, string[]> | undefined;
  if (recursive && requests.length > 0) {
    try {
      deeper = await listHierarchy(client, base, decrypt ?? true, values, context);
    } catch (error) {
      client.close();
      throw error;
    }
  }
  const nameOf = (request: LookupRequest): string => {
    const name = direct(request);
    if (!deeper || !request.searched || values.has(name)) return name;
    const matches = deeper.get(request.key) ?? [];
    if (matches.length > 1) {
      throw new ProviderError(
        "invalid",
        `${request.key} is found at ${matches.length} places under ${base}: ${matches.join(", ")}`,
        { hint: `name the one you mean with from: {key: ...} on the declaration of ${request.key}` },
      );
    }
    return matches[0] ?? name;
  };
  try {
    const names = [...new Set(requests.map(nameOf))].filter(
      (name) => !(recursive && (values.has(name) || name.startsWith(base))),
    );
    const batches: string[][] = [];
    for (let index = 0; index < names.length; index += SSM_BATCH)
      batches.push(names.slice(index, index + SSM_BATCH));
    await context.pool(batches, (batch) =>
      context.retry(async (signal) => {
        try {
          const answer = await client.call(
            "GetParameters",
            { Names: batch, WithDecryption: decrypt ?? true },
            signal,
          );
          for (const item of listOf(answer.Parameters)) {
            const parameter = parameterOf(item);
            if (parameter) values.set(parameter.name, parameter.value);
          }
        } catch (error) {
          if (notFound(error)) return; // absent names come back in InvalidParameters, not as an error
          const shown = batch.length === 1 ? batch[0] : `${batch[0]} and ${batch.length - 1} more`;
          throw failure(error, `reading the parameters ${shown}`, context.env, {
            denied: `the identity needs ssm:GetParameters on ${base}* (and kms:Decrypt for SecureString parameters)`,
          });
        }
      }),
    );
  } finally {
    client.close();
  }

  const out = new Map<string, Fetched>();
  for (const request of requests) {
    const name = nameOf(request);
    const where = request.property === undefined ? name : `${name}#${request.property}`;
    const stored = values.get(name);
    const value =
      stored === undefined || request.property === undefined ? stored : pick(stored, request.property);
    out.set(
      request.id,
      value === undefined ? { status: "missing", where } : { status: "found", value, where },
    );
  }
  return out;
}

/**
 * Every parameter under `base`, at any depth: GetParametersByPath with Recursive, ten a page (the API's
 * limit), pages one after the other (each needs the previous page's token). Fills `values` by full name;
 * returns the deeper parameters by last segment.
 */
async function listHierarchy(
  client: AwsClient,
  base: string,
  decrypt: boolean,
  values: Map<string, string>,
  context: ProviderContext,
): Promise<Map<string, string[]>> {
  const deeper = new Map<string, string[]>();
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await context.retry(async (signal) => {
      try {
        return await client.call(
          "GetParametersByPath",
          {
            Path: base.length > 1 ? base.slice(0, -1) : base,
            Recursive: true,
            WithDecryption: decrypt,
            MaxResults: SSM_BATCH,
            ...(token ? { NextToken: token } : {}),
          },
          signal,
        );
      } catch (error) {
        throw failure(error, `listing the parameters under ${base}`, context.env, {
          denied: `the identity needs ssm:GetParametersByPath on ${base}* (and kms:Decrypt for SecureString parameters)`,
        });
      }
    });
    for (const item of listOf(page.Parameters)) {
      const parameter = parameterOf(item);
      if (!parameter) continue;
      const { name } = parameter;
      values.set(name, parameter.value);
      const rest = name.startsWith(base) ? name.slice(base.length) : name;
      if (!rest.includes("/")) continue;
      const leaf = rest.slice(rest.lastIndexOf("/") + 1);
      deeper.set(leaf, [...(deeper.get(leaf) ?? []), name]);
    }
    token = typeof page.NextToken === "string" && page.NextToken ? page.NextToken : undefined;
    if (++pages > 10_000) {
      throw new ProviderError("failed", `listing ${base} did not end after ${pages} pages`);
    }
  } while (token);
  return deeper;
}
