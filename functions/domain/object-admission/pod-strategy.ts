/**
 * Pods: every pod gets the not-ready and unreachable NoExecute tolerations (kube-apiserver's
 * DefaultTolerationSeconds plugin), on create and again on an update of the pod itself, so a
 * `kubectl replace -f pod.yaml` that leaves them out keeps them instead of being refused for
 * removing tolerations. A new pod that a load balancer will route to gets its target-health
 * readiness gate (docs/adr/094). Every new pod gets its ServiceAccount (Kubernetes' ServiceAccount
 * admission plugin, docs/adr/122): `spec.serviceAccountName` defaulted, the account's token volume
 * mounted, and a pod naming a missing account refused with 403. A pod is deleted gracefully when a node runs it (`pod-deletion.ts`).
 */
import { types } from '../../../schemas/registry.ts';
import { podDeleteOptions } from '../pods/pod-deletion.ts';
import { admitPodsPriority } from '../pods/pod-priority.ts';
import { admitPodsServiceAccounts, isMirrorPod, validateMirrorPod } from '../pods/service-account-admission.ts';
import { withDefaultTolerations } from '../pods/tolerations.ts';
import { addTargetHealthGates } from '../services/readiness-gates.ts';
import type { KindStrategy } from './kind-strategy.ts';
import { withoutUnset } from './without-unset.ts';

export const podStrategy: KindStrategy = {
  prepareForCreate(pod, settings) {
    // The ServiceAccount plugin judges a mirror pod in kube-apiserver's mutating phase, before any
    // validating plugin (NodeRestriction): its refusals come first here too.
    if (isMirrorPod(pod)) validateMirrorPod(pod);
    return withDefaultTolerations(pod, settings.defaultTolerationSeconds);
  },
  prepareForUpdate: (pod, _old, settings) => withDefaultTolerations(pod, settings.defaultTolerationSeconds),
  async prepareCreateFromStore(store, namespace = 'default', pods) {
    const gated = await addTargetHealthGates(store, namespace, pods);
    // Kubernetes' Priority plugin runs after ServiceAccount admission.
    return admitPodsPriority(store, await admitPodsServiceAccounts(store, namespace, gated));
  },
  delete(store, pod, options) {
    const { finalized: _finalized, gracePeriodSeconds, ...asked } = options;
    // The grace period is the strategy's to decide: an unscheduled or finished pod goes at once.
    return store.delete(types.pods, pod.metadata.namespace, pod.metadata.name ?? '', {
      ...podDeleteOptions(pod, gracePeriodSeconds),
      ...withoutUnset(asked),
    });
  },
};
