/** The External Secrets Operator's SecretStore provider block for both AWS stores. */

import { TesseraError } from "../../errors.js";
import type { StoreSource } from "../../model/spec.js";
import type { StoreSchemaKit } from "../types.js";

/** The `aws` provider block of the source's SecretStore; `notes` gets what the user must still set up. */
export function awsSecretStore(store: StoreSource, notes: string[]): Record<string, unknown> {
  const settings = store.settings;
  const auth = settings.eso?.auth;
  if (!settings.region) {
    throw new TesseraError(
      "E_TARGET_INVALID",
      `the ${store.type} source "${store.name}" needs a region for the External Secrets Operator`,
      { hint: "add region: to the source" },
    );
  }
  if (!auth && !settings.role)
    notes.push(
      `the AWS store "${store.name}" uses the operator's own credentials (IRSA); set eso.auth to use others`,
    );
  return {
    aws: {
      service: store.type === "aws-ssm" ? "ParameterStore" : "SecretsManager",
      region: settings.region,
      role: settings.role,
      auth,
    },
  };
}

/** The manifest fields both AWS stores take besides their own: region, a role to assume, an endpoint. */
export function awsCommonFields({ Type }: Pick<StoreSchemaKit, "Type">) {
  return {
    region: Type.Optional(
      Type.String({
        description: "The AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region).",
      }),
    ),
    role: Type.Optional(
      Type.String({
        description: "The ARN of an IAM role to assume (STS AssumeRole, session name tessera).",
      }),
    ),
    endpoint: Type.Optional(
      Type.String({ description: "A custom endpoint URL (a VPC endpoint, LocalStack)." }),
    ),
  };
}
