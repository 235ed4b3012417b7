/**
 * Binding a pod to a node, as `POST pods/<name>/binding` does: the pod gets `spec.nodeName` and a
 * `PodScheduled=True` condition. A pod is bound once; binding it again is a conflict, whoever asks.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredPod, storedPod } from '../../../schemas/stored-objects.ts';
import { ConflictError } from '../../core/errors.ts';
import { kubeTime } from '../../core/kube-time.ts';

type PodCondition = NonNullable<NonNullable<StoredPod['status']>['conditions']>[number];

export function bindPod(pod: KubeObject, nodeName: string, now: Date = new Date()): KubeObject {
  const { spec = {}, status = {} } = storedPod(pod);
  const bound = spec.nodeName;
  if (bound) {
    throw new ConflictError({ resource: 'pods', group: '', name: pod.metadata.name ?? '' }, `pod ${pod.metadata.name} is already assigned to node "${bound}"`);
  }
  if (pod.metadata.deletionTimestamp) {
    throw new ConflictError({ resource: 'pods', group: '', name: pod.metadata.name ?? '' }, 'the pod is being deleted');
  }
  const conditions = status.conditions ?? [];
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
      phase: status.phase ?? 'Pending',
      conditions: [...conditions.filter((c) => c.type !== 'PodScheduled'), scheduled],
    },
  };
}
