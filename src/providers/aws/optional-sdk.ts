/**
 * The parts of the AWS SDK v3 Tessera does not do itself, used when they are installed: AWS IAM Identity
 * Center (SSO) profiles (`sso_session` / `sso_start_url`: a token cache the AWS CLI writes and refreshes,
 * an OIDC token refresh, the SSO portal API) and `aws login` profiles (`login_session`). Each is one
 * package of the SDK, imported by name at run time (never bundled, never a dependency of Tessera); when
 * it is not installed the store fails with "missing-library" (E_PROVIDER_MISSING) naming the exact
 * `npm i`. The specifier is a variable so that neither TypeScript nor the bundler looks for it.
 */

import { ProviderError } from "../types.js";

export const SSO_PACKAGE = "@aws-sdk/credential-provider-sso";
export const LOGIN_PACKAGE = "@aws-sdk/credential-provider-login";

/** What Tessera uses of an SDK credential provider: a function that returns credentials. */
export type SdkCredentialProvider = () => Promise<{
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}>;

export interface SdkInit {
  profile: string;
  filepath: string;
  configFilepath: string;
}

export interface SsoModule {
  fromSSO(init: SdkInit): SdkCredentialProvider;
}

export interface LoginModule {
  fromLoginCredentials(init: SdkInit): SdkCredentialProvider;
}

/** Imports a package (how: a parameter, so that tests can stand in for a missing or present SDK). */
export type ModuleLoader = (specifier: string) => Promise<unknown>;

export const importModule: ModuleLoader = (specifier) => import(specifier);

function isNotFound(error: unknown, specifier: string): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = "code" in error ? error.code : undefined;
  const message = "message" in error && typeof error.message === "string" ? error.message : "";
  return (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") && message.includes(specifier);
}

/**
 * The package, or "missing-library" when it is not installed; `purpose` says what needs it ("the SSO
 * profile dev").
 */
export async function optionalPackage<T>(
  specifier: string,
  purpose: string,
  load: ModuleLoader = importModule,
): Promise<T> {
  try {
    return (await load(specifier)) as T;
  } catch (error) {
    if (!isNotFound(error, specifier)) throw error;
    throw new ProviderError(
      "missing-library",
      `${purpose} needs ${specifier}, which is not installed (Tessera reads the other AWS credentials itself)`,
      {
        hint: `npm i ${specifier} (where tessera is installed: in the project, or with -g beside a global tessera)`,
      },
    );
  }
}
