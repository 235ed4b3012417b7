import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatch } from '../../../../functions/api/patch/index.ts';
import { isApiError } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { frozen } from './frozen.ts';
import { deployment } from './objects.ts';

type Spec = { template: { spec: { containers: Record<string, unknown>[]; tolerations?: unknown[] } }; replicas: number };
const specOf = (object: KubeObject) => object.spec as Spec;

describe('applyPatch with a JSON merge patch (RFC 7386)', () => {
  it('applies the merge patch kubectl label sends', () => {
    const result = applyPatch(types.deployments, deployment(), frozen({ metadata: { labels: { env: 'prod' } } }), 'merge');
    assert.deepEqual(result.metadata.labels, { app: 'web', env: 'prod' });
  });

  it('applies the merge patch kubectl scale sends', () => {
    assert.equal(specOf(applyPatch(types.deployments, deployment(), frozen({ spec: { replicas: 3 } }), 'merge')).replicas, 3);
  });

  it('deletes a field set to null', () => {
    const result = applyPatch(types.deployments, deployment(), frozen({ metadata: { labels: { app: null } } }), 'merge');
    assert.deepEqual(result.metadata.labels, {});
  });

  it('replaces lists whole, even lists that merge strategically', () => {
    const result = applyPatch(
      types.deployments,
      deployment(),
      frozen({ spec: { template: { spec: { containers: [{ name: 'only', image: 'x' }] } } } }),
      'merge',
    );
    assert.deepEqual(specOf(result).template.spec.containers, [{ name: 'only', image: 'x' }]);
  });

  it('replaces a map with a scalar and a scalar with a map', () => {
    const result = applyPatch(
      types.configmaps,
      frozen({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' }, x: 'y' }),
      frozen({ data: 'z', x: { y: 1 } }),
      'merge',
    );
    assert.equal(result.data, 'z');
    assert.deepEqual(result.x, { y: 1 });
  });

  it('brings back apiVersion and kind a patch nulled', () => {
    const result = applyPatch(types.deployments, deployment(), frozen({ apiVersion: null, kind: null }), 'merge');
    assert.equal(result.apiVersion, 'apps/v1');
    assert.equal(result.kind, 'Deployment');
  });

  it('refuses a patch that changes the kind with 422', () => {
    assert.throws(
      () => applyPatch(types.deployments, deployment(), frozen({ kind: 'ReplicaSet' }), 'merge'),
      (error: unknown) => isApiError(error, 422),
    );
  });

  it('refuses a patch that removes metadata with 422', () => {
    assert.throws(
      () => applyPatch(types.deployments, deployment(), frozen({ metadata: null }), 'merge'),
      (error: unknown) => isApiError(error, 422),
    );
  });
});

describe('applyPatch with a JSON patch (RFC 6902)', () => {
  it('applies the patch kubectl rollout undo sends', () => {
    const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] } };
    const current = deployment();
    const annotated = frozen({ ...current, metadata: { ...current.metadata, annotations: { 'deployment.kubernetes.io/revision': '2' } } });
    const result = applyPatch(
      types.deployments,
      annotated,
      frozen([
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '1' } },
      ]),
      'json',
    );
    assert.deepEqual((result.spec as Record<string, unknown>).template, template);
    assert.deepEqual(result.metadata.annotations, { 'deployment.kubernetes.io/revision': '1' });
  });

  it('supports add, remove, copy, move and a passing test', () => {
    const result = applyPatch(
      types.deployments,
      deployment(),
      frozen([
        { op: 'test', path: '/spec/replicas', value: 1 },
        { op: 'add', path: '/metadata/labels/tier', value: 'front' },
        { op: 'remove', path: '/metadata/finalizers/0' },
        { op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copy' },
        { op: 'move', from: '/metadata/labels/copy', path: '/metadata/labels/moved' },
        { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'third', image: 'x' } },
      ]),
      'json',
    );
    assert.deepEqual(result.metadata.labels, { app: 'web', tier: 'front', moved: 'web' });
    assert.deepEqual(result.metadata.finalizers, []);
    assert.equal(specOf(result).template.spec.containers.length, 3);
  });

  const unappliable: [string, unknown[]][] = [
    ['a failed test', [{ op: 'test', path: '/spec/replicas', value: 5 }]],
    ['a path that does not exist', [{ op: 'replace', path: '/spec/nope/deeper', value: 1 }]],
    ['removing a missing field', [{ op: 'remove', path: '/metadata/annotations' }]],
    ['an index out of range', [{ op: 'add', path: '/metadata/finalizers/9', value: 'x' }]],
  ];
  for (const [what, patch] of unappliable) {
    it(`answers 422 Invalid for ${what}, as the API server does`, () => {
      assert.throws(
        () => applyPatch(types.deployments, deployment(), frozen(patch), 'json'),
        (error: unknown) =>
          isApiError(error, 422) &&
          error.reason === 'Invalid' &&
          error.message === 'the server rejected our request due to an error in our request' &&
          (error.details?.causes?.length ?? 0) === 1,
      );
    });
  }

  const malformed: [string, unknown[]][] = [
    ['an unknown op', [{ op: 'frobnicate', path: '/spec' }]],
    ['a missing value', [{ op: 'add', path: '/spec/x' }]],
    ['an operation that is not an object', ['remove /spec']],
  ];
  for (const [what, patch] of malformed) {
    it(`answers 400 BadRequest for ${what}`, () => {
      assert.throws(
        () => applyPatch(types.deployments, deployment(), frozen(patch), 'json'),
        (error: unknown) => isApiError(error, 400),
      );
    });
  }

  it('never lets the result share values with the patch', () => {
    const value = { name: 'third', image: 'x' };
    const result = applyPatch(types.deployments, deployment(), [{ op: 'add', path: '/spec/template/spec/containers/-', value }], 'json');
    (specOf(result).template.spec.containers[2] as Record<string, unknown>).image = 'changed';
    assert.equal(value.image, 'x');
  });
});

describe('applyPatch with keys that could reach an object prototype', () => {
  it('answers 422 for a JSON patch through __proto__', () => {
    assert.throws(
      () => applyPatch(types.deployments, deployment(), frozen([{ op: 'add', path: '/metadata/__proto__/polluted', value: 'yes' }]), 'json'),
      (error: unknown) => isApiError(error, 422),
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  for (const patchType of ['merge', 'strategic'] as const) {
    it(`skips a __proto__ key in a ${patchType} patch`, () => {
      const patch = JSON.parse('{"metadata":{"labels":{"__proto__":{"polluted":"yes"},"ok":"1"}}}');
      const result = applyPatch(types.deployments, deployment(), frozen(patch), patchType);
      assert.deepEqual(result.metadata.labels, { app: 'web', ok: '1' });
      assert.equal(Object.getPrototypeOf(result.metadata.labels), Object.prototype);
    });
  }
});

describe('applyPatch never mutates its inputs', () => {
  const patches: [string, 'json' | 'merge' | 'strategic', unknown][] = [
    [
      'json',
      'json',
      [
        { op: 'replace', path: '/spec/replicas', value: 4 },
        { op: 'remove', path: '/metadata/labels/app' },
      ],
    ],
    ['merge', 'merge', { metadata: { labels: { app: null, x: 'y' } }, spec: { replicas: 4 } }],
    [
      'strategic',
      'strategic',
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'nginx', image: 'httpd' },
                { name: 'sidecar', $patch: 'delete' },
              ],
            },
          },
        },
      },
    ],
  ];
  for (const [name, patchType, patch] of patches) {
    it(`leaves the object and the ${name} patch as they were`, () => {
      const current = deployment();
      const before = structuredClone(current);
      const frozenPatch = frozen(structuredClone(patch));
      const result = applyPatch(types.deployments, current, frozenPatch, patchType);
      assert.deepEqual(current, before);
      assert.deepEqual(frozenPatch, patch);
      assert.notDeepEqual(result, current);
    });
  }
});
