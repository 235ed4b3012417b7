import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldManagerConflictError, recordUpdateManager, serverSideApply } from '../../../../functions/api/patch/index.ts';
import { ConflictError, isApiError, toStatus } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { frozen } from './frozen.ts';

const t0 = new Date('2026-11-22T03:00:00.000Z');
const t1 = new Date('2026-11-22T03:05:00.123Z');
const t2 = new Date('2026-11-22T03:10:00.000Z');

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}
const entriesOf = (object: KubeObject) => (object.metadata.managedFields ?? []) as Entry[];
const entryOf = (object: KubeObject, manager: string) => entriesOf(object).find((entry) => entry.manager === manager);

function manifest(options: { replicas?: number; image?: string; labels?: Record<string, string>; containers?: unknown[] } = {}): KubeObject {
  return frozen({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web-ssa', namespace: 'default', labels: options.labels ?? { app: 'web' } },
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: options.containers ?? [{ name: 'nginx', image: options.image ?? 'nginx:1.27' }] },
      },
    },
  });
}

/** What the store adds on create, so later applies see a stored object. */
function stored(object: KubeObject): KubeObject {
  return frozen({ ...object, metadata: { ...object.metadata, uid: 'u-1', resourceVersion: '1', generation: 1, creationTimestamp: '2026-11-22T03:00:00Z' } });
}

const apply = (current: KubeObject | undefined, applied: KubeObject, fieldManager = 'kubectl', force = false, now = t1) =>
  serverSideApply(types.deployments, current, applied, { fieldManager, force, now });

describe('serverSideApply', () => {
  it('creates the object when it is missing and records an Apply entry in FieldsV1', () => {
    const created = apply(undefined, manifest());
    assert.equal(created.metadata.name, 'web-ssa');
    assert.equal(created.metadata.namespace, 'default');
    assert.deepEqual((created.spec as { replicas: number }).replicas, 2);
    assert.deepEqual(entriesOf(created), [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: '2026-11-22T03:05:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': { 'f:matchLabels': { 'f:app': {} } },
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
            },
          },
        },
      },
    ]);
  });

  it('updates the fields the applier changed and stamps a new time', () => {
    const current = stored(apply(undefined, manifest(), 'kubectl', false, t0));
    const updated = apply(current, manifest({ image: 'httpd' }), 'kubectl', false, t2);
    const containers = (updated.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers;
    assert.equal(containers[0]?.image, 'httpd');
    assert.equal(updated.metadata.uid, 'u-1', 'server-set metadata stays');
    assert.equal(entryOf(updated, 'kubectl')?.time, '2026-11-22T03:10:00Z');
  });

  it('returns the object unchanged, managedFields times included, when the apply changes nothing', () => {
    const current = stored(apply(undefined, manifest(), 'kubectl', false, t0));
    const again = apply(current, manifest(), 'kubectl', false, t2);
    assert.deepEqual(again, current);
  });

  it('fails with 409 FieldManagerConflict when another manager set the field to another value', () => {
    const created = recordUpdateManager(types.deployments, undefined, manifest({ replicas: 2 }), { fieldManager: 'kubectl-client-side-apply', now: t0 });
    const current = stored(created);
    assert.throws(
      () => apply(current, manifest({ replicas: 5 })),
      (error: unknown) => {
        assert.ok(error instanceof ConflictError);
        assert.ok(error instanceof FieldManagerConflictError);
        const status = toStatus(error);
        assert.equal(status.code, 409);
        assert.equal(status.reason, 'Conflict');
        assert.equal(status.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
        assert.deepEqual(status.details?.causes, [
          { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' },
        ]);
        assert.equal(status.details?.name, 'web-ssa');
        return true;
      },
    );
  });

  it('names every conflicting field, list items by key', () => {
    const current = stored(recordUpdateManager(types.deployments, undefined, manifest(), { fieldManager: 'editor', now: t0 }));
    assert.throws(
      () => apply(current, manifest({ replicas: 5, image: 'httpd' })),
      (error: unknown) =>
        error instanceof FieldManagerConflictError &&
        error.message.startsWith('Apply failed with 2 conflicts: conflicts with "editor" using apps/v1:') &&
        (error.details?.causes ?? [])
          .map((cause) => cause.field)
          .sort()
          .join(' ') === '.spec.replicas .spec.template.spec.containers[name="nginx"].image',
    );
  });

  it('shares ownership without conflict when the applied value is the same', () => {
    const current = stored(recordUpdateManager(types.deployments, undefined, manifest(), { fieldManager: 'kubectl-create', now: t0 }));
    const applied = apply(current, manifest());
    assert.deepEqual(Object.keys(entryOf(applied, 'kubectl-create')?.fieldsV1 ?? {}).sort(), ['f:metadata', 'f:spec']);
    assert.ok(entryOf(applied, 'kubectl'));
  });

  it('with force, takes the field and moves its ownership away from the other manager', () => {
    const current = stored(recordUpdateManager(types.deployments, undefined, manifest(), { fieldManager: 'editor', now: t0 }));
    const forced = apply(current, manifest({ replicas: 5 }), 'kubectl', true);
    assert.equal((forced.spec as { replicas: number }).replicas, 5);
    const editorSpec = (entryOf(forced, 'editor')?.fieldsV1['f:spec'] ?? {}) as Record<string, unknown>;
    assert.equal(editorSpec['f:replicas'], undefined);
    assert.ok(editorSpec['f:template'], 'the editor keeps the fields that did not conflict');
    const kubectlSpec = (entryOf(forced, 'kubectl')?.fieldsV1['f:spec'] ?? {}) as Record<string, unknown>;
    assert.deepEqual(kubectlSpec['f:replicas'], {});
  });

  it('removes fields the manager applied before and no longer applies', () => {
    const first = stored(apply(undefined, manifest({ labels: { app: 'web', tier: 'front' } }), 'kubectl', false, t0));
    const second = apply(first, manifest({ labels: { app: 'web' } }));
    assert.deepEqual(second.metadata.labels, { app: 'web' });
    assert.deepEqual(entryOf(second, 'kubectl')?.fieldsV1['f:metadata'], { 'f:labels': { 'f:app': {} } });
  });

  it('removes list items the manager no longer applies', () => {
    const two = [
      { name: 'nginx', image: 'nginx' },
      { name: 'sidecar', image: 'busybox' },
    ];
    const first = stored(apply(undefined, manifest({ containers: two }), 'kubectl', false, t0));
    const second = apply(first, manifest({ containers: [{ name: 'nginx', image: 'nginx' }] }));
    const names = (second.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers.map((c) => c.name);
    assert.deepEqual(names, ['nginx']);
  });

  it('keeps a dropped field that another manager also owns', () => {
    const first = stored(apply(undefined, manifest({ labels: { app: 'web', tier: 'front' } }), 'kubectl', false, t0));
    const labelled = stored(
      recordUpdateManager(
        types.deployments,
        first,
        { ...first, metadata: { ...first.metadata, labels: { app: 'web', tier: 'back' } } },
        { fieldManager: 'kubectl-label', now: t0 },
      ),
    );
    const second = apply(labelled, manifest({ labels: { app: 'web' } }));
    assert.deepEqual(second.metadata.labels, { app: 'web', tier: 'back' });
  });

  it('keeps a dropped list item when another manager owns a field inside it', () => {
    const two = [
      { name: 'nginx', image: 'nginx' },
      { name: 'sidecar', image: 'busybox' },
    ];
    const first = stored(apply(undefined, manifest({ containers: two }), 'kubectl', false, t0));
    const edited = structuredClone(first) as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    (edited.spec.template.spec.containers[1] as Record<string, unknown>).args = ['-v'];
    const withArgs = stored(recordUpdateManager(types.deployments, first, edited as unknown as KubeObject, { fieldManager: 'editor', now: t0 }));
    const second = apply(withArgs, manifest({ containers: [two[0]] }));
    const sidecar = (second.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[1];
    assert.deepEqual(sidecar, { name: 'sidecar', args: ['-v'] });
  });

  it('ignores status, server-set metadata and managedFields in the applied configuration', () => {
    const applied = frozen({
      ...manifest(),
      metadata: { ...manifest().metadata, uid: 'forged', resourceVersion: '99', managedFields: [{ manager: 'forged', operation: 'Apply' }] },
      status: { replicas: 9 },
    });
    const created = apply(undefined, applied);
    assert.equal(created.status, undefined);
    assert.equal(created.metadata.uid, undefined);
    assert.deepEqual(
      entriesOf(created).map((entry) => entry.manager),
      ['kubectl'],
    );
  });

  it('applies only status through the status subresource', () => {
    const current = stored(apply(undefined, manifest(), 'kubectl', false, t0));
    const result = serverSideApply(types.deployments, current, frozen({ ...manifest({ replicas: 7 }), status: { replicas: 2 } }), {
      fieldManager: 'controller',
      force: false,
      now: t1,
      subresource: 'status',
    });
    assert.deepEqual(result.status, { replicas: 2 });
    assert.equal((result.spec as { replicas: number }).replicas, 2);
    assert.deepEqual(entryOf(result, 'controller'), {
      manager: 'controller',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: '2026-11-22T03:05:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:status': { 'f:replicas': {} } },
      subresource: 'status',
    });
  });

  const badConfigs: [string, unknown][] = [
    ['a different kind', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-ssa' } }],
    ['a missing apiVersion', { kind: 'Deployment', metadata: { name: 'web-ssa' } }],
  ];
  for (const [what, config] of badConfigs) {
    it(`answers 400 for ${what}`, () => {
      assert.throws(
        () => apply(undefined, frozen(config) as KubeObject),
        (error: unknown) => isApiError(error, 400),
      );
    });
  }

  it('answers 422 for a keyed list item without its key', () => {
    assert.throws(
      () => apply(undefined, manifest({ containers: [{ image: 'x' }] })),
      (error: unknown) => isApiError(error, 422),
    );
  });

  it('never mutates the live object or the applied configuration', () => {
    const current = stored(recordUpdateManager(types.deployments, undefined, manifest(), { fieldManager: 'editor', now: t0 }));
    const snapshot = structuredClone(current);
    const config = manifest({ replicas: 9, labels: { other: 'x' } });
    const configSnapshot = structuredClone(config);
    apply(current, config, 'kubectl', true);
    assert.deepEqual(current, snapshot);
    assert.deepEqual(config, configSnapshot);
  });
});
