/**
 * The `pods/eviction` subresource (POST of a policy/v1 Eviction), which `kubectl drain` uses.
 * Skiff serves no PodDisruptionBudgets yet, so every eviction is allowed: it is a delete of the
 * pod with its usual grace (the node agent stops it and finishes the deletion).
 */
import { types } from '../../../schemas/registry.ts';
import { podDeleteOptions } from '../../domain/pods/pod-deletion.ts';
import type { DeleteResult, ObjectStore } from '../../store/store.ts';

/** `Eviction.deleteOptions`, the part of it an eviction honours. */
export interface EvictionDeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

/**
 * Evicts one pod: NotFoundError (404) when it does not exist; a pod already being deleted is
 * left as it is (evicting it again succeeds, as in Kubernetes).
 */
export async function evictPod(store: ObjectStore, namespace: string, name: string, options: EvictionDeleteOptions = {}): Promise<DeleteResult> {
  const pod = await store.get(types.pods, namespace, name);
  if (pod.metadata.deletionTimestamp) return { object: pod, removed: false };
  const defaults = podDeleteOptions(pod);
  return store.delete(types.pods, namespace, name, {
    ...defaults,
    ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: Math.max(0, options.gracePeriodSeconds) } : {}),
    preconditions: { ...defaults.preconditions, ...options.preconditions },
  });
}
