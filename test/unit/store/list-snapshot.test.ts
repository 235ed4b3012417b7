import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareKeys, copyJsonTree, createListSnapshot, type FilledObject } from '../../../functions/store/list-snapshot.ts';
import type { ChangeRecord } from '../../../functions/store/object-matcher.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';

const cm = (namespace: string, name: string, revision: number, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, resourceVersion: String(revision) },
  data,
});
const filled = (object: KubeObject): FilledObject => ({
  key: `${object.metadata.namespace}/${object.metadata.name}`,
  revision: Number(object.metadata.resourceVersion),
  body: JSON.stringify(object),
});
const change = (type: ChangeRecord['type'], object: KubeObject): ChangeRecord => ({
  typeId: types.configmaps.id,
  revision: Number(object.metadata.resourceVersion),
  type,
  object,
  retainedUntil: 0,
});
const all = () => true;
const keysOf = (items: readonly KubeObject[]): string[] => items.map((item) => `${item.metadata.namespace}/${item.metadata.name}`);

describe('list snapshot', () => {
  it('orders keys by their UTF-8 bytes, as DynamoDB orders sort keys', () => {
    const samples = ['a/b', 'a/B', 'a-/b', 'a/', 'ab/c', '\u00e9/x', '\uffef/x', '\u{1f600}/x', '\ue000/y', 'z/\u{10000}', 'z/\uffff', ''];
    for (const a of samples) {
      for (const b of samples) {
        const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        assert.equal(Math.sign(compareKeys(a, b)), expected, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      }
    }
  });

  it('refuses a fill out of key order', () => {
    assert.throws(() => createListSnapshot(5, [filled(cm('b', 'x', 1)), filled(cm('a', 'x', 2))]), /key order/);
  });

  it('keeps the newer state when a change is older than what a fill read', () => {
    const snapshot = createListSnapshot(10, [filled(cm('a', 'one', 12, { v: 'fill' }))]);
    snapshot.apply(types.configmaps, change('MODIFIED', cm('a', 'one', 11, { v: 'older' })));
    snapshot.apply(types.configmaps, change('DELETED', cm('a', 'one', 11)));
    assert.deepEqual(snapshot.page({ matches: all }).items[0]?.data, { v: 'fill' });
    snapshot.apply(types.configmaps, change('MODIFIED', cm('a', 'one', 13, { v: 'newer' })));
    assert.deepEqual(snapshot.page({ matches: all }).items[0]?.data, { v: 'newer' });
    snapshot.apply(types.configmaps, change('DELETED', cm('a', 'one', 14)));
    assert.equal(snapshot.size, 0);
    snapshot.settle(14);
    snapshot.settle(12);
    assert.equal(snapshot.revision, 14);
  });

  it('pages in key order within a prefix, ending at the last object handed out when more follow', () => {
    const snapshot = createListSnapshot(1, []);
    for (const [namespace, name] of [
      ['b', 'y'],
      ['a', 'x'],
      ['bb', 'z'],
      ['b', 'x'],
      ['b', 'w'],
    ] as const) {
      snapshot.apply(types.configmaps, change('ADDED', cm(namespace, name, 2)));
    }
    assert.deepEqual(keysOf(snapshot.page({ matches: all }).items), ['a/x', 'b/w', 'b/x', 'b/y', 'bb/z']);
    const first = snapshot.page({ prefix: 'b/', limit: 2, matches: all });
    assert.deepEqual(keysOf(first.items), ['b/w', 'b/x']);
    assert.equal(first.next, 'b/x');
    const second = snapshot.page({ prefix: 'b/', after: 'b/x', limit: 2, matches: all });
    assert.deepEqual(keysOf(second.items), ['b/y']);
    assert.equal(second.next, undefined);
    // Exactly `limit` left: no next page.
    assert.equal(snapshot.page({ prefix: 'b/', after: 'b/w', limit: 2, matches: all }).next, undefined);
    // A selector: the page ends at its last match; a non-match after it still means "more".
    const selective = snapshot.page({ limit: 1, matches: (object) => object.metadata.name === 'x' });
    assert.deepEqual(keysOf(selective.items), ['a/x']);
    assert.equal(selective.next, 'a/x');
    const rest = snapshot.page({ after: 'a/x', limit: 1, matches: (object) => object.metadata.name === 'x' });
    assert.deepEqual(keysOf(rest.items), ['b/x']);
    assert.equal(rest.next, 'b/x');
    assert.deepEqual(snapshot.page({ after: 'b/x', limit: 1, matches: (object) => object.metadata.name === 'x' }), { items: [] });
  });

  it('counts bytes as objects come and go, and hands out fresh objects', () => {
    const snapshot = createListSnapshot(1, [filled(cm('a', 'x', 1, { v: '1' }))]);
    const start = snapshot.bytes;
    assert.ok(start > 0);
    snapshot.apply(types.configmaps, change('MODIFIED', cm('a', 'x', 2, { v: 'longer value' })));
    assert.ok(snapshot.bytes > start);
    const [a] = snapshot.page({ matches: all }).items;
    const [b] = snapshot.page({ matches: all }).items;
    assert.ok(a && b && a !== b && a.data !== b.data);
    snapshot.apply(types.configmaps, change('DELETED', cm('a', 'x', 3)));
    assert.equal(snapshot.bytes, 0);
  });

  it('copies a parsed tree into one equal to parsing its JSON again, "__proto__" fields included', () => {
    const json = '{"a":{"__proto__":{"x":1},"b":[1,"2",null,true,{"c":[]}]},"2":"two","1":1.5}';
    const parsed = JSON.parse(json);
    const copy = copyJsonTree(parsed);
    assert.equal(JSON.stringify(copy), JSON.stringify(parsed));
    assert.deepEqual(copy, JSON.parse(json));
    assert.equal(Object.getPrototypeOf(copy.a), Object.prototype);
    assert.deepEqual(Object.keys(copy.a), ['__proto__', 'b']);
    copy.a.b[4].c.push(1);
    assert.deepEqual(parsed.a.b[4].c, []);
  });

  it('looks at selectors on the object it holds, hands out copies, and counts the parsed object', () => {
    const snapshot = createListSnapshot(1, [filled(cm('a', 'x', 1, { v: '1' })), filled(cm('a', 'y', 1, { v: '2' }))]);
    const unparsed = snapshot.bytes;
    const seen: KubeObject[] = [];
    const page = snapshot.page({
      matches: (object) => {
        seen.push(object);
        return object.metadata.name === 'y';
      },
    });
    assert.ok(snapshot.bytes > unparsed);
    assert.equal(page.items.length, 1);
    assert.ok(!seen.includes(page.items[0] as KubeObject), 'what is handed out is not what is held');
    (page.items[0]?.data as Record<string, string>).v = 'changed';
    assert.deepEqual(
      snapshot.page({ matches: all }).items.map((item) => item.data),
      [{ v: '1' }, { v: '2' }],
    );
  });
});
