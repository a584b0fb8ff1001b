/**
 * Ploinky's encrypted workspace variables, `.ploinky/.secrets` (Ploinky since 2026-04,
 * cli/services/encryptedSecretsFile.js and masterKey.js), read as Ploinky reads them:
 *
 *   file     one line: base64( iv (12 bytes) ‖ GCM tag (16) ‖ AES-256-GCM ciphertext )
 *   plain    JSON {"version": 1, "secrets": {NAME: value}}
 *   key      HKDF-SHA256(ikm = SHA-256(seed), salt = "", info = "ploinky/storage/secrets/v1", 32 bytes)
 *   seed     the first of: PLOINKY_MASTER_KEY in the environment; PLOINKY_MASTER_KEY in the nearest
 *            `.env` walking up from the workspace; the text of `<workspace>/.ploinky/master-key` (the
 *            workspace: PLOINKY_WORKSPACE_ROOT, else the nearest directory upwards with `.ploinky/`);
 *            else Ploinky's built-in fallback seed (used when it could not write a master-key file).
 *
 * The generated secrets Ploinky derives from the same seed (masterKey.js: deriveAgentSecret,
 * deriveWorkspaceSecret) are here too, so that Tessera can give an agent the value Ploinky gives it.
 * Load this module only when needed: it loads node:crypto. Nothing here prints a value or a key.
 */
import { createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { TesseraError } from "../errors.js";

type Env = Readonly<Record<string, string | undefined>>;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const MASTER_KEY_VAR = "PLOINKY_MASTER_KEY";
const BUILT_IN_SEED = "ploinky-default-master-key-v1";

export interface MasterSeed {
  /** The seed itself: never printed. */
  seed: string;
  /** Where it was found, for messages: "PLOINKY_MASTER_KEY in the environment", ".ploinky/master-key", … */
  from: string;
  /** Ploinky's built-in fallback (a public text: whatever it encrypts, anyone can read). */
  builtIn?: boolean;
}

/** Is `path` a directory? */
function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Ploinky's workspace root for `start`: PLOINKY_WORKSPACE_ROOT, else the nearest directory with `.ploinky/`. */
export function ploinkyWorkspaceRoot(start: string, env: Env): string {
  const explicit = (env.PLOINKY_WORKSPACE_ROOT ?? "").trim();
  if (explicit && isDirectory(resolve(explicit))) return resolve(explicit);
  let here = resolve(start);
  for (;;) {
    if (isDirectory(join(here, ".ploinky"))) return here;
    const up = dirname(here);
    if (up === here) return resolve(start);
    here = up;
  }
}

/** masterKey.parseKeyValueText: trimmed lines, `export ` dropped, `K=V` or `K V`, one pair of quotes stripped. */
function parseKeyValueText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (line.startsWith("export ")) line = line.slice(7).trim();
    const eq = line.indexOf("=");
    let key: string;
    let value: string;
    if (eq >= 0) {
      key = line.slice(0, eq).trim();
      value = line.slice(eq + 1).trim();
    } else {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$/.exec(line);
      if (!match) continue;
      key = match[1]!;
      value = match[2]!.trim();
    }
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]))
      value = value.slice(1, -1);
    if (key) out.set(key, value);
  }
  return out;
}

/** The nearest `.env` from `start` upwards (masterKey.findEnvFile). */
function nearestDotenv(start: string): string | undefined {
  let here = resolve(start);
  for (;;) {
    const candidate = join(here, ".env");
    if (statSync(candidate, { throwIfNoEntry: false })) return candidate;
    const up = dirname(here);
    if (up === here) return undefined;
    here = up;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/**
 * The seed Ploinky would use from `start` (its current directory; the workspace root of the file read),
 * without creating anything: undefined when there is none (Ploinky would then write a new master-key
 * file, which cannot open what is already there). `shown` names paths for messages.
 */
export function findPloinkyMasterSeed(
  start: string,
  env: Env,
  shown: (path: string) => string = (path) => path,
): MasterSeed | undefined {
  const fromEnv = (env[MASTER_KEY_VAR] ?? "").trim();
  if (fromEnv) return { seed: fromEnv, from: `${MASTER_KEY_VAR} in the environment` };
  const dotenv = nearestDotenv(start);
  if (dotenv) {
    const fromFile = (parseKeyValueText(readText(dotenv)).get(MASTER_KEY_VAR) ?? "").trim();
    if (fromFile) return { seed: fromFile, from: `${MASTER_KEY_VAR} in ${shown(dotenv)}` };
  }
  const file = join(ploinkyWorkspaceRoot(start, env), ".ploinky", "master-key");
  const generated = readText(file).trim();
  if (generated) return { seed: generated, from: shown(file) };
  return undefined;
}

/** Ploinky's built-in fallback seed, as a last try for a file it wrote when it could not keep a key. */
export function builtInPloinkySeed(): MasterSeed {
  return { seed: BUILT_IN_SEED, from: "Ploinky's built-in fallback seed", builtIn: true };
}

/** masterKey.deriveSubkey: HKDF-SHA256 of SHA-256(seed), info `ploinky/<purpose>/v1`. */
function subkey(seed: string, purpose: string, length = 32): Buffer {
  const master = createHash("sha256").update(seed, "utf8").digest();
  return Buffer.from(
    hkdfSync("sha256", master, Buffer.alloc(0), Buffer.from(`ploinky/${purpose}/v1`, "utf8"), length),
  );
}

/** masterKey.normalizeDerivationPart. */
function part(value: string, fallback: string): string {
  return value.trim().replace(/[^A-Za-z0-9_.:/-]/g, "_") || fallback;
}

/** The value Ploinky's `generatedSecret` gives agent `agent` of repository `repo` (deriveAgentSecret). */
export function derivePloinkyAgentSecret(seed: string, repo: string, agent: string, name: string): string {
  const info = [
    "ploinky/agent-secret",
    part(repo, "unknown-repo"),
    part(agent, "unknown-agent"),
    part(name, ""),
    "v1",
  ];
  return Buffer.from(
    hkdfSync(
      "sha256",
      subkey(seed, "derived-master"),
      Buffer.alloc(0),
      Buffer.from(info.join("/"), "utf8"),
      32,
    ),
  ).toString("hex");
}

/** The value Ploinky's `sharedGeneratedSecret` gives every agent of the workspace (deriveWorkspaceSecret). */
export function derivePloinkyWorkspaceSecret(seed: string, name: string): string {
  const info = `ploinky/workspace-secret/${part(name, "")}/v1`;
  return Buffer.from(
    hkdfSync("sha256", subkey(seed, "derived-master"), Buffer.alloc(0), Buffer.from(info, "utf8"), 32),
  ).toString("hex");
}

/** A new random secret as Ploinky makes them (ensurePersistentSecret: 32 random bytes, hex). */
export function randomSecret(): string {
  return randomBytes(32).toString("hex");
}

/**
 * The variables of a `.ploinky/.secrets` envelope, in file order. Throws E_KEY_INVALID when the seed
 * does not open it (named by where it was found, never shown) and E_STORE_INVALID when the envelope is
 * damaged or not what Ploinky writes.
 */
export function decryptPloinkySecrets(text: string, seed: MasterSeed, file: string): Map<string, string> {
  const packed = Buffer.from(text.trim(), "base64");
  if (packed.length < IV_BYTES + TAG_BYTES + 1) {
    throw new TesseraError("E_STORE_INVALID", `${file} is an incomplete Ploinky envelope`, {
      location: { file },
      hint: "the file is damaged; Ploinky writes base64 of iv, tag and ciphertext",
    });
  }
  let plain: string;
  try {
    const decipher = createDecipheriv(
      "aes-256-gcm",
      subkey(seed.seed, "storage/secrets"),
      packed.subarray(0, IV_BYTES),
    );
    decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    plain = Buffer.concat([
      decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    throw new TesseraError(
      "E_KEY_INVALID",
      `${file} cannot be decrypted with the Ploinky master key from ${seed.from}: it was written with another key, or changed`,
      {
        location: { file },
        hint: "Ploinky's key comes from PLOINKY_MASTER_KEY (the environment, or the nearest .env upwards), else .ploinky/master-key of the workspace: give Tessera the one Ploinky used",
      },
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(plain);
  } catch {
    payload = undefined;
  }
  const record = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value);
  if (!record(payload) || (payload.version !== undefined && payload.version !== 1)) {
    throw new TesseraError(
      "E_STORE_INVALID",
      `${file} opens, but does not hold Ploinky's {"version": 1, "secrets": {…}}`,
      {
        location: { file },
        hint: "a newer Ploinky may have written it; export the variables with Ploinky itself",
      },
    );
  }
  const out = new Map<string, string>();
  if (!record(payload.secrets)) return out;
  for (const [name, value] of Object.entries(payload.secrets)) {
    const key = name.trim();
    if (key) out.set(key, String(value ?? ""));
  }
  return out;
}
