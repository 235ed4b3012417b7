/**
 * The scheduler as a stream-driven control loop. Every key is the same one — "look at the
 * pending pods" — so a batch of records (many new pods, a new node) becomes one scheduling pass.
 * A pass plans and binds in slices: it plans a few hundred pods, writes their bindings, renews
 * its lease, and goes on, so it makes progress whatever the cluster's size (docs/adr/052).
 */

import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { selectedNodeAnnotation } from '../../schemas/storage.ts';
import { storedPod } from '../../schemas/stored-objects.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey } from '../controller-runtime/controller.ts';
import { type EventSpec, recordEvents } from '../controller-runtime/events.ts';
import { canonicalJson } from '../controller-runtime/stable-hash.ts';
import { ConflictError, NotFoundError } from '../core/errors.ts';
import { kubeTime } from '../core/kube-time.ts';
import { inChunks, listAll } from '../store/list-all.ts';
import type { ObjectReader } from '../store/store.ts';
import { allocatable, isNodeReady, isNodeUnschedulable, nodeSelectorTerm, nodeTaints } from './node-filters.ts';
import {
  type ClaimLookup,
  type ClaimPlacement,
  type ClaimSelection,
  createPlanner,
  holdsNode,
  isPendingPod,
  schedulingQueue,
  type Unschedulable,
} from './plan-schedule.ts';
import { readPods, readPodsThrough } from './pod-view.ts';
import { acquireSchedulerLease, leaseDurationSeconds, releaseSchedulerLease, renewSchedulerLease, schedulerIdentity } from './scheduler-lease.ts';

export const schedulerName = 'default-scheduler';
const passKey: ReconcileKey = { typeId: types.pods.id, name: '' };

/** Pods planned together before their bindings are written. */
export const sliceSize = 500;
/** The store's transaction limit. */
const bindingsPerWrite = 25;
/**
 * Binding writes in flight at once: the pods of a slice are distinct, so their writes never
 * collide, and the store commits the ones waiting together (docs/adr/004).
 */
const writesInFlight = 4;
/** Renew the lease this long after the last renewal; a write starts only while the lease has more than safetyMs left. */
const renewAfterMs = 4_000;
const safetyMs = 5_000;

/** What about a node can change where pods fit. Heartbeats alone do not. */
function nodeShape(node: KubeObject | undefined): string {
  if (!node) return '';
  return canonicalJson([node.metadata.labels ?? {}, nodeTaints(node), isNodeUnschedulable(node), allocatable(node), isNodeReady(node)]);
}

export const schedulerController: Controller = {
  name: schedulerName,
  resyncTypes: [types.nodes],
  // Where pods fit depends on objects only: between full passes the resync replays the changes,
  // each Node's compared with the Node as the last pass listed it, so a heartbeat does not make a
  // pass over every pod each minute (docs/adr/188).
  resyncChangesOnly: true,
  keysFor(change: ObjectChange): ReconcileKey[] {
    // A claim created or newly bound may let pods that waited on it be placed.
    if (change.typeId === types.persistentvolumeclaims.id) {
      const volumeOf = (claim: KubeObject | undefined) => (claim?.spec as { volumeName?: string } | undefined)?.volumeName;
      return change.newObject && (!change.oldObject || (!volumeOf(change.oldObject) && volumeOf(change.newObject))) ? [passKey] : [];
    }
    if (change.typeId === types.nodes.id) {
      return !change.oldObject || nodeShape(change.oldObject) !== nodeShape(change.newObject) ? [passKey] : [];
    }
    if (change.typeId !== types.pods.id) return [];
    if (change.newObject && isPendingPod(change.newObject)) return [passKey];
    // A pod leaving a node frees room for pods that did not fit before.
    const freed =
      change.oldObject && holdsNode(change.oldObject) && (!change.newObject || !holdsNode(change.newObject) || change.newObject.metadata.deletionTimestamp);
    return freed ? [passKey] : [];
  },
  async reconcile(_key, ctx) {
    const listed = await readPods(ctx.store);
    if (!listed.items.some(isPendingPod)) return;
    // The nodes are read while the lease is taken and the pods brought up to date: no scheduler
    // writes nodes, so a list begun just before the lease is as good as one begun after it.
    const nodes = listAll(ctx.store, types.nodes);
    // Awaited by the pass; a pass that fails before that must not leave its failure unhandled.
    nodes.catch(() => undefined);
    const acquiredAt = Date.now();
    const lease = await acquireSchedulerLease(ctx.admission, schedulerIdentity, ctx.now());
    // Events wait for the bindings: they are best effort, and each costs the store as much as a binding.
    const events: (readonly EventSpec[])[] = [];
    let held = lease;
    try {
      // The pods read are only trusted under the lease with every pod change up to now (another
      // scheduler's bindings included): brought up to date from the change log, or listed again.
      const pods = (await readPodsThrough(ctx.store, listed, await ctx.store.currentRevision(types.pods))).items;
      held = await schedulePass(ctx, pods, await nodes, lease, acquiredAt, (specs) => events.push(specs));
    } finally {
      // The events are written together, beside the lease's release: the next pass (pods
      // created meanwhile wait for it) starts only when this one returns.
      await Promise.all([releaseSchedulerLease(ctx.admission, held), recordEvents(ctx, events.flat())]);
    }
  },
};

function scheduledCondition(pod: KubeObject) {
  return storedPod(pod).status?.conditions?.find((c) => c.type === 'PodScheduled');
}

function markUnschedulable(pod: KubeObject, message: string, now: Date): KubeObject {
  const status = storedPod(pod).status ?? {};
  const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
  return {
    ...pod,
    status: {
      ...status,
      phase: status.phase ?? 'Pending',
      conditions: [
        ...conditions,
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message,
          lastProbeTime: null,
          lastTransitionTime: kubeTime(now),
        },
      ],
    },
  };
}

/**
 * Plans the pending pods slice by slice on one view of the nodes, kept current as pods are
 * placed, and writes each slice's bindings (25 pods per transaction, each conditional on the
 * pod's resourceVersion) before planning the next. Returns the lease as last renewed.
 */
async function schedulePass(
  ctx: ControllerContext,
  pods: readonly KubeObject[],
  nodes: readonly KubeObject[],
  lease: KubeObject,
  acquiredAt: number,
  noteEvents: (events: readonly EventSpec[]) => void,
): Promise<KubeObject> {
  const queue = schedulingQueue(pods);
  const claims = queue.some(usesClaims) ? await loadClaims(ctx.store) : undefined;
  const planner = createPlanner(
    nodes,
    pods.filter((pod) => holdsNode(pod) !== undefined),
    claims,
  );
  let held = lease;
  // Counted from before the lease was written, as its holder's rivals may count it.
  let renewedAt = acquiredAt;

  // Past the lease's safe window another scheduler may take over: renew in time, or stop and let a retry replan.
  // Writes in flight together share one renewal.
  let renewing: Promise<void> | undefined;
  const keepLease = async (): Promise<void> => {
    if (Date.now() - renewedAt >= renewAfterMs) {
      renewing ??= (async () => {
        const at = Date.now();
        held = await renewSchedulerLease(ctx.admission, held, ctx.now());
        renewedAt = at;
      })().finally(() => {
        renewing = undefined;
      });
      await renewing;
    }
    if (Date.now() > renewedAt + leaseDurationSeconds * 1000 - safetyMs) throw new Error('scheduling pass outlived its lease');
  };

  for (let start = 0; start < queue.length; start += sliceSize) {
    const plan = planner.plan(queue.slice(start, start + sliceSize));
    const now = ctx.now();
    // The nodes chosen for first-consumer claims go on the claims before their pods are bound, so
    // the provisioner makes each volume where its pod runs.
    for (const selection of plan.claimSelections ?? []) {
      await keepLease();
      await selectNode(ctx, selection);
    }
    await inChunks(
      plan.bindings,
      bindingsPerWrite,
      async (chunk) => {
        await keepLease();
        // As the pods/binding subresource: conditional on the pod as listed, so a pod changed meanwhile fails the chunk.
        const written = await ctx.admission.bindAll(chunk, now);
        noteEvents(
          chunk.map(({ pod, nodeName }) => ({
            involvedObject: pod,
            type: 'Normal',
            reason: 'Scheduled',
            message: `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`,
            component: schedulerName,
          })),
        );
        return written;
      },
      writesInFlight,
    );
    await writeUnschedulable(ctx, plan.unschedulable, now, keepLease, noteEvents);
  }
  return held;
}

/** Marks pods that fit nowhere PodScheduled=False (unless they already say the same) and records why. */
async function writeUnschedulable(
  ctx: ControllerContext,
  unschedulable: readonly Unschedulable[],
  now: Date,
  keepLease: () => Promise<void>,
  noteEvents: (events: readonly EventSpec[]) => void,
): Promise<void> {
  const changed = unschedulable.filter(({ pod, message }) => {
    const current = scheduledCondition(pod);
    return !(current?.status === 'False' && current.reason === 'Unschedulable' && current.message === message);
  });
  await inChunks(changed, bindingsPerWrite, async (chunk) => {
    await keepLease();
    const written = await ctx.admission.updateStatusAll(
      types.pods,
      chunk.map(({ pod, message }) => ({ object: markUnschedulable(pod, message, now), old: pod })),
    );
    noteEvents(chunk.map(({ pod, message }) => ({ involvedObject: pod, type: 'Warning', reason: 'FailedScheduling', message, component: schedulerName })));
    return written;
  });
}

function usesClaims(pod: KubeObject): boolean {
  return ((pod.spec as { volumes?: { persistentVolumeClaim?: unknown }[] } | undefined)?.volumes ?? []).some((volume) => volume.persistentVolumeClaim);
}

interface ClaimFields {
  spec?: { volumeName?: string; storageClassName?: string };
  status?: { phase?: string };
}

/** What the scheduler needs of the cluster's claims, volumes and classes, read once per pass. */
export function claimLookup(claims: readonly KubeObject[], volumes: readonly KubeObject[], classes: readonly KubeObject[]): ClaimLookup {
  const claimsByKey = new Map(claims.map((claim) => [`${claim.metadata.namespace}/${claim.metadata.name}`, claim]));
  const volumesByName = new Map(volumes.map((volume) => [volume.metadata.name, volume]));
  const modes = new Map(classes.map((sc) => [sc.metadata.name, (sc as { volumeBindingMode?: string }).volumeBindingMode ?? 'Immediate']));
  return (namespace, name): ClaimPlacement => {
    const claim = claimsByKey.get(`${namespace}/${name}`);
    if (!claim) return { kind: 'unavailable', reason: `persistentvolumeclaim "${name}" not found` };
    if (claim.metadata.deletionTimestamp) return { kind: 'unavailable', reason: `persistentvolumeclaim "${name}" is being deleted` };
    const fields = claim as ClaimFields;
    const volumeName = fields.spec?.volumeName;
    if (volumeName) {
      const affinity = (volumesByName.get(volumeName)?.spec as { nodeAffinity?: { required?: { nodeSelectorTerms?: unknown[] } } } | undefined)?.nodeAffinity;
      const terms = affinity?.required?.nodeSelectorTerms;
      return terms ? { kind: 'bound', terms: terms.map((term) => nodeSelectorTerm(term as Parameters<typeof nodeSelectorTerm>[0])) } : { kind: 'bound' };
    }
    if (modes.get(fields.spec?.storageClassName ?? '') === 'WaitForFirstConsumer') {
      const selectedNode = claim.metadata.annotations?.[selectedNodeAnnotation];
      return selectedNode ? { kind: 'waitForFirstConsumer', selectedNode } : { kind: 'waitForFirstConsumer' };
    }
    return { kind: 'unavailable', reason: 'pod has unbound immediate PersistentVolumeClaims' };
  };
}

async function loadClaims(store: ObjectReader): Promise<ClaimLookup> {
  const [claims, volumes, classes] = await Promise.all([
    listAll(store, types.persistentvolumeclaims),
    listAll(store, types.persistentvolumes),
    listAll(store, types.storageclasses),
  ]);
  return claimLookup(claims, volumes, classes);
}

/** Writes the chosen node on a first-consumer claim, from a fresh read (retried on a conflict). */
async function selectNode(ctx: ControllerContext, selection: ClaimSelection): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let claim: KubeObject;
    try {
      claim = await ctx.store.get(types.persistentvolumeclaims, selection.namespace, selection.name);
    } catch (error) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
    if (claim.metadata.annotations?.[selectedNodeAnnotation] || (claim as ClaimFields).spec?.volumeName) return;
    try {
      await ctx.admission.update(
        types.persistentvolumeclaims,
        { ...claim, metadata: { ...claim.metadata, annotations: { ...claim.metadata.annotations, [selectedNodeAnnotation]: selection.nodeName } } },
        claim,
      );
      return;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}

export const schedulerControllers: readonly Controller[] = [schedulerController];
