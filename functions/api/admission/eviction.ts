/**
 * The `pods/eviction` subresource (POST of a policy/v1 Eviction), which `kubectl drain` uses: a
 * delete of the pod that a PodDisruptionBudget covering it may refuse (kube-apiserver's
 * EvictionREST). The budget's `disruptionsAllowed` is spent by a write of its status conditional
 * on the revision read, so two evictions racing for the last allowed disruption cannot both pass.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { storedPod } from '../../../schemas/stored-objects.ts';
import { ApiError, ConflictError, ForbiddenError } from '../../core/errors.ts';
import { budgetCovers, budgetViolationMessage, checkAndDecrement, type EvictionVerdict, unreadyPodMayGo } from '../../domain/disruption/disruption-budget.ts';
import type { Admission } from '../../domain/object-admission/admission.ts';
import { listAll } from '../../store/list-all.ts';
import type { DeleteResult, ObjectReader } from '../../store/store.ts';

/** `Eviction.deleteOptions`, the part of it an eviction honours. */
export interface EvictionDeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  /** Server-side dry run: every check, no deletion. */
  readonly dryRun?: boolean;
}

export interface EvictionContext {
  readonly store: ObjectReader;
  readonly admission: Admission;
  now(): Date;
}

/** Attempts at spending a budget that another writer changed meanwhile (kube-apiserver: 20). */
const budgetWriteAttempts = 20;

/** A refusal of kube-apiserver's eviction: 429 TooManyRequests with the DisruptionBudget cause, or its 403s. */
function budgetRefusal(budget: KubeObject, verdict: Extract<EvictionVerdict, { allowed: false }>): ApiError {
  if (verdict.code === 403) return new ForbiddenError(verdict.message, { name: budget.metadata.name ?? '', group: 'policy', kind: 'poddisruptionbudget' });
  return new ApiError(429, 'TooManyRequests', verdict.message, {
    ...(verdict.cause ? { causes: [{ reason: 'DisruptionBudget', message: verdict.cause }] } : {}),
    ...(verdict.retryAfterSeconds ? { retryAfterSeconds: verdict.retryAfterSeconds } : {}),
  });
}

/** Terminal, pending and terminating pods are deleted without asking a budget (`canIgnorePDB`). */
function canIgnoreBudget(pod: KubeObject): boolean {
  const phase = storedPod(pod).status?.phase ?? 'Pending';
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || Boolean(pod.metadata.deletionTimestamp);
}

/**
 * Evicts one pod: NotFoundError (404) when it does not exist; a 429 while the one budget
 * covering it allows no disruption; a 500 when several budgets cover it (as kube-apiserver).
 */
export async function evictPod(context: EvictionContext, namespace: string, name: string, options: EvictionDeleteOptions = {}): Promise<DeleteResult> {
  const pod = await context.store.get(types.pods, namespace, name);
  const givenResourceVersion = options.preconditions?.resourceVersion;
  const remove = (resourceVersion: string | undefined): Promise<DeleteResult> => {
    if (options.dryRun) return Promise.resolve({ object: pod, removed: false });
    const preconditions = {
      ...(pod.metadata.uid && options.preconditions ? { uid: pod.metadata.uid } : {}),
      ...options.preconditions,
      ...(resourceVersion && !givenResourceVersion ? { resourceVersion } : {}),
    };
    return context.admission.delete(types.pods, pod, {
      ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: Math.max(0, options.gracePeriodSeconds) } : {}),
      ...(Object.keys(preconditions).length > 0 ? { preconditions } : {}),
    });
  };

  if (canIgnoreBudget(pod)) {
    if (pod.metadata.deletionTimestamp) return { object: pod, removed: false };
    const phase = storedPod(pod).status?.phase;
    // A pending pod could turn ready meanwhile: deleted only as it was read.
    return remove(phase === 'Succeeded' || phase === 'Failed' ? undefined : pod.metadata.resourceVersion);
  }

  const budgets = (await listAll(context.store, types.poddisruptionbudgets, { namespace })).filter((pdb) => budgetCovers(pdb, pod));
  if (budgets.length > 1) {
    throw new ApiError(500, '', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  }
  let budget = budgets[0];
  if (!budget) return remove(undefined);

  if (unreadyPodMayGo(budget, pod)) {
    // The unready pod is deleted only as it was read: had it turned ready, the budget counts it.
    try {
      return await remove(pod.metadata.resourceVersion);
    } catch (error) {
      if (error instanceof ConflictError && !givenResourceVersion) {
        throw budgetRefusal(budget, {
          allowed: false,
          code: 429,
          message: budgetViolationMessage,
          cause: `The disruption budget ${budget.metadata.name} is still being processed by the server.`,
          retryAfterSeconds: 10,
        });
      }
      throw error;
    }
  }

  for (let attempt = 1; ; attempt++) {
    const verdict = checkAndDecrement(budget, name, context.now());
    if (!verdict.allowed) throw budgetRefusal(budget, verdict);
    if (options.dryRun) break;
    try {
      await context.admission.update(types.poddisruptionbudgets, { ...budget, status: verdict.status }, budget);
      break;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      if (attempt >= budgetWriteAttempts) {
        throw new ApiError(504, 'Timeout', `Timeout: couldn't update PodDisruptionBudget "${budget.metadata.name}" due to conflicts`, {
          retryAfterSeconds: 10,
        });
      }
      budget = await context.store.get(types.poddisruptionbudgets, namespace, budget.metadata.name ?? '');
    }
  }
  return remove(undefined);
}
