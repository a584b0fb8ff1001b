/**
 * What an AWS error means for Tessera: not found is "missing", never an error (notFound); everything
 * else becomes a ProviderError of the right kind (failure). The errors are AWS's error answers
 * ({@link answerError}: JSON services and STS's XML alike), Node's network errors, an abort, the
 * credential chain's {@link CredentialsError} and, where the optional AWS SDK is used, its errors.
 * Error messages name the secret or parameter and AWS's error, never a value or a credential.
 */

import { isProviderError, type ProviderContext, ProviderError } from "../types.js";

export const NO_CREDENTIALS_HINT =
  "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (after `aws sso login` for SSO)";

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
  "InvalidIdentityToken",
  "InvalidIdentityTokenException",
  "IDPRejectedClaim",
  "IDPRejectedClaimException",
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
  "IDPCommunicationError",
  "IDPCommunicationErrorException",
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

/** The fields of an error that say what went wrong (all optional: any value may be thrown). */
interface ErrorFields {
  name?: string;
  code?: string;
  message?: string;
  hint?: string;
  transient?: boolean;
  $metadata?: { httpStatusCode?: number };
}

/** An AWS API's error answer (or an answer that is not AWS's), as AWS named it. */
export class AwsError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/**
 * No credentials could be found, or a source of credentials failed (a profile's credential_process, a
 * role its profile assumes…): "auth", with its own hint. The message never holds a credential.
 */
export class CredentialsError extends Error {
  override name = "CredentialsError";
  readonly hint?: string;
  readonly transient: boolean;
  constructor(message: string, options: { hint?: string; transient?: boolean } = {}) {
    super(message);
    this.hint = options.hint;
    this.transient = options.transient ?? false;
  }
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" };

/** XML text with its five entities (and numeric ones) decoded. */
export function xmlText(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#[0-9]+|#x[0-9a-fA-F]+);/g, (_, entity: string) =>
    entity.startsWith("#x")
      ? String.fromCodePoint(Number.parseInt(entity.slice(2), 16))
      : entity.startsWith("#")
        ? String.fromCodePoint(Number(entity.slice(1)))
        : ENTITIES[entity]!,
  );
}

/** The text of the first <tag>…</tag> of an XML answer, decoded. */
export function xmlField(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match ? xmlText(match[1]!) : undefined;
}

/**
 * The error of an answer with an error status. JSON services name it in the x-amzn-ErrorType header or
 * the body's `__type` / `code` (`Name:uri` and `namespace#Name` forms reduced to the name); an answer in
 * XML (STS, or a front end or emulator answering a JSON service) carries <Code> and <Message>.
 */
export function answerError(status: number, headerType: string | undefined, body: Buffer): AwsError {
  const text = body.subarray(0, 65_536).toString("utf8");
  let code = headerType;
  let message: string | undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (json !== null && typeof json === "object" && !Array.isArray(json)) {
    const fields = json as Record<string, unknown>;
    const first = (...names: string[]) =>
      names.map((name) => fields[name]).find((value): value is string => typeof value === "string");
    code ||= first("__type", "code", "Code");
    message = first("message", "Message", "errorMessage");
  } else if (text.includes("<")) {
    code ||= xmlField(text, "Code");
    message = xmlField(text, "Message");
  }
  const name = code ? code.split(":")[0]!.replace(/^.*#/, "").trim() : "";
  return new AwsError(name || "Unknown", message ?? "", status);
}

function fieldsOf(error: unknown): ErrorFields {
  return typeof error === "object" && error !== null ? error : {};
}

/** True when AWS said the thing is not there. */
export function notFound(error: unknown): boolean {
  const fields = fieldsOf(error);
  const name = fields.name ?? "";
  if (NOT_FOUND.has(name)) return true;
  // A secret scheduled for deletion cannot be read: as good as gone.
  return name === "InvalidRequestException" && /marked for deletion/i.test(fields.message ?? "");
}

/** What an error means for the user; `what` names the request ("reading the secret app/db"). */
export function failure(
  error: unknown,
  what: string,
  env: ProviderContext["env"],
  hints: { denied: string },
): ProviderError {
  if (isProviderError(error)) return error;
  const fields = fieldsOf(error);
  const name = fields.name ?? "Error";
  const status = fields.$metadata?.httpStatusCode;
  const detail = scrub(fields.message ?? "", env);
  const said = detail ? `${name}: ${detail}` : name;
  if (name === "CredentialsError") {
    return new ProviderError("auth", `${what}: ${detail}`, {
      hint: fields.hint ?? NO_CREDENTIALS_HINT,
      transient: fields.transient === true,
    });
  }
  // The AWS SDK's own credential providers (used for what Tessera does not do itself: ./optional-sdk.ts).
  if (name === "CredentialsProviderError" || name === "ProviderError" || name === "TokenProviderError") {
    return new ProviderError("auth", `${what}: no AWS credentials (${detail || name})`, {
      hint: NO_CREDENTIALS_HINT,
    });
  }
  if (AUTH.has(name)) {
    return new ProviderError("auth", `${what}: AWS refused the credentials (${said})`, {
      hint: "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or AWS_PROFILE; `aws sts get-caller-identity` shows who they are",
    });
  }
  if (DENIED.has(name)) return new ProviderError("denied", `${what}: ${said}`, { hint: hints.denied });
  if (name === "AbortError") return new ProviderError("timeout", `${what}: aborted`, { transient: true });
  if (NETWORK.has(fields.code ?? "") || name === "TimeoutError" || name === "RequestTimeout") {
    return new ProviderError("unreachable", `${what}: ${fields.code ?? name} (${detail})`, {
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
  if (name === "SyntaxError" || name === "Unknown" || name === "UnknownError" || name === "NotAwsAnswer") {
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
