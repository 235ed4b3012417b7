/** JSON merge patch, RFC 7386: null deletes, objects merge, everything else replaces. */
import { cloneJson, isJsonObject, isUnsafeKey, type JsonValue } from './json-value.ts';

export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const result = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (isUnsafeKey(key)) continue;
    if (value === null) {
      delete result[key];
    } else {
      result[key] = mergePatch(result[key], value);
    }
  }
  return result;
}
