/**
 * The StatefulSet reconciler's decision, as a pure function of the StatefulSet, its pods, the
 * claims of its namespace, its ControllerRevisions and the time: pods `<name>-<ordinal>` made in
 * order (OrderedReady: one at a time, each after the ones before are Running and Ready; Parallel:
 * all at once), each with its own claims from `volumeClaimTemplates` (made first, kept when the
 * pod goes), scale down from the highest ordinal, a rolling update in reverse ordinal order down
 * to `partition`, and the status `kubectl rollout status` reads.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { controllerRefTo, isControlledBy } from '../../controller-runtime/owner-references.ts';
import { canonicalJson } from '../../controller-runtime/stable-hash.ts';
import { revisionData, revisionHashLabel, templateHash } from '../daemonset/plan-daemonset.ts';
import { isPodAvailable, isPodReady, podPhase } from '../replicaset/pod-availability.ts';

export const podNameLabel = 'statefulset.kubernetes.io/pod-name';
export const podIndexLabel = 'apps.kubernetes.io/pod-index';

interface ClaimTemplate {
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec?: Readonly<Record<string, unknown>>;
}
interface Spec {
  readonly replicas?: number;
  readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  readonly template?: {
    readonly metadata?: { readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
    readonly spec?: Readonly<Record<string, unknown>>;
  };
  readonly volumeClaimTemplates?: readonly ClaimTemplate[];
  readonly serviceName?: string;
  readonly podManagementPolicy?: string;
  readonly updateStrategy?: { readonly type?: string; readonly rollingUpdate?: { readonly partition?: number } };
  readonly revisionHistoryLimit?: number;
  readonly minReadySeconds?: number;
  readonly persistentVolumeClaimRetentionPolicy?: { readonly whenDeleted?: string; readonly whenScaled?: string };
  readonly ordinals?: { readonly start?: number };
}

export interface StatefulSetStatus {
  readonly observedGeneration: number;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly currentReplicas: number;
  readonly updatedReplicas: number;
  readonly availableReplicas: number;
  readonly currentRevision: string;
  readonly updateRevision: string;
  readonly collisionCount: number;
}

export interface StatefulSetPlan {
  readonly createRevision?: KubeObject;
  readonly renumberRevision?: { readonly revision: KubeObject; readonly to: number };
  readonly deleteRevisions: readonly KubeObject[];
  /** Claims to create before the pods that use them. */
  readonly createClaims: readonly KubeObject[];
  /** Claims to delete (retention policy Delete). */
  readonly deleteClaims: readonly KubeObject[];
  readonly create: readonly KubeObject[];
  readonly delete: readonly KubeObject[];
  readonly status?: StatefulSetStatus;
  readonly requeueAfterSeconds?: number;
}

function revisionNumber(revision: KubeObject): number {
  const value = (revision as { revision?: number }).revision;
  return typeof value === 'number' ? value : 0;
}

export function ordinalOf(sts: KubeObject, pod: KubeObject): number | undefined {
  const prefix = `${sts.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number.parseInt(rest, 10) : undefined;
}

export function claimName(template: ClaimTemplate, sts: KubeObject, ordinal: number): string {
  return `${template.metadata?.name ?? ''}-${sts.metadata.name}-${ordinal}`;
}

function claimFor(sts: KubeObject, spec: Spec, template: ClaimTemplate, ordinal: number): KubeObject {
  const deleteWithSet = spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete';
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(template, sts, ordinal),
      ...(sts.metadata.namespace ? { namespace: sts.metadata.namespace } : {}),
      labels: { ...template.metadata?.labels, ...spec.selector?.matchLabels },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ...(deleteWithSet ? { ownerReferences: [{ ...controllerRefTo(sts), controller: true }] } : {}),
    },
    spec: structuredClone(template.spec ?? {}),
  };
}

function podFor(sts: KubeObject, spec: Spec, hash: string, ordinal: number): KubeObject {
  const name = `${sts.metadata.name}-${ordinal}`;
  const template = spec.template ?? {};
  const podSpec = structuredClone(template.spec ?? {}) as Record<string, unknown> & { volumes?: { name: string }[] };
  const claimVolumes = (spec.volumeClaimTemplates ?? []).map((claim) => ({
    name: claim.metadata?.name ?? '',
    persistentVolumeClaim: { claimName: claimName(claim, sts, ordinal) },
  }));
  const claimed = new Set(claimVolumes.map((v) => v.name));
  podSpec.volumes = [...(podSpec.volumes ?? []).filter((v) => !claimed.has(v.name)), ...claimVolumes];
  if (podSpec.volumes.length === 0) delete podSpec.volumes;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(sts.metadata.namespace ? { namespace: sts.metadata.namespace } : {}),
      labels: { ...template.metadata?.labels, [revisionHashLabel]: hash, [podNameLabel]: name, [podIndexLabel]: String(ordinal) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [controllerRefTo(sts)],
    },
    spec: { ...podSpec, hostname: name, ...(spec.serviceName ? { subdomain: spec.serviceName } : {}) },
  };
}

export function planStatefulSet(
  sts: KubeObject,
  pods: readonly KubeObject[],
  claims: readonly KubeObject[],
  revisions: readonly KubeObject[],
  now: Date,
): StatefulSetPlan {
  const spec = (sts.spec ?? {}) as Spec;
  const previous = (sts.status ?? {}) as Partial<StatefulSetStatus>;
  const template = (spec.template ?? {}) as never;
  const hash = templateHash(template, previous.collisionCount ?? 0);
  const updateRevision = `${sts.metadata.name}-${hash}`;
  const minReadySeconds = spec.minReadySeconds ?? 0;

  const owned = revisions.filter((r) => isControlledBy(r, sts));
  const data = revisionData(template);
  const newest = owned.reduce((max, r) => Math.max(max, revisionNumber(r)), 0);
  const matching = owned.find((r) => canonicalJson((r as { data?: unknown }).data) === canonicalJson(data));
  const createRevision = matching
    ? undefined
    : ({
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name: updateRevision,
          ...(sts.metadata.namespace ? { namespace: sts.metadata.namespace } : {}),
          labels: { ...spec.template?.metadata?.labels, [revisionHashLabel]: hash },
          ownerReferences: [controllerRefTo(sts)],
        },
        data,
        revision: newest + 1,
      } as KubeObject);
  const renumberRevision = matching && revisionNumber(matching) < newest ? { revision: matching, to: newest + 1 } : undefined;
  const revisionName = matching?.metadata.name ?? updateRevision;

  const start = spec.ordinals?.start ?? 0;
  const replicas = spec.replicas ?? 1;
  const mine = pods.filter((pod) => isControlledBy(pod, sts));
  const byOrdinal = new Map<number, KubeObject>();
  for (const pod of mine) {
    const ordinal = ordinalOf(sts, pod);
    if (ordinal !== undefined) byOrdinal.set(ordinal, pod);
  }
  const isUpdated = (pod: KubeObject) => pod.metadata.labels?.[revisionHashLabel] === hash;
  const healthy = (pod: KubeObject) => !pod.metadata.deletionTimestamp && podPhase(pod) === 'Running' && isPodReady(pod);
  const ordered = spec.podManagementPolicy !== 'Parallel';
  const deleting = sts.metadata.deletionTimestamp !== undefined;

  const createClaims: KubeObject[] = [];
  const deleteClaims: KubeObject[] = [];
  const create: KubeObject[] = [];
  const remove: KubeObject[] = [];
  const claimNames = new Set(claims.map((c) => c.metadata.name));

  if (!deleting) {
    // Make and heal the wanted ordinals, in order.
    for (let ordinal = start; ordinal < start + replicas; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (pod && (podPhase(pod) === 'Failed' || podPhase(pod) === 'Succeeded') && !pod.metadata.deletionTimestamp) {
        remove.push(pod);
        if (ordered) break;
        continue;
      }
      if (!pod) {
        for (const claimTemplate of spec.volumeClaimTemplates ?? []) {
          if (!claimNames.has(claimName(claimTemplate, sts, ordinal))) createClaims.push(claimFor(sts, spec, claimTemplate, ordinal));
        }
        create.push(podFor(sts, spec, hash, ordinal));
        if (ordered) break;
        continue;
      }
      if (ordered && !healthy(pod)) break;
    }
    // Scale down: the highest ordinals beyond the wanted range, one at a time when ordered and all is healthy.
    const condemned = [...byOrdinal.entries()].filter(([ordinal]) => ordinal < start || ordinal >= start + replicas).sort(([a], [b]) => b - a);
    const allHealthy = mine.every(healthy);
    if (create.length === 0 && remove.length === 0) {
      for (const [, pod] of condemned) {
        if (pod.metadata.deletionTimestamp) {
          if (ordered) break;
          continue;
        }
        if (ordered && !allHealthy) break;
        remove.push(pod);
        if (spec.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') {
          const ordinal = ordinalOf(sts, pod) ?? -1;
          for (const claimTemplate of spec.volumeClaimTemplates ?? []) {
            const claim = claims.find((c) => c.metadata.name === claimName(claimTemplate, sts, ordinal));
            if (claim) deleteClaims.push(claim);
          }
        }
        if (ordered) break;
      }
    }
    // Rolling update: the highest ordinal not on the update revision, down to the partition, once every pod is healthy.
    if (create.length === 0 && remove.length === 0 && spec.updateStrategy?.type !== 'OnDelete') {
      const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      const wanted = [...byOrdinal.entries()].filter(([ordinal]) => ordinal >= start && ordinal < start + replicas).sort(([a], [b]) => b - a);
      if (wanted.every(([, pod]) => healthy(pod))) {
        const stale = wanted.find(([ordinal, pod]) => ordinal - start >= partition && !isUpdated(pod));
        if (stale) remove.push(stale[1]);
      }
    }
  }

  // History: revisions beyond the limit that no pod runs.
  const inUse = new Set(mine.map((p) => p.metadata.labels?.[revisionHashLabel]));
  const historic = owned
    .filter((r) => r !== matching && !inUse.has(r.metadata.labels?.[revisionHashLabel]))
    .sort((a, b) => revisionNumber(a) - revisionNumber(b));
  const deleteRevisions = historic.slice(0, Math.max(0, historic.length - (spec.revisionHistoryLimit ?? 10)));

  const live = mine.filter((p) => !p.metadata.deletionTimestamp);
  const updated = live.filter(isUpdated).length;
  const currentRevision = updated === live.length && live.length >= replicas ? revisionName : (previous.currentRevision ?? revisionName);
  const status: StatefulSetStatus = {
    observedGeneration: sts.metadata.generation ?? 0,
    replicas: live.length,
    readyReplicas: live.filter(isPodReady).length,
    currentReplicas: currentRevision === revisionName ? updated : live.length - updated,
    updatedReplicas: updated,
    availableReplicas: live.filter((p) => isPodAvailable(p, minReadySeconds, now)).length,
    currentRevision,
    updateRevision: revisionName,
    collisionCount: previous.collisionCount ?? 0,
  };
  const same = canonicalJson({ ...previous, conditions: undefined }) === canonicalJson(status);
  const waiting = minReadySeconds > 0 && live.some((p) => isPodReady(p) && !isPodAvailable(p, minReadySeconds, now));
  return {
    ...(createRevision ? { createRevision } : {}),
    ...(renumberRevision ? { renumberRevision } : {}),
    deleteRevisions,
    createClaims,
    deleteClaims,
    create,
    delete: remove,
    ...(same ? {} : { status }),
    ...(waiting ? { requeueAfterSeconds: 1 } : {}),
  };
}
