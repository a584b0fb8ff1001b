/**
 * The catalog of external store types: the one list. Each entry (in its store's own ./<type>-entry.ts;
 * gcp/ and azure/: their index.ts) holds the store's manifest schema, the credential variables it uses,
 * its key rules, what the External Secrets Operator can read from it, and load(), which imports its
 * provider (./<type>.ts; gcp/ and azure/: their fetch.ts) at the first fetch. So this module, and
 * everything that reads a manifest's schema, loads no store's fetch code: each provider is a lazily
 * loaded chunk of its own. Adding a store type: its entry and its provider, and one line here.
 */
import type { StoreSettings, StoreType } from "../model/spec.js";
import { store as ageFile } from "./age-file-entry.js";
import { secretsManagerStore as awsSecretsManager } from "./aws/secrets-manager-entry.js";
import { ssmStore as awsSsm } from "./aws/ssm-entry.js";
import { store as azure } from "./azure/index.js";
import { store as dotenvxFile } from "./dotenvx-file-entry.js";
import { store as exec } from "./exec-entry.js";
import { store as gcp } from "./gcp/index.js";
import { store as keepassxc } from "./keepassxc-entry.js";
import { store as onePassword } from "./onepassword-entry.js";
import { store as pass } from "./pass-entry.js";
import type { StoreEntry } from "./types.js";
import { store as vault } from "./vault-entry.js";

export const CATALOG: readonly StoreEntry[] = [
  vault,
  awsSecretsManager,
  awsSsm,
  gcp,
  azure,
  onePassword,
  pass,
  keepassxc,
  exec,
  ageFile,
  dotenvxFile,
];

const BY_TYPE = new Map<string, StoreEntry>(CATALOG.map((entry) => [entry.type, entry]));

/** The entry of a store type (every StoreType has one). */
export function storeEntry(type: StoreType): StoreEntry {
  const entry = BY_TYPE.get(type);
  if (!entry) throw new Error(`no catalog entry for the store type ${type}`);
  return entry;
}

/** The credentials a source of this type reads from the environment. */
export function credentialVariables(type: StoreType, settings: StoreSettings): string[] {
  return storeEntry(type).credentials?.(settings) ?? [];
}

/** Whether `name` belongs to a family of credential variables of this type (dotenvx's keys). */
export function isCredentialVariable(type: StoreType, name: string): boolean {
  return storeEntry(type).isCredential?.(name) ?? false;
}
