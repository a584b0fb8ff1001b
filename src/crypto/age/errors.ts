/** The one error of the native age reader. */

export type AgeErrorKind = "format" | "key" | "no-match" | "tampered";

/** Problems with the file or key format, or authentication failures. The message never contains key material,
 *  file contents or plaintext. */
export class AgeError extends Error {
  readonly kind: AgeErrorKind;
  constructor(kind: AgeErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = "AgeError";
  }
}
