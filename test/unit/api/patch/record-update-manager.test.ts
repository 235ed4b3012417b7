import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readManagedFields, recordUpdateManager } from '../../../../functions/api/patch/index.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { frozen } from './frozen.ts';

const t0 = new Date('2026-11-22T03:00:00.000Z');
const t1 = new Date('2026-11-22T03:05:00.000Z');

function configMap(data: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject {
  return frozen({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', uid: 'u', resourceVersion: '1', ...extra }, data });
}

const record = (before: KubeObject | undefined, after: KubeObject, fieldManager: string, now = t1, subresource?: string) =>
  recordUpdateManager(types.configmaps, before, after, { fieldManager, now, ...(subresource ? { subresource } : {}) });

const fieldsOf = (object: KubeObject, manager: string) =>
  (object.metadata.managedFields as { manager: string; fieldsV1: unknown }[] | undefined)?.find((entry) => entry.manager === manager)?.fieldsV1;

describe('recordUpdateManager', () => {
  it('records a create as an Update entry owning every field it set', () => {
    const created = record(undefined, configMap({ a: '1', b: '2' }, { labels: { app: 'x' } }), 'kubectl-create', t0);
    assert.deepEqual(created.metadata.managedFields, [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-11-22T03:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } },
      },
    ]);
  });

  it('moves a changed field from its old manager to the writer', () => {
    const created = record(undefined, configMap({ a: '1', b: '2' }), 'kubectl-create', t0);
    const updated = record(created, { ...created, data: { a: '10', b: '2' } }, 'kubectl-edit');
    assert.deepEqual(fieldsOf(updated, 'kubectl-create'), { 'f:data': { 'f:b': {} } });
    assert.deepEqual(fieldsOf(updated, 'kubectl-edit'), { 'f:data': { 'f:a': {} } });
  });

  it('drops a removed field from every manager and drops managers left with nothing', () => {
    const created = record(undefined, configMap({ a: '1' }), 'kubectl-create', t0);
    const updated = record(created, { ...created, data: {} }, 'kubectl-edit');
    assert.equal(fieldsOf(updated, 'kubectl-create'), undefined);
    assert.deepEqual(fieldsOf(updated, 'kubectl-edit'), { 'f:data': {} });
  });

  it('leaves managedFields exactly as they were when the write changed nothing', () => {
    const created = record(undefined, configMap({ a: '1' }), 'kubectl-create', t0);
    const same = record(created, { ...created, metadata: { ...created.metadata, resourceVersion: '2' } }, 'kubectl-edit');
    assert.deepEqual(same.metadata.managedFields, created.metadata.managedFields);
  });

  it('keeps the stored managedFields when the writer sent none', () => {
    const created = record(undefined, configMap({ a: '1' }), 'kubectl-create', t0);
    const { managedFields: _, ...withoutManaged } = created.metadata;
    const updated = record(created, { ...created, metadata: withoutManaged, data: { a: '1', b: '2' } }, 'kubectl-replace');
    assert.deepEqual(fieldsOf(updated, 'kubectl-create'), { 'f:data': { 'f:a': {} } });
    assert.deepEqual(fieldsOf(updated, 'kubectl-replace'), { 'f:data': { 'f:b': {} } });
  });

  it('takes managedFields a writer replaced on purpose, dropping entries that do not parse', () => {
    const created = record(undefined, configMap({ a: '1' }), 'kubectl-create', t0);
    const replaced = { ...created, metadata: { ...created.metadata, managedFields: [{ manager: 'bogus' }] }, data: { a: '1', b: '2' } };
    const updated = record(created, frozen(replaced), 'kubectl-replace');
    assert.deepEqual(
      (updated.metadata.managedFields as { manager: string }[]).map((entry) => entry.manager),
      ['kubectl-replace'],
    );
  });

  it('records a status write with its subresource and only status fields', () => {
    const pod = frozen({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } }) as KubeObject;
    const created = recordUpdateManager(types.pods, undefined, pod, { fieldManager: 'kubectl-run', now: t0 });
    const running = recordUpdateManager(
      types.pods,
      created,
      { ...created, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      { fieldManager: 'skiff-agent', now: t1, subresource: 'status' },
    );
    const entries = readManagedFields(running);
    assert.deepEqual(
      entries.map((entry) => [entry.manager, entry.subresource]),
      [
        ['kubectl-run', undefined],
        ['skiff-agent', 'status'],
      ],
    );
    assert.deepEqual(fieldsOf(running, 'skiff-agent'), {
      'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:status': {}, 'f:type': {} } }, 'f:phase': {} },
    });
  });

  it('owns a keyed list whole, rather than failing the write, when an item lacks its key', () => {
    const node = frozen({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { addresses: [{ address: '10.0.0.1' }] } }) as KubeObject;
    const recorded = recordUpdateManager(types.nodes, undefined, node, { fieldManager: 'agent', now: t0, subresource: 'status' });
    assert.deepEqual(fieldsOf(recorded, 'agent'), { 'f:status': { 'f:addresses': {} } });
  });

  it('never mutates what it was given', () => {
    const before = record(undefined, configMap({ a: '1' }), 'kubectl-create', t0);
    frozen(before);
    const after = frozen({ ...before, data: { a: '2' } });
    const snapshot = structuredClone(after);
    record(before, after, 'kubectl-edit');
    assert.deepEqual(after, snapshot);
  });
});
