/**
 * Strategic merge patch as the Kubernetes API server applies it: like a merge patch, except that
 * lists declared mergeable (see `list-strategies.ts`) merge item by item or as sets, and the patch
 * may carry directives (`$patch`, `$retainKeys`, `$setElementOrder/<list>`,
 * `$deleteFromPrimitiveList/<list>`). kubectl `set image`, `apply` (client side) and `edit` send these.
 */
import { ApiError, BadRequestError } from '../../core/errors.ts';
import { deepEqual, isJsonObject, isUnsafeKey, type JsonObject, type JsonValue } from './json-value.ts';
import { type ListStrategy, listStrategyOf } from './list-strategies.ts';

const patchDirective = '$patch';
const retainKeysDirective = '$retainKeys';
const setElementOrderPrefix = '$setElementOrder/';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList/';

/** A strategic merge patch that is well-formed but does not fit the object (Kubernetes: 422). */
export class StrategicMergePatchError extends ApiError {
  override name = 'StrategicMergePatchError';
  constructor(message: string) {
    super(422, 'Invalid', message, { causes: [{ reason: 'FieldValueInvalid', message }] });
  }
}

export function strategicMergePatch(kind: string, original: JsonObject, patch: JsonObject): JsonObject {
  const merged = new StrategicMerge(kind).mergeMap(original, patch, []);
  if (merged === undefined) throw new BadRequestError('a strategic merge patch cannot delete the whole object with "$patch": "delete"');
  return merged;
}

function isDirectiveKey(key: string): boolean {
  return key === patchDirective || key === retainKeysDirective || key.startsWith(setElementOrderPrefix) || key.startsWith(deleteFromPrimitiveListPrefix);
}

class StrategicMerge {
  constructor(private readonly kind: string) {}

  /** The merged map, or undefined when the patch says `$patch: delete`. */
  mergeMap(original: JsonObject, patch: JsonObject, path: readonly string[]): JsonObject | undefined {
    const directive = patch[patchDirective];
    if (directive !== undefined) {
      if (directive === 'delete') return undefined;
      if (directive === 'replace') {
        const { [patchDirective]: _, ...replacement } = patch;
        return this.mergeMap({}, replacement, path);
      }
      if (directive !== 'merge') throw new BadRequestError(`unknown patch type: ${JSON.stringify(directive)} in map at ${describePath(path)}`);
    }
    const result: JsonObject = { ...this.retainedKeys(original, patch, path) };

    for (const [key, values] of Object.entries(patch)) {
      if (!key.startsWith(deleteFromPrimitiveListPrefix)) continue;
      const field = key.slice(deleteFromPrimitiveListPrefix.length);
      if (isUnsafeKey(field)) continue;
      if (!Array.isArray(values)) throw new BadRequestError(`invalid patch format of primitive list: ${key} must be a list`);
      const current = result[field];
      if (Array.isArray(current)) result[field] = current.filter((item) => !values.some((value) => deepEqual(value, item)));
    }

    for (const [key, value] of Object.entries(patch)) {
      if (isDirectiveKey(key) || isUnsafeKey(key)) continue;
      if (value === null) {
        delete result[key];
        continue;
      }
      const childPath = [...path, key];
      const current = result[key];
      if (isJsonObject(value)) {
        const merged = this.mergeMap(isJsonObject(current) ? current : {}, value, childPath);
        if (merged === undefined) delete result[key];
        else result[key] = merged;
      } else if (Array.isArray(value)) {
        const strategy = listStrategyOf(this.kind, childPath);
        result[key] = strategy.type === 'atomic' ? structuredClone(value) : this.mergeList(Array.isArray(current) ? current : [], value, strategy, childPath);
      } else {
        result[key] = value;
      }
    }

    for (const [key, order] of Object.entries(patch)) {
      if (!key.startsWith(setElementOrderPrefix)) continue;
      const field = key.slice(setElementOrderPrefix.length);
      if (isUnsafeKey(field)) continue;
      if (!Array.isArray(order)) throw new BadRequestError(`invalid patch format for setElementOrder list: ${key} must be a list`);
      const current = result[field];
      if (!Array.isArray(current)) continue;
      const strategy = listStrategyOf(this.kind, [...path, field]);
      if (strategy.type === 'atomic') continue;
      result[field] = applyElementOrder(current, order, strategy);
    }
    return result;
  }

  /** `$retainKeys`: the original keeps only the listed fields, and the patch may only set those. */
  private retainedKeys(original: JsonObject, patch: JsonObject, path: readonly string[]): JsonObject {
    const retainKeys = patch[retainKeysDirective];
    if (retainKeys === undefined) return original;
    if (!Array.isArray(retainKeys) || !retainKeys.every((key): key is string => typeof key === 'string')) {
      throw new BadRequestError(`invalid patch format for retainKeys: ${retainKeysDirective} at ${describePath(path)} must be a list of strings`);
    }
    for (const [key, value] of Object.entries(patch)) {
      if (!isDirectiveKey(key) && value !== null && !retainKeys.includes(key)) {
        throw new StrategicMergePatchError(
          `patch content doesn't match retainKeys list: ${describePath([...path, key])} is not in ${JSON.stringify(retainKeys)}`,
        );
      }
    }
    return Object.fromEntries(Object.entries(original).filter(([key]) => retainKeys.includes(key)));
  }

  private mergeList(original: JsonValue[], patch: JsonValue[], strategy: ListStrategy, path: readonly string[]): JsonValue[] {
    const items = patch.filter((item) => !(isJsonObject(item) && Object.keys(item).length === 1 && item[patchDirective] !== undefined));
    const listDirective = patch.find(
      (item): item is JsonObject => isJsonObject(item) && Object.keys(item).length === 1 && item[patchDirective] !== undefined,
    )?.[patchDirective];
    if (listDirective !== undefined && listDirective !== 'replace') {
      throw new BadRequestError(`unknown patch type: ${JSON.stringify(listDirective)} for the list at ${describePath(path)}`);
    }

    if (strategy.type === 'set') {
      if (items.some((item) => typeof item === 'object' && item !== null)) {
        throw new BadRequestError(`invalid patch format of primitive list: ${describePath(path)} holds only primitive values`);
      }
      if (listDirective === 'replace') return dedupe(items);
      return dedupe([...original, ...items]);
    }

    const key = strategy.type === 'map' ? strategy.key : '';
    let result: JsonValue[] = listDirective === 'replace' ? [] : [...original];
    for (const item of items) {
      if (!isJsonObject(item)) {
        throw new BadRequestError(`invalid patch: the list at ${describePath(path)} merges by "${key}" and must hold maps, got ${JSON.stringify(item)}`);
      }
      const keyValue = item[key];
      if (keyValue === undefined) {
        throw new StrategicMergePatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
      }
      const matches = (candidate: JsonValue) => isJsonObject(candidate) && deepEqual(candidate[key], keyValue);
      if (item[patchDirective] === 'delete') {
        result = result.filter((candidate) => !matches(candidate));
        continue;
      }
      const index = result.findIndex(matches);
      const existing = result[index];
      const merged = this.mergeMap(isJsonObject(existing) ? existing : {}, item, path);
      if (index < 0) {
        if (merged !== undefined) result.push(merged);
      } else if (merged === undefined) {
        result.splice(index, 1);
      } else {
        result[index] = merged;
      }
    }
    return result;
  }
}

/**
 * Puts the items named in `$setElementOrder` into that order. Items the order does not name
 * (present on the server only) keep their positions, as the Kubernetes normaliser does.
 */
function applyElementOrder(list: readonly JsonValue[], order: readonly JsonValue[], strategy: ListStrategy): JsonValue[] {
  const identity = (item: JsonValue): JsonValue | undefined => (strategy.type === 'map' ? (isJsonObject(item) ? item[strategy.key] : undefined) : item);
  const rank = (item: JsonValue): number => {
    const id = identity(item);
    return id === undefined ? -1 : order.findIndex((entry) => deepEqual(identity(entry), id));
  };
  const slots = list.flatMap((item, index) => (rank(item) >= 0 ? [index] : []));
  const ordered = slots.map((index) => list[index] as JsonValue).sort((a, b) => rank(a) - rank(b));
  const result = [...list];
  slots.forEach((slot, position) => {
    result[slot] = ordered[position] as JsonValue;
  });
  return result;
}

function dedupe(items: readonly JsonValue[]): JsonValue[] {
  return items.filter((item, index) => items.findIndex((other) => deepEqual(other, item)) === index);
}

function describePath(path: readonly string[]): string {
  return path.length === 0 ? 'the object root' : path.join('.');
}
