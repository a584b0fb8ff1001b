/** JSON Web Tokens signed with node:crypto (RS256), for the service-account flows of the cloud stores. */
import { createPrivateKey, type KeyObject, sign } from "node:crypto";

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

/**
 * A JWT of `claims`, signed RS256 with `privateKey` (a PEM, PKCS#8 or PKCS#1, or a KeyObject). `kid`
 * names the key in the header when given. A key that cannot be read throws an Error that never
 * quotes the key.
 */
export function signJwt(
  claims: Record<string, unknown>,
  privateKey: string | KeyObject,
  kid?: string,
): string {
  let key: KeyObject;
  try {
    key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  } catch {
    throw new Error("the private key is not a PEM key Node can read");
  }
  const header = kid ? { alg: "RS256", typ: "JWT", kid } : { alg: "RS256", typ: "JWT" };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${base64url(sign("sha256", Buffer.from(input), key))}`;
}
