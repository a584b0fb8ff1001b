/**
 * Type guards for data whose shape is known only at run time (parsed JSON or YAML, a thrown value):
 * each checks what its type claims, so code past it needs no cast.
 */

/** A mapping: an object that is not null and not an array (JSON's object, YAML's map). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The property `key` of any object, inherited ones included (an error's `name`), undefined for
 * anything that is not an object (null, a string): for reading what an SDK throws.
 */
export function propertyOf(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined;
}
