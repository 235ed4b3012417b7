/**
 * How a pod is deleted when nobody asked for a particular grace period. A pod bound to a node is
 * only marked: its node agent stops the containers and then finishes the deletion, as a kubelet
 * does. A pod no node has taken has nothing to stop, so it is removed at once.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { storedPod } from '../../../schemas/stored-objects.ts';
import type { DeleteOptions } from '../../store/store.ts';

export const defaultTerminationGracePeriodSeconds = 30;

export function podDeleteOptions(pod: KubeObject): DeleteOptions {
  const spec = storedPod(pod).spec ?? {};
  const uid = pod.metadata.uid;
  const preconditions = uid ? { preconditions: { uid } } : {};
  if (!spec.nodeName) return { ...preconditions, gracePeriodSeconds: 0 };
  const grace = spec.terminationGracePeriodSeconds ?? defaultTerminationGracePeriodSeconds;
  return { ...preconditions, gracePeriodSeconds: Math.max(0, grace) };
}
