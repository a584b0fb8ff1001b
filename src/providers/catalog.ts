/**
 * Which module serves which store type (loaded on demand), and which environment variables each type
 * uses as credentials: those are not passed on to `tessera run` children unless the manifest declares
 * them.
 */
import type { StoreSettings, StoreType } from "../model/spec.js";
import type { Provider } from "./types.js";

export const PROVIDERS: Record<StoreType, () => Promise<{ provider: Provider }>> = {
  vault: () => import("./vault.js"),
  "aws-secrets-manager": () => import("./aws.js"),
  "aws-ssm": () => import("./aws.js"),
  "gcp-secret-manager": () => import("./gcp.js"),
  "azure-key-vault": () => import("./azure.js"),
  "1password": () => import("./onepassword.js"),
  pass: () => import("./pass.js"),
  keepassxc: () => import("./keepassxc.js"),
  exec: () => import("./exec.js"),
  "age-file": () => import("./age-file.js"),
  "dotenvx-file": () => import("./dotenvx-file.js"),
};

const AWS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/** The credentials a source of this type reads from the environment. */
export function credentialVariables(type: StoreType, settings: StoreSettings): string[] {
  switch (type) {
    case "vault":
      return [
        "VAULT_TOKEN",
        settings.auth?.tokenEnv ?? "VAULT_TOKEN",
        settings.auth?.secretIdEnv ?? "VAULT_SECRET_ID",
      ];
    case "aws-secrets-manager":
    case "aws-ssm":
      return AWS;
    case "gcp-secret-manager":
      return ["GOOGLE_OAUTH_ACCESS_TOKEN", "CLOUDSDK_AUTH_ACCESS_TOKEN"];
    case "azure-key-vault":
      return [
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PASSWORD",
        "AZURE_PASSWORD",
        "AZURE_ACCESS_TOKEN",
      ];
    case "1password":
      return ["OP_SERVICE_ACCOUNT_TOKEN", "OP_CONNECT_TOKEN", "OP_SESSION"];
    case "keepassxc":
      return [settings.passwordEnv ?? "KEEPASSXC_PASSWORD"];
    case "dotenvx-file":
      return ["DOTENV_PRIVATE_KEY"];
    default:
      return [];
  }
}

/** dotenvx's keys are DOTENV_PRIVATE_KEY and DOTENV_PRIVATE_KEY_<ENVIRONMENT>. */
export function isCredentialVariable(type: StoreType, name: string): boolean {
  return type === "dotenvx-file" && name.startsWith("DOTENV_PRIVATE_KEY");
}
