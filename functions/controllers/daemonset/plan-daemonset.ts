/**
 * The DaemonSet reconciler's decision, as a pure function of the DaemonSet, the nodes, its pods,
 * its ControllerRevisions and the time: one pod on every node that should run it (node
 * selector, required node affinity, taints against the pod's tolerations plus those every daemon
 * pod gets), none elsewhere, a rolling update within maxUnavailable/maxSurge, the revision of the
 * current template recorded for `kubectl rollout history/undo`, and the status.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type StoredDaemonSet, storedDaemonSet, storedPod } from '../../../schemas/stored-objects.ts';
import { controllerRefTo, isControlledBy } from '../../controller-runtime/owner-references.ts';
import { canonicalJson, stableHash } from '../../controller-runtime/stable-hash.ts';
import { nodeSelectorTerm, nodeTaints, type Taint, type Toleration, termMatches, tolerates } from '../../domain/scheduling/node-matching.ts';
import { isPodAvailable, isPodReady, podPhase } from '../replicaset/pod-availability.ts';

export const revisionHashLabel = 'controller-revision-hash';

/** The tolerations the DaemonSet controller gives every daemon pod (AddOrUpdateDaemonPodTolerations). */
export const daemonPodTolerations: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];
const hostNetworkToleration: Toleration = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

type Spec = NonNullable<StoredDaemonSet['spec']>;
type Template = NonNullable<Spec['template']>;

export interface DaemonSetStatus {
  readonly currentNumberScheduled: number;
  readonly numberMisscheduled: number;
  readonly desiredNumberScheduled: number;
  readonly numberReady: number;
  readonly observedGeneration: number;
  readonly updatedNumberScheduled: number;
  readonly numberAvailable: number;
  readonly numberUnavailable?: number;
}

export interface DaemonSetPlan {
  /** A ControllerRevision to create for the current template. */
  readonly createRevision?: KubeObject;
  /** An existing revision of the current template whose number moves to the newest (a rollback). */
  readonly renumberRevision?: { readonly revision: KubeObject; readonly to: number };
  readonly deleteRevisions: readonly KubeObject[];
  readonly create: readonly KubeObject[];
  readonly delete: readonly KubeObject[];
  readonly status?: DaemonSetStatus;
  readonly requeueAfterSeconds?: number;
}

function withoutHashLabel(template: Template): Template {
  const labels = { ...(template.metadata?.labels ?? {}) };
  delete labels[revisionHashLabel];
  return { ...template, metadata: { ...(template.metadata ?? {}), labels } };
}

/** What a revision records: a patch that puts the template back, as Kubernetes' DaemonSet revisions hold. */
export function revisionData(template: Template): Record<string, unknown> {
  return { spec: { template: { ...withoutHashLabel(template), $patch: 'replace' } } };
}

export function templateHash(template: Template, collisionCount = 0): string {
  return stableHash([withoutHashLabel(template), collisionCount]);
}

function revisionNumber(revision: KubeObject): number {
  const value = (revision as { revision?: number }).revision;
  return typeof value === 'number' ? value : 0;
}

/** The node a daemon pod is for: its binding, or the node its affinity names while it waits for one. */
export function targetNodeOf(pod: KubeObject): string | undefined {
  const spec = storedPod(pod).spec;
  if (spec?.nodeName) return spec.nodeName;
  for (const term of spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const field of (term.matchFields ?? []) as readonly { key?: string; operator?: string; values?: readonly string[] }[]) {
      if (field.key === 'metadata.name' && field.operator === 'In' && field.values?.length === 1) return field.values[0];
    }
  }
  return undefined;
}

function tolerationsFor(template: Template): Toleration[] {
  const own = (template.spec?.tolerations ?? []) as Toleration[];
  const extra = template.spec?.hostNetwork ? [...daemonPodTolerations, hostNetworkToleration] : daemonPodTolerations;
  const tolerations = [...own];
  for (const toleration of extra) {
    if (!tolerations.some((t) => t.key === toleration.key && t.effect === toleration.effect)) tolerations.push(toleration);
  }
  return tolerations;
}

/** Whether `node` should run the daemon pod: Kubernetes' nodeShouldRunDaemonPod, without resources. */
export function shouldRunOn(template: Template, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(template.spec?.nodeSelector ?? {})) if (labels[key] !== value) return false;
  const terms = template.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.map(nodeSelectorTerm).some((term) => termMatches(term, node))) return false;
  const tolerations = tolerationsFor(template);
  return nodeTaints(node)
    .filter((taint: Taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute')
    .every((taint) => tolerations.some((t) => tolerates(t, taint)));
}

/** The pod for `nodeName`: the template's, bound there through node affinity so the scheduler places it. */
export function daemonPod(ds: KubeObject, template: Template, hash: string, nodeName: string): KubeObject {
  const spec = structuredClone(template.spec ?? {}) as Record<string, unknown> & { affinity?: Record<string, unknown> };
  const affinity = (spec.affinity ?? {}) as { nodeAffinity?: Record<string, unknown> };
  const nodeAffinity = {
    ...(affinity.nodeAffinity ?? {}),
    requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] },
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ds.metadata.name}-`,
      ...(ds.metadata.namespace ? { namespace: ds.metadata.namespace } : {}),
      labels: { ...(template.metadata?.labels ?? {}), [revisionHashLabel]: hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [controllerRefTo(ds)],
    },
    spec: { ...spec, affinity: { ...affinity, nodeAffinity }, tolerations: tolerationsFor(template) },
  };
}

function resolve(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const percent = Number.parseInt(value, 10) || 0;
  return roundUp ? Math.ceil((percent * total) / 100) : Math.floor((percent * total) / 100);
}

export function planDaemonSet(
  ds: KubeObject,
  nodes: readonly KubeObject[],
  pods: readonly KubeObject[],
  revisions: readonly KubeObject[],
  now: Date,
): DaemonSetPlan {
  const stored = storedDaemonSet(ds);
  const spec: Spec = stored.spec ?? {};
  const template = (spec.template ?? {}) as Template;
  const minReadySeconds = spec.minReadySeconds ?? 0;
  const hash = templateHash(template, stored.status?.collisionCount ?? 0);

  // The revision of the current template: reuse one that records it (a rollback), else a new one.
  const owned = revisions.filter((r) => isControlledBy(r, ds));
  const data = revisionData(template);
  const newest = owned.reduce((max, r) => Math.max(max, revisionNumber(r)), 0);
  const matching = owned.find((r) => canonicalJson((r as { data?: unknown }).data) === canonicalJson(data));
  let createRevision: KubeObject | undefined;
  let renumberRevision: DaemonSetPlan['renumberRevision'];
  if (!matching) {
    createRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${ds.metadata.name}-${hash}`,
        ...(ds.metadata.namespace ? { namespace: ds.metadata.namespace } : {}),
        labels: { ...(template.metadata?.labels ?? {}), [revisionHashLabel]: hash },
        ownerReferences: [controllerRefTo(ds)],
      },
      data,
      revision: newest + 1,
    } as KubeObject;
  } else if (revisionNumber(matching) < newest) renumberRevision = { revision: matching, to: newest + 1 };

  const daemonPods = pods.filter((pod) => isControlledBy(pod, ds));
  const live = daemonPods.filter((pod) => !pod.metadata.deletionTimestamp);
  const byNode = new Map<string, KubeObject[]>();
  for (const pod of live) {
    const node = targetNodeOf(pod) ?? '';
    byNode.set(node, [...(byNode.get(node) ?? []), pod]);
  }
  const isCurrent = (pod: KubeObject) => pod.metadata.labels?.[revisionHashLabel] === hash;
  const available = (pod: KubeObject) => podPhase(pod) === 'Running' && isPodAvailable(pod, minReadySeconds, now);

  const create: KubeObject[] = [];
  const remove: KubeObject[] = [];
  const deleting = ds.metadata.deletionTimestamp !== undefined;
  const eligible = nodes.filter((node) => shouldRunOn(template, node));
  const eligibleNames = new Set(eligible.map((n) => n.metadata.name ?? ''));
  let misscheduled = 0;
  for (const [node, nodePods] of byNode) {
    if (eligibleNames.has(node)) continue;
    if (nodePods.some((p) => storedPod(p).spec?.nodeName)) misscheduled += 1;
    if (!deleting) remove.push(...nodePods);
  }

  // Per eligible node: the pods that count, failed ones replaced, duplicates removed.
  interface NodeState {
    readonly node: string;
    readonly pods: KubeObject[];
  }
  const states: NodeState[] = eligible.map((node) => {
    const name = node.metadata.name ?? '';
    const nodePods = byNode.get(name) ?? [];
    const failed = nodePods.filter((p) => podPhase(p) === 'Failed' || podPhase(p) === 'Succeeded');
    if (!deleting) remove.push(...failed);
    return { node: name, pods: nodePods.filter((p) => !failed.includes(p)) };
  });

  const updating = spec.updateStrategy?.type !== 'OnDelete';
  const desired = eligible.length;
  const maxSurge = updating ? resolve(spec.updateStrategy?.rollingUpdate?.maxSurge, desired, true) : 0;
  let maxUnavailable = updating ? resolve(spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, desired, true) : 0;
  if (updating && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  let unavailable = states.filter((s) => !s.pods.some(available)).length;
  let surging = states.filter((s) => s.pods.some(isCurrent) && s.pods.some((p) => !isCurrent(p))).length;

  if (!deleting) {
    for (const state of states) {
      const current = state.pods.filter(isCurrent);
      const old = state.pods.filter((p) => !isCurrent(p));
      if (state.pods.length === 0) {
        create.push(daemonPod(ds, template, hash, state.node));
        continue;
      }
      // More than one pod of the same template on a node: keep the oldest.
      if (current.length > 1) remove.push(...[...current].sort(byCreation).slice(1));
      if (!updating || old.length === 0) {
        if (old.length > 1) remove.push(...[...old].sort(byCreation).slice(1));
        continue;
      }
      if (current.length > 0) {
        // Surge: the new pod is there; the old one goes once the new one is available.
        if (current.some(available)) remove.push(...old);
        continue;
      }
      const oldAvailable = old.some(available);
      if (!oldAvailable) {
        // Replacing a pod that serves nothing costs no availability.
        remove.push(...old);
      } else if (maxSurge > 0) {
        if (surging < maxSurge) {
          create.push(daemonPod(ds, template, hash, state.node));
          surging += 1;
        }
      } else if (unavailable < maxUnavailable) {
        remove.push(...old);
        unavailable += 1;
      }
    }
  }

  // History: old revisions beyond the limit that no live pod runs.
  const inUse = new Set(live.map((p) => p.metadata.labels?.[revisionHashLabel]));
  const limit = spec.revisionHistoryLimit ?? 10;
  const historic = owned
    .filter((r) => r !== matching && !inUse.has(r.metadata.labels?.[revisionHashLabel]))
    .sort((a, b) => revisionNumber(a) - revisionNumber(b));
  const deleteRevisions = historic.slice(0, Math.max(0, historic.length - limit));

  const removed = new Set(remove);
  const counted = states.map((s) => s.pods.filter((p) => !removed.has(p)));
  const status: DaemonSetStatus = {
    currentNumberScheduled: counted.filter((p) => p.length > 0).length,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: counted.filter((p) => p.some(isPodReady)).length,
    observedGeneration: ds.metadata.generation ?? 0,
    updatedNumberScheduled: counted.filter((p) => p.some(isCurrent)).length,
    numberAvailable: counted.filter((p) => p.some(available)).length,
  };
  const withUnavailable: DaemonSetStatus = {
    ...status,
    ...(desired - status.numberAvailable > 0 ? { numberUnavailable: desired - status.numberAvailable } : {}),
  };
  const previous = stored.status;
  const same =
    previous !== undefined &&
    canonicalJson({ ...previous, collisionCount: undefined, conditions: undefined }) ===
      canonicalJson({ ...withUnavailable, collisionCount: undefined, conditions: undefined });
  const waitingForAvailable = minReadySeconds > 0 && live.some((p) => isPodReady(p) && !isPodAvailable(p, minReadySeconds, now));
  return {
    ...(createRevision ? { createRevision } : {}),
    ...(renumberRevision ? { renumberRevision } : {}),
    deleteRevisions,
    create,
    delete: [...new Set(remove)],
    ...(same ? {} : { status: withUnavailable }),
    ...(waitingForAvailable ? { requeueAfterSeconds: 1 } : {}),
  };
}

function byCreation(a: KubeObject, b: KubeObject): number {
  const ca = a.metadata.creationTimestamp ?? '';
  const cb = b.metadata.creationTimestamp ?? '';
  return ca === cb ? ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1) : ca < cb ? -1 : 1;
}
