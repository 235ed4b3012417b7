import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldSet, fieldSetOf, valueAt } from '../../../../functions/api/patch/field-set.ts';
import { readManagedFields, recordUpdateManager } from '../../../../functions/api/patch/index.ts';
import { deepEqual, type JsonObject } from '../../../../functions/api/patch/json-value.ts';
import { isEntryOf, ownableFields, writeManagedFields } from '../../../../functions/api/patch/managed-fields.ts';
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

  describe('entries another manager owns and the write does not touch', () => {
    // What recording did before it kept such entries as stored: every entry decoded, the taken
    // fields removed from each, every entry encoded again. The result must be the same JSON.
    const decodingEvery = (before: KubeObject, after: KubeObject, fieldManager: string, subresource: string | undefined): unknown => {
      const baseline = after.metadata.managedFields === undefined ? before : after;
      const entries = readManagedFields(baseline);
      const ownable = (object: KubeObject) => ownableFields(object as unknown as JsonObject, subresource);
      const beforeSet = fieldSetOf('Pod', ownable(before));
      const afterSet = fieldSetOf('Pod', ownable(after));
      const removed = beforeSet.difference(afterSet);
      const changed = afterSet.filter(
        (path) => !beforeSet.has(path) || (afterSet.isLeaf(path) && !deepEqual(valueAt(ownable(before), path), valueAt(ownable(after), path))),
      );
      const taken = changed.union(removed);
      const mine = entries.find((entry) => isEntryOf(entry, fieldManager, 'Update', subresource));
      const updated = {
        manager: fieldManager,
        operation: 'Update' as const,
        apiVersion: 'v1',
        time: '2026-11-22T03:05:00Z',
        fields: (mine?.fields ?? new FieldSet()).union(changed).difference(removed),
        ...(subresource ? { subresource } : {}),
      };
      const next = entries.map((entry) => (entry === mine ? updated : { ...entry, fields: entry.fields.difference(taken) }));
      if (!mine) next.push(updated);
      return writeManagedFields(next);
    };

    const written = (manager: string, fieldsV1: unknown, extra: Record<string, unknown> = {}) => ({
      manager,
      operation: 'Update',
      apiVersion: 'v1',
      time: '2026-11-22T03:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1,
      ...extra,
    });
    const spec = { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } };
    const cases: [string, unknown[]][] = [
      ['an entry in written form that owns no status field', [written('kube-controller-manager', spec)]],
      ['an entry that owns the phase the write changes', [written('kube-controller-manager', spec), written('old-agent', { 'f:status': { 'f:phase': {} } })]],
      [
        'an entry that owns a condition as a whole',
        [written('old-agent', { 'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:type': {} } } } })],
      ],
      [
        "the writer's own entry and another one",
        [written('kube-controller-manager', spec), written('skiff-agent', { 'f:status': { 'f:podIP': {} } }, { subresource: 'status' })],
      ],
      [
        "the writer's own entry twice",
        [
          written('skiff-agent', { 'f:status': { 'f:podIP': {} } }, { subresource: 'status' }),
          written('skiff-agent', { 'f:status': { 'f:hostIP': {} } }, { subresource: 'status' }),
        ],
      ],
      ['keys not sorted', [written('kube-controller-manager', { 'f:spec': { 'f:restartPolicy': {}, 'f:dnsPolicy': {} } })]],
      [
        'members in another order',
        [
          { ...written('a', spec), manager: undefined, operation: undefined },
          { operation: 'Update', manager: 'b', apiVersion: 'v1', time: 't', fieldsType: 'FieldsV1', fieldsV1: spec },
        ],
      ],
      ['no apiVersion and no time', [{ manager: 'a', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: spec }]],
      ['an extra member', [written('a', spec, { extra: 1 })]],
      ['an empty subresource', [written('a', spec, { subresource: '' })]],
      [
        'a "." alone, a "." with members, a "." at the top',
        [written('a', { 'f:spec': { '.': {} } }), written('b', { 'f:spec': { '.': { 'f:x': {} }, 'f:y': {} } }), written('c', { '.': {}, ...spec })],
      ],
      ['an empty set, and fields that are not a set', [written('a', {}), written('b', { spec: {} }), written('c', 'f:spec')]],
      ['an entry that does not parse', [{ manager: 'bogus' }, written('a', spec)]],
    ];
    for (const [what, managedFields] of cases) {
      it(`records the same managedFields as decoding every entry: ${what}`, () => {
        const stored = frozen({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'default', managedFields },
          spec: { containers: [{ name: 'c', image: 'x' }] },
          status: { phase: 'Pending', hostIP: '10.0.0.9', conditions: [{ type: 'Ready', status: 'False' }] },
        }) as unknown as KubeObject;
        const running = frozen({
          ...stored,
          status: { phase: 'Running', hostIP: '10.0.0.9', podIP: '10.1.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
        });
        const recorded = recordUpdateManager(types.pods, stored, running, { fieldManager: 'skiff-agent', now: t1, subresource: 'status' });
        assert.equal(JSON.stringify(recorded.metadata.managedFields), JSON.stringify(decodingEvery(stored, running, 'skiff-agent', 'status')));
      });
    }
  });
});
