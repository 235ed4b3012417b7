import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Controller, ReconcileKey } from '../../../functions/controller-runtime/controller.ts';
import { memoryEventRecorder } from '../../../functions/controller-runtime/events.ts';
import { parseRequeueMessage, reconcileRequeued, requeueCollector, requeueMessageBody } from '../../../functions/controller-runtime/requeue.ts';
import type { ObjectStore } from '../../../functions/store/store.ts';

function controller(name: string, reconcile: Controller['reconcile']): Controller {
  return { name, resyncTypes: [], keysFor: () => [], reconcile };
}

describe('requeue messages', () => {
  it('round-trips a key, and reads nothing else as one', () => {
    const key: ReconcileKey = { typeId: 'core/services', namespace: 'team-a', name: 'web' };
    const body = requeueMessageBody({ controller: 'service-controller', key });
    assert.equal(body, '{"controller":"service-controller","key":{"typeId":"core/services","namespace":"team-a","name":"web"}}');
    assert.deepEqual(parseRequeueMessage(body), { controller: 'service-controller', key });
    const owner = { typeId: 'apps/replicasets', namespace: 'ns', name: 'rs', uid: 'u-1' };
    assert.deepEqual(parseRequeueMessage(requeueMessageBody({ controller: 'gc', key: owner })), { controller: 'gc', key: owner });
    for (const junk of [
      '',
      'null',
      '[]',
      '{"controller":"x"}',
      '{"controller":"","key":{"typeId":"a","name":"b"}}',
      '{"controller":"x","key":{"typeId":"a"}}',
      '{"controller":"x","key":{"typeId":"a","name":"b","extra":1}}',
    ]) {
      assert.equal(parseRequeueMessage(junk), undefined, junk);
    }
  });

  it('collects one requeue per controller and key, with the shortest delay', () => {
    const collector = requeueCollector();
    const a = controller('a', async () => undefined);
    const b = controller('b', async () => undefined);
    const key = { typeId: 'core/services', namespace: 'ns', name: 'web' };
    collector.onRequeue(a, key, 15);
    collector.onRequeue(a, { ...key }, 5);
    collector.onRequeue(a, key, 30);
    collector.onRequeue(b, key, 15);
    assert.deepEqual(collector.requests(), [
      { controller: 'a', key, afterSeconds: 5 },
      { controller: 'b', key, afterSeconds: 15 },
    ]);
  });
});

describe('reconciling delivered requeues', () => {
  it('reconciles each key once, reports the messages of a failed key, and drops what it cannot read', async () => {
    const seen: string[] = [];
    const ok = controller('ok', async (key) => {
      seen.push(`ok:${key.name}`);
      return { requeueAfterSeconds: 7 };
    });
    const broken = controller('broken', async (key) => {
      seen.push(`broken:${key.name}`);
      throw new Error('no');
    });
    const requeued: string[] = [];
    const body = (name: string, key: ReconcileKey) => requeueMessageBody({ controller: name, key });
    const failed = await reconcileRequeued(
      [
        { id: '1', body: body('ok', { typeId: 't', name: 'x' }) },
        { id: '2', body: body('ok', { typeId: 't', name: 'x' }) },
        { id: '3', body: body('broken', { typeId: 't', name: 'y' }) },
        { id: '4', body: body('broken', { typeId: 't', name: 'y' }) },
        { id: '5', body: 'garbage' },
        { id: '6', body: body('missing', { typeId: 't', name: 'z' }) },
      ],
      {
        store: {} as ObjectStore,
        events: memoryEventRecorder(),
        controllers: [ok, broken],
        onRequeue: (c, key, after) => requeued.push(`${c.name}:${key.name}:${after}`),
      },
    );
    assert.deepEqual(failed.sort(), ['3', '4']);
    assert.deepEqual(seen.sort(), ['broken:y', 'ok:x']);
    assert.deepEqual(requeued, ['ok:x:7']);
  });
});
