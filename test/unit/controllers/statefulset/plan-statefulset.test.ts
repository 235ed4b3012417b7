import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { templateHash } from '../../../../functions/controllers/daemonset/plan-daemonset.ts';
import { planStatefulSet } from '../../../../functions/controllers/statefulset/plan-statefulset.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { now, ownerRef, secondsAgo } from '../../fixtures.ts';

const template = (image = 'busybox') => ({
  metadata: { labels: { app: 'db' } },
  spec: { containers: [{ name: 'c', image, volumeMounts: [{ name: 'data', mountPath: '/data' }] }] },
});

function sts(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', uid: 'sts-uid', generation: 1, creationTimestamp: secondsAgo(600) },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'db' } },
      serviceName: 'db',
      template: template(),
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      ...spec,
    },
  };
}

function pod(owner: KubeObject, ordinal: number, options: { ready?: boolean; hash?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `db-${ordinal}`,
      namespace: 'default',
      uid: `p${ordinal}`,
      labels: { app: 'db', 'controller-revision-hash': options.hash ?? templateHash(template() as never) },
      ownerReferences: [ownerRef(owner)],
    },
    spec: {},
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True', lastTransitionTime: secondsAgo(60) }] },
  };
}

const claim = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default' }, spec: {} });

describe('planStatefulSet', () => {
  it('creates only db-0 first, with its claim, hostname and subdomain', () => {
    const plan = planStatefulSet(sts(), [], [], [], now);
    assert.deepEqual(
      plan.create.map((p) => p.metadata.name),
      ['db-0'],
    );
    assert.deepEqual(
      plan.createClaims.map((c) => c.metadata.name),
      ['data-db-0'],
    );
    const spec = plan.create[0]?.spec as { hostname: string; subdomain: string; volumes: { name: string; persistentVolumeClaim: { claimName: string } }[] };
    assert.equal(spec.hostname, 'db-0');
    assert.equal(spec.subdomain, 'db');
    assert.deepEqual(spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }]);
  });

  it('waits for db-0 to be ready before db-1 (OrderedReady), and makes all at once with Parallel', () => {
    const set = sts();
    assert.equal(planStatefulSet(set, [pod(set, 0, { ready: false })], [claim('data-db-0')], [], now).create.length, 0);
    assert.deepEqual(
      planStatefulSet(set, [pod(set, 0)], [claim('data-db-0')], [], now).create.map((p) => p.metadata.name),
      ['db-1'],
    );
    const parallel = sts({ podManagementPolicy: 'Parallel' });
    assert.deepEqual(
      planStatefulSet(parallel, [], [], [], now).create.map((p) => p.metadata.name),
      ['db-0', 'db-1', 'db-2'],
    );
  });

  it('reuses an existing claim for a recreated pod', () => {
    const set = sts({ replicas: 1 });
    const plan = planStatefulSet(set, [], [claim('data-db-0')], [], now);
    assert.equal(plan.createClaims.length, 0);
    assert.equal(plan.create.length, 1);
  });

  it('scales down from the highest ordinal, one at a time, keeping claims by default', () => {
    const set = sts({ replicas: 1 });
    const pods = [0, 1, 2].map((i) => pod(set, i));
    const plan = planStatefulSet(set, pods, ['data-db-0', 'data-db-1', 'data-db-2'].map(claim), [], now);
    assert.deepEqual(
      plan.delete.map((p) => p.metadata.name),
      ['db-2'],
    );
    assert.equal(plan.deleteClaims.length, 0);
    const deleting = sts({ replicas: 1, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } });
    assert.deepEqual(
      planStatefulSet(
        deleting,
        [0, 1, 2].map((i) => pod(deleting, i)),
        ['data-db-0', 'data-db-1', 'data-db-2'].map(claim),
        [],
        now,
      ).deleteClaims.map((c) => c.metadata.name),
      ['data-db-2'],
    );
  });

  it('rolls a new template out from the highest ordinal down to the partition', () => {
    const set = sts({ template: template('busybox:2'), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } });
    const pods = [0, 1, 2].map((i) => pod(set, i));
    assert.deepEqual(
      planStatefulSet(set, pods, [], [], now).delete.map((p) => p.metadata.name),
      ['db-2'],
    );
    const newHash = templateHash(template('busybox:2') as never);
    const updatedTop = [pod(set, 0), pod(set, 1), pod(set, 2, { hash: newHash })];
    assert.deepEqual(
      planStatefulSet(set, updatedTop, [], [], now).delete.map((p) => p.metadata.name),
      ['db-1'],
    );
    const doneToPartition = [pod(set, 0), pod(set, 1, { hash: newHash }), pod(set, 2, { hash: newHash })];
    assert.equal(planStatefulSet(set, doneToPartition, [], [], now).delete.length, 0);
  });

  it('reports the current revision once every pod runs the update revision', () => {
    const set = sts({ replicas: 2 });
    const plan = planStatefulSet(set, [pod(set, 0), pod(set, 1)], [], [], now);
    assert.equal(plan.status?.updatedReplicas, 2);
    assert.equal(plan.status?.currentRevision, plan.status?.updateRevision);
    assert.equal(plan.status?.readyReplicas, 2);
  });
});
