import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDaemonSet, revisionData, targetNodeOf, templateHash } from '../../../../functions/controllers/daemonset/plan-daemonset.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { now, ownerRef, secondsAgo } from '../../fixtures.ts';

const template = (env?: string) => ({
  metadata: { labels: { name: 'agent' } },
  spec: { containers: [{ name: 'c', image: 'busybox', ...(env ? { env: [{ name: 'MODE', value: env }] } : {}) }] },
});

function daemonSet(spec: Record<string, unknown> = {}, generation = 1): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', uid: 'ds-uid', generation, creationTimestamp: secondsAgo(600) },
    spec: {
      selector: { matchLabels: { name: 'agent' } },
      template: template(),
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
      ...spec,
    },
  };
}

function node(name: string, extra: { labels?: Record<string, string>; taints?: unknown[] } = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: extra.labels ?? {} }, spec: extra.taints ? { taints: extra.taints } : {} };
}

let serial = 0;
function pod(ds: KubeObject, nodeName: string, hash: string, options: { ready?: boolean; phase?: string } = {}): KubeObject {
  serial += 1;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `agent-${serial}`,
      namespace: 'default',
      uid: `p${serial}`,
      creationTimestamp: secondsAgo(100 - serial),
      labels: { name: 'agent', 'controller-revision-hash': hash },
      ownerReferences: [ownerRef(ds)],
    },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
    status: {
      phase: options.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True', lastTransitionTime: secondsAgo(60) }],
    },
  };
}

const hashOf = (ds: KubeObject) => templateHash((ds.spec as { template: never }).template);

describe('planDaemonSet', () => {
  it('creates one pod per node, each aimed at its node through node affinity, with the daemon tolerations', () => {
    const ds = daemonSet();
    const plan = planDaemonSet(ds, [node('a'), node('b')], [], [], now);
    assert.deepEqual(plan.create.map(targetNodeOf).sort(), ['a', 'b']);
    const first = plan.create[0] as KubeObject & { spec: { tolerations: { key: string; effect: string }[] } };
    assert.equal(first.metadata.labels?.['controller-revision-hash'], hashOf(ds));
    assert.deepEqual(
      first.spec.tolerations.map((t) => `${t.key}:${t.effect}`),
      [
        'node.kubernetes.io/not-ready:NoExecute',
        'node.kubernetes.io/unreachable:NoExecute',
        'node.kubernetes.io/disk-pressure:NoSchedule',
        'node.kubernetes.io/memory-pressure:NoSchedule',
        'node.kubernetes.io/pid-pressure:NoSchedule',
        'node.kubernetes.io/unschedulable:NoSchedule',
      ],
    );
    assert.equal((plan.createRevision as { revision?: number } | undefined)?.revision, 1);
    assert.equal(plan.status?.desiredNumberScheduled, 2);
  });

  it('skips nodes the node selector leaves out and nodes with a taint the pod does not tolerate', () => {
    const ds = daemonSet({ template: { ...template(), spec: { ...template().spec, nodeSelector: { disk: 'ssd' } } } });
    const nodes = [
      node('a', { labels: { disk: 'ssd' } }),
      node('b'),
      node('c', { labels: { disk: 'ssd' }, taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] }),
    ];
    assert.deepEqual(planDaemonSet(ds, nodes, [], [], now).create.map(targetNodeOf), ['a']);
  });

  it('still runs on a cordoned node (daemon pods tolerate unschedulable)', () => {
    const cordoned = node('a', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] });
    assert.equal(planDaemonSet(daemonSet(), [cordoned], [], [], now).create.length, 1);
  });

  it('removes the pod of a node that no longer qualifies and replaces a failed pod', () => {
    const ds = daemonSet();
    const h = hashOf(ds);
    const stray = pod(ds, 'gone', h);
    const failed = pod(ds, 'a', h, { phase: 'Failed' });
    const plan = planDaemonSet(ds, [node('a')], [stray, failed], [], now);
    assert.deepEqual(plan.delete.map((p) => p.metadata.name).sort(), [stray.metadata.name, failed.metadata.name].sort());
    assert.deepEqual(plan.create.map(targetNodeOf), ['a']);
  });

  it('replaces old pods one node at a time with maxUnavailable 1', () => {
    const old = daemonSet();
    const oldHash = hashOf(old);
    const ds = daemonSet({ template: template('verbose') }, 2);
    const pods = ['a', 'b', 'c'].map((n) => pod(ds, n, oldHash));
    const plan = planDaemonSet(ds, [node('a'), node('b'), node('c')], pods, [], now);
    assert.equal(plan.delete.length, 1);
    assert.equal(plan.create.length, 0);
    assert.equal(plan.status?.updatedNumberScheduled, 0);
  });

  it('surges a new pod next to the old one with maxSurge, and removes the old one once the new one is available', () => {
    const old = daemonSet();
    const ds = daemonSet({ template: template('v2'), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }, 2);
    const first = planDaemonSet(ds, [node('a'), node('b')], [pod(ds, 'a', hashOf(old)), pod(ds, 'b', hashOf(old))], [], now);
    assert.equal(first.create.length, 1);
    assert.equal(first.delete.length, 0);
    const oldA = pod(ds, 'a', hashOf(old));
    const second = planDaemonSet(ds, [node('a')], [oldA, pod(ds, 'a', hashOf(ds))], [], now);
    assert.deepEqual(second.delete, [oldA]);
  });

  it('leaves old pods alone with OnDelete', () => {
    const old = daemonSet();
    const ds = daemonSet({ template: template('v2'), updateStrategy: { type: 'OnDelete' } }, 2);
    assert.equal(planDaemonSet(ds, [node('a')], [pod(ds, 'a', hashOf(old))], [], now).delete.length, 0);
  });

  it('renumbers the revision a rollback returns to instead of making a new one', () => {
    const ds = daemonSet();
    const revision = (n: number, env?: string): KubeObject =>
      ({
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name: `agent-${n}`, namespace: 'default', ownerReferences: [ownerRef(ds)], labels: { 'controller-revision-hash': `h${n}` } },
        data: revisionData(template(env) as never),
        revision: n,
      }) as KubeObject;
    const plan = planDaemonSet(ds, [node('a')], [], [revision(1), revision(2, 'verbose')], now);
    assert.equal(plan.createRevision, undefined);
    assert.equal(plan.renumberRevision?.to, 3);
    assert.equal(plan.renumberRevision?.revision.metadata.name, 'agent-1');
  });
});
