import type { Sensitivity } from "./spec.js";

/**
 * Which names look sensitive, by their words: `init` uses it to sort a .env into secrets and config,
 * and the pipeline to warn when config is built from an undeclared name that looks like a secret.
 */
/**
 * Names that look sensitive: *_KEY, *_SECRET, *_TOKEN, *PASSWORD* and their usual relatives, and
 * connection URLs of data stores (they usually embed a password). A trailing word that names a
 * setting rather than a credential (…_TTL, …_LENGTH, …_URL of an endpoint, …_FILE) makes it config.
 */
const SECRET_WORD =
  /^(KEY|KEYS|APIKEY|SECRET|SECRETS|TOKEN|TOKENS|PASS|PASSWD|PASSWORD|PASSPHRASE|PWD|CREDENTIAL|CREDENTIALS|PRIVATE|DSN|SALT|PEPPER|COOKIE|SESSION|AUTH|CERT|SIGNATURE|SIGNING|HMAC|SK|PAT)$/;
const SETTING_WORD =
  /^(TTL|SECONDS|SECS|MS|MINUTES|HOURS|DAYS|LENGTH|LEN|MIN|MAX|EXPIRY|EXPIRES|TIMEOUT|ENABLED|DISABLED|ENABLE|COUNT|LIMIT|SIZE|PATH|FILE|DIR|URL|URI|ENDPOINT|HOST|PORT|HEADER|NAME|ID|TYPE|MODE|VERSION|ALGORITHM|ALG|ISSUER|AUDIENCE|REGION|PREFIX|FORMAT|LEVEL)$/;
const DATA_STORE =
  /^(DATABASE|DB|POSTGRES|POSTGRESQL|PG|MYSQL|MARIADB|MONGO|MONGODB|REDIS|VALKEY|AMQP|RABBITMQ|BROKER|KAFKA|SMTP|MAIL|ELASTIC|ELASTICSEARCH|CACHE|CELERY)$/;

export function looksSecret(name: string): boolean {
  const words = name.toUpperCase().split(/_+/).filter(Boolean);
  const last = words[words.length - 1] ?? "";
  if (/^(URL|URI|DSN|CONNECTION|CONN)$/.test(last) || name.toUpperCase().endsWith("CONNECTION_STRING")) {
    return words.slice(0, -1).some((word) => DATA_STORE.test(word)) || last === "DSN";
  }
  if (SETTING_WORD.test(last)) return false;
  return words.some((word) => SECRET_WORD.test(word) || /PASSWORD|SECRET|TOKEN/.test(word));
}

/** Ploinky's `isSensitiveEnvVariableName` (secretVars.js): what it treats as secret-owned, by name. */
export function ploinkySensitiveName(name: string): boolean {
  const upper = name.toUpperCase();
  return (
    /(^|_)(SECRET|TOKEN|PASSWORD|PASS|CREDENTIAL|CREDENTIALS)($|_)/.test(upper) ||
    ["API_KEY", "APIKEY", "PRIVATE_KEY", "MASTER_KEY", "ENCRYPTION_KEY", "JWT_SECRET"].some((word) =>
      upper.includes(word),
    )
  );
}

/** Ploinky's `isApiKeyVariable`: names a bare `*` wildcard never matches. */
export function ploinkyApiKeyName(name: string): boolean {
  const upper = name.toUpperCase();
  return upper.includes("API_KEY") || upper.includes("APIKEY");
}

/** The sensitivity of a Ploinky variable that does not say: Ploinky's rule, widened by Tessera's. */
export function ploinkySensitivity(...names: string[]): Sensitivity {
  return names.some((name) => ploinkySensitiveName(name) || looksSecret(name)) ? "secret" : "config";
}
