/**
 * The payload of an age file: a 16-byte nonce, payload key = HKDF-SHA-256(file key, salt = nonce, "payload");
 * STREAM chunks of 64 KiB of plaintext (+16-byte tag), chunk nonce = 11-byte big-endian counter || last flag
 * (0x01 only on the final chunk). The final chunk is the one that ends the input; a payload shorter than 16
 * bytes, a final chunk of 1–16 bytes after a full one (truncation), an empty final chunk that is not the
 * first, a wrong flag, appended data (it shifts the final chunk) or any failing tag → "tampered".
 */
import { hkdf, open, TAG_SIZE } from "./cipher.js";
import { AgeError } from "./errors.js";

const CHUNK_SIZE = 64 * 1024;

/** The plaintext of the payload (the bytes after the header); AgeError("tampered") as above. */
export function decryptPayload(fileKey: Buffer, payload: Buffer): Buffer {
  const tampered = (why: string): never => {
    throw new AgeError("tampered", `age payload ${why}`);
  };
  if (payload.length < 16) tampered("is truncated");
  const key = hkdf(fileKey, payload.subarray(0, 16), "payload");
  const sealed = payload.subarray(16);
  const fullChunk = CHUNK_SIZE + TAG_SIZE;
  const nonce = Buffer.alloc(12);
  let chunks = Math.ceil(sealed.length / fullChunk);
  if (chunks === 0) chunks = 1;
  const lastLength = sealed.length - (chunks - 1) * fullChunk;
  if (lastLength < TAG_SIZE) {
    key.fill(0);
    tampered("is truncated");
  }
  if (lastLength === TAG_SIZE && chunks > 1) {
    key.fill(0);
    tampered("ends with an empty chunk");
  }
  const out = Buffer.alloc(sealed.length - chunks * TAG_SIZE);
  try {
    for (let i = 0; i < chunks; i++) {
      const last = i === chunks - 1;
      nonce.writeUIntBE(i, 5, 6);
      nonce[11] = last ? 1 : 0;
      const begin = i * fullChunk;
      const chunk = sealed.subarray(begin, last ? sealed.length : begin + fullChunk);
      if (open(key, nonce, chunk, out, i * CHUNK_SIZE) === null) {
        out.fill(0);
        tampered("failed authentication (corrupted, truncated or tampered with)");
      }
    }
  } finally {
    key.fill(0);
  }
  return out;
}
