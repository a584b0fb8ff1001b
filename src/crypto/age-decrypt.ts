/**
 * The native age reader's public API (a small, synchronous decryptor for X25519 age files, built on
 * node:crypto, for the `tessera run` hot path). Its parts live in ./age/: decrypt.ts (decryptAge, the
 * steps in order, and the acceptance rules), armor.ts, header.ts, keys.ts, payload.ts, bech32.ts,
 * cipher.ts, errors.ts.
 */
export { isArmored } from "./age/armor.js";
export { decryptAge } from "./age/decrypt.js";
export { AgeError, type AgeErrorKind } from "./age/errors.js";
export {
  generateIdentity,
  parseIdentities,
  parseRecipient,
  recipientOf,
  type X25519Identity,
} from "./age/keys.js";
