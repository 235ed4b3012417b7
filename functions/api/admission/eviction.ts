/**
 * The `pods/eviction` subresource (POST of a policy/v1 Eviction), which `kubectl drain` uses: a
 * delete of the pod that a PodDisruptionBudget covering it may refuse (kube-apiserver's
 * EvictionREST). The budget's `disruptionsAllowed` is spent by a write of its status conditional
 * on the revision read, so two evictions racing for the last allowed disruption cannot both pass.
 * A pod not yet finished is marked with the `DisruptionTarget` condition (EvictionByEvictionAPI)
 * before it is deleted, as kube-apiserver does, so a Job's podFailurePolicy can tell a disruption
 * from a failure.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { storedPod } from '../../../schemas/stored-objects.ts';
import { ApiError, ConflictError, ForbiddenError } from '../../core/errors.ts';
import { kubeTime } from '../../core/kube-time.ts';
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

/** Attempts at marking a pod whose status another writer changed meanwhile. */
const markAttempts = 5;

/**
 * Sets `DisruptionTarget` on the latest pod (kube-apiserver's `addConditionAndDeletePod`), unless it
 * finished or already carries it; the preconditions are checked against that latest pod, so a
 * refused eviction changes nothing. Returns the pod as written, or undefined when nothing was.
 */
async function markDisruptionTarget(
  context: EvictionContext,
  read: KubeObject,
  preconditions: { readonly uid?: string; readonly resourceVersion?: string },
): Promise<KubeObject | undefined> {
  let latest = read;
  for (let attempt = 1; ; attempt++) {
    const status = (latest.status ?? {}) as { phase?: string; conditions?: { type: string; status: string }[] };
    if (status.phase === 'Succeeded' || status.phase === 'Failed') return undefined;
    if ((status.conditions ?? []).some((c) => c.type === 'DisruptionTarget' && c.status === 'True')) return undefined;
    const name = latest.metadata.name ?? '';
    if (
      (preconditions.uid && preconditions.uid !== latest.metadata.uid) ||
      (preconditions.resourceVersion && preconditions.resourceVersion !== latest.metadata.resourceVersion)
    ) {
      throw new ConflictError(
        { resource: 'pods', group: '', name },
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    const condition = {
      type: 'DisruptionTarget',
      status: 'True',
      lastTransitionTime: kubeTime(context.now()),
      reason: 'EvictionByEvictionAPI',
      message: 'Eviction API: evicting',
    };
    const conditions = [...(status.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'), condition];
    try {
      return await context.admission.update(types.pods, { ...latest, status: { ...status, conditions } }, latest);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= markAttempts || preconditions.resourceVersion) throw error;
      latest = await context.store.get(types.pods, latest.metadata.namespace, name);
    }
  }
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
  const remove = async (resourceVersion: string | undefined): Promise<DeleteResult> => {
    if (options.dryRun) return { object: pod, removed: false };
    let preconditions: { uid?: string; resourceVersion?: string } = {
      ...(pod.metadata.uid && options.preconditions ? { uid: pod.metadata.uid } : {}),
      ...options.preconditions,
      ...(resourceVersion && !givenResourceVersion ? { resourceVersion } : {}),
    };
    const marked = await markDisruptionTarget(context, pod, preconditions);
    // The condition is this eviction's own write: a resourceVersion precondition moves past it.
    if (marked && preconditions.resourceVersion) preconditions = { ...preconditions, resourceVersion: marked.metadata.resourceVersion };
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
