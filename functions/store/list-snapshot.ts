/**
 * A type's stored objects held in memory at a revision, as kube-apiserver's watch cache holds
 * them (docs/adr/198): key → the object's JSON and revision, keys kept in the order DynamoDB's
 * Query returns them (UTF-8 bytes of the sort key), so a page served from here ends where a page
 * of the table would and its `continue` token goes on in either. Pure: the store fills it with a
 * read of the type and keeps it current with the change log's settled entries.
 *
 * Each object is kept as JSON and, once listed, parsed; selectors look at the parsed one, and
 * what a list hands out is a deep copy of it (about 4 times cheaper than parsing the JSON again):
 * callers may change what they get, and nothing they do reaches the snapshot or another caller.
 */
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import type { ChangeRecord } from './object-matcher.ts';

/** A fixed cost per object (map entry, key, record) added to its JSON's length when counting bytes. */
const perObjectBytes = 400;
/** What an object parsed costs beside its JSON, per character of the JSON (measured on pods: ~1). */
const parsedBytesPerChar = 1;

interface Held {
  readonly revision: number;
  readonly body: string;
  /** The object, parsed at its first list: never handed out, only copied. */
  parsed?: KubeObject;
}

/** What an object costs once it was listed (its JSON, parsed, and the fixed amount): what a fill counts against the bound. */
export const listedBytes = (key: string, body: string): number => body.length * (1 + parsedBytesPerChar) + key.length + perObjectBytes;

/** A deep copy of a tree JSON.parse made (objects, arrays, strings, numbers, booleans, null): equal to parsing its JSON again. */
export function copyJsonTree<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = copyJsonTree(value[i]);
    return copy as T;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = copyJsonTree((value as Record<string, unknown>)[key]);
    // JSON.parse makes "__proto__" an own field; an assignment would set the prototype instead.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: field, enumerable: true, writable: true, configurable: true });
    else copy[key] = field;
  }
  return copy as T;
}

export interface ListSnapshot {
  /** Every change up to this revision is in; some objects may be newer (read after it settled). */
  readonly revision: number;
  readonly size: number;
  /** What the objects cost, about: their JSON's length plus a fixed amount each (measured: ~380 bytes of heap per object beside its JSON). */
  readonly bytes: number;
  /** Takes in one settled change (in revision order); older than what is held, it changes nothing. */
  apply(type: ResourceType, change: ChangeRecord): void;
  /** Every change up to `revision` is in (the changes were applied first). */
  settle(revision: number): void;
  /** One page: the objects after `after` (within `prefix`) that `matches`, at most `limit`. */
  page(query: PageQuery): SnapshotPage;
}

export interface PageQuery {
  /** Only keys starting with it (a namespace's objects). */
  readonly prefix?: string;
  /** Start after this key (a `continue` token's). */
  readonly after?: string;
  readonly limit?: number;
  readonly matches: (object: KubeObject) => boolean;
  /** Told of each object handed out, with the JSON it was parsed from. */
  readonly onItem?: (key: string, revision: number, object: KubeObject, body: string) => void;
}

export interface SnapshotPage {
  readonly items: KubeObject[];
  /** The last key examined, when more keys follow it: where the next page starts. */
  readonly next?: string;
}

/** What a fill read: an object's key, revision and JSON (as the store parses it), in the table's key order. */
export interface FilledObject {
  readonly key: string;
  readonly revision: number;
  readonly body: string;
}

/**
 * Orders keys by their UTF-8 bytes, as DynamoDB orders string sort keys: UTF-16 code units
 * compare so too, except that surrogates (code points above U+FFFF) must come after U+E000–U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** The first index whose key is greater than `key` (`orEqual`: greater or equal). */
function search(keys: readonly string[], key: string, orEqual: boolean): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = compareKeys(keys[middle] ?? '', key);
    if (order < 0 || (order === 0 && !orEqual)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The key an object of `type` is stored under (object-lifecycle's `objectKey`). */
export function keyOf(type: ResourceType, object: KubeObject): string {
  return `${type.namespaced ? (object.metadata.namespace ?? '') : ''}/${object.metadata.name ?? ''}`;
}

/**
 * A snapshot at `revision` of what a read of the whole type returned (each object at least as
 * new as `revision`). `filled` must be in the table's key order; it is checked.
 */
export function createListSnapshot(revision: number, filled: Iterable<FilledObject>): ListSnapshot {
  const held = new Map<string, Held>();
  const keys: string[] = [];
  let bytes = 0;
  let settled = revision;
  for (const object of filled) {
    const last = keys.at(-1);
    if (last !== undefined && compareKeys(last, object.key) >= 0) throw new Error(`a fill must be in key order: ${object.key} after ${last}`);
    keys.push(object.key);
    held.set(object.key, { revision: object.revision, body: object.body });
    bytes += object.body.length + object.key.length + perObjectBytes;
  }

  const costOf = (key: string, entry: Held): number => entry.body.length * (entry.parsed ? 1 + parsedBytesPerChar : 1) + key.length + perObjectBytes;

  function put(key: string, revision: number, body: string): void {
    const before = held.get(key);
    if (before) bytes -= costOf(key, before);
    else keys.splice(search(keys, key, true), 0, key);
    held.set(key, { revision, body });
    bytes += body.length + key.length + perObjectBytes;
  }

  function remove(key: string): void {
    const before = held.get(key);
    if (!before) return;
    held.delete(key);
    bytes -= costOf(key, before);
    const index = search(keys, key, true);
    if (keys[index] === key) keys.splice(index, 1);
  }

  return {
    get revision() {
      return settled;
    },
    get size() {
      return held.size;
    },
    get bytes() {
      return bytes;
    },
    apply(type, change) {
      const key = keyOf(type, change.object);
      const before = held.get(key);
      // What a fill read may be newer than the change: the newer state stays.
      if (before && before.revision >= change.revision) return;
      if (change.type === 'DELETED') remove(key);
      else put(key, change.revision, JSON.stringify(change.object));
    },
    settle(revision) {
      if (revision > settled) settled = revision;
    },
    page({ prefix, after, limit, matches, onItem }) {
      const items: KubeObject[] = [];
      let index = after !== undefined ? search(keys, after, false) : prefix !== undefined ? search(keys, prefix, true) : 0;
      let last: string | undefined;
      for (; index < keys.length; index++) {
        const key = keys[index] ?? '';
        if (prefix !== undefined && !key.startsWith(prefix)) break;
        if (limit !== undefined && items.length === limit) return { items, ...(last !== undefined ? { next: last } : {}) };
        const entry = held.get(key);
        if (!entry) continue;
        last = key;
        if (!entry.parsed) {
          // Stored by this store as JSON of an object it parsed with its schema: the same object again.
          const parsed: KubeObject = JSON.parse(entry.body);
          entry.parsed = parsed;
          bytes += entry.body.length * parsedBytesPerChar;
        }
        if (!matches(entry.parsed)) continue;
        const object = copyJsonTree(entry.parsed);
        onItem?.(key, entry.revision, object, entry.body);
        items.push(object);
      }
      return { items };
    },
  };
}
