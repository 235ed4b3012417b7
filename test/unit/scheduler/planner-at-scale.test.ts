import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPlanner, feasibleNodesToFind, planSchedule, schedulingQueue } from '../../../functions/scheduler/plan-schedule.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { pod, replicaSet } from '../fixtures.ts';

function node(name: string, cpu = '4', labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: {},
    status: { allocatable: { cpu, memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const nodes = (count: number, cpu?: string): KubeObject[] => Array.from({ length: count }, (_, i) => node(`n${String(i).padStart(5, '0')}`, cpu));

describe('feasibleNodesToFind (kube-scheduler percentageOfNodesToScore)', () => {
  const cases: [number, number][] = [
    [0, 0],
    [3, 3],
    [99, 99],
    [100, 100],
    [200, 100],
    [1000, 420],
    [5000, 500],
    [6000, 300],
    [10000, 500],
  ];
  for (const [count, want] of cases) {
    it(`searches ${want} feasible nodes of ${count}`, () => assert.equal(feasibleNodesToFind(count), want));
  }
});

describe('planner over many nodes', () => {
  it('plans in slices exactly as in one go', () => {
    const rs = replicaSet('web-1', 300);
    const pending = Array.from({ length: 300 }, (_, i) => pod(`p${String(i).padStart(4, '0')}`, { owner: rs, requests: { cpu: '100m' } }));
    const all = planSchedule(pending, nodes(250), []);
    const planner = createPlanner(nodes(250), []);
    const queue = schedulingQueue(pending);
    const sliced = [0, 100, 200].flatMap((start) => planner.plan(queue.slice(start, start + 100)).bindings);
    assert.deepEqual(
      sliced.map((b) => [b.pod.metadata.name, b.nodeName]),
      all.bindings.map((b) => [b.pod.metadata.name, b.nodeName]),
    );
  });

  it('sees the placements of earlier slices when filtering', () => {
    const planner = createPlanner([node('n1', '1')], []);
    const first = planner.plan([pod('a', { requests: { cpu: '800m' } })]);
    const second = planner.plan([pod('b', { requests: { cpu: '800m' } })]);
    assert.equal(first.bindings[0]?.nodeName, 'n1');
    assert.equal(second.unschedulable[0]?.message, '0/1 nodes are available: 1 Insufficient cpu.');
  });

  it('spreads pods over a large cluster though each pod scores only a sample', () => {
    const pending = Array.from({ length: 1000 }, (_, i) => pod(`p${String(i).padStart(4, '0')}`, { requests: { cpu: '100m' } }));
    const plan = planSchedule(pending, nodes(1000), []);
    assert.equal(plan.bindings.length, 1000);
    const perNode = new Map<string, number>();
    for (const { nodeName } of plan.bindings) perNode.set(nodeName, (perNode.get(nodeName) ?? 0) + 1);
    assert.ok(perNode.size >= 900, `only ${perNode.size} nodes used`);
    assert.ok(Math.max(...perNode.values()) <= 2);
  });

  it('filters every node before calling a pod unschedulable, sample or not', () => {
    const big = nodes(600, '1');
    const plan = planSchedule([pod('huge', { requests: { cpu: '2' } })], big, []);
    assert.equal(plan.unschedulable[0]?.message, '0/600 nodes are available: 600 Insufficient cpu.');
  });

  it('finds the one fitting node wherever the search starts', () => {
    const cluster = [...nodes(400, '1'), node('z-big', '8')];
    const planner = createPlanner(cluster, []);
    planner.plan(Array.from({ length: 150 }, (_, i) => pod(`small-${i}`, { requests: { cpu: '10m' } })));
    const plan = planner.plan([pod('wide', { requests: { cpu: '4' } })]);
    assert.equal(plan.bindings[0]?.nodeName, 'z-big');
  });

  it('never overcommits a node across 2,000 pods on 300 nodes', () => {
    const pending = Array.from({ length: 2000 }, (_, i) => pod(`p${String(i).padStart(4, '0')}`, { requests: { cpu: '300m' } }));
    const plan = planSchedule(pending, nodes(300, '1'), []);
    const perNode = new Map<string, number>();
    for (const { nodeName } of plan.bindings) perNode.set(nodeName, (perNode.get(nodeName) ?? 0) + 1);
    assert.equal(plan.bindings.length, 900);
    assert.ok([...perNode.values()].every((count) => count === 3));
    assert.equal(plan.unschedulable[0]?.message, '0/300 nodes are available: 300 Insufficient cpu.');
  });
});
