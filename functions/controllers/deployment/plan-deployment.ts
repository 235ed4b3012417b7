/**
 * The Deployment reconciler's decision, as a pure function of the Deployment, the ReplicaSets
 * in its namespace, their pods and the time: the ReplicaSet to create, the ones to rescale or
 * re-annotate, the old ones to forget, and the Deployment's new revision annotation and status.
 *
 * Rolling updates follow Kubernetes: scale the new ReplicaSet up while the sum of pods stays
 * within replicas + maxSurge, scale old ones down while available pods stay at least
 * replicas - maxUnavailable. Counts are taken pessimistically from spec and status together,
 * so a ReplicaSet whose status lags its spec can never make the bounds look looser than they are.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredDeployment, storedDeployment, storedReplicaSet } from '../../../schemas/stored-objects.ts';
import { controllerRefTo, isControlledBy } from '../../controller-runtime/owner-references.ts';
import { canonicalJson, stableHash } from '../../controller-runtime/stable-hash.ts';
import { kubeTime } from '../../core/kube-time.ts';
import { isPodActive } from '../replicaset/pod-availability.ts';
import {
  appendedRevisionHistory,
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  revisionAnnotation,
  revisionHistoryAnnotation,
  revisionOf,
  rollingBounds,
  templateHashLabel,
} from './rollout-math.ts';

export interface DeploymentEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface DeploymentPlan {
  readonly createReplicaSet?: KubeObject;
  /** ReplicaSets with a new `spec.replicas` or annotations. */
  readonly updateReplicaSets: readonly KubeObject[];
  /** Old, empty ReplicaSets beyond `revisionHistoryLimit`. */
  readonly deleteReplicaSets: readonly KubeObject[];
  /** The Deployment with its revision annotation and status, when either changed. */
  readonly deployment?: KubeObject;
  readonly events: readonly DeploymentEvent[];
  readonly requeueAfterSeconds?: number;
}

type DeploymentSpec = NonNullable<StoredDeployment['spec']>;
/** A Deployment's or a ReplicaSet's pod template (the same schema). */
type PodTemplate = NonNullable<DeploymentSpec['template']>;

export interface DeploymentCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastUpdateTime: string;
  readonly lastTransitionTime: string;
}

interface RsCounts {
  readonly spec: number;
  readonly replicas: number;
  readonly ready: number;
  readonly available: number;
}

/** Annotations of a Deployment that are not carried over to its ReplicaSets. */
const notCopied = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  revisionAnnotation,
  revisionHistoryAnnotation,
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  'deprecated.deployment.rollback.to',
]);

function specOf(d: KubeObject): DeploymentSpec {
  return storedDeployment(d).spec ?? {};
}

function rsReplicas(rs: KubeObject): number {
  return storedReplicaSet(rs).spec?.replicas ?? 0;
}

function countsOf(rs: KubeObject, spec = rsReplicas(rs)): RsCounts {
  const status = storedReplicaSet(rs).status ?? {};
  return { spec, replicas: status.replicas ?? 0, ready: status.readyReplicas ?? 0, available: status.availableReplicas ?? 0 };
}

/** Pods an RS may have right now: a lowered spec is not yet carried out until its status says so. */
function podsAtMost(c: RsCounts): number {
  return Math.max(c.spec, c.replicas);
}

/** Available pods an RS surely has: never more than its spec allows it to keep. */
function availableAtLeast(c: RsCounts): number {
  return Math.min(c.spec, c.available);
}

/** The template without the label the controller adds, for comparing and hashing. */
function comparableTemplate(template: PodTemplate | undefined): unknown {
  const t = template ?? {};
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[templateHashLabel];
  return { ...t, metadata: { ...(t.metadata ?? {}), labels } };
}

export function sameTemplate(a: PodTemplate | undefined, b: PodTemplate | undefined): boolean {
  return canonicalJson(comparableTemplate(a)) === canonicalJson(comparableTemplate(b));
}

export function podTemplateHash(template: PodTemplate | undefined, collisionCount = 0): string {
  return stableHash([comparableTemplate(template), collisionCount]);
}

function copiedAnnotations(d: KubeObject): Record<string, string> {
  return Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !notCopied.has(k)));
}

function byCreation(a: KubeObject, b: KubeObject): number {
  const ca = a.metadata.creationTimestamp ?? '';
  const cb = b.metadata.creationTimestamp ?? '';
  if (ca !== cb) return ca < cb ? -1 : 1;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

export function newReplicaSetFor(d: KubeObject, revision: number, replicas: number, maxReplicas: number): KubeObject {
  const spec = specOf(d);
  const hash = podTemplateHash(spec.template, storedDeployment(d).status?.collisionCount ?? 0);
  const template = spec.template ?? {};
  const labels = { ...(template.metadata?.labels ?? {}), [templateHashLabel]: hash };
  const selector = spec.selector ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      ...(d.metadata.namespace ? { namespace: d.metadata.namespace } : {}),
      labels,
      annotations: {
        ...copiedAnnotations(d),
        [revisionAnnotation]: String(revision),
        [desiredReplicasAnnotation]: String(spec.replicas ?? 1),
        [maxReplicasAnnotation]: String(maxReplicas),
      },
      ownerReferences: [controllerRefTo(d)],
    },
    spec: {
      replicas,
      minReadySeconds: spec.minReadySeconds ?? 0,
      selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [templateHashLabel]: hash } },
      template: { ...structuredClone(template), metadata: { ...structuredClone(template.metadata ?? {}), labels } },
    },
  };
}

/**
 * Whether the plan looks at pods: a Recreate rollout waits for the old pods to go, and a
 * ReplicaSet scaled to zero is forgotten only once none of its pods is left. Otherwise pods play
 * no part and the controller need not list them (every pod of the namespace, on every reconcile:
 * a 1,000-pod list for each batch of a rollout's changes; docs/adr/195).
 */
export function deploymentNeedsPods(d: KubeObject, replicaSets: readonly KubeObject[]): boolean {
  if (d.metadata.deletionTimestamp) return false;
  if (specOf(d).strategy?.type === 'Recreate') return true;
  return replicaSets.some((rs) => isControlledBy(rs, d) && !rs.metadata.deletionTimestamp && rsReplicas(rs) === 0 && countsOf(rs).replicas === 0);
}

export function planDeployment(d: KubeObject, replicaSets: readonly KubeObject[], pods: readonly KubeObject[], now: Date): DeploymentPlan {
  const none: DeploymentPlan = { updateReplicaSets: [], deleteReplicaSets: [], events: [] };
  if (d.metadata.deletionTimestamp) return none;
  const spec = specOf(d);
  const replicas = spec.replicas ?? 1;
  const recreate = spec.strategy?.type === 'Recreate';
  const bounds = recreate ? { maxSurge: 0, maxUnavailable: replicas } : rollingBounds(spec.strategy?.rollingUpdate, replicas);
  const owned = replicaSets.filter((rs) => isControlledBy(rs, d) && !rs.metadata.deletionTimestamp).sort(byCreation);
  const matching = owned.filter((rs) => sameTemplate(spec.template, storedReplicaSet(rs).spec?.template));
  const existingNew = matching.sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  const old = owned.filter((rs) => rs !== existingNew);
  const maxOldRevision = old.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);
  const events: DeploymentEvent[] = [];

  // Working copy of each ReplicaSet's desired replicas; only changed ones are written.
  const target = new Map<KubeObject, number>(owned.map((rs) => [rs, rsReplicas(rs)]));
  const scale = (rs: KubeObject, to: number) => {
    const from = target.get(rs) ?? 0;
    if (to === from) return;
    target.set(rs, to);
    events.push({
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      message: `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`,
    });
  };

  let createReplicaSet: KubeObject | undefined;
  let newRs = existingNew;
  let waitForOldPods = false;
  const paused = spec.paused === true;

  if (paused) {
    // A paused Deployment still follows scale changes when nothing is rolling out.
    const active = owned.filter((rs) => rsReplicas(rs) > 0);
    const only = active.length === 1 ? active[0] : active.length === 0 ? existingNew : undefined;
    if (only && rsReplicas(only) !== replicas) scale(only, replicas);
  } else if (recreate) {
    const oldActive = old.filter((rs) => rsReplicas(rs) > 0);
    for (const rs of oldActive) scale(rs, 0);
    const oldUids = new Set(old.map((rs) => rs.metadata.uid));
    const oldPodsLeft = pods.some((pod) => isPodActiveOrStopping(pod) && ownerUid(pod) !== undefined && oldUids.has(ownerUid(pod)));
    const oldStatusLeft = old.some((rs) => countsOf(rs).replicas > 0);
    const newReplicas = oldActive.length === 0 && !oldPodsLeft && !oldStatusLeft ? replicas : 0;
    // Old pods finishing their grace period change no ReplicaSet: look again soon.
    if (newReplicas === 0 && (oldPodsLeft || oldStatusLeft)) waitForOldPods = true;
    if (!newRs) {
      createReplicaSet = newReplicaSetFor(d, maxOldRevision + 1, newReplicas, replicas);
      newRs = createReplicaSet;
      target.set(newRs, newReplicas);
      if (newReplicas > 0)
        events.push({ type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${newRs.metadata.name} from 0 to ${newReplicas}` });
    } else if (newReplicas > 0 || rsReplicas(newRs) > replicas) {
      scale(newRs, Math.min(replicas, Math.max(newReplicas, rsReplicas(newRs))));
    }
  } else {
    // Rolling update: first the new ReplicaSet up, then (another round) the old ones down.
    const current = newRs ? rsReplicas(newRs) : 0;
    let wanted = current;
    if (current > replicas) wanted = replicas;
    else if (current < replicas) {
      const podsNow = owned.reduce((sum, rs) => sum + podsAtMost(countsOf(rs)), 0) - (newRs ? podsAtMost(countsOf(newRs)) : 0) + current;
      const room = replicas + bounds.maxSurge - podsNow;
      if (room > 0) wanted = current + Math.min(room, replicas - current);
    }
    if (!newRs) {
      createReplicaSet = newReplicaSetFor(d, maxOldRevision + 1, wanted, replicas + bounds.maxSurge);
      newRs = createReplicaSet;
      target.set(newRs, wanted);
      if (wanted > 0) events.push({ type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${newRs.metadata.name} from 0 to ${wanted}` });
    } else if (wanted !== current) {
      scale(newRs, wanted);
    } else {
      scaleDownOld(old, newRs, target, replicas - bounds.maxUnavailable, scale);
    }
  }

  // ReplicaSets whose replicas or annotations change.
  const updateReplicaSets: KubeObject[] = [];
  const revision = newRs && newRs !== createReplicaSet && revisionOf(newRs) <= maxOldRevision ? maxOldRevision + 1 : newRs ? revisionOf(newRs) : 0;
  for (const rs of owned) {
    const wantedReplicas = target.get(rs) ?? rsReplicas(rs);
    let annotations = rs.metadata.annotations ?? {};
    if (rs === newRs && !paused) {
      // A rollback gives an old ReplicaSet the next revision: the one it had joins its history.
      const leaving = rs.metadata.annotations?.[revisionAnnotation];
      const history =
        leaving !== undefined && revisionOf(rs) < revision ? appendedRevisionHistory(rs.metadata.annotations?.[revisionHistoryAnnotation], leaving) : undefined;
      annotations = {
        ...annotations,
        ...copiedAnnotations(d),
        [revisionAnnotation]: String(revision),
        ...(history !== undefined ? { [revisionHistoryAnnotation]: history } : {}),
        [desiredReplicasAnnotation]: String(replicas),
        [maxReplicasAnnotation]: String(replicas + bounds.maxSurge),
      };
    } else if (wantedReplicas !== rsReplicas(rs)) {
      annotations = { ...annotations, [desiredReplicasAnnotation]: String(replicas), [maxReplicasAnnotation]: String(replicas + bounds.maxSurge) };
    }
    const annotationsChanged = canonicalJson(annotations) !== canonicalJson(rs.metadata.annotations ?? {});
    if (wantedReplicas === rsReplicas(rs) && !annotationsChanged) continue;
    updateReplicaSets.push({ ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...storedReplicaSet(rs).spec, replicas: wantedReplicas } });
  }

  // Forget the oldest empty ReplicaSets beyond the history limit, once nothing is moving.
  const deleteReplicaSets: KubeObject[] = [];
  if (events.length === 0 && !createReplicaSet) {
    const limit = spec.revisionHistoryLimit ?? 10;
    const empty = old
      .filter(
        (rs) => rsReplicas(rs) === 0 && countsOf(rs).replicas === 0 && !pods.some((pod) => ownerUid(pod) === rs.metadata.uid && isPodActiveOrStopping(pod)),
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    deleteReplicaSets.push(...empty.slice(0, Math.max(0, empty.length - limit)));
  }

  const { status, requeueAfterSeconds: statusRequeue } = statusFor(d, owned, newRs, createReplicaSet, target, bounds.maxUnavailable, events.length > 0, now);
  const requeueAfterSeconds = waitForOldPods ? Math.min(2, statusRequeue ?? 2) : statusRequeue;
  const annotations =
    newRs && !paused
      ? { ...(d.metadata.annotations ?? {}), [revisionAnnotation]: String(createReplicaSet ? revisionOf(createReplicaSet) : revision) }
      : d.metadata.annotations;
  const statusChanged = canonicalJson(status) !== canonicalJson(d.status ?? {});
  const annotationsChanged = canonicalJson(annotations ?? {}) !== canonicalJson(d.metadata.annotations ?? {});
  const deployment = statusChanged || annotationsChanged ? { ...d, metadata: { ...d.metadata, ...(annotations ? { annotations } : {}) }, status } : undefined;
  return {
    ...(createReplicaSet ? { createReplicaSet } : {}),
    updateReplicaSets,
    deleteReplicaSets,
    ...(deployment ? { deployment } : {}),
    events,
    ...(requeueAfterSeconds !== undefined ? { requeueAfterSeconds } : {}),
  };
}

function ownerUid(pod: KubeObject): string | undefined {
  return pod.metadata.ownerReferences?.find((ref) => ref.controller)?.uid;
}

/** Not finished: running, or terminating but not yet gone. */
function isPodActiveOrStopping(pod: KubeObject): boolean {
  return isPodActive(pod) || pod.metadata.deletionTimestamp !== undefined;
}

/**
 * Kubernetes' two steps: first drop old pods that are not available anyway, then scale old
 * ReplicaSets down by as many available pods as exceed `minAvailable`, oldest first.
 */
function scaleDownOld(
  old: readonly KubeObject[],
  newRs: KubeObject,
  target: Map<KubeObject, number>,
  minAvailable: number,
  scale: (rs: KubeObject, to: number) => void,
): void {
  const all = [...old, newRs];
  const counts = (rs: KubeObject) => countsOf(rs, target.get(rs) ?? rsReplicas(rs));
  if (old.every((rs) => (target.get(rs) ?? 0) === 0)) return;
  const allPods = all.reduce((sum, rs) => sum + podsAtMost(counts(rs)), 0);
  const newCounts = counts(newRs);
  const newUnavailable = newCounts.spec - availableAtLeast(newCounts);
  let maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return;

  for (const rs of old) {
    if (maxScaledDown <= 0) break;
    const c = counts(rs);
    const unhealthy = c.spec - availableAtLeast(c);
    if (c.spec === 0 || unhealthy <= 0) continue;
    const by = Math.min(maxScaledDown, unhealthy);
    scale(rs, c.spec - by);
    maxScaledDown -= by;
  }

  const available = all.reduce((sum, rs) => sum + availableAtLeast(counts(rs)), 0);
  let excess = Math.min(available - minAvailable, maxScaledDown);
  for (const rs of old) {
    if (excess <= 0) break;
    const c = counts(rs);
    if (c.spec === 0) continue;
    const by = Math.min(c.spec, excess);
    scale(rs, c.spec - by);
    excess -= by;
  }
}

function statusFor(
  d: KubeObject,
  owned: readonly KubeObject[],
  newRs: KubeObject | undefined,
  created: KubeObject | undefined,
  target: Map<KubeObject, number>,
  maxUnavailable: number,
  scaled: boolean,
  now: Date,
): { status: Record<string, unknown>; requeueAfterSeconds?: number } {
  const spec = specOf(d);
  const replicas = spec.replicas ?? 1;
  const previous = storedDeployment(d).status ?? {};
  const all = owned.map((rs) => countsOf(rs));
  const sum = (pick: (c: RsCounts) => number) => all.reduce((total, c) => total + pick(c), 0);
  const updatedReplicas = newRs && !created ? countsOf(newRs).replicas : 0;
  const counts = {
    replicas: sum((c) => c.replicas),
    updatedReplicas,
    readyReplicas: sum((c) => c.ready),
    availableReplicas: sum((c) => c.available),
    unavailableReplicas: Math.max(0, replicas - sum((c) => c.available)),
  };
  const time = kubeTime(now);
  const conditions = [...(previous.conditions ?? [])];
  const set = (next: Omit<DeploymentCondition, 'lastUpdateTime' | 'lastTransitionTime'>, refresh: boolean) => {
    const index = conditions.findIndex((c) => c.type === next.type);
    const current = index >= 0 ? conditions[index] : undefined;
    if (current && current.status === next.status && current.reason === next.reason && current.message === next.message && !refresh) return;
    const condition: DeploymentCondition = {
      ...next,
      lastUpdateTime: time,
      lastTransitionTime: current && current.status === next.status ? (current.lastTransitionTime ?? time) : time,
    };
    if (index >= 0) conditions[index] = condition;
    else conditions.push(condition);
  };

  const available = counts.availableReplicas >= replicas - maxUnavailable;
  set(
    available
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
    false,
  );

  let requeueAfterSeconds: number | undefined;
  const name = newRs?.metadata.name ?? '';
  const progressing = conditions.find((c) => c.type === 'Progressing');
  const complete =
    newRs !== undefined &&
    !created &&
    counts.updatedReplicas === replicas &&
    counts.replicas === replicas &&
    counts.availableReplicas >= replicas &&
    (target.get(newRs) ?? 0) === replicas;
  const progressed =
    scaled ||
    counts.updatedReplicas > (previous.updatedReplicas ?? 0) ||
    counts.readyReplicas > (previous.readyReplicas ?? 0) ||
    counts.availableReplicas > (previous.availableReplicas ?? 0) ||
    counts.replicas < (previous.replicas ?? 0);
  if (spec.paused) {
    set({ type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, false);
  } else if (progressing?.reason === 'DeploymentPaused') {
    set({ type: 'Progressing', status: 'True', reason: 'DeploymentResumed', message: 'Deployment is resumed' }, true);
  } else if (complete) {
    set({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }, false);
  } else if (created) {
    set({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${name}"` }, true);
  } else if (progressed || !progressing) {
    set({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.` }, true);
  } else if (spec.progressDeadlineSeconds !== undefined && progressing.reason !== 'ProgressDeadlineExceeded') {
    const since = Date.parse(progressing.lastUpdateTime ?? '');
    const left = Number.isNaN(since) ? 0 : since + spec.progressDeadlineSeconds * 1000 - now.getTime();
    if (left <= 0)
      set({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.` }, true);
    else requeueAfterSeconds = Math.ceil(left / 1000);
  }
  if (!complete && !spec.paused && spec.progressDeadlineSeconds !== undefined && requeueAfterSeconds === undefined) {
    const current = conditions.find((c) => c.type === 'Progressing');
    if (current && current.reason !== 'ProgressDeadlineExceeded') requeueAfterSeconds = spec.progressDeadlineSeconds;
  }

  return {
    status: {
      observedGeneration: d.metadata.generation ?? 0,
      ...counts,
      conditions: conditions.sort((a, b) => (a.type === 'Available' ? -1 : b.type === 'Available' ? 1 : 0)),
      ...(previous.collisionCount !== undefined ? { collisionCount: previous.collisionCount } : {}),
    },
    ...(requeueAfterSeconds !== undefined ? { requeueAfterSeconds } : {}),
  };
}
