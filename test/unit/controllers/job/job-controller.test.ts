/** The Job controller's claims against the memory store: which pods it adopts and releases, and with which finalizer. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { controllerRefOf } from '../../../../functions/controller-runtime/owner-references.ts';
import { jobController } from '../../../../functions/controllers/job/job-controller.ts';
import { jobLabels } from '../../../../schemas/job.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

/** A Job that selects its pods by hand (`manualSelector`): the one case where a Job has orphans to adopt. */
function manualJob(name: string, completions: number): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'apps' },
    spec: {
      completions,
      parallelism: completions,
      manualSelector: true,
      selector: { matchLabels: { batch: name } },
      template: { metadata: { labels: { batch: name } }, spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } },
    },
  };
}

async function bare(world: MemoryCluster, name: string, labels: Record<string, string>, phase?: string): Promise<KubeObject> {
  const pod = await world.admission.create(types.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps', labels },
    spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] },
  });
  return phase ? world.raw.update(types.pods, { ...pod, status: { phase } }) : pod;
}

const controller = jobController();
const key = (name: string) => ({ typeId: types.jobs.id, namespace: 'apps', name });
const pod = (world: MemoryCluster, name: string) => world.raw.get(types.pods, 'apps', name);
const tracked = (object: KubeObject) => (object.metadata.finalizers ?? []).includes(jobLabels.trackingFinalizer);

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
});
afterEach(() => world.close());

describe('jobController.reconcile claims', () => {
  it('adopts the orphans a manual selector matches with the tracking finalizer, and counts a finished one as its own', async () => {
    const job = await world.admission.create(types.jobs, manualJob('crunch', 2));
    await bare(world, 'done', { batch: 'crunch' }, 'Succeeded');
    await bare(world, 'busy', { batch: 'crunch' }, 'Running');
    await bare(world, 'stranger', { batch: 'other' }, 'Running');
    const ctx = world.controllerContext();
    await controller.reconcile(key('crunch'), ctx);
    const busy = await pod(world, 'busy');
    assert.deepEqual([controllerRefOf(busy)?.uid, tracked(busy)], [job.metadata.uid, true], 'the running orphan is adopted and tracked');
    const done = await pod(world, 'done');
    assert.deepEqual([controllerRefOf(done)?.uid, tracked(done)], [job.metadata.uid, false], 'the finished one is adopted, counted, and let go');
    assert.equal(controllerRefOf(await pod(world, 'stranger')), undefined);

    await controller.reconcile(key('crunch'), world.controllerContext());
    const status = (await world.raw.get(types.jobs, 'apps', 'crunch')).status as { succeeded?: number; active?: number };
    assert.deepEqual([status.succeeded, status.active], [1, 1]);
    assert.deepEqual(
      ctx.recorded.filter((e) => e.reason === 'SuccessfulCreate'),
      [],
      'two pods wanted, two adopted: none created',
    );
  });

  it('releases a pod relabelled out of its selector with its tracking finalizer, and replaces it', async () => {
    const job = await world.admission.create(types.jobs, manualJob('crunch', 1));
    await controller.reconcile(key('crunch'), world.controllerContext());
    const [made] = (await world.raw.list(types.pods, { namespace: 'apps' })).items;
    assert.ok(made && tracked(made));
    await world.raw.update(types.pods, { ...made, metadata: { ...made.metadata, labels: { batch: 'looked-at' } } });
    await controller.reconcile(key('crunch'), world.controllerContext());
    const released = await pod(world, made.metadata.name ?? '');
    assert.deepEqual([released.metadata.ownerReferences, tracked(released)], [undefined, false]);
    const owned = (await world.raw.list(types.pods, { namespace: 'apps' })).items.filter((p) => controllerRefOf(p)?.uid === job.metadata.uid);
    assert.equal(owned.length, 1);
    assert.notEqual(owned[0]?.metadata.uid, made.metadata.uid);
  });

  it('adopts nothing once the Job has finished', async () => {
    const job = await world.admission.create(types.jobs, manualJob('crunch', 1));
    const finished = {
      ...job,
      status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    };
    await world.raw.update(types.jobs, finished);
    await bare(world, 'late', { batch: 'crunch' }, 'Running');
    await controller.reconcile(key('crunch'), world.controllerContext());
    const late = await pod(world, 'late');
    assert.deepEqual([late.metadata.ownerReferences, tracked(late)], [undefined, false]);
  });

  it('takes the tracking finalizer off a pod its Job left with --cascade=orphan, through the orphan’s key', async () => {
    await world.admission.create(types.jobs, manualJob('crunch', 1));
    await controller.reconcile(key('crunch'), world.controllerContext());
    const [made] = (await world.raw.list(types.pods, { namespace: 'apps' })).items;
    assert.ok(made && tracked(made));
    // What the garbage collector does before the Job goes: the reference removed, the finalizer left.
    const { ownerReferences: _dropped, ...metadata } = made.metadata;
    const orphaned = await world.raw.update(types.pods, { ...made, metadata });
    await world.raw.delete(types.jobs, 'apps', 'crunch');
    const keys = controller.keysFor({ typeId: types.pods.id, namespace: 'apps', name: made.metadata.name ?? '', oldObject: made, newObject: orphaned });
    const orphanKey = { typeId: types.pods.id, namespace: 'apps', name: made.metadata.name ?? '', uid: made.metadata.uid ?? '' };
    assert.deepEqual(keys, [key('crunch'), orphanKey], 'the Job it had, and the orphan about this pod');
    await controller.reconcile(orphanKey, world.controllerContext());
    const left = await pod(world, made.metadata.name ?? '');
    assert.deepEqual([left.metadata.uid, tracked(left)], [made.metadata.uid, false]);
  });

  it('wakes the running Jobs whose selector matches a new orphan, and leaves the finalizer of a pod a running Job adopted', async () => {
    const job = await world.admission.create(types.jobs, manualJob('crunch', 1));
    const orphan = await bare(world, 'stray', { batch: 'crunch' });
    const keys = controller.keysFor({ typeId: types.pods.id, namespace: 'apps', name: 'stray', newObject: orphan });
    const woken = await controller.reconcile(keys[0] ?? key('none'), world.controllerContext());
    assert.deepEqual(woken?.enqueue, [key('crunch')]);
    await controller.reconcile(key('crunch'), world.controllerContext());
    const adopted = await pod(world, 'stray');
    assert.deepEqual([controllerRefOf(adopted)?.uid, tracked(adopted)], [job.metadata.uid, true]);
    // A late key about the pod when it was an orphan with the finalizer: the running Job keeps it.
    await controller.reconcile({ typeId: types.pods.id, namespace: 'apps', name: 'stray', uid: adopted.metadata.uid ?? '' }, world.controllerContext());
    assert.equal(tracked(await pod(world, 'stray')), true);
  });
});
