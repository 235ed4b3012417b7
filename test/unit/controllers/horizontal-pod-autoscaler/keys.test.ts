import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { horizontalPodAutoscalerController } from '../../../../functions/controllers/horizontal-pod-autoscaler/horizontal-pod-autoscaler-controller.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';

const controller = horizontalPodAutoscalerController({ nodeStats: async () => undefined });
const hpa = (generation: number, status: object = {}): KubeObject => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'default', generation, uid: 'u1' },
  spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 3 },
  status,
});
const change = (oldObject: KubeObject | undefined, newObject: KubeObject | undefined) => ({
  typeId: types.horizontalpodautoscalers.id,
  namespace: 'default',
  name: 'web',
  ...(oldObject ? { oldObject } : {}),
  ...(newObject ? { newObject } : {}),
});

describe('the HorizontalPodAutoscaler controller’s keys (one chain of syncs per autoscaler, docs/adr/193)', () => {
  it('syncs a new autoscaler at once, and one listed by the resync', () => {
    assert.deepEqual(controller.keysFor(change(undefined, hpa(1))), [{ typeId: types.horizontalpodautoscalers.id, namespace: 'default', name: 'web' }]);
  });

  it('leaves its status writes and its spec edits to the next sync of the period, as Kubernetes’ queue does', () => {
    assert.deepEqual(controller.keysFor(change(hpa(1), hpa(1, { desiredReplicas: 2 }))), []);
    assert.deepEqual(controller.keysFor(change(hpa(1), hpa(2))), []);
    assert.deepEqual(controller.keysFor(change(hpa(2), undefined)), []);
  });

  it('takes nothing from other types', () => {
    assert.deepEqual(controller.keysFor({ ...change(undefined, hpa(1)), typeId: types.deployments.id }), []);
  });
});
