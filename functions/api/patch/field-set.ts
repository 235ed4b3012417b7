/**
 * Sets of field paths, as server-side apply tracks ownership, in Kubernetes' `FieldsV1` spelling:
 * `f:<field>` for a map field, `k:{"name":"nginx"}` for an item of a list merged by key,
 * `v:"value"` for a member of a set list, `i:<index>` for a positional item; `.` inside a node
 * means the node itself is a member as well as its children.
 */
import { InvalidError } from '../../core/errors.ts';
import { deepEqual, isJsonObject, type JsonObject, type JsonValue } from './json-value.ts';
import { listStrategyOf } from './list-strategies.ts';

export type FieldPath = readonly string[];

/**
 * Each path's key (`JSON.stringify` of it), made once per path: a path made by one set's walk is
 * looked up in other sets again and again while recording a write (docs/adr/201). Paths are never
 * changed once made (`readonly`), so a key stays right.
 */
const pathKeys = new WeakMap<FieldPath, string>();

function keyOf(path: FieldPath): string {
  let key = pathKeys.get(path);
  if (key === undefined) {
    key = JSON.stringify(path);
    pathKeys.set(path, key);
  }
  return key;
}

export class FieldSet {
  /** Each member under its key, `JSON.stringify` of the path. */
  private members: ReadonlyMap<string, FieldPath>;
  /**
   * The key of every proper prefix of a member, so descendant checks stay cheap on large objects;
   * built when first asked for: most sets (what a write changed, removed, took) are never asked,
   * and building it for every set was most of what recording a pod's status write cost (docs/adr/201).
   */
  private prefixes: ReadonlySet<string> | undefined;

  constructor(paths: Iterable<FieldPath> = []) {
    const members = new Map<string, FieldPath>();
    for (const path of paths) members.set(keyOf(path), path);
    this.members = members;
  }

  /** A set of members already keyed (the keys of another set's members are reused, not made again). */
  private static keyed(members: Map<string, FieldPath>): FieldSet {
    const set = new FieldSet();
    set.members = members;
    return set;
  }

  get size(): number {
    return this.members.size;
  }

  paths(): FieldPath[] {
    return [...this.members.values()];
  }

  has(path: FieldPath): boolean {
    return this.members.has(keyOf(path));
  }

  /** Whether a member lies strictly below `path`. */
  hasDescendantOf(path: FieldPath): boolean {
    this.prefixes ??= prefixKeysOf(this.members.values());
    return this.prefixes.has(keyOf(path));
  }

  /** Members with no other member below them: the values server-side apply compares. */
  isLeaf(path: FieldPath): boolean {
    return this.has(path) && !this.hasDescendantOf(path);
  }

  union(other: FieldSet): FieldSet {
    const members = new Map(this.members);
    for (const [key, path] of other.members) members.set(key, path);
    return FieldSet.keyed(members);
  }

  difference(other: FieldSet): FieldSet {
    const members = new Map<string, FieldPath>();
    for (const [key, path] of this.members) if (!other.members.has(key)) members.set(key, path);
    return FieldSet.keyed(members);
  }

  filter(keep: (path: FieldPath) => boolean): FieldSet {
    const members = new Map<string, FieldPath>();
    for (const [key, path] of this.members) if (keep(path)) members.set(key, path);
    return FieldSet.keyed(members);
  }

  equals(other: FieldSet): boolean {
    if (this.size !== other.size) return false;
    for (const key of this.members.keys()) if (!other.members.has(key)) return false;
    return true;
  }
}

/** `JSON.stringify` of every proper prefix of every path, each built from the one before it. */
function prefixKeysOf(paths: Iterable<FieldPath>): Set<string> {
  const keys = new Set<string>();
  for (const path of paths) {
    let open = '[';
    for (let length = 0; length < path.length; length++) {
      keys.add(`${open}]`);
      open += `${length > 0 ? ',' : ''}${JSON.stringify(path[length])}`;
    }
  }
  return keys;
}

/**
 * Every field path set in `value`, lists split by the strategies of `kind`. A keyed list item
 * without its key is a 422 for an apply (`identity` names the object); with `identity` undefined
 * such a list is owned whole instead, because recording who wrote what must never fail a write.
 */
export function fieldSetOf(kind: string, value: JsonObject, identity?: { kind: string; group: string; name: string }): FieldSet {
  return new FieldSet(fieldPathsOf(kind, value, identity));
}

/** The fields set in a value (as `fieldSetOf`), with the value at each of them. */
export interface FieldNodes {
  readonly fields: FieldSet;
  /** What `valueAt` gives for a member of `fields`: the first list item where items repeat a key. */
  valueOf(path: FieldPath): JsonValue | undefined;
}

/** `fieldSetOf`, keeping the value at each member as the walk passes it, so it is not looked up again from the top. */
export function fieldNodesOf(kind: string, value: JsonObject): FieldNodes {
  const nodes = new Map<string, JsonValue>();
  const paths = fieldPathsOf(kind, value, undefined, (path, node) => {
    nodes.set(keyOf(path), node);
  });
  const fields = new FieldSet(paths);
  return { fields, valueOf: (path) => (fields.has(path) ? nodes.get(keyOf(path)) : undefined) };
}

/**
 * The paths `fieldSetOf` finds; `visit` sees each with its value, except where a list repeats an
 * item's key: `valueAt` finds the first such item, so what lies below the later ones is not visited.
 */
function fieldPathsOf(
  kind: string,
  value: JsonObject,
  identity: { kind: string; group: string; name: string } | undefined,
  visit?: (path: FieldPath, node: JsonValue) => void,
): FieldPath[] {
  const found: FieldPath[] = [];
  const push = (path: FieldPath, node: JsonValue, repeated: boolean): void => {
    found.push(path);
    if (!repeated) visit?.(path, node);
  };
  const walk = (node: JsonValue, fieldPath: readonly string[], path: FieldPath, repeated: boolean): void => {
    if (isJsonObject(node)) {
      const entries = Object.entries(node);
      if (entries.length === 0 && path.length > 0) push(path, node, repeated);
      for (const [key, child] of entries) walk(child, [...fieldPath, key], [...path, `f:${key}`], repeated);
      return;
    }
    if (!Array.isArray(node)) {
      push(path, node, repeated);
      return;
    }
    const strategy = listStrategyOf(kind, fieldPath);
    const keyed = strategy.type !== 'map' || node.every((item) => isJsonObject(item) && item[strategy.key] !== undefined);
    if (strategy.type === 'atomic' || node.length === 0 || (!keyed && !identity)) {
      push(path, node, repeated);
      return;
    }
    const seen = new Set<string>();
    node.forEach((item, index) => {
      if (strategy.type === 'set') {
        const element = `v:${JSON.stringify(item)}`;
        push([...path, element], item, repeated || seen.has(element));
        seen.add(element);
        return;
      }
      const keyValue = isJsonObject(item) ? item[strategy.key] : undefined;
      if (keyValue === undefined) {
        throw new InvalidError(identity ?? { kind, group: '', name: '' }, [
          {
            reason: 'FieldValueRequired',
            field: `${fieldPath.join('.')}[${index}].${strategy.key}`,
            message: `Required value: the list merges by "${strategy.key}"`,
          },
        ]);
      }
      const element = `k:${JSON.stringify({ [strategy.key]: keyValue })}`;
      const itemPath = [...path, element];
      const again = repeated || seen.has(element);
      seen.add(element);
      push(itemPath, item, again);
      walk(item, fieldPath, itemPath, again);
    });
  };
  walk(value, [], [], false);
  return found;
}

/** The FieldsV1 document of a set: nested `f:`/`k:`/`v:` keys, `{}` leaves, `.` for inner members. */
export function encodeFieldsV1(set: FieldSet): JsonObject {
  interface Node {
    member: boolean;
    children: Map<string, Node>;
  }
  const root: Node = { member: false, children: new Map() };
  for (const path of set.paths()) {
    let node = root;
    for (const element of path) {
      let child = node.children.get(element);
      if (!child) {
        child = { member: false, children: new Map() };
        node.children.set(element, child);
      }
      node = child;
    }
    node.member = true;
  }
  const render = (node: Node): JsonObject => {
    const out: JsonObject = {};
    if (node.member && node.children.size > 0) out['.'] = {};
    for (const key of [...node.children.keys()].sort()) out[key] = render(node.children.get(key) as Node);
    return out;
  };
  return render(root);
}

/** The set a FieldsV1 document describes; undefined when it is not one. */
export function decodeFieldsV1(document: unknown): FieldSet | undefined {
  const paths: FieldPath[] = [];
  const walk = (node: unknown, path: FieldPath): boolean => {
    if (!isJsonObject(node)) return false;
    const keys = Object.keys(node);
    if (keys.length === 0 && path.length > 0) paths.push(path);
    for (const key of keys) {
      if (key === '.') {
        if (path.length > 0) paths.push(path);
        continue;
      }
      if (!/^[fkvi]:/.test(key) || !walk(node[key], [...path, key])) return false;
    }
    return true;
  };
  return walk(document, []) ? new FieldSet(paths) : undefined;
}

/** The value at `path` in `value`, or undefined when absent. */
export function valueAt(value: JsonValue | undefined, path: FieldPath): JsonValue | undefined {
  let node = value;
  for (const element of path) {
    if (node === undefined) return undefined;
    node = childOf(node, element)?.value;
  }
  return node;
}

/**
 * `value` without the node at `path`. Maps left empty by the removal go too, so that dropping
 * an applier's last label does not leave `labels: {}` behind.
 */
export function removeAt(value: JsonValue, path: FieldPath): JsonValue {
  const [element, ...rest] = path;
  if (element === undefined) return value;
  const child = childOf(value, element);
  if (!child) return value;
  if (rest.length > 0) {
    const inner = removeAt(child.value, rest);
    if (inner === child.value) return value;
    const emptied = isJsonObject(inner) && Object.keys(inner).length === 0 && !(isJsonObject(child.value) && Object.keys(child.value).length === 0);
    return emptied ? without(value, child) : replaced(value, child, inner);
  }
  return without(value, child);
}

interface Child {
  readonly value: JsonValue;
  /** Field name in a map, or index in a list. */
  readonly at: string | number;
}

function childOf(node: JsonValue, element: string): Child | undefined {
  const kind = element.slice(0, 2);
  const body = element.slice(2);
  if (kind === 'f:') {
    return isJsonObject(node) && Object.hasOwn(node, body) ? { value: node[body] as JsonValue, at: body } : undefined;
  }
  if (!Array.isArray(node)) return undefined;
  let index = -1;
  if (kind === 'i:') {
    index = Number(body);
  } else if (kind === 'v:') {
    const member = parseJson(body);
    index = node.findIndex((item) => deepEqual(item, member));
  } else if (kind === 'k:') {
    const key = parseJson(body);
    if (!isJsonObject(key)) return undefined;
    index = node.findIndex((item) => isJsonObject(item) && Object.entries(key).every(([field, expected]) => deepEqual(item[field], expected)));
  }
  return index >= 0 && index < node.length ? { value: node[index] as JsonValue, at: index } : undefined;
}

function without(node: JsonValue, child: Child): JsonValue {
  if (Array.isArray(node)) return node.filter((_, index) => index !== child.at);
  const { [child.at as string]: _, ...rest } = node as JsonObject;
  return rest;
}

function replaced(node: JsonValue, child: Child, value: JsonValue): JsonValue {
  if (Array.isArray(node)) return node.map((item, index) => (index === child.at ? value : item));
  return { ...(node as JsonObject), [child.at]: value };
}

function parseJson(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

/** A path as Kubernetes prints it in apply conflicts: `.spec.containers[name="nginx"].image`. */
export function formatFieldPath(path: FieldPath): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      switch (element.slice(0, 2)) {
        case 'f:':
          return `.${body}`;
        case 'k:': {
          const key = parseJson(body);
          return isJsonObject(key)
            ? `[${Object.entries(key)
                .map(([field, value]) => `${field}=${JSON.stringify(value)}`)
                .join(',')}]`
            : `[${body}]`;
        }
        case 'v:':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}
