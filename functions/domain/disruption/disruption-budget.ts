/**
 * PodDisruptionBudget arithmetic, as Kubernetes' disruption controller and eviction subresource
 * do it: which pods a budget covers, how many must stay healthy, how many evictions it allows
 * now, and the `DisruptionAllowed` condition. Pure: the callers read the pods and the owning
 * controllers' scale, and write what these functions return.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { storedPod } from '../../../schemas/stored-objects.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { type LabelSelectorObject, labelSelectorFromObject } from '../../core/label-selector.ts';

/** How long an eviction's entry in `status.disruptedPods` keeps its pod out of the healthy count (Kubernetes' DeletionTimeout). */
export const disruptedPodTimeoutMs = 2 * 60 * 1000;

export const disruptionAllowedCondition = 'DisruptionAllowed';

export interface BudgetCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

export interface BudgetStatus {
  readonly observedGeneration?: number;
  readonly disruptedPods?: Readonly<Record<string, string>>;
  readonly disruptionsAllowed: number;
  readonly currentHealthy: number;
  readonly desiredHealthy: number;
  readonly expectedPods: number;
  readonly conditions?: readonly BudgetCondition[];
}

export interface BudgetSpec {
  readonly minAvailable?: number | string;
  readonly maxUnavailable?: number | string;
  readonly selector?: LabelSelectorObject;
  readonly unhealthyPodEvictionPolicy?: string;
}

export function budgetSpec(pdb: KubeObject): BudgetSpec {
  return (pdb.spec ?? {}) as BudgetSpec;
}

export function budgetStatus(pdb: KubeObject): BudgetStatus {
  const status = (pdb.status ?? {}) as Partial<BudgetStatus>;
  return {
    ...status,
    disruptionsAllowed: status.disruptionsAllowed ?? 0,
    currentHealthy: status.currentHealthy ?? 0,
    desiredHealthy: status.desiredHealthy ?? 0,
    expectedPods: status.expectedPods ?? 0,
  };
}

/** The status of a budget just created (kube-apiserver clears what a client sent). */
export const initialBudgetStatus: BudgetStatus = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };

/** policy/v1: an absent selector covers no pod, an empty one every pod of the namespace. */
export function budgetCovers(pdb: KubeObject, pod: KubeObject): boolean {
  if (pdb.metadata.namespace !== pod.metadata.namespace) return false;
  try {
    return labelSelectorFromObject(budgetSpec(pdb).selector).matches(pod.metadata.labels ?? {});
  } catch {
    // A selector that cannot be parsed covers nothing.
    return false;
  }
}

export function isPodReady(pod: KubeObject): boolean {
  return storedPod(pod).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Kubernetes' GetScaledValueFromIntOrPercent: a number as it is, `N%` of `total` rounded up or down. */
export function scaledValue(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(value);
  if (!match) throw new Error(`invalid value for IntOrString: invalid value "${value}"`);
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** The budget needs the owning controllers' scale: maxUnavailable, or minAvailable as a percentage. */
export function needsControllerScale(pdb: KubeObject): boolean {
  const spec = budgetSpec(pdb);
  return spec.maxUnavailable !== undefined || typeof spec.minAvailable === 'string';
}

/** What the controller found for a pod's controller: its identity and scale, none at all, or one it cannot read. */
export type PodController = { readonly uid: string; readonly replicas: number } | 'unmanaged' | 'not-found';

export interface BudgetEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface BudgetPlan {
  /** The status to write, undefined when the stored one is right. */
  readonly status?: BudgetStatus;
  readonly events: readonly BudgetEvent[];
  /** When an entry of `disruptedPods` expires: look again then. */
  readonly recheckAfterSeconds?: number;
}

/** `SetStatusCondition`: the transition time moves only when the status does. */
function withCondition(conditions: readonly BudgetCondition[] | undefined, next: Omit<BudgetCondition, 'lastTransitionTime'>, now: Date): BudgetCondition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const condition: BudgetCondition = {
    ...next,
    lastTransitionTime: previous && previous.status === next.status ? previous.lastTransitionTime : kubeTime(now),
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/** `UpdateDisruptionAllowedCondition`: SufficientPods while evictions are allowed, InsufficientPods otherwise. */
export function withAllowedCondition(status: BudgetStatus, now: Date): BudgetStatus {
  const allowed = status.disruptionsAllowed > 0;
  return {
    ...status,
    conditions: withCondition(
      status.conditions,
      {
        type: disruptionAllowedCondition,
        status: allowed ? 'True' : 'False',
        ...(status.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
        reason: allowed ? 'SufficientPods' : 'InsufficientPods',
        message: '',
      },
      now,
    ),
  };
}

function conditionUpToDate(pdb: KubeObject, status: BudgetStatus): boolean {
  const condition = status.conditions?.find((c) => c.type === disruptionAllowedCondition);
  if (!condition || status.observedGeneration !== (pdb.metadata.generation ?? 0)) return false;
  return status.disruptionsAllowed > 0
    ? condition.status === 'True' && condition.reason === 'SufficientPods'
    : condition.status === 'False' && condition.reason === 'InsufficientPods';
}

/** `failSafe`: when the budget cannot be computed, no eviction is allowed, with the reason in the condition. */
function failSafe(pdb: KubeObject, message: string, now: Date): BudgetStatus {
  const current = budgetStatus(pdb);
  return {
    ...current,
    disruptionsAllowed: 0,
    conditions: withCondition(
      current.conditions,
      {
        type: disruptionAllowedCondition,
        status: 'False',
        ...(current.observedGeneration !== undefined ? { observedGeneration: current.observedGeneration } : {}),
        reason: 'SyncFailed',
        message,
      },
      now,
    ),
  };
}

/** The sum of the scales of the controllers of `pods`, each controller counted once (`getExpectedScale`). */
function expectedScale(
  pods: readonly KubeObject[],
  controllerOf: (pod: KubeObject) => PodController,
): { count: number; unmanaged: string[] } | { error: string } {
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const controller = controllerOf(pod);
    if (controller === 'unmanaged') unmanaged.push(pod.metadata.name ?? '');
    else if (controller === 'not-found') return { error: `found no controllers for pod "${pod.metadata.name}"` };
    else scales.set(controller.uid, controller.replicas);
  }
  return { count: [...scales.values()].reduce((sum, n) => sum + n, 0), unmanaged };
}

/**
 * The disruption controller's decision for one budget (`trySync`): `pods` are the namespace's
 * pods, `controllerOf` the owning controller of each covered pod (asked only when the budget
 * needs a scale).
 */
export function planBudget(pdb: KubeObject, pods: readonly KubeObject[], controllerOf: (pod: KubeObject) => PodController, now: Date): BudgetPlan {
  const spec = budgetSpec(pdb);
  const covered = pods.filter((pod) => budgetCovers(pdb, pod));
  const events: BudgetEvent[] = [];
  if (covered.length === 0) events.push({ type: 'Normal', reason: 'NoPods', message: 'No matching pods found' });

  let expectedPods = 0;
  let desiredHealthy = 0;
  let unmanaged: string[] = [];
  const fail = (error: string): BudgetPlan => {
    events.push({ type: 'Warning', reason: 'CalculateExpectedPodCountFailed', message: `Failed to calculate the number of expected pods: ${error}` });
    const status = failSafe(pdb, error, now);
    return { events, ...(sameStatus(budgetStatus(pdb), status) ? {} : { status }) };
  };
  try {
    if (spec.maxUnavailable !== undefined) {
      const scale = expectedScale(covered, controllerOf);
      if ('error' in scale) return fail(scale.error);
      ({ count: expectedPods, unmanaged } = scale);
      desiredHealthy = Math.max(0, expectedPods - scaledValue(spec.maxUnavailable, expectedPods, true));
    } else if (typeof spec.minAvailable === 'number') {
      desiredHealthy = spec.minAvailable;
      expectedPods = covered.length;
    } else if (typeof spec.minAvailable === 'string') {
      const scale = expectedScale(covered, controllerOf);
      if ('error' in scale) return fail(scale.error);
      ({ count: expectedPods, unmanaged } = scale);
      desiredHealthy = scaledValue(spec.minAvailable, expectedPods, true);
    }
  } catch (error) {
    return fail((error as Error).message);
  }
  if (unmanaged.length > 0) {
    events.push({
      type: 'Warning',
      reason: 'UnmanagedPods',
      message: `Pods selected by this PodDisruptionBudget (selector: ${spec.selector ? JSON.stringify(spec.selector) : '<nil>'}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
    });
  }

  // Evictions not yet seen through: the pod keeps out of the healthy count until it is being
  // deleted or the entry is two minutes old.
  const disruptedPods: Record<string, string> = {};
  let recheckAt: number | undefined;
  const recorded = budgetStatus(pdb).disruptedPods ?? {};
  for (const pod of covered) {
    const name = pod.metadata.name ?? '';
    const at = recorded[name];
    if (pod.metadata.deletionTimestamp || at === undefined) continue;
    const expires = Date.parse(at) + disruptedPodTimeoutMs;
    if (expires < now.getTime()) {
      events.push({
        type: 'Warning',
        reason: 'NotDeleted',
        message: `Pod ${name} was expected by PDB ${pdb.metadata.namespace}/${pdb.metadata.name} to be deleted but it wasn't`,
      });
      continue;
    }
    disruptedPods[name] = at;
    recheckAt = recheckAt === undefined ? expires : Math.min(recheckAt, expires);
  }
  const currentHealthy = covered.filter(
    (pod) => !pod.metadata.deletionTimestamp && disruptedPods[pod.metadata.name ?? ''] === undefined && isPodReady(pod),
  ).length;

  // A budget that expects no pods allows nothing, so pods that appear before the next pass are safe.
  let disruptionsAllowed = currentHealthy - desiredHealthy;
  if (expectedPods <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;

  const current = budgetStatus(pdb);
  const next: BudgetStatus = {
    observedGeneration: pdb.metadata.generation ?? 0,
    ...(Object.keys(disruptedPods).length > 0 ? { disruptedPods } : {}),
    disruptionsAllowed,
    currentHealthy,
    desiredHealthy,
    expectedPods,
    ...(current.conditions ? { conditions: current.conditions } : {}),
  };
  const recheckAfterSeconds = recheckAt === undefined ? undefined : Math.max(1, Math.ceil((recheckAt - now.getTime()) / 1000));
  const unchanged =
    current.currentHealthy === currentHealthy &&
    current.desiredHealthy === desiredHealthy &&
    current.expectedPods === expectedPods &&
    current.disruptionsAllowed === disruptionsAllowed &&
    sameRecord(current.disruptedPods, next.disruptedPods) &&
    conditionUpToDate(pdb, current);
  return {
    events,
    ...(unchanged ? {} : { status: withAllowedCondition(next, now) }),
    ...(recheckAfterSeconds !== undefined ? { recheckAfterSeconds } : {}),
  };
}

function sameRecord(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const left = Object.entries(a ?? {});
  const right = b ?? {};
  return left.length === Object.keys(right).length && left.every(([key, value]) => right[key] === value);
}

function sameStatus(a: BudgetStatus, b: BudgetStatus): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Why an eviction is refused, as kube-apiserver's `checkAndDecrement` words it. */
export type EvictionVerdict =
  | { readonly allowed: true; readonly status: BudgetStatus }
  | { readonly allowed: false; readonly code: 429 | 403; readonly message: string; readonly cause?: string; readonly retryAfterSeconds?: number };

export const budgetViolationMessage = "Cannot evict pod as it would violate the pod's disruption budget.";

/**
 * `checkAndDecrement`: refuses while the controller has not seen the budget's generation or
 * allows no disruption; otherwise the status to write, one disruption fewer and the pod
 * recorded in `disruptedPods` (left out of a dry run's, which writes nothing).
 */
export function checkAndDecrement(pdb: KubeObject, podName: string, now: Date): EvictionVerdict {
  const name = pdb.metadata.name ?? '';
  const status = budgetStatus(pdb);
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) {
    return {
      allowed: false,
      code: 429,
      message: budgetViolationMessage,
      cause: `The disruption budget ${name} is still being processed by the server.`,
      retryAfterSeconds: 10,
    };
  }
  if (status.disruptionsAllowed < 0) {
    return { allowed: false, code: 403, message: `poddisruptionbudget.policy "${name}" is forbidden: pdb disruptions allowed is negative` };
  }
  if (Object.keys(status.disruptedPods ?? {}).length > 2000) {
    return {
      allowed: false,
      code: 403,
      message: `poddisruptionbudget.policy "${name}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`,
    };
  }
  if (status.disruptionsAllowed === 0) {
    return {
      allowed: false,
      code: 429,
      message: budgetViolationMessage,
      cause: `The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
    };
  }
  const decremented: BudgetStatus = {
    ...status,
    disruptionsAllowed: status.disruptionsAllowed - 1,
    disruptedPods: { ...(status.disruptedPods ?? {}), [podName]: kubeTime(now) },
  };
  return { allowed: true, status: decremented.disruptionsAllowed === 0 ? withAllowedCondition(decremented, now) : decremented };
}

/**
 * An unready pod may go without spending the budget when its policy is AlwaysAllow, or (the
 * default, IfHealthyBudget) when the budget is already met.
 */
export function unreadyPodMayGo(pdb: KubeObject, pod: KubeObject): boolean {
  if (isPodReady(pod)) return false;
  if (budgetSpec(pdb).unhealthyPodEvictionPolicy === 'AlwaysAllow') return true;
  const status = budgetStatus(pdb);
  return status.currentHealthy >= status.desiredHealthy && status.desiredHealthy > 0;
}
