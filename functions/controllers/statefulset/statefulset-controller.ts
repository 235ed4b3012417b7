/**
 * The StatefulSet controller: stable, ordered pods with their own claims (see
 * `plan-statefulset.ts`). It claims its pods as kube-controller-manager does (controller-runtime/
 * claims.ts): the orphans its selector matches that are named for one of its ordinals are adopted
 * (what `--cascade=orphan` left), a pod relabelled out of the selector is released; orphaned
 * ControllerRevisions its selector matches are adopted, none is released. Keys come from
 * StatefulSet changes, from changes of the pods they control, from an orphan pod (new, relabelled
 * or just released) for every StatefulSet whose selector matches it (controller-runtime/owner-keys.ts),
 * and from the removal of an orphan named for a StatefulSet's ordinal (a released pod that kept the
 * name the StatefulSet needs).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { adoptOrphans, claimBySelector, releaseChildren, specSelectorOf } from '../../controller-runtime/claims.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { orphanKeys, ownerKeys, ownersOfOrphan } from '../../controller-runtime/owner-keys.ts';
import { controllerRefOf } from '../../controller-runtime/owner-references.ts';
import { AlreadyExistsError, NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { ordinalOf, planStatefulSet } from './plan-statefulset.ts';

const component = 'statefulset-controller';

const ignoreMissing = (error: unknown) => {
  if (!(error instanceof NotFoundError)) throw error;
};

/**
 * The StatefulSet a removed orphan pod was named for (`<set>-<ordinal>`): a pod released from a
 * StatefulSet keeps its name, so the StatefulSet cannot make that ordinal again until it is gone.
 * Kubernetes' controller retries the failed create with back-off; Skiff looks again when it goes.
 */
function keyOfRemovedOrphan(change: ObjectChange): ReconcileKey[] {
  const pod = change.oldObject;
  if (change.newObject || !pod || controllerRefOf(pod)) return [];
  const parent = /^(.+)-\d+$/.exec(change.name)?.[1];
  return parent ? [{ typeId: types.statefulsets.id, namespace: change.namespace, name: parent }] : [];
}

export const statefulSetController: Controller = {
  name: component,
  resyncTypes: [types.statefulsets],
  keysFor(change): ReconcileKey[] {
    if (change.typeId === types.statefulsets.id) return [{ typeId: types.statefulsets.id, namespace: change.namespace, name: change.name }];
    if (change.typeId !== types.pods.id) return [];
    return [...ownerKeys(change, 'StatefulSet', types.statefulsets.id), ...orphanKeys(change), ...keyOfRemovedOrphan(change)];
  },
  async reconcile(key, ctx) {
    // An orphan pod's key wakes the StatefulSets whose selector matches it (as Kubernetes' pod handlers do, by selector only).
    if (key.typeId === types.pods.id) return ownersOfOrphan(ctx, key, { childType: types.pods, ownerType: types.statefulsets, selectorOf: specSelectorOf });
    const sts = await getIfExists(ctx.store, types.statefulsets, key.namespace, key.name);
    if (!sts) return;
    const namespace = key.namespace;
    const [pods, claims, revisions] = await Promise.all([
      listAll(ctx.store, types.pods, { namespace }),
      listAll(ctx.store, types.persistentvolumeclaims, { namespace }),
      listAll(ctx.store, types.controllerrevisions, { namespace }),
    ]);
    const selector = specSelectorOf(sts);
    const podClaims = claimBySelector(sts, pods, selector, (pod) => ordinalOf(sts, pod) !== undefined);
    // kube-controller-manager adopts a StatefulSet's orphaned revisions but releases none of them.
    const revisionClaims = claimBySelector(sts, revisions, selector);
    const adoptedRevisions = await adoptOrphans(ctx, types.statefulsets, sts, types.controllerrevisions, revisionClaims.adopt);
    const adoptedPods = await adoptOrphans(ctx, types.statefulsets, sts, types.pods, podClaims.adopt);
    await releaseChildren(ctx, sts, types.pods, podClaims.release);
    const plan = planStatefulSet(sts, [...podClaims.owned, ...adoptedPods], claims, [...revisionClaims.owned, ...adoptedRevisions], ctx.now());
    if (plan.createRevision) {
      await ctx.admission.create(types.controllerrevisions, plan.createRevision).catch((error: unknown) => {
        if (!(error instanceof AlreadyExistsError)) throw error;
      });
    }
    if (plan.renumberRevision) {
      const { revision, to } = plan.renumberRevision;
      await ctx.admission.update(types.controllerrevisions, { ...revision, revision: to } as KubeObject, revision);
    }
    for (const claim of plan.createClaims) {
      try {
        await ctx.admission.create(types.persistentvolumeclaims, claim);
        await ctx.events.record({
          involvedObject: sts,
          type: 'Normal',
          reason: 'SuccessfulCreate',
          message: `create Claim ${claim.metadata.name} Pod ${sts.metadata.name}-${claim.metadata.name?.split('-').pop()} in StatefulSet ${sts.metadata.name} success`,
          component,
        });
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    }
    for (const pod of plan.create) {
      try {
        await ctx.admission.create(types.pods, pod);
        await ctx.events.record({
          involvedObject: sts,
          type: 'Normal',
          reason: 'SuccessfulCreate',
          message: `create Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`,
          component,
        });
      } catch (error) {
        if (error instanceof AlreadyExistsError) continue;
        if (error instanceof Error && 'code' in error && [400, 403, 404, 422].includes((error as { code: number }).code)) {
          await ctx.events.record({
            involvedObject: sts,
            type: 'Warning',
            reason: 'FailedCreate',
            message: `create Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} failed error: ${error.message}`,
            component,
          });
        } else throw error;
      }
    }
    for (const pod of plan.delete) {
      await ctx.admission.delete(types.pods, pod).catch(ignoreMissing);
      await ctx.events.record({
        involvedObject: sts,
        type: 'Normal',
        reason: 'SuccessfulDelete',
        message: `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`,
        component,
      });
    }
    for (const claim of plan.deleteClaims) await ctx.admission.delete(types.persistentvolumeclaims, claim).catch(ignoreMissing);
    for (const revision of plan.deleteRevisions) await ctx.admission.delete(types.controllerrevisions, revision).catch(ignoreMissing);
    if (plan.status) await ctx.admission.update(types.statefulsets, { ...sts, status: { ...((sts.status as object) ?? {}), ...plan.status } }, sts);
    return plan.requeueAfterSeconds !== undefined ? { requeueAfterSeconds: plan.requeueAfterSeconds } : undefined;
  },
};
