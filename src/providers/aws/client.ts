/**
 * The AWS client of both AWS stores (./secrets-manager.ts, ./ssm.ts), without the AWS SDK: its region,
 * endpoint and credentials, and signed AWS JSON 1.1 calls. Loaded only when a fetch happens (a lazy chunk
 * of its own, with node:crypto for the signer), so a manifest that does not fetch from AWS never pays
 * for it.
 *
 * - Region: the source's `region`, else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`
 *   in the shared config file.
 * - Endpoint: the source's `endpoint`, else AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL_SSM,
 *   AWS_ENDPOINT_URL, the shared config's endpoint settings, else the service's regional endpoint
 *   (./endpoints.ts).
 * - Credentials: the default chain (./credentials.ts), resolved once, at the first call; with `role`,
 *   that identity assumes the role first (STS AssumeRole, session name "tessera").
 * Calls are not retried here: the framework's retry does, with a time limit on each attempt that aborts
 * the request. Connections are kept alive for the fetch and closed by close().
 */

import { type ProviderContext, ProviderError } from "../types.js";
import { type ApiTarget, type AwsCredentials, assumeRole, callJson, endpointUrl } from "./api.js";
import { loadSharedConfig, type SharedConfig } from "./config-files.js";
import { type ChainContext, defaultCredentials } from "./credentials.js";
import { type Service, serviceEndpoint, stsEndpoint } from "./endpoints.js";
import { failure } from "./errors.js";
import { Agents } from "./http.js";
import type { ModuleLoader } from "./optional-sdk.js";

type Env = ProviderContext["env"];

/** X-Amz-Target's prefix of each JSON service. */
const TARGET_PREFIX: Record<Exclude<Service, "sts">, string> = {
  secretsmanager: "secretsmanager",
  ssm: "AmazonSSM",
};

export interface AwsClient {
  region: string;
  /** One call of the service's JSON API: `operation` is "GetParameters", "GetSecretValue"… */
  call(operation: string, payload: unknown, signal: AbortSignal): Promise<Record<string, unknown>>;
  /** Close the kept-alive connections. */
  close(): void;
}

/** Test hooks: where the ECS host is, how an optional SDK package is imported. */
export interface ClientOptions {
  containerHost?: string;
  load?: ModuleLoader;
}

/** The region of the source, or an "invalid" error saying how to give one. */
export function regionOf(context: ProviderContext, config: SharedConfig): string {
  const { env } = context;
  const region =
    context.source.settings.region ||
    env.AWS_REGION ||
    env.AWS_DEFAULT_REGION ||
    config.profiles.get(config.profileName)?.region;
  if (!region) {
    throw new ProviderError("invalid", "no AWS region", {
      hint: "give the source a region (region: eu-west-1), or set AWS_REGION",
    });
  }
  return region;
}

/** A memo of the credentials: asked once (callers at the same time share it), again after a failure or near expiry. */
function memo(resolve: (signal: AbortSignal) => Promise<AwsCredentials>) {
  let value: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  return async (signal: AbortSignal): Promise<AwsCredentials> => {
    if (value && !(value.expiration && value.expiration.getTime() - Date.now() < 60_000)) return value;
    pending ??= resolve(signal)
      .then((found) => (value = found))
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/** The client of one source for one service. */
export async function awsClient(
  context: ProviderContext,
  service: Exclude<Service, "sts">,
  options: ClientOptions = {},
): Promise<AwsClient> {
  const { settings } = context.source;
  const env: Env = context.env;
  const config = loadSharedConfig(env);
  const region = regionOf(context, config);
  const api: ApiTarget = {
    endpoint: endpointUrl(serviceEndpoint(service, region, settings.endpoint, env, config)),
    region,
    service,
  };
  const agents = new Agents();
  const chain = (signal: AbortSignal): ChainContext => ({
    env,
    region,
    config,
    sourceEndpoint: settings.endpoint,
    agents,
    signal,
    containerHost: options.containerHost,
    load: options.load,
  });
  let credentials = memo((signal) => defaultCredentials(chain(signal)));
  try {
    if (settings.role) {
      const role = settings.role;
      const sts: ApiTarget = {
        endpoint: endpointUrl(stsEndpoint(region, settings.endpoint, env, config)),
        region,
        service: "sts",
      };
      const assumed = await context.retry(async (signal) => {
        try {
          const base = await credentials(signal);
          return await assumeRole(sts, { RoleArn: role, RoleSessionName: "tessera" }, base, signal, agents);
        } catch (error) {
          throw failure(error, `assuming the role ${role}`, env, {
            denied: `the identity may not assume ${role} (sts:AssumeRole, and the role's trust policy)`,
          });
        }
      });
      credentials = () => Promise.resolve(assumed);
    }
  } catch (error) {
    agents.destroy();
    throw error;
  }
  const prefix = TARGET_PREFIX[service];
  return {
    region,
    async call(operation, payload, signal) {
      const found = await credentials(signal);
      return callJson(api, `${prefix}.${operation}`, payload, found, signal, agents);
    },
    close: () => agents.destroy(),
  };
}
