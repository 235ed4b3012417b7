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

export class FieldSet {
  private readonly members: ReadonlyMap<string, FieldPath>;
  /** Every proper prefix of a member, so descendant checks stay cheap on large objects. */
  private readonly prefixes: ReadonlySet<string>;

  constructor(paths: Iterable<FieldPath> = []) {
    const members = new Map<string, FieldPath>();
    const prefixes = new Set<string>();
    for (const path of paths) {
      members.set(JSON.stringify(path), path);
      for (let length = 0; length < path.length; length++) prefixes.add(JSON.stringify(path.slice(0, length)));
    }
    this.members = members;
    this.prefixes = prefixes;
  }

  get size(): number {
    return this.members.size;
  }

  paths(): FieldPath[] {
    return [...this.members.values()];
  }

  has(path: FieldPath): boolean {
    return this.members.has(JSON.stringify(path));
  }

  /** Whether a member lies strictly below `path`. */
  hasDescendantOf(path: FieldPath): boolean {
    return this.prefixes.has(JSON.stringify(path));
  }

  /** Members with no other member below them: the values server-side apply compares. */
  isLeaf(path: FieldPath): boolean {
    return this.has(path) && !this.hasDescendantOf(path);
  }

  union(other: FieldSet): FieldSet {
    return new FieldSet([...this.paths(), ...other.paths()]);
  }

  difference(other: FieldSet): FieldSet {
    return new FieldSet(this.paths().filter((path) => !other.has(path)));
  }

  filter(keep: (path: FieldPath) => boolean): FieldSet {
    return new FieldSet(this.paths().filter(keep));
  }

  equals(other: FieldSet): boolean {
    return this.size === other.size && this.paths().every((path) => other.has(path));
  }
}

/**
 * Every field path set in `value`, lists split by the strategies of `kind`. A keyed list item
 * without its key is a 422 for an apply (`identity` names the object); with `identity` undefined
 * such a list is owned whole instead, because recording who wrote what must never fail a write.
 */
export function fieldSetOf(kind: string, value: JsonObject, identity?: { kind: string; group: string; name: string }): FieldSet {
  const paths: FieldPath[] = [];
  const walk = (node: JsonValue, fieldPath: readonly string[], path: FieldPath): void => {
    if (isJsonObject(node)) {
      const entries = Object.entries(node);
      if (entries.length === 0 && path.length > 0) paths.push(path);
      for (const [key, child] of entries) walk(child, [...fieldPath, key], [...path, `f:${key}`]);
      return;
    }
    if (!Array.isArray(node)) {
      paths.push(path);
      return;
    }
    const strategy = listStrategyOf(kind, fieldPath);
    const keyed = strategy.type !== 'map' || node.every((item) => isJsonObject(item) && item[strategy.key] !== undefined);
    if (strategy.type === 'atomic' || node.length === 0 || (!keyed && !identity)) {
      paths.push(path);
      return;
    }
    node.forEach((item, index) => {
      if (strategy.type === 'set') {
        paths.push([...path, `v:${JSON.stringify(item)}`]);
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
      const itemPath = [...path, `k:${JSON.stringify({ [strategy.key]: keyValue })}`];
      paths.push(itemPath);
      walk(item, fieldPath, itemPath);
    });
  };
  walk(value, [], []);
  return new FieldSet(paths);
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
