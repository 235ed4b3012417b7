import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planNodeLifecycle, tolerationSecondsFor } from '../../../../functions/controllers/node-lifecycle/plan-node-lifecycle.ts';
import { kubeTime } from '../../../../functions/core/kube-time.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const t0 = Date.parse('2026-11-22T04:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000);
const iso = (seconds: number) => kubeTime(at(seconds));

function node(options: { ready?: string; reason?: string; taints?: unknown[]; unschedulable?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', creationTimestamp: iso(-3600), resourceVersion: '5' },
    spec: { podCIDR: '127.1.0.0/24', ...(options.taints ? { taints: options.taints } : {}), ...(options.unschedulable ? { unschedulable: true } : {}) },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: iso(-600) },
        { type: 'Ready', status: options.ready ?? 'True', reason: options.reason ?? 'KubeletReady', lastHeartbeatTime: iso(-600) },
      ],
    },
  };
}

function lease(renewedAt: number): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'n1', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'n1', renewTime: `${at(renewedAt).toISOString()}` },
  };
}

/** What admission gives every pod, whoever creates it. */
const defaultTolerations = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

function pod(name: string, options: { tolerations?: unknown[]; deleting?: number; ready?: boolean; nodeName?: string } = {}): KubeObject {
  const tolerations = options.tolerations ?? defaultTolerations;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `${name}-uid`, ...(options.deleting !== undefined ? { deletionTimestamp: iso(options.deleting) } : {}) },
    spec: { nodeName: options.nodeName ?? 'n1', ...(tolerations.length > 0 ? { tolerations } : {}), containers: [] },
    status: { phase: 'Running', podIP: '127.1.0.2', conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

const unreachable = (added: number) => [
  { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: iso(added) },
  { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(added) },
];

function taintsIn(object: KubeObject | undefined): { key: string; effect: string; value?: string; timeAdded?: string }[] | undefined {
  return ((object?.spec ?? {}) as { taints?: { key: string; effect: string }[] }).taints;
}

function conditionOf(object: KubeObject | undefined, type: string): Record<string, unknown> | undefined {
  return ((object?.status as { conditions?: Record<string, unknown>[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
}

describe('planNodeLifecycle', () => {
  it('leaves a node with a fresh Lease alone and asks to look again when it would lapse', () => {
    const plan = planNodeLifecycle(node(), lease(-10), [pod('a')], at(0));
    assert.equal(plan.node, undefined);
    assert.deepEqual([plan.evict.length, plan.markNotReady.length], [0, 0]);
    assert.equal(plan.requeueAfterSeconds, 31);
  });

  it('marks a node whose Lease lapsed Unknown, taints it unreachable and marks its pods not ready', () => {
    const plan = planNodeLifecycle(node(), lease(-41), [pod('a'), pod('elsewhere', { nodeName: 'n2' })], at(0));
    const ready = conditionOf(plan.node, 'Ready');
    assert.equal(ready?.status, 'Unknown');
    assert.equal(ready?.reason, 'NodeStatusUnknown');
    assert.equal(ready?.message, 'Kubelet stopped posting node status.');
    assert.equal(ready?.lastTransitionTime, iso(0));
    assert.equal(conditionOf(plan.node, 'MemoryPressure')?.status, 'Unknown');
    assert.deepEqual(taintsIn(plan.node), unreachable(0));
    assert.equal(plan.becameUnreachable, true);
    assert.deepEqual(
      plan.markNotReady.map((p) => p.metadata.name),
      ['a'],
    );
    assert.equal(conditionOf(plan.markNotReady[0], 'Ready')?.status, 'False');
    assert.equal(plan.evict.length, 0);
    assert.equal(plan.requeueAfterSeconds, 300);
  });

  it('honours a configured grace period', () => {
    assert.equal(planNodeLifecycle(node(), lease(-6), [], at(0), { nodeGraceSeconds: 5 }).becameUnreachable, true);
    assert.equal(planNodeLifecycle(node(), lease(-4), [], at(0), { nodeGraceSeconds: 5 }).becameUnreachable, false);
  });

  const evictionCases: { name: string; tolerations?: unknown[]; now: number; evicted: boolean }[] = [
    { name: 'keeps a pod with the default tolerations for their 300 s', tolerations: defaultTolerations, now: 299, evicted: false },
    { name: 'evicts a pod with the default tolerations after 300 s', tolerations: defaultTolerations, now: 300, evicted: true },
    { name: 'evicts a pod that tolerates neither taint at once, as the taint manager does', tolerations: [], now: 0, evicted: true },
    {
      name: 'evicts after the tolerationSeconds of a matching toleration',
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 20 }],
      now: 20,
      evicted: true,
    },
    {
      name: 'keeps a pod whose matching toleration has not run out',
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 20 }],
      now: 19,
      evicted: false,
    },
    { name: 'keeps a pod that tolerates the taint for ever', tolerations: [{ operator: 'Exists' }], now: 100000, evicted: false },
  ];
  for (const c of evictionCases) {
    it(c.name, () => {
      const tainted = node({ ready: 'Unknown', reason: 'NodeStatusUnknown', taints: unreachable(0) });
      const plan = planNodeLifecycle(tainted, lease(-1000), [pod('a', c.tolerations ? { tolerations: c.tolerations } : {})], at(c.now));
      assert.equal(plan.node, undefined, 'node already right');
      assert.deepEqual(
        plan.evict.map((p) => p.metadata.name),
        c.evicted ? ['a'] : [],
      );
    });
  }

  it('removes pods marked for deletion on an unreachable node once their grace is over', () => {
    const tainted = node({ ready: 'Unknown', reason: 'NodeStatusUnknown', taints: unreachable(0) });
    const plan = planNodeLifecycle(tainted, lease(-1000), [pod('due', { deleting: 330 }), pod('later', { deleting: 360 })], at(340));
    assert.deepEqual(
      plan.forceDelete.map((p) => p.metadata.name),
      ['due'],
    );
    assert.equal(plan.requeueAfterSeconds, 20);
  });

  it('brings a node back to Ready and removes the taints when its Lease is renewed', () => {
    const tainted = node({
      ready: 'Unknown',
      reason: 'NodeStatusUnknown',
      taints: [...unreachable(0), { key: 'dedicated', value: 'x', effect: 'NoSchedule' }],
    });
    const plan = planNodeLifecycle(tainted, lease(98), [pod('a', { ready: false })], at(100));
    assert.equal(plan.becameReady, true);
    assert.equal(conditionOf(plan.node, 'Ready')?.status, 'True');
    assert.deepEqual(taintsIn(plan.node), [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }]);
    assert.deepEqual([plan.evict.length, plan.markNotReady.length], [0, 0]);
  });

  it('taints a node whose agent reports NotReady with not-ready', () => {
    const plan = planNodeLifecycle(node({ ready: 'False', reason: 'KubeletNotReady' }), lease(-1), [], at(0));
    assert.deepEqual(
      (taintsIn(plan.node) ?? []).map((t) => `${t.key}:${t.effect}`),
      ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute'],
    );
  });

  it('taints a cordoned node unschedulable and untaints it when uncordoned', () => {
    const cordoned = planNodeLifecycle(node({ unschedulable: true }), lease(-1), [], at(0));
    assert.deepEqual(
      (taintsIn(cordoned.node) ?? []).map((t) => t.key),
      ['node.kubernetes.io/unschedulable'],
    );
    const uncordoned = planNodeLifecycle(node({ taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] }), lease(-1), [], at(0));
    assert.equal(taintsIn(uncordoned.node), undefined);
  });
});

describe('tolerationSecondsFor', () => {
  const taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' } as const;
  const cases: [string, unknown[], number | undefined][] = [
    ['no toleration: at once', [], 0],
    ['a matching key with seconds', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7 }], 7],
    [
      'the shortest of several',
      [
        { operator: 'Exists', tolerationSeconds: 9 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 4 },
      ],
      4,
    ],
    ['a non-matching effect is ignored', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 1 }], 0],
    ['no seconds: for ever', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' }], undefined],
  ];
  for (const [name, tolerations, expected] of cases) {
    it(name, () => assert.equal(tolerationSecondsFor(tolerations as never, taint), expected));
  }
  it('evicts at once for another NoExecute taint the pod does not tolerate', () => {
    assert.equal(tolerationSecondsFor([], { key: 'custom', effect: 'NoExecute' }), 0);
  });
});
