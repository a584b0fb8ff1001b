/**
 * The one age entry point for what the native reader (./age-decrypt.ts) does not handle: recipient types
 * such as post-quantum hybrids, through the reference library (loaded only then). Used by the workspace
 * store, the age-file provider and the fetch cache alike, so they accept the same identity files.
 */
import { isArmored } from "./age/armor.js";
import { decryptAge } from "./age/decrypt.js";
import type { Identities } from "./identity.js";

/** Why the library could not open a file: no identity matched, the data is damaged, or the armor is bad. */
export type AgeLibraryFailure = "no-match" | "damaged" | "bad-armor";

export class AgeLibraryError extends Error {
  constructor(readonly kind: AgeLibraryFailure) {
    super(kind);
    this.name = "AgeLibraryError";
  }
}

/** Decode the data (armored or binary) for the library. */
export async function ageBinary(data: Buffer): Promise<Uint8Array> {
  if (!isArmored(data)) return new Uint8Array(data);
  const age = await import("./age-lib.js");
  try {
    return age.armor.decode(data.toString("utf8"));
  } catch {
    throw new AgeLibraryError("bad-armor");
  }
}

/**
 * Decrypt with every identity line the library knows. Lines of a type it does not know (an
 * `AGE-PLUGIN-…` identity) are skipped: they cannot open anything here, and must not stop the others.
 */
export async function decryptWithLibrary(binary: Uint8Array, identities: Identities): Promise<Uint8Array> {
  const age = await import("./age-lib.js");
  const decrypter = new age.Decrypter();
  for (const line of identities.lines) {
    try {
      decrypter.addIdentity(line);
    } catch {
      // an identity type the library does not know (a plugin)
    }
  }
  try {
    return await decrypter.decrypt(binary);
  } catch (error) {
    throw new AgeLibraryError(/no identity matched/.test((error as Error).message) ? "no-match" : "damaged");
  }
}

/** Native first (X25519), then the library: the plaintext. Native errors (AgeError) pass through. */
export async function decryptAny(data: Buffer, identities: Identities): Promise<Buffer> {
  const plain = decryptAge(data, identities.x25519);
  if (plain !== "unsupported") return plain;
  return Buffer.from(await decryptWithLibrary(await ageBinary(data), identities));
}

/** Encrypt to the recipients of the user's own identities (the fetch cache): lines the library cannot turn into a recipient are skipped. */
export async function encryptToSelf(text: string, identities: Identities): Promise<string> {
  const age = await import("./age-lib.js");
  const encrypter = new age.Encrypter();
  for (const identity of identities.x25519) encrypter.addRecipient(identity.recipient);
  for (const line of identities.lines.filter((entry) => !/^AGE-SECRET-KEY-1/i.test(entry))) {
    try {
      encrypter.addRecipient(await age.identityToRecipient(line));
    } catch {
      // a plugin identity: the library cannot encrypt to it
    }
  }
  return age.armor.encode(await encrypter.encrypt(text));
}
