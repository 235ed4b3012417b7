/**
 * The `pods/eviction` subresource (POST of a policy/v1 Eviction), which `kubectl drain` uses.
 * Skiff serves no PodDisruptionBudgets yet, so every eviction is allowed: it is a delete of the
 * pod with its usual grace (the node agent stops it and finishes the deletion).
 */
import { types } from '../../../schemas/registry.ts';
import type { Admission } from '../../domain/object-admission/admission.ts';
import type { DeleteResult, ObjectReader } from '../../store/store.ts';

/** `Eviction.deleteOptions`, the part of it an eviction honours. */
export interface EvictionDeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  /** Server-side dry run: every check, no deletion. */
  readonly dryRun?: boolean;
}

/**
 * Evicts one pod: NotFoundError (404) when it does not exist; a pod already being deleted is
 * left as it is (evicting it again succeeds, as in Kubernetes).
 */
export async function evictPod(
  context: { readonly store: ObjectReader; readonly admission: Admission },
  namespace: string,
  name: string,
  options: EvictionDeleteOptions = {},
): Promise<DeleteResult> {
  const pod = await context.store.get(types.pods, namespace, name);
  if (pod.metadata.deletionTimestamp || options.dryRun) return { object: pod, removed: false };
  return context.admission.delete(types.pods, pod, {
    ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: Math.max(0, options.gracePeriodSeconds) } : {}),
    ...(options.preconditions ? { preconditions: { ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}), ...options.preconditions } } : {}),
  });
}
