import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../../../functions/core/errors.ts';
import {
  canonicalJson,
  generatedName,
  prepareCreate,
  prepareDelete,
  prepareUpdate,
  requestedName,
  sameJson,
} from '../../../functions/store/object-lifecycle.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';

const now = new Date('2026-01-02T03:04:05.678Z');
const stored: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z', generation: 3, resourceVersion: '7' },
  spec: { replicas: 2, template: { metadata: { labels: { app: 'web' } } } },
};

describe('prepareCreate', () => {
  it('assigns identity, timestamp and generation 1 for an object with a spec', () => {
    const created = prepareCreate(
      types.deployments,
      { ...stored, metadata: { name: 'web', namespace: 'default', resourceVersion: '99', uid: 'client' } },
      'web',
      'u2',
      now,
    );
    assert.deepEqual(created.metadata, { name: 'web', namespace: 'default', uid: 'u2', creationTimestamp: '2026-01-02T03:04:05Z', generation: 1 });
  });

  it('gives no generation to an object without a spec', () => {
    const created = prepareCreate(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns' }, data: {} }, 'cm', 'u', now);
    assert.equal(created.metadata.generation, undefined);
  });

  it('drops the namespace of a cluster-scoped object and requires one for a namespaced object', () => {
    assert.equal(prepareCreate(types.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { namespace: 'x' } }, 'n1', 'u', now).metadata.namespace, undefined);
    assert.throws(
      () => prepareCreate(types.pods, { apiVersion: 'v1', kind: 'Pod', metadata: {} }, 'p', 'u', now),
      (error) => isApiError(error, 400),
    );
  });
});

describe('requestedName', () => {
  it('generates five characters after generateName', () => {
    const { name, generated } = requestedName(types.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-' } });
    assert.equal(generated, true);
    assert.match(name, /^web-[a-z0-9]{5}$/);
    assert.match(generatedName('x-'), /^x-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('is a 422 naming metadata.name when neither name nor generateName is given', () => {
    assert.throws(
      () => requestedName(types.pods, { apiVersion: 'v1', kind: 'Pod', metadata: {} }),
      (error) => isApiError(error, 422) && error.details?.causes?.[0]?.field === 'metadata.name',
    );
  });
});

describe('prepareUpdate', () => {
  it('keeps uid, creationTimestamp and generation when only metadata changes', () => {
    const { object, remove } = prepareUpdate(types.deployments, stored, {
      ...stored,
      metadata: { ...stored.metadata, uid: 'forged', creationTimestamp: 'x', labels: { a: 'b' } },
    });
    assert.equal(remove, false);
    assert.equal(object.metadata.uid, 'u1');
    assert.equal(object.metadata.creationTimestamp, '2026-01-01T00:00:00Z');
    assert.equal(object.metadata.generation, 3);
  });

  it('bumps generation when spec changes but not when only its key order does', () => {
    assert.equal(prepareUpdate(types.deployments, stored, { ...stored, spec: { replicas: 3 } }).object.metadata.generation, 4);
    const reordered = { ...stored, spec: { template: { metadata: { labels: { app: 'web' } } }, replicas: 2 } };
    assert.equal(prepareUpdate(types.deployments, stored, reordered).object.metadata.generation, 3);
  });

  it('removes a marked object when the update drops its last finalizer', () => {
    const marked = { ...stored, metadata: { ...stored.metadata, deletionTimestamp: '2026-01-02T00:00:00Z', deletionGracePeriodSeconds: 0, finalizers: ['f'] } };
    assert.equal(prepareUpdate(types.deployments, marked, { ...marked, metadata: { ...marked.metadata, finalizers: [] } }).remove, true);
    assert.equal(prepareUpdate(types.deployments, marked, { ...marked, metadata: { ...marked.metadata, labels: { x: 'y' } } }).remove, false);
  });

  it('keeps a marked object without finalizers on other updates', () => {
    const marked = { ...stored, metadata: { ...stored.metadata, deletionTimestamp: '2026-01-02T00:00:00Z', deletionGracePeriodSeconds: 0 } };
    assert.equal(prepareUpdate(types.deployments, marked, { ...marked, status: { phase: 'Terminating' } }).remove, false);
  });
});

describe('prepareDelete', () => {
  const cases: readonly { name: string; object: KubeObject; options?: Parameters<typeof prepareDelete>[1]; action: string }[] = [
    { name: 'removes an object without finalizers at once', object: stored, action: 'remove' },
    { name: 'marks an object with finalizers', object: { ...stored, metadata: { ...stored.metadata, finalizers: ['f'] } }, action: 'mark' },
    { name: 'marks an object deleted with a grace period', object: stored, options: { gracePeriodSeconds: 30 }, action: 'mark' },
    { name: 'marks when asked to only mark', object: stored, options: { mark: true }, action: 'mark' },
    { name: 'marks when finalizers are added', object: stored, options: { addFinalizers: ['foregroundDeletion'] }, action: 'mark' },
    {
      name: 'removes a marked object without finalizers on a delete with grace 0',
      object: { ...stored, metadata: { ...stored.metadata, deletionTimestamp: 'x', deletionGracePeriodSeconds: 30 } },
      options: { gracePeriodSeconds: 0 },
      action: 'remove',
    },
    {
      name: 'leaves a marked object with finalizers as it is',
      object: { ...stored, metadata: { ...stored.metadata, deletionTimestamp: 'x', deletionGracePeriodSeconds: 0, finalizers: ['f'] } },
      options: { gracePeriodSeconds: 0 },
      action: 'none',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(prepareDelete(c.object, c.options, now).action, c.action);
    });
  }

  it('sets deletionTimestamp to now plus the grace period and bumps generation', () => {
    const outcome = prepareDelete(stored, { gracePeriodSeconds: 30 }, now);
    assert.equal(outcome.object.metadata.deletionTimestamp, '2026-01-02T03:04:35Z');
    assert.equal(outcome.object.metadata.deletionGracePeriodSeconds, 30);
    assert.equal(outcome.object.metadata.generation, 4);
  });
});

describe('canonicalJson', () => {
  it('is independent of key order at every depth', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 1, x: 2 }], c: 2 } }), canonicalJson({ a: { c: 2, d: [1, { x: 2, y: 1 }] }, b: 1 }));
  });
});

describe('sameJson', () => {
  const cases: readonly (readonly [string, unknown, unknown, boolean])[] = [
    ['equal objects in another key order', { b: 1, a: { d: [1, { y: 1, x: 2 }], c: 2 } }, { a: { c: 2, d: [1, { x: 2, y: 1 }] }, b: 1 }, true],
    ['a changed leaf deep down', { a: { b: [{ c: 'Running' }] } }, { a: { b: [{ c: 'Pending' }] } }, false],
    ['a member only one side has', { a: 1 }, { a: 1, b: 2 }, false],
    ['an undefined member and no member', { a: 1, b: undefined }, { a: 1 }, true],
    ['an undefined member and a null one', { a: undefined }, { a: null }, false],
    ['undefined and null in an array', [undefined], [null], true],
    ['undefined and null at the top', undefined, null, false],
    ['undefined and undefined at the top', undefined, undefined, true],
    ['an empty array and an empty object', [], {}, false],
    ['the number 1 and the string "1"', 1, '1', false],
    ['NaN and null', { a: Number.NaN }, { a: null }, true],
    ['a Date and its JSON string', { at: new Date('2026-01-02T03:04:05Z') }, { at: '2026-01-02T03:04:05.000Z' }, true],
    ['arrays in another order', [1, 2], [2, 1], false],
  ];
  for (const [name, a, b, same] of cases) {
    it(`${same ? 'holds' : 'fails'} for ${name}, as canonicalJson does`, () => {
      assert.equal(sameJson(a, b), same);
      assert.equal(sameJson(b, a), same);
      assert.equal(canonicalJson(a) === canonicalJson(b), same);
    });
  }

  it('agrees with comparing canonicalJson strings on random near-equal values', () => {
    // A small seeded generator: the same values every run.
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const leaves: readonly unknown[] = [null, undefined, 0, 1, -1, 'a', 'b', '', true, false, Number.NaN];
    const value = (depth: number): unknown => {
      const roll = next();
      if (depth > 3 || roll < 0.4) return leaves[Math.floor(next() * leaves.length)];
      if (roll < 0.7) return Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1));
      const object: Record<string, unknown> = {};
      for (const key of ['x', 'y', 'z'].filter(() => next() < 0.6)) object[key] = value(depth + 1);
      return object;
    };
    // The same value with keys shuffled, and now and then one leaf changed.
    const variant = (input: unknown): unknown => {
      if (Array.isArray(input)) return input.map(variant);
      if (input !== null && typeof input === 'object') {
        const entries = Object.entries(input).reverse();
        return Object.fromEntries(entries.map(([key, inner]) => [key, variant(inner)]));
      }
      return next() < 0.1 ? leaves[Math.floor(next() * leaves.length)] : input;
    };
    let same = 0;
    for (let i = 0; i < 2000; i++) {
      const a = value(0);
      const b = variant(a);
      const expected = canonicalJson(a) === canonicalJson(b);
      if (expected) same++;
      assert.equal(sameJson(a, b), expected, `${canonicalJson(a)} vs ${canonicalJson(b)}`);
    }
    // Both answers were exercised.
    assert.ok(same > 100 && same < 1900, `${same} of 2000 equal`);
  });
});
