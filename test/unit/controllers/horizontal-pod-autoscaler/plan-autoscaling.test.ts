import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planAutoscaling, scaleHistoryAnnotation } from '../../../../functions/controllers/horizontal-pod-autoscaler/plan-autoscaling.ts';
import { MetricError, resourceReplicas } from '../../../../functions/controllers/horizontal-pod-autoscaler/replica-calculator.ts';
import { defaultHorizontalPodAutoscaler, type HorizontalPodAutoscaler } from '../../../../schemas/horizontal-pod-autoscaler.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import type { PodMetrics } from '../../../../schemas/resource-metrics.ts';

const now = new Date('2026-01-01T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

function pod(name: string, options: { request?: string | null; phase?: string; ready?: boolean; startedSecondsAgo?: number } = {}): KubeObject {
  const request = options.request === undefined ? '100m' : options.request;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ...(request !== null ? { resources: { requests: { cpu: request } } } : {}) }] },
    status: {
      phase: options.phase ?? 'Running',
      startTime: ago(options.startedSecondsAgo ?? 600),
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True', lastTransitionTime: ago(options.startedSecondsAgo ?? 600) }],
    },
  };
}

function usage(entries: Record<string, string>): Map<string, PodMetrics> {
  return new Map(
    Object.entries(entries).map(([name, cpu]) => [
      name,
      { metadata: { name, namespace: 'default' }, timestamp: now.toISOString(), window: '15s', containers: [{ name: 'c', usage: { cpu, memory: '1024Ki' } }] },
    ]),
  );
}

describe('resourceReplicas (Kubernetes replica calculator)', () => {
  const cases: { name: string; current: number; pods: KubeObject[]; used: Record<string, string>; expected: number; utilization: number }[] = [
    {
      name: 'ceil(2 × 150% / 50%) = 6 when both pods use 150m of 100m',
      current: 2,
      pods: [pod('a'), pod('b')],
      used: { a: '150m', b: '150m' },
      expected: 6,
      utilization: 150,
    },
    {
      name: 'keeps the count within the 0.1 tolerance (54% against 50%)',
      current: 2,
      pods: [pod('a'), pod('b')],
      used: { a: '54m', b: '54m' },
      expected: 2,
      utilization: 54,
    },
    {
      name: 'scales down to ceil(4 × 10% / 50%) = 1',
      current: 4,
      pods: ['a', 'b', 'c', 'd'].map((n) => pod(n)),
      used: { a: '10m', b: '10m', c: '10m', d: '10m' },
      expected: 1,
      utilization: 10,
    },
    {
      name: 'takes a pod without metrics at 100% of its request when scaling down (3 stays 3)',
      current: 3,
      pods: [pod('a'), pod('b'), pod('c')],
      used: { a: '10m', b: '10m' },
      expected: 3,
      utilization: 10,
    },
    {
      name: 'takes a pending pod at 0% when scaling up: ceil(2 × 100% / 50%) = 4',
      current: 2,
      pods: [pod('a'), pod('b', { phase: 'Pending' })],
      used: { a: '200m' },
      expected: 4,
      utilization: 200,
    },
    {
      name: 'leaves out a pod being deleted or failed',
      current: 2,
      pods: [pod('a'), pod('b', { phase: 'Failed' })],
      used: { a: '100m', b: '900m' },
      expected: 2,
      utilization: 100,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = resourceReplicas({ currentReplicas: c.current, pods: c.pods, metrics: usage(c.used), resource: 'cpu', targetUtilization: 50, now });
      assert.equal(result.replicas, c.expected);
      assert.equal(result.utilization, c.utilization);
    });
  }

  it('counts a CPU pod not ready within its warm-up as unready', () => {
    const result = resourceReplicas({
      currentReplicas: 2,
      pods: [pod('a'), pod('b', { ready: false, startedSecondsAgo: 20 })],
      metrics: usage({ a: '200m', b: '500m' }),
      resource: 'cpu',
      targetUtilization: 50,
      now,
    });
    assert.equal(result.utilization, 200, 'the warming pod is not averaged in');
    assert.equal(result.replicas, 4);
  });

  it("refuses pods without a request with Kubernetes' message", () => {
    assert.throws(
      () =>
        resourceReplicas({
          currentReplicas: 1,
          pods: [pod('a', { request: null })],
          metrics: usage({ a: '10m' }),
          resource: 'cpu',
          targetUtilization: 50,
          now,
        }),
      (error: unknown) => error instanceof MetricError && error.message === 'missing request for cpu in container c of Pod a',
    );
  });
});

function hpa(spec: Partial<HorizontalPodAutoscaler['spec']>, history?: object): HorizontalPodAutoscaler & KubeObject {
  return defaultHorizontalPodAutoscaler({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default', generation: 1, ...(history ? { annotations: { [scaleHistoryAnnotation]: JSON.stringify(history) } } : {}) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
      ...spec,
    },
  }) as HorizontalPodAutoscaler & KubeObject;
}

const reason = (plan: ReturnType<typeof planAutoscaling>, type: string) => plan.status.conditions?.find((c) => c.type === type);

describe('planAutoscaling', () => {
  it('limits a scale-up to max(2 × current, 4) without behavior and says so', () => {
    const plan = planAutoscaling({ hpa: hpa({}), scale: { replicas: 1, selector: 'app=web' }, pods: [pod('a')], metrics: usage({ a: '500m' }), now });
    assert.equal(plan.rescale, 4);
    assert.deepEqual([reason(plan, 'ScalingLimited')?.status, reason(plan, 'ScalingLimited')?.reason], ['True', 'ScaleUpLimit']);
    assert.deepEqual(plan.events, [
      { type: 'Normal', reason: 'SuccessfulRescale', message: 'New size: 4; reason: cpu resource utilization (percentage of request) above target' },
    ]);
    assert.equal(plan.status.lastScaleTime, '2026-01-01T12:00:00Z');
    assert.deepEqual(plan.status.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: '500m', averageUtilization: 500 } } }]);
  });

  it('holds a scale-down while a higher recommendation is inside the behavior window, then follows it', () => {
    const history = { recommendations: [{ replicas: 4, time: ago(30) }], scaleUps: [], scaleDowns: [] };
    const spec = { behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } };
    const pods = ['a', 'b', 'c', 'd'].map((n) => pod(n));
    const metrics = usage({ a: '10m', b: '10m', c: '10m', d: '10m' });
    const held = planAutoscaling({ hpa: hpa(spec, history), scale: { replicas: 4, selector: 'app=web' }, pods, metrics, now });
    assert.equal(held.rescale, undefined);
    assert.equal(held.status.desiredReplicas, 4);
    assert.equal(reason(held, 'AbleToScale')?.reason, 'ScaleDownStabilized');
    assert.deepEqual(
      held.history.recommendations.map((r) => r.replicas),
      [4, 1],
    );

    const later = new Date(now.getTime() + 61_000);
    const stale = {
      recommendations: [
        { replicas: 4, time: ago(90) },
        { replicas: 1, time: ago(59) },
      ],
      scaleUps: [],
      scaleDowns: [],
    };
    const scaled = planAutoscaling({ hpa: hpa(spec, stale), scale: { replicas: 4, selector: 'app=web' }, pods, metrics, now: later });
    assert.equal(scaled.rescale, 1);
    assert.deepEqual(scaled.history.scaleDowns, [{ change: 3, time: '2026-01-01T12:01:01Z' }]);
  });

  it('keeps a scale-up event only for a rescale the target took: a remembered one that did not happen would hold the next to 2', () => {
    const spec = { maxReplicas: 4, behavior: { scaleDown: { stabilizationWindowSeconds: 600 } } };
    const plan = planAutoscaling({ hpa: hpa(spec), scale: { replicas: 1, selector: 'app=web' }, pods: [pod('a')], metrics: usage({ a: '200m' }), now });
    assert.equal(plan.rescale, 4);
    assert.deepEqual(plan.history.scaleUps, [{ change: 3, time: '2026-01-01T12:00:00Z' }]);
    assert.deepEqual(plan.historyWithoutRescale.scaleUps, []);
    assert.deepEqual(plan.historyWithoutRescale.recommendations, plan.history.recommendations);
    const stored = (history: object) => hpa(spec, history);
    const after = (history: object) =>
      planAutoscaling({ hpa: stored(history), scale: { replicas: 1, selector: 'app=web' }, pods: [pod('a')], metrics: usage({ a: '200m' }), now }).rescale;
    assert.equal(after(plan.historyWithoutRescale), 4, 'the rescale that failed is planned again in full');
    assert.equal(after(plan.history), 2, 'had the failed one been remembered: 4 pods a period, less the 3 it did not add');
  });

  it('limits a scale-down by the behavior policy: at most 1 pod per 60 s', () => {
    const spec = { behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } };
    const pods = ['a', 'b', 'c', 'd'].map((n) => pod(n));
    const plan = planAutoscaling({
      hpa: hpa(spec, { recommendations: [], scaleUps: [], scaleDowns: [] }),
      scale: { replicas: 4, selector: 'app=web' },
      pods,
      metrics: usage({ a: '1m', b: '1m', c: '1m', d: '1m' }),
      now,
    });
    assert.equal(plan.rescale, 3);
    assert.deepEqual([reason(plan, 'ScalingLimited')?.status, reason(plan, 'ScalingLimited')?.reason], ['True', 'ScaleDownLimit']);
  });

  it('brings a target above maxReplicas down to it', () => {
    const plan = planAutoscaling({ hpa: hpa({ maxReplicas: 3 }), scale: { replicas: 5, selector: 'app=web' }, pods: [], metrics: new Map(), now });
    assert.equal(plan.rescale, 3);
    assert.equal(plan.rescaleReason, 'Current number of replicas above Spec.MaxReplicas');
  });

  it('does nothing to a target scaled to zero', () => {
    const plan = planAutoscaling({ hpa: hpa({}), scale: { replicas: 0, selector: 'app=web' }, pods: [], metrics: new Map(), now });
    assert.equal(plan.rescale, undefined);
    assert.deepEqual([reason(plan, 'ScalingActive')?.status, reason(plan, 'ScalingActive')?.reason], ['False', 'ScalingDisabled']);
  });

  it('reports a metric it cannot compute without scaling', () => {
    const plan = planAutoscaling({
      hpa: hpa({}),
      scale: { replicas: 2, selector: 'app=web' },
      pods: [pod('a', { request: null })],
      metrics: usage({ a: '1m' }),
      now,
    });
    assert.equal(plan.rescale, undefined);
    assert.equal(reason(plan, 'ScalingActive')?.reason, 'FailedGetResourceMetric');
    assert.ok(
      plan.events.some(
        (e) => e.reason === 'FailedGetResourceMetric' && e.message === 'failed to get cpu utilization: missing request for cpu in container c of Pod a',
      ),
    );
  });

  it('says when the target cannot be read', () => {
    const plan = planAutoscaling({ hpa: hpa({}), scale: undefined, scaleError: 'deployments.apps "web" not found', pods: [], metrics: new Map(), now });
    assert.deepEqual([reason(plan, 'AbleToScale')?.status, reason(plan, 'AbleToScale')?.reason], ['False', 'FailedGetScale']);
  });
});
