/**
 * What an AWS SDK error means for Tessera: not found is "missing", never an error (notFound); everything
 * else becomes a ProviderError of the right kind (failure). Error messages name the secret or parameter
 * and AWS's error, never a value or a credential.
 */

import { type ProviderContext, ProviderError } from "../types.js";

const NOT_FOUND = new Set(["ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"]);
const AUTH = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "ExpiredToken",
  "RequestExpired",
  "MissingAuthenticationToken",
  "MissingAuthenticationTokenException",
  "AuthFailure",
]);
const DENIED = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnauthorizedOperation",
  "DecryptionFailure",
]);
const THROTTLED = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ProvisionedThroughputExceededException",
  "InternalServiceError",
  "InternalServiceErrorException",
  "InternalFailure",
  "InternalServerError",
  "ServiceUnavailable",
  "ServiceUnavailableException",
]);
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ECONNABORTED",
]);

/** The fields of an SDK error that say what went wrong (all optional: any value may be thrown). */
interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $responseBodyText?: string;
  $response?: object;
}

/** The body of an error answer, by the SDK's response object (error.$response). */
const errorBodies = new WeakMap<object, string>();

/** Remember the body of an error answer (read by the client's middleware, ./client.ts) for {@link sdkError}. */
export function keepErrorBody(response: object, body: string): void {
  errorBodies.set(response, body);
}

/**
 * The error as AWS named it. An error answer the SDK could not parse (a JSON service answering in XML,
 * as a front end or an emulator may) still carries AWS's <Code> and <Message>: read them.
 */
function sdkError(error: unknown): SdkError {
  const sdk: SdkError = typeof error === "object" && error !== null ? error : {};
  if (sdk.name !== "SyntaxError") return sdk;
  const body = sdk.$responseBodyText ?? (sdk.$response ? errorBodies.get(sdk.$response) : undefined) ?? "";
  const code = /<Code>([A-Za-z0-9.]+)<\/Code>/.exec(body)?.[1];
  if (!code) return sdk;
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? "";
  const text = message.replace(/&(lt|gt|quot|apos|amp);/g, (_, entity: string) => ENTITIES[entity]!);
  return { name: code, message: text, $metadata: sdk.$metadata };
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" };

/** True when AWS said the thing is not there. */
export function notFound(error: unknown): boolean {
  const sdk = sdkError(error);
  const name = sdk.name ?? "";
  if (NOT_FOUND.has(name)) return true;
  // A secret scheduled for deletion cannot be read: as good as gone.
  return name === "InvalidRequestException" && /marked for deletion/i.test(sdk.message ?? "");
}

/** What an SDK error means for the user; `what` names the request ("reading the secret app/db"). */
export function failure(
  error: unknown,
  what: string,
  env: ProviderContext["env"],
  hints: { denied: string },
): ProviderError {
  if (error instanceof ProviderError) return error;
  const sdk = sdkError(error);
  const name = sdk.name ?? "Error";
  const status = sdk.$metadata?.httpStatusCode;
  const detail = scrub(sdk.message ?? "", env);
  const said = detail ? `${name}: ${detail}` : name;
  if (name === "CredentialsProviderError" || name === "ProviderError") {
    return new ProviderError("auth", `${what}: no AWS credentials (${detail || name})`, {
      hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (after `aws sso login` for SSO)",
    });
  }
  if (AUTH.has(name)) {
    return new ProviderError("auth", `${what}: AWS refused the credentials (${said})`, {
      hint: "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or AWS_PROFILE; `aws sts get-caller-identity` shows who they are",
    });
  }
  if (DENIED.has(name)) return new ProviderError("denied", `${what}: ${said}`, { hint: hints.denied });
  if (name === "AbortError") return new ProviderError("timeout", `${what}: aborted`, { transient: true });
  if (NETWORK.has(sdk.code ?? "") || name === "TimeoutError" || name === "RequestTimeout") {
    return new ProviderError("unreachable", `${what}: ${sdk.code ?? name} (${detail})`, {
      hint: "check the source's endpoint and region, and the network",
      transient: true,
    });
  }
  if (THROTTLED.has(name) || (status !== undefined && (status === 429 || status >= 500))) {
    return new ProviderError("failed", `${what}: ${said}${status ? ` (HTTP ${status})` : ""}`, {
      transient: true,
    });
  }
  if (name === "ValidationException" || name === "InvalidParameterException" || name === "InvalidKeyId") {
    return new ProviderError("invalid", `${what}: ${said}`);
  }
  if (name === "SyntaxError" || name === "Unknown" || name === "UnknownError") {
    return new ProviderError(
      "failed",
      `${what}: the answer is not AWS's${status ? ` (HTTP ${status})` : ""}`,
      { hint: "check the source's endpoint: it should be the service's URL" },
    );
  }
  return new ProviderError("failed", `${what}: ${said}${status ? ` (HTTP ${status})` : ""}`);
}

/** An error message's first line, without anything that looks like a credential. */
function scrub(message: string, env: ProviderContext["env"]): string {
  let text = message.split("\n")[0]!.trim();
  for (const name of [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY_ID",
  ]) {
    const value = env[name];
    if (value && value.length >= 4) text = text.split(value).join("…");
  }
  text = text.replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, "…");
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
