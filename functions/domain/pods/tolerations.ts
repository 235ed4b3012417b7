/**
 * The taints Kubernetes puts on nodes by their condition, and the tolerations every new pod gets
 * for two of them: shared by the API (which adds the defaults), the node lifecycle controller
 * (which sets the taints and evicts by them) and the scheduler (which filters by them).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredPod, storedPod } from '../../../schemas/stored-objects.ts';

export const unreachableTaintKey = 'node.kubernetes.io/unreachable';
export const notReadyTaintKey = 'node.kubernetes.io/not-ready';
export const unschedulableTaintKey = 'node.kubernetes.io/unschedulable';

type Toleration = NonNullable<NonNullable<StoredPod['spec']>['tolerations']>[number];

/** What kube-apiserver's DefaultTolerationSeconds admission plugin adds to new pods. */
export function withDefaultTolerations(pod: KubeObject, seconds: number): KubeObject {
  const spec = storedPod(pod).spec ?? {};
  const tolerations: Toleration[] = [...(spec.tolerations ?? [])];
  for (const key of [notReadyTaintKey, unreachableTaintKey]) {
    const covered = tolerations.some(
      (t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === 'NoExecute'),
    );
    if (!covered) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  }
  return { ...pod, spec: { ...spec, tolerations } };
}
