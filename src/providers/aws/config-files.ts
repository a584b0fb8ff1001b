/**
 * The AWS shared configuration files, read as the AWS SDKs and CLI read them
 * (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html): ~/.aws/config (AWS_CONFIG_FILE),
 * with `[default]`, `[profile NAME]`, `[sso-session NAME]` and `[services NAME]` sections, and
 * ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE), with `[NAME]` sections, whose keys win over the
 * config file's for the same profile. Comments start with `#` or `;` (inline after a space), an
 * indented `key = value` under `name =` is the sub-property `name.key`. The profile is AWS_PROFILE,
 * else `default`. Paths and the profile come from the environment handed to the provider.
 */

import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;
export type Section = Readonly<Record<string, string>>;

export interface SharedConfig {
  /** The profile in use: AWS_PROFILE, else "default". */
  profileName: string;
  /** Profiles by name, the credentials file's keys over the config file's. */
  profiles: ReadonlyMap<string, Section>;
  /** `[sso-session NAME]` sections. */
  ssoSessions: ReadonlyMap<string, Section>;
  /** `[services NAME]` sections. */
  services: ReadonlyMap<string, Section>;
  configFile: string;
  credentialsFile: string;
}

/**
 * The user's home directory as the environment handed to the provider says (HOME, USERPROFILE,
 * HOMEDRIVE+HOMEPATH), else the account's (the password database, not the process environment).
 */
export function homeOf(env: Env): string {
  if (env.HOME) return env.HOME;
  if (env.USERPROFILE) return env.USERPROFILE;
  if (env.HOMEPATH) return `${env.HOMEDRIVE ?? "C:"}${env.HOMEPATH}`;
  try {
    return userInfo().homedir;
  } catch {
    return "/";
  }
}

function expandHome(path: string, env: Env): string {
  return path.startsWith("~/") || path === "~" ? join(homeOf(env), path.slice(2)) : path;
}

/** Parsed INI: section name → key → value (sub-properties as `parent.key`). */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  let parent: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.split(/(?:^|\s)[;#]/)[0]!.trim();
    if (trimmed.startsWith("[") && trimmed.endsWith("]")) {
      const name = trimmed.slice(1, -1).trim();
      parent = undefined;
      if (name === "__proto__" || name === "profile __proto__") {
        current = undefined;
        continue;
      }
      current = sections.get(name);
      if (!current) {
        current = Object.create(null) as Record<string, string>;
        sections.set(name, current);
      }
      continue;
    }
    if (!current) continue;
    const equals = trimmed.indexOf("=");
    if (equals <= 0) continue;
    const key = trimmed.slice(0, equals).trim();
    const value = trimmed.slice(equals + 1).trim();
    if (value === "") {
      parent = key;
      continue;
    }
    if (parent && line.trimStart() === line) parent = undefined;
    current[parent ? `${parent}.${key}` : key] = value;
  }
  return sections;
}

function readIni(path: string): Map<string, Record<string, string>> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return new Map(); // no such file: nothing configured there
  }
  return parseIni(text);
}

/** Two sections' keys, the second's winning, in an object without a prototype (no inherited keys). */
function merged(first: Section | undefined, second: Section): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, first, second);
}

const KINDS = new Set(["profile", "sso-session", "services"]);

/** The shared files as the environment locates them. */
export function loadSharedConfig(env: Env): SharedConfig {
  const configFile = expandHome(env.AWS_CONFIG_FILE || join(homeOf(env), ".aws", "config"), env);
  const credentialsFile = expandHome(
    env.AWS_SHARED_CREDENTIALS_FILE || join(homeOf(env), ".aws", "credentials"),
    env,
  );
  const profiles = new Map<string, Section>();
  const ssoSessions = new Map<string, Section>();
  const services = new Map<string, Section>();
  for (const [name, section] of readIni(configFile)) {
    if (name === "default") {
      profiles.set("default", merged(profiles.get("default"), section));
      continue;
    }
    const match = /^([\w-]+)\s+(["']?)([\w\-@+.%:/]+)\2$/.exec(name);
    if (!match || !KINDS.has(match[1]!)) continue; // a plain [name] in the config file is no profile
    const [, kind, , id] = match as unknown as [string, string, string, string];
    if (kind === "profile") profiles.set(id, merged(profiles.get(id), section));
    else if (kind === "sso-session") ssoSessions.set(id, section);
    else services.set(id, section);
  }
  for (const [name, section] of readIni(credentialsFile)) {
    profiles.set(name, merged(profiles.get(name), section));
  }
  return {
    profileName: env.AWS_PROFILE || "default",
    profiles,
    ssoSessions,
    services,
    configFile,
    credentialsFile,
  };
}
