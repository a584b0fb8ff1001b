/**
 * The reference age implementation (age-encryption), behind a module of our own so that the build puts
 * it in a chunk of its own: only writes, and reads the native reader cannot do, load it (~40 ms).
 */
export { armor, Decrypter, Encrypter, identityToRecipient } from "age-encryption";
