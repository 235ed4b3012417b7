/**
 * The Job controller: runs a Job's pods until enough succeed (or too many fail), counting each
 * finished pod exactly once through the tracking finalizer (see `plan-job.ts`), and lets go of a
 * deleted Job's pods. A running Job claims its pods by its selector as kube-controller-manager does
 * (controller-runtime/claims.ts): an orphan it matches is adopted with the tracking finalizer, so a
 * finished one is counted like one the Job made; a pod relabelled out is released without it. The
 * selector carries the Job's own uid unless `manualSelector`, so adoption is in practice a manual
 * selector's. Keys come from Job changes, from changes of the pods Jobs control, and from an orphan
 * pod (new, relabelled or just released) for every Job whose selector matches it
 * (controller-runtime/owner-keys.ts); an orphan left with the tracking finalizer has it taken off.
 */
import { jobLabels } from '../../../schemas/job.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { adoptOrphans, claimBySelector, releaseChildren, specSelectorOf } from '../../controller-runtime/claims.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { orphanKeys, ownerKeys, ownersOfOrphan } from '../../controller-runtime/owner-keys.ts';
import { controllerRefOf } from '../../controller-runtime/owner-references.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { isJobFinished, type JobPlanOptions, planJob } from './plan-job.ts';

const component = 'job-controller';

/** Removes the tracking finalizer; false when the pod changed under us (the next pass retries). */
async function releasePod(ctx: ControllerContext, pod: KubeObject): Promise<boolean> {
  const finalizers = (pod.metadata.finalizers ?? []).filter((f) => f !== jobLabels.trackingFinalizer);
  const { finalizers: _old, ...metadata } = pod.metadata;
  try {
    await ctx.admission.update(types.pods, { ...pod, metadata: finalizers.length > 0 ? { ...metadata, finalizers } : metadata }, pod);
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return true;
    if (error instanceof ConflictError) return false;
    throw error;
  }
}

/**
 * The pods the Job counts. A finished Job is not synced by kube-controller-manager at all and one
 * being deleted neither adopts nor releases: both plan from the pods they control, as listed.
 */
async function claimPods(ctx: ControllerContext, job: KubeObject, pods: readonly KubeObject[]): Promise<readonly KubeObject[]> {
  if (job.metadata.deletionTimestamp || isJobFinished(job)) return pods;
  const claims = claimBySelector(job, pods, specSelectorOf(job));
  const tracking = { finalizers: [jobLabels.trackingFinalizer] };
  const adopted = await adoptOrphans(ctx, types.jobs, job, types.pods, claims.adopt, tracking);
  await releaseChildren(ctx, job, types.pods, claims.release, tracking);
  return [...claims.owned, ...adopted];
}

const hasTrackingFinalizer = (pod: KubeObject) => (pod.metadata.finalizers ?? []).includes(jobLabels.trackingFinalizer);

/**
 * An orphan pod's key (owner-keys.ts), about this incarnation of the pod (its uid) when it still
 * carries the tracking finalizer: a Job deleted with `--cascade=orphan` leaves its pods so, and
 * nothing else would take the finalizer off.
 */
function orphanPodKeys(change: ObjectChange): ReconcileKey[] {
  const pod = change.newObject;
  const uid = pod && hasTrackingFinalizer(pod) ? pod.metadata.uid : undefined;
  return orphanKeys(change).map((key) => (uid ? { ...key, uid } : key));
}

/**
 * Takes the tracking finalizer off an orphan, as kube-controller-manager's orphan pod handler does,
 * unless a Job that has not finished has adopted it meanwhile. False when the pod changed under us.
 */
async function untrackOrphan(ctx: ControllerContext, key: ReconcileKey): Promise<boolean> {
  const pod = await getIfExists(ctx.store, types.pods, key.namespace, key.name);
  if (!pod || pod.metadata.uid !== key.uid || !hasTrackingFinalizer(pod)) return true;
  const ref = controllerRefOf(pod);
  if (ref) {
    if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return true;
    const job = await getIfExists(ctx.store, types.jobs, key.namespace, ref.name);
    if (job && job.metadata.uid === ref.uid && !isJobFinished(job)) return true;
  }
  return releasePod(ctx, pod);
}

export function jobController(options: JobPlanOptions = {}): Controller {
  return {
    name: component,
    resyncTypes: [types.jobs],
    keysFor(change): ReconcileKey[] {
      if (change.typeId === types.jobs.id) return [{ typeId: types.jobs.id, namespace: change.namespace, name: change.name }];
      if (change.typeId !== types.pods.id) return [];
      return [...ownerKeys(change, 'Job', types.jobs.id), ...orphanPodKeys(change)];
    },
    async reconcile(key, ctx) {
      if (key.typeId === types.pods.id) {
        const untracked = key.uid === undefined || (await untrackOrphan(ctx, key));
        // The Jobs whose selector matches the orphan adopt it (with the finalizer again) when reconciled next.
        const owners = await ownersOfOrphan(ctx, key, { childType: types.pods, ownerType: types.jobs, selectorOf: specSelectorOf });
        return untracked ? owners : { ...owners, requeueAfterSeconds: 1 };
      }
      const job = await getIfExists(ctx.store, types.jobs, key.namespace, key.name);
      const pods = await listAll(ctx.store, types.pods, { namespace: key.namespace });
      if (!job) {
        // The Job is gone: its pods keep no finalizer of ours, or they could never be removed.
        let retry = false;
        for (const pod of pods) {
          const ref = controllerRefOf(pod);
          if (ref?.kind === 'Job' && ref.name === key.name && (pod.metadata.finalizers ?? []).includes(jobLabels.trackingFinalizer)) {
            if (!(await releasePod(ctx, pod))) retry = true;
          }
        }
        return retry ? { requeueAfterSeconds: 1 } : undefined;
      }
      const plan = planJob(job, await claimPods(ctx, job, pods), ctx.now(), options);

      // The uncounted uids are written before any finalizer goes, so a pod is never lost between them.
      let current = job;
      if (plan.status) current = await ctx.admission.update(types.jobs, { ...job, status: plan.status }, job);
      let retry = false;
      for (const pod of plan.removeFinalizers) if (!(await releasePod(ctx, pod))) retry = true;

      const { created, refused } = await ctx.admission.createAll(types.pods, plan.create);
      for (const { error } of refused) {
        await ctx.events.record({ involvedObject: current, type: 'Warning', reason: 'FailedCreate', message: `Error creating: ${error.message}`, component });
      }
      for (const pod of created) {
        await ctx.events.record({
          involvedObject: current,
          type: 'Normal',
          reason: 'SuccessfulCreate',
          message: `Created pod: ${pod.metadata.name}`,
          component,
        });
      }
      for (const pod of plan.delete) {
        try {
          await ctx.admission.delete(types.pods, pod);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
        }
        await ctx.events.record({
          involvedObject: current,
          type: 'Normal',
          reason: 'SuccessfulDelete',
          message: `Deleted pod: ${pod.metadata.name}`,
          component,
        });
      }
      for (const event of plan.events) await ctx.events.record({ involvedObject: current, ...event, component });
      if (plan.deleteJob) {
        try {
          await ctx.admission.delete(types.jobs, current, { addFinalizers: ['foregroundDeletion'] });
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
        }
      }
      // Pods created or released change the counts: look again soon (their stream records do too).
      if (retry || plan.removeFinalizers.length > 0) return { requeueAfterSeconds: 1 };
      return plan.requeueAfterSeconds !== undefined ? { requeueAfterSeconds: plan.requeueAfterSeconds } : undefined;
    },
  };
}
