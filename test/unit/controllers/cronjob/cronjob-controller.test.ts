/** The CronJob controller's reconcile against the memory store, with a clock the test moves. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { contextOf } from '../../../../functions/controller-runtime/run-controllers.ts';
import { cronJobController } from '../../../../functions/controllers/cronjob/cronjob-controller.ts';
import type { ObjectStore } from '../../../../functions/store/store.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

let world: MemoryCluster;
let clockMs = 0;
const key = { typeId: types.cronjobs.id, namespace: 'cron', name: 'tick' };

beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('cron');
  const created = await world.admission.create(types.cronjobs, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'cron' },
    spec: {
      schedule: '*/1 * * * *',
      jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'Never' } } } },
    },
  });
  // A second before the first whole minute after the CronJob was made (the store stamps it with the real clock).
  clockMs = Math.floor(Date.parse(created.metadata.creationTimestamp ?? '') / 60_000) * 60_000 + 59_000;
});
afterEach(() => world.close());

/** The store as the controller sees it, with `onRead` run once, after its first read of the CronJob and before that read's answer is returned. */
function storeWith(onRead: () => Promise<void>): ObjectStore {
  let pending: (() => Promise<void>) | undefined = onRead;
  return new Proxy(world.store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'get') return value;
      return async (...args: Parameters<ObjectStore['get']>) => {
        const answer = await (value as ObjectStore['get']).apply(target, args);
        const run = args[0].id === types.cronjobs.id ? pending : undefined;
        pending = undefined;
        if (run) await run();
        return answer;
      };
    },
  });
}

const jobs = async () => (await world.raw.list(types.jobs, { namespace: 'cron' })).items.map((job) => job.metadata.name);

describe('cronJobController.reconcile', () => {
  it('makes the Job of a scheduled time that has come', async () => {
    const ctx = contextOf({ store: world.store, controllers: [], now: () => new Date(clockMs + 2000) });
    await cronJobController.reconcile(key, ctx);
    assert.deepEqual(await jobs(), [`tick-${(clockMs + 1000) / 60_000}`]);
  });

  it('acts for the time before its reads: a suspend written while it read, before the scheduled time, makes no Job', async () => {
    const suspendThenTick = async () => {
      const current = await world.raw.get(types.cronjobs, 'cron', 'tick');
      await world.raw.update(types.cronjobs, { ...current, spec: { ...(current.spec as object), suspend: true } } as KubeObject);
      // The scheduled time passes after the suspend was written.
      clockMs += 2000;
    };
    const ctx = contextOf({ store: storeWith(suspendThenTick), controllers: [], now: () => new Date(clockMs) });
    // (A reconcile acting for the later time makes the Job, then fails to write the status over the suspend.)
    const result = await cronJobController.reconcile(key, ctx).catch((error: unknown) => error);
    assert.deepEqual(await jobs(), [], 'the Job of a time after the suspend');
    // The reconcile saw a CronJob not yet suspended at a time before its next run: it comes back then.
    assert.deepEqual(result, { requeueAfterSeconds: 1 });
  });
});
