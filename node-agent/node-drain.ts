/**
 * Evicting a node's pods as `kubectl drain` does (docs/adr/133): each pod through the eviction
 * subresource, so PodDisruptionBudgets are kept; a pod a budget protects (429) is asked again
 * every few seconds, until a deadline. DaemonSet pods are left out, as `kubectl drain
 * --ignore-daemonsets` leaves them: their controller would place them on the node again.
 */
import type { Log } from '../functions/logging/log.ts';
import type { KubeObject } from '../schemas/meta.ts';
import { types } from '../schemas/registry.ts';
import { abortableDelay, isConflict, isNotFound, KubeApiError, type KubeClient } from './kube-client.ts';

/** How often a pod a disruption budget protects is asked for again (`kubectl drain` waits 5 s). */
export const evictionRetryMs = 5000;

export interface EvictOptions {
  /** Stop asking at this time (ms since the epoch); what is left is returned. */
  readonly until: number;
  readonly signal: AbortSignal;
  readonly log: Log;
  /** @default evictionRetryMs */
  readonly retryMs?: number;
}

/** Whether `kubectl drain --ignore-daemonsets` would leave the pod alone. */
export function isDaemonPod(pod: KubeObject): boolean {
  return (pod.metadata.ownerReferences ?? []).some((owner) => owner.controller === true && owner.kind === 'DaemonSet');
}

type Outcome = 'evicted' | 'blocked';

async function evictOne(client: KubeClient, pod: KubeObject, log: Log): Promise<Outcome> {
  const { namespace, name = '', uid } = pod.metadata;
  try {
    await client.createSubresource(types.pods, namespace, name, 'eviction', {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name, namespace },
      ...(uid ? { deleteOptions: { preconditions: { uid } } } : {}),
    });
    return 'evicted';
  } catch (error) {
    // Gone already, or replaced by a pod of the same name (the uid precondition): nothing to evict.
    if (isNotFound(error) || isConflict(error)) return 'evicted';
    if (error instanceof KubeApiError && error.code === 429) return 'blocked';
    log.warn('eviction failed; asking again', { pod: `${namespace}/${name}`, error: error instanceof Error ? error.message : String(error) });
    return 'blocked';
  }
}

/**
 * Evicts the pods (not DaemonSet pods, not pods already terminating) and returns those no
 * eviction was granted for by `until`.
 */
export async function evictPods(client: KubeClient, pods: readonly KubeObject[], options: EvictOptions): Promise<KubeObject[]> {
  let pending = pods.filter((pod) => !isDaemonPod(pod) && !pod.metadata.deletionTimestamp);
  for (;;) {
    const outcomes = await Promise.all(pending.map((pod) => evictOne(client, pod, options.log)));
    pending = pending.filter((_pod, index) => outcomes[index] === 'blocked');
    if (pending.length === 0 || options.signal.aborted) return pending;
    const wait = options.retryMs ?? evictionRetryMs;
    if (Date.now() + wait >= options.until) return pending;
    options.log.info('waiting for disruption budgets to allow evictions', { pods: pending.map((pod) => `${pod.metadata.namespace}/${pod.metadata.name}`) });
    await abortableDelay(wait, options.signal);
  }
}
