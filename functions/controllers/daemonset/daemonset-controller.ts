/**
 * The DaemonSet controller: one pod per eligible node, kept through node changes and rolled out
 * within the update strategy's bounds (see `plan-daemonset.ts`). It claims its pods and its
 * ControllerRevisions by its selector as kube-controller-manager does (controller-runtime/claims.ts):
 * orphans the selector matches are adopted (what `--cascade=orphan` left), what it controls but no
 * longer matches is released. Keys come from DaemonSet changes, from changes of the pods they
 * control, from an orphan pod or revision (new, relabelled or just released) for every DaemonSet
 * whose selector matches it (controller-runtime/owner-keys.ts), and from nodes that come, go, or
 * change what decides eligibility (labels, taints, unschedulable): those raise every DaemonSet.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { adoptOrphans, claimBySelector, releaseChildren, specSelectorOf } from '../../controller-runtime/claims.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { orphanKeys, ownerKeys, ownersOfOrphan } from '../../controller-runtime/owner-keys.ts';
import { canonicalJson } from '../../controller-runtime/stable-hash.ts';
import { AlreadyExistsError, NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { planDaemonSet } from './plan-daemonset.ts';

const component = 'daemonset-controller';
/** The key of "every DaemonSet": a node changed. */
const allDaemonSets = '';

function eligibilityChanged(change: ObjectChange): boolean {
  if (!change.oldObject || !change.newObject) return true;
  const facts = (node: KubeObject) => canonicalJson([node.metadata.labels, (node.spec as { taints?: unknown; unschedulable?: unknown } | undefined) ?? {}]);
  return facts(change.oldObject) !== facts(change.newObject);
}

async function reconcileOne(ds: KubeObject, nodes: readonly KubeObject[], ctx: ControllerContext) {
  const namespace = ds.metadata.namespace;
  const [pods, revisions] = await Promise.all([listAll(ctx.store, types.pods, { namespace }), listAll(ctx.store, types.controllerrevisions, { namespace })]);
  const selector = specSelectorOf(ds);
  const podClaims = claimBySelector(ds, pods, selector);
  const revisionClaims = claimBySelector(ds, revisions, selector);
  const adoptedRevisions = await adoptOrphans(ctx, types.daemonsets, ds, types.controllerrevisions, revisionClaims.adopt);
  await releaseChildren(ctx, ds, types.controllerrevisions, revisionClaims.release);
  const adoptedPods = await adoptOrphans(ctx, types.daemonsets, ds, types.pods, podClaims.adopt);
  await releaseChildren(ctx, ds, types.pods, podClaims.release);
  const plan = planDaemonSet(ds, nodes, [...podClaims.owned, ...adoptedPods], [...revisionClaims.owned, ...adoptedRevisions], ctx.now());
  if (plan.createRevision) {
    try {
      await ctx.admission.create(types.controllerrevisions, plan.createRevision);
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  }
  if (plan.renumberRevision) {
    const { revision, to } = plan.renumberRevision;
    await ctx.admission.update(types.controllerrevisions, { ...revision, revision: to } as KubeObject, revision);
  }
  const { created, refused } = await ctx.admission.createAll(types.pods, plan.create);
  for (const { error } of refused) {
    await ctx.events.record({ involvedObject: ds, type: 'Warning', reason: 'FailedCreate', message: `Error creating: ${error.message}`, component });
  }
  for (const pod of created) {
    await ctx.events.record({ involvedObject: ds, type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${pod.metadata.name}`, component });
  }
  for (const pod of plan.delete) {
    try {
      await ctx.admission.delete(types.pods, pod);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    await ctx.events.record({ involvedObject: ds, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${pod.metadata.name}`, component });
  }
  for (const revision of plan.deleteRevisions) {
    await ctx.admission.delete(types.controllerrevisions, revision).catch((error: unknown) => {
      if (!(error instanceof NotFoundError)) throw error;
    });
  }
  if (plan.status) await ctx.admission.update(types.daemonsets, { ...ds, status: { ...((ds.status as object) ?? {}), ...plan.status } }, ds);
  return plan.requeueAfterSeconds;
}

export const daemonSetController: Controller = {
  name: component,
  resyncTypes: [types.daemonsets],
  keysFor(change): ReconcileKey[] {
    if (change.typeId === types.daemonsets.id) return [{ typeId: types.daemonsets.id, namespace: change.namespace, name: change.name }];
    if (change.typeId === types.nodes.id) return eligibilityChanged(change) ? [{ typeId: types.daemonsets.id, name: allDaemonSets }] : [];
    // Its own revisions change only by its own writes: only an orphaned one is news to it.
    if (change.typeId === types.controllerrevisions.id) return orphanKeys(change);
    if (change.typeId !== types.pods.id) return [];
    return [...ownerKeys(change, 'DaemonSet', types.daemonsets.id), ...orphanKeys(change)];
  },
  async reconcile(key, ctx) {
    // An orphan pod's or revision's key wakes the DaemonSets whose selector matches it, as Kubernetes' handlers of both do.
    for (const childType of [types.pods, types.controllerrevisions]) {
      if (key.typeId === childType.id) return ownersOfOrphan(ctx, key, { childType, ownerType: types.daemonsets, selectorOf: specSelectorOf });
    }
    const nodes = await listAll(ctx.store, types.nodes);
    const daemonSets =
      key.name === allDaemonSets
        ? await listAll(ctx.store, types.daemonsets)
        : [await getIfExists(ctx.store, types.daemonsets, key.namespace, key.name)].filter((ds): ds is KubeObject => ds !== undefined);
    let requeue: number | undefined;
    for (const ds of daemonSets) {
      const after = await reconcileOne(ds, nodes, ctx);
      if (after !== undefined) requeue = Math.min(requeue ?? after, after);
    }
    return requeue !== undefined ? { requeueAfterSeconds: requeue } : undefined;
  },
};
