/**
 * Where an AWS API is reached, as the AWS SDK resolves it
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): the source's `endpoint:`,
 * else (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile's ignore_configured_endpoint_urls)
 * AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SSM,
 * AWS_ENDPOINT_URL_STS), AWS_ENDPOINT_URL, the profile's `services` section (`secrets_manager =`,
 * `ssm =`, `sts =` with an indented `endpoint_url =`), the profile's `endpoint_url`; else the service's
 * regional endpoint in the region's partition, FIPS (AWS_USE_FIPS_ENDPOINT, use_fips_endpoint) and
 * dual-stack (AWS_USE_DUALSTACK_ENDPOINT, use_dualstack_endpoint) when asked.
 */

import type { Section, SharedConfig } from "./config-files.js";

type Env = Readonly<Record<string, string | undefined>>;

export type Service = "secretsmanager" | "ssm" | "sts";

/** The service's id as its endpoint settings spell it (environment, then `services` section). */
const IDS: Record<Service, { env: string; config: string }> = {
  secretsmanager: { env: "SECRETS_MANAGER", config: "secrets_manager" },
  ssm: { env: "SSM", config: "ssm" },
  sts: { env: "STS", config: "sts" },
};

function truthy(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === "true";
}

function setting(env: Env, profile: Section | undefined, envName: string, key: string): boolean {
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== "") return truthy(fromEnv);
  return truthy(profile?.[key]);
}

/** The endpoint the user configured for the service (environment or shared config), if any. */
export function configuredEndpoint(service: Service, env: Env, config: SharedConfig): string | undefined {
  const profile = config.profiles.get(config.profileName);
  if (setting(env, profile, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ignore_configured_endpoint_urls")) {
    return undefined;
  }
  const ids = IDS[service];
  const fromEnv = env[`AWS_ENDPOINT_URL_${ids.env}`] || env.AWS_ENDPOINT_URL;
  if (fromEnv) return fromEnv;
  const servicesName = profile?.services;
  const services = servicesName ? config.services.get(servicesName) : undefined;
  return services?.[`${ids.config}.endpoint_url`] || profile?.endpoint_url || undefined;
}

/** The DNS suffixes of the region's partition. */
function partition(region: string): { dns: string; dualStack: string } {
  if (region.startsWith("cn-")) return { dns: "amazonaws.com.cn", dualStack: "api.amazonwebservices.com.cn" };
  if (region.startsWith("us-isob-")) return { dns: "sc2s.sgov.gov", dualStack: "sc2s.sgov.gov" };
  if (region.startsWith("us-isof-")) return { dns: "csp.hci.ic.gov", dualStack: "csp.hci.ic.gov" };
  if (region.startsWith("us-iso-")) return { dns: "c2s.ic.gov", dualStack: "c2s.ic.gov" };
  if (region.startsWith("eu-isoe-")) return { dns: "cloud.adc-e.uk", dualStack: "cloud.adc-e.uk" };
  if (region.startsWith("eusc-")) return { dns: "amazonaws.eu", dualStack: "amazonaws.eu" };
  return { dns: "amazonaws.com", dualStack: "api.aws" };
}

/** The service's own endpoint in the region (FIPS and dual-stack as configured). */
export function defaultEndpoint(service: Service, region: string, env: Env, config: SharedConfig): string {
  const profile = config.profiles.get(config.profileName);
  const fips = setting(env, profile, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint");
  const dualStack = setting(env, profile, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint");
  const suffixes = partition(region);
  return `https://${service}${fips ? "-fips" : ""}.${region}.${dualStack ? suffixes.dualStack : suffixes.dns}`;
}

/** The endpoint of the service: the source's `endpoint:`, what is configured, else the default. */
export function serviceEndpoint(
  service: Service,
  region: string,
  sourceEndpoint: string | undefined,
  env: Env,
  config: SharedConfig,
): string {
  return (
    sourceEndpoint ||
    configuredEndpoint(service, env, config) ||
    defaultEndpoint(service, region, env, config)
  );
}

/** Whether the endpoint is AWS's own (a VPC endpoint of one service): STS is then not served there. */
export function isAwsHost(endpoint: string): boolean {
  try {
    return /(^|\.)amazonaws\.com(\.cn)?$/.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/**
 * STS's endpoint. A custom `endpoint:` that is not AWS's (LocalStack, moto) serves STS too; an AWS VPC
 * endpoint is one service's only.
 */
export function stsEndpoint(
  region: string,
  sourceEndpoint: string | undefined,
  env: Env,
  config: SharedConfig,
): string {
  const custom = sourceEndpoint && !isAwsHost(sourceEndpoint) ? sourceEndpoint : undefined;
  return serviceEndpoint("sts", region, custom, env, config);
}
