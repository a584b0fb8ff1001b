/** How the REST stores word a failed request and a server's error text (never a credential). */
import { isProviderError, ProviderError } from "../types.js";
import { isAbort, networkCode } from "./http.js";

/** A server's or a library's text, first line only, at most 200 characters, each of `secrets` cut out. */
export function shortText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let line = text.split(/\r?\n/)[0]!.trim();
  for (const secret of secrets) if (secret && secret.length >= 4) line = line.split(secret).join("…");
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A request that got no answer, as a ProviderError: `where` names what was asked (a secret, a token
 * endpoint), `subject` the server ("the vault", "the endpoint") for a TLS failure, `hint` what to check
 * when it cannot connect.
 */
export function requestFailure(
  error: unknown,
  where: string,
  options: { subject: string; hint: string; secrets?: readonly (string | undefined)[] },
): ProviderError {
  if (isProviderError(error)) return error;
  if (isAbort(error)) {
    const said = error.name === "TimeoutError" ? error.message : "no answer in time";
    return new ProviderError("timeout", `${where}: ${said}`, { transient: true });
  }
  const code = networkCode(error);
  if (code && /CERT|SSL|TLS|EPROTO|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return new ProviderError(
      "unreachable",
      `${where}: cannot verify ${options.subject}'s TLS certificate (${code})`,
      { hint: "NODE_EXTRA_CA_CERTS can name a PEM of extra CAs to trust", transient: false },
    );
  }
  if (code === "EPROXY") {
    return new ProviderError("unreachable", `${where}: ${shortText(errorMessage(error))}`, {
      hint: "check HTTPS_PROXY / NO_PROXY",
    });
  }
  if (code && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code) && code !== "ETOOBIG") {
    return new ProviderError("unreachable", `${where}: cannot connect (${code})`, { hint: options.hint });
  }
  return new ProviderError("failed", `${where}: ${shortText(errorMessage(error), options.secrets)}`);
}
