/**
 * A HorizontalPodAutoscaler against DynamoDB Local with the real stream poller and controllers,
 * a fake metrics source standing in for the nodes (it reports what the test says each pod uses)
 * and the controllers' clock fast-forwarded, never waited for: the Deployment scales out under
 * load within maxReplicas, and back in only once the scale-down stabilization window has passed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StatsSummary } from '../../../functions/domain/metrics/node-stats.ts';
import { createAdmission } from '../../../functions/domain/object-admission/admission.ts';
import type { ControlLoops } from '../../../functions/local/control-loops.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { waitFor } from '../../support/wait.ts';
import { deploymentObject, namespaceObject, nodeObject, startControlPlane, type TestControlPlane } from './control-plane.ts';

let plane: TestControlPlane;
let loops: ControlLoops;
const namespace = 'autoscaled';
// The controllers' clock: the test moves it on; it never falls behind the real one, which the pods'
// start and readiness times come from (the node's grace is an hour, so the node stays Ready meanwhile).
let clockMs = 0;
const clock = () => Math.max(Date.now(), clockMs);
const advance = (ms: number) => {
  clockMs = clock() + ms;
};
/** What each pod of the Deployment uses, in nanocores; the test changes it. */
let podNanoCores = 0;
const asked: string[] = [];
/**
 * Set: the next time the figures are asked for, the Deployment is written first, as its own
 * controller writes its status while pods become ready — between the autoscaler's read of the
 * target and its write of the new count. Under load that happens by itself; here it always does.
 */
let writeTargetMeanwhile = false;

/** The fake metrics source: each node says its pods use `podNanoCores` each. */
async function nodeStats(node: KubeObject): Promise<StatsSummary> {
  asked.push(node.metadata.name ?? '');
  if (writeTargetMeanwhile) {
    writeTargetMeanwhile = false;
    const deployment = await plane.store.get(types.deployments, namespace, 'web');
    const annotations = { ...(deployment.metadata.annotations ?? {}), 'test.skiff.io/written-meanwhile': 'true' };
    await plane.store.update(types.deployments, { ...deployment, metadata: { ...deployment.metadata, annotations } });
  }
  const time = new Date(clock()).toISOString();
  const pods = (await plane.store.list(types.pods, { namespace })).items.filter(
    (pod) => (pod.spec as { nodeName?: string }).nodeName === node.metadata.name && (pod.status as { phase?: string } | undefined)?.phase === 'Running',
  );
  const cpu = { time, usageNanoCores: podNanoCores, usageCoreNanoSeconds: 1e12 };
  const memory = { time, workingSetBytes: 32 * 1024 * 1024 };
  return {
    node: { nodeName: node.metadata.name ?? '', cpu: { ...cpu, usageNanoCores: podNanoCores * pods.length }, memory },
    pods: pods.map((pod) => ({
      podRef: { name: pod.metadata.name ?? '', namespace, uid: pod.metadata.uid ?? '' },
      containers: [{ name: 'nginx', cpu, memory }],
      cpu,
      memory,
    })),
    // A pod ready for longer than the window is measured ready (the CPU warm-up rule).
    windowSeconds: 1,
  };
}

interface HpaStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: { type: string; resource?: { name: string; current: { averageUtilization?: number } } }[];
  conditions?: { type: string; status: string; reason: string }[];
}
const hpaStatus = async () => (await plane.store.get(types.horizontalpodautoscalers, namespace, 'web')).status as HpaStatus;
const replicas = async () => ((await plane.store.get(types.deployments, namespace, 'web')).spec as { replicas: number }).replicas;
const runningPods = async () =>
  (await plane.store.list(types.pods, { namespace })).items.filter(
    (p) => !p.metadata.deletionTimestamp && (p.status as { phase?: string } | undefined)?.phase === 'Running',
  ).length;
const condition = (status: HpaStatus, type: string) => status.conditions?.find((c) => c.type === type);

describe('HorizontalPodAutoscaler with a fake metrics source and a fast-forwarded clock', { timeout: 180_000 }, () => {
  before(async () => {
    plane = await startControlPlane();
    await plane.store.create(types.namespaces, namespaceObject(namespace));
    await plane.store.create(types.nodes, nodeObject('hpa-node', { cpu: '8' }));
    plane.startAgent({ nodes: ['hpa-node'] });
    loops = await plane.startLoops({ now: () => new Date(clock()), nodeStats, autoscalerSyncSeconds: 3600, nodeGraceSeconds: 3600 });
    const admission = createAdmission({ store: plane.store });
    await admission.create(types.deployments, deploymentObject(namespace, 'web', { replicas: 1, cpu: '100m' }));
    await waitFor('the first pod running', async () => (await runningPods()) === 1);
    await admission.create(types.horizontalpodautoscalers, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 1,
        maxReplicas: 4,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 600 } },
      },
    });
  });
  after(async () => {
    await plane?.stop();
  });

  it('stores the v2 defaults of the behavior it was not given', async () => {
    const hpa = await plane.store.get(types.horizontalpodautoscalers, namespace, 'web');
    assert.deepEqual((hpa.spec as { behavior: unknown }).behavior, {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      },
      scaleDown: { stabilizationWindowSeconds: 600, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
    });
  });

  // The Deployment is written while the first sync under load reads the figures: the autoscaler's
  // write of the new count conflicts, and it plans again from a fresh read, remembering no scale-up
  // that did not happen (one remembered would hold the next sync to 2 replicas).
  it('scales out to 4 replicas when each pod uses four times its target, though the Deployment was written meanwhile', async () => {
    podNanoCores = 200_000_000; // 200m of a 100m request: 200% against a 50% target.
    writeTargetMeanwhile = true;
    advance(15_000);
    await loops.resync();
    const status = await waitFor('the autoscaler to act', async () => {
      const s = await hpaStatus();
      return s?.desiredReplicas === 4 ? s : undefined;
    });
    assert.equal(await replicas(), 4, 'ceil(1 × 200 / 50) = 4, within maxReplicas');
    assert.deepEqual(status.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: '200m', averageUtilization: 200 } } }]);
    assert.equal(condition(status, 'ScalingActive')?.reason, 'ValidMetricFound');
    // SucceededRescale right after the change, ReadyForNewScale once a sync finds the target at its size.
    assert.match(condition(status, 'AbleToScale')?.reason ?? '', /^(SucceededRescale|ReadyForNewScale)$/);
    assert.ok(asked.includes('hpa-node'), 'the figures came from the node the pod runs on');
    assert.equal(writeTargetMeanwhile, false, 'the Deployment was written during the sync');
    const failed = (await plane.store.list(types.events, { namespace })).items.filter((e) => (e as { reason?: string }).reason === 'FailedRescale');
    assert.deepEqual(failed, [], 'a conflict is planned again, not reported as a failed rescale');
    await waitFor('four pods running', async () => (await runningPods()) === 4);
    advance(15_000);
    await loops.resync();
    await waitFor('the autoscaler to see four replicas', async () => (await hpaStatus())?.currentReplicas === 4);
    assert.equal(await replicas(), 4);
  });

  it('does not scale in while the scale-down window holds the higher recommendation, then scales in once it passed', async () => {
    podNanoCores = 10_000_000; // 10m: 10% of the request, ceil(4 × 10 / 50) = 1.
    advance(15_000);
    await loops.resync();
    const held = await waitFor('the stabilized recommendation', async () => {
      const s = await hpaStatus();
      return condition(s, 'AbleToScale')?.reason === 'ScaleDownStabilized' ? s : undefined;
    });
    assert.equal(held.desiredReplicas, 4);
    assert.equal(await replicas(), 4, 'no scale-in inside the 600 s window');
    advance(300_000);
    await loops.resync();
    await waitFor('a second look inside the window', async () => (await hpaStatus())?.currentMetrics?.[0]?.resource?.current.averageUtilization === 10);
    assert.equal(await replicas(), 4);
    advance(301_000);
    await loops.resync();
    await waitFor('the scale-in after the window', async () => (await replicas()) === 1);
    const status = await hpaStatus();
    assert.equal(status.desiredReplicas, 1);
    assert.equal(condition(status, 'ScalingLimited')?.status, 'False');
    const events = (await plane.store.list(types.events, { namespace })).items.filter((e) => (e as { reason?: string }).reason === 'SuccessfulRescale');
    assert.deepEqual(events.map((e) => (e as { message?: string }).message).sort(), [
      'New size: 1; reason: All metrics below target',
      'New size: 4; reason: cpu resource utilization (percentage of request) above target',
    ]);
  });
});
