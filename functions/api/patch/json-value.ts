/** JSON values as the patch engine sees them: parsed request bodies and stored objects. */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}

/**
 * `__proto__` parsed from JSON is an ordinary key, but assigning it would replace an object's
 * prototype. No Kubernetes field has that name, so patches and apply configurations skip it.
 */
export function isUnsafeKey(key: string): boolean {
  return key === '__proto__';
}

/** A fresh copy, so results never share structure with what the caller passed in. */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}
