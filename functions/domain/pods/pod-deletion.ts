/**
 * The grace period a pod's deletion gets, as kube-apiserver's pod strategy decides it
 * (CheckGracefulDelete): the one the client asked for, else the pod's own
 * `terminationGracePeriodSeconds` (30 by default) — but 0 for a pod no node has taken (nothing
 * runs it, so nobody would ever finish the deletion) and for a pod that has already terminated
 * (Succeeded or Failed), whatever the client asked. A pod bound to a node is only marked: its
 * node agent stops the containers and then finishes the deletion, as a kubelet does.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { storedPod } from '../../../schemas/stored-objects.ts';
import type { DeleteOptions } from '../../store/store.ts';

export const defaultTerminationGracePeriodSeconds = 30;

export function podDeleteOptions(pod: KubeObject, askedGracePeriodSeconds?: number): DeleteOptions {
  const { spec = {}, status = {} } = storedPod(pod);
  const uid = pod.metadata.uid;
  const preconditions = uid ? { preconditions: { uid } } : {};
  const unscheduled = !spec.nodeName;
  const terminated = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (unscheduled || terminated) return { ...preconditions, gracePeriodSeconds: 0 };
  const grace = askedGracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? defaultTerminationGracePeriodSeconds;
  return { ...preconditions, gracePeriodSeconds: Math.max(0, grace) };
}
