/**
 * Binding a pod to a node, as `POST pods/<name>/binding` does: the pod gets `spec.nodeName` and a
 * `PodScheduled=True` condition. A pod is bound once; binding it again is a conflict, whoever asks.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { ConflictError } from '../../core/errors.ts';
import { kubeTime } from '../../core/kube-time.ts';

interface PodCondition {
  readonly type: string;
  readonly status: string;
  readonly [field: string]: unknown;
}

export function bindPod(pod: KubeObject, nodeName: string, now: Date = new Date()): KubeObject {
  const spec = (pod.spec ?? {}) as Record<string, unknown>;
  const bound = spec.nodeName;
  if (typeof bound === 'string' && bound !== '') {
    throw new ConflictError({ resource: 'pods', group: '', name: pod.metadata.name ?? '' }, `pod ${pod.metadata.name} is already assigned to node "${bound}"`);
  }
  if (pod.metadata.deletionTimestamp) {
    throw new ConflictError({ resource: 'pods', group: '', name: pod.metadata.name ?? '' }, 'the pod is being deleted');
  }
  const status = (pod.status ?? {}) as Record<string, unknown>;
  const conditions = (Array.isArray(status.conditions) ? status.conditions : []) as PodCondition[];
  const scheduled: PodCondition = {
    type: 'PodScheduled',
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: kubeTime(now),
  };
  return {
    ...pod,
    spec: { ...spec, nodeName },
    status: {
      ...status,
      phase: typeof status.phase === 'string' ? status.phase : 'Pending',
      conditions: [...conditions.filter((c) => c.type !== 'PodScheduled'), scheduled],
    },
  };
}
