import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMilliCpu, parseQuantity } from '../../../functions/core/resource-quantity.ts';
import { planSchedule } from '../../../functions/scheduler/plan-schedule.ts';
import { claimLookup } from '../../../functions/scheduler/scheduler-controller.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { pod, replicaSet } from '../fixtures.ts';

function node(
  name: string,
  options: { cpu?: string; memory?: string; pods?: string; taints?: unknown[]; labels?: Record<string, string>; ready?: boolean; unschedulable?: boolean } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...options.labels } },
    spec: { ...(options.taints ? { taints: options.taints } : {}), ...(options.unschedulable ? { unschedulable: true } : {}) },
    status: {
      allocatable: { cpu: options.cpu ?? '2', memory: options.memory ?? '4Gi', pods: options.pods ?? '110' },
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
    },
  };
}

const threeNodes = [node('n1'), node('n2'), node('n3')];

describe('resource quantities', () => {
  const cases: [unknown, number | undefined][] = [
    ['100m', 0.1],
    ['2', 2],
    ['0.5', 0.5],
    ['128Mi', 128 * 2 ** 20],
    ['1G', 1e9],
    ['1e3', 1000],
    ['1Ki', 1024],
    ['abc', undefined],
    [7, 7],
  ];
  for (const [text, want] of cases) {
    it(`parses ${String(text)}`, () => assert.equal(parseQuantity(text), want));
  }
  it('rounds cpu up to whole millicores', () => {
    assert.equal(parseMilliCpu('0.0001'), 1);
    assert.equal(parseMilliCpu('1.5'), 1500);
  });
});

describe('planSchedule', () => {
  it('spreads the pods of one ReplicaSet over the nodes', () => {
    const rs = replicaSet('web-1', 3);
    const pending = ['a', 'b', 'c'].map((n) => pod(n, { owner: rs }));
    const plan = planSchedule(pending, threeNodes, []);
    assert.deepEqual(new Set(plan.bindings.map((b) => b.nodeName)), new Set(['n1', 'n2', 'n3']));
    assert.equal(plan.unschedulable.length, 0);
  });

  it('prefers the least allocated node', () => {
    const busy = [pod('x', { node: 'n1', requests: { cpu: '1500m' } }), pod('y', { node: 'n2', requests: { cpu: '1' } })];
    const plan = planSchedule([pod('a', { requests: { cpu: '100m' } })], threeNodes, busy);
    assert.equal(plan.bindings[0]?.nodeName, 'n3');
  });

  const refusals: { name: string; pods: KubeObject[]; nodes: KubeObject[]; bound?: KubeObject[]; message: string }[] = [
    {
      name: 'reports insufficient cpu on every node',
      pods: [pod('big', { requests: { cpu: '8' } })],
      nodes: threeNodes,
      message: '0/3 nodes are available: 3 Insufficient cpu.',
    },
    {
      name: 'reports insufficient memory',
      pods: [pod('big', { requests: { memory: '64Gi' } })],
      nodes: threeNodes,
      message: '0/3 nodes are available: 3 Insufficient memory.',
    },
    {
      name: 'counts what bound pods already request',
      pods: [pod('a', { requests: { cpu: '1' } })],
      nodes: [node('n1')],
      bound: [pod('x', { node: 'n1', requests: { cpu: '1500m' } })],
      message: '0/1 nodes are available: 1 Insufficient cpu.',
    },
    {
      name: 'refuses a node at its pod limit',
      pods: [pod('a')],
      nodes: [node('n1', { pods: '1' })],
      bound: [pod('x', { node: 'n1' })],
      message: '0/1 nodes are available: 1 Too many pods.',
    },
    {
      name: 'keeps pods off untolerated NoSchedule taints',
      pods: [pod('a')],
      nodes: [node('n1', { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] })],
      message: '0/1 nodes are available: 1 node(s) had untolerated taint {k: v}.',
    },
    {
      name: 'names every reason with its count, sorted',
      pods: [pod('a', { requests: { cpu: '3' } })],
      nodes: [node('n1', { taints: [{ key: 'k', value: 'v', effect: 'NoExecute' }] }), node('n2'), node('n3')],
      message: '0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu.',
    },
    {
      name: 'refuses nodes that do not match the nodeSelector',
      pods: [pod('a', { nodeSelector: { disk: 'ssd' } })],
      nodes: [node('n1', { labels: { disk: 'hdd' } })],
      message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
    },
    {
      name: 'refuses cordoned nodes',
      pods: [pod('a')],
      nodes: [node('n1', { unschedulable: true })],
      message: '0/1 nodes are available: 1 node(s) were unschedulable.',
    },
    {
      name: 'refuses not-ready nodes',
      pods: [pod('a')],
      nodes: [node('n1', { ready: false })],
      message: '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.',
    },
    {
      name: 'refuses a host port already taken',
      pods: [pod('a', { hostPort: 8080 })],
      nodes: [node('n1')],
      bound: [pod('x', { node: 'n1', hostPort: 8080 })],
      message: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
    },
    { name: 'says so when there are no nodes', pods: [pod('a')], nodes: [], message: '0/0 nodes are available: no nodes available to schedule pods.' },
  ];
  for (const c of refusals) {
    it(c.name, () => {
      const plan = planSchedule(c.pods, c.nodes, c.bound ?? []);
      assert.equal(plan.bindings.length, 0);
      assert.equal(plan.unschedulable[0]?.message, c.message);
    });
  }

  const placements: { name: string; pod: KubeObject; nodes: KubeObject[]; want: string }[] = [
    {
      name: 'places a pod that tolerates the taint on the tainted node',
      pod: pod('a', { tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] }),
      nodes: [node('n1', { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] })],
      want: 'n1',
    },
    {
      name: 'tolerates every taint with an empty Exists toleration',
      pod: pod('a', { tolerations: [{ operator: 'Exists' }] }),
      nodes: [node('n1', { taints: [{ key: 'x', effect: 'NoExecute' }] })],
      want: 'n1',
    },
    {
      name: 'avoids PreferNoSchedule taints when it can',
      pod: pod('a'),
      nodes: [node('n1', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] }), node('n2')],
      want: 'n2',
    },
    {
      name: 'uses a PreferNoSchedule node when it is the only one',
      pod: pod('a'),
      nodes: [node('n1', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] })],
      want: 'n1',
    },
    {
      name: 'honours required node affinity',
      pod: pod('a', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }] },
          },
        },
      }),
      nodes: [node('n1', { labels: { zone: 'a' } }), node('n2', { labels: { zone: 'b' } })],
      want: 'n2',
    },
    {
      name: 'prefers nodes matching preferred node affinity',
      pod: pod('a', {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 50, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['c'] }] } },
            ],
          },
        },
      }),
      nodes: [node('n1', { labels: { zone: 'a' } }), node('n2', { labels: { zone: 'c' } })],
      want: 'n2',
    },
  ];
  for (const c of placements) {
    it(c.name, () => {
      const plan = planSchedule([c.pod], c.nodes, []);
      assert.equal(plan.bindings[0]?.nodeName, c.want);
    });
  }

  it('never places more than a node can hold within one batch', () => {
    const pending = ['a', 'b', 'c'].map((n) => pod(n, { requests: { cpu: '800m' } }));
    const plan = planSchedule(pending, [node('n1')], []);
    assert.equal(plan.bindings.length, 2);
    assert.equal(plan.unschedulable[0]?.message, '0/1 nodes are available: 1 Insufficient cpu.');
  });

  it('skips pods that are already bound or being deleted', () => {
    const plan = planSchedule([pod('a', { node: 'n1' }), pod('b', { deleting: true })], threeNodes, []);
    assert.equal(plan.bindings.length + plan.unschedulable.length, 0);
  });
});

describe('planSchedule with persistent volume claims (VolumeBinding)', () => {
  const withClaim = (name: string, claim: string, extra: Record<string, unknown> = {}): KubeObject => {
    const base = pod(name);
    return { ...base, spec: { ...(base.spec as object), volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }], ...extra } } as KubeObject;
  };
  const onNode = (hostname: string) => [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [hostname] }], matchFields: [] }];
  const claims = (namespace: string, name: string) => {
    if (name === 'local-n2') return { kind: 'bound' as const, terms: onNode('n2') };
    if (name === 'first') return { kind: 'waitForFirstConsumer' as const };
    if (name === 'unbound') return { kind: 'unavailable' as const, reason: 'pod has unbound immediate PersistentVolumeClaims' };
    return { kind: 'unavailable' as const, reason: `persistentvolumeclaim "${name}" not found in ${namespace}` };
  };

  it("places a pod where its bound volume's node affinity allows, and says why elsewhere as kube-scheduler does", () => {
    assert.equal(planSchedule([withClaim('a', 'local-n2')], threeNodes, [], claims).bindings[0]?.nodeName, 'n2');
    const elsewhere = withClaim('b', 'local-n2', { nodeSelector: { 'kubernetes.io/hostname': 'n1' } });
    assert.deepEqual(
      planSchedule([elsewhere], threeNodes, [], claims).unschedulable[0]?.message,
      "0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 node(s) didn't match Pod's node affinity/selector.",
    );
  });

  it('gives a first-consumer claim the node of its first pod, and its next pods the same node', () => {
    const plan = planSchedule([withClaim('a', 'first'), withClaim('b', 'first')], threeNodes, [], claims);
    const first = plan.bindings[0]?.nodeName;
    assert.ok(first);
    assert.equal(plan.bindings[1]?.nodeName, first);
    assert.deepEqual(plan.claimSelections, [{ namespace: 'default', name: 'first', nodeName: first }]);
  });

  it('refuses a pod whose claim is unbound (Immediate) or missing on every node', () => {
    const plan = planSchedule([withClaim('a', 'unbound'), withClaim('b', 'gone')], threeNodes, [], claims);
    assert.deepEqual(
      plan.unschedulable.map((u) => u.message),
      [
        '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
        '0/3 nodes are available: persistentvolumeclaim "gone" not found in default.',
      ],
    );
  });
});

describe('claimLookup', () => {
  const claim = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>, deleting = false): KubeObject =>
    ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'ns', ...(annotations ? { annotations } : {}), ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
      spec,
    }) as KubeObject;
  const affinity = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n2'] }] }] } };
  const lookup = claimLookup(
    [
      claim('bound', { volumeName: 'pv-1', storageClassName: 'standard' }),
      claim('waiting', { storageClassName: 'standard' }),
      claim('chosen', { storageClassName: 'standard' }, { 'volume.kubernetes.io/selected-node': 'n3' }),
      claim('immediate', { storageClassName: 'fast' }),
      claim('leaving', { storageClassName: 'standard' }, undefined, true),
    ],
    [{ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv-1' }, spec: { nodeAffinity: affinity } } as KubeObject],
    [
      { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'standard' }, volumeBindingMode: 'WaitForFirstConsumer' } as KubeObject,
      { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, volumeBindingMode: 'Immediate' } as KubeObject,
    ],
  );
  it("reads a bound claim's volume node affinity, a first-consumer claim's chosen node, and Kubernetes' reasons", () => {
    assert.deepEqual(lookup('ns', 'bound'), {
      kind: 'bound',
      terms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n2'] }], matchFields: [] }],
    });
    assert.deepEqual(lookup('ns', 'waiting'), { kind: 'waitForFirstConsumer' });
    assert.deepEqual(lookup('ns', 'chosen'), { kind: 'waitForFirstConsumer', selectedNode: 'n3' });
    assert.deepEqual(lookup('ns', 'immediate'), { kind: 'unavailable', reason: 'pod has unbound immediate PersistentVolumeClaims' });
    assert.deepEqual(lookup('ns', 'leaving'), { kind: 'unavailable', reason: 'persistentvolumeclaim "leaving" is being deleted' });
    assert.deepEqual(lookup('other', 'bound'), { kind: 'unavailable', reason: 'persistentvolumeclaim "bound" not found' });
  });
});
