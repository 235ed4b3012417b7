import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventMessage } from '../../../functions/watch/event-messages.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { maxMessageBytes, serverMessage } from '../../../schemas/watch-channel.ts';

const configMap = (bytes: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'big', namespace: 'default', uid: 'u-1', resourceVersion: '42', labels: { a: 'b' } },
  data: { blob: 'x'.repeat(bytes) },
});

describe('watch channel event messages', () => {
  it('carries a small object whole', () => {
    const text = eventMessage('s1', { type: 'MODIFIED', object: configMap(100) });
    const message = serverMessage.parse(JSON.parse(text));
    assert.equal(message.type, 'event');
    assert.deepEqual(message.type === 'event' && message.event.object?.data, { blob: 'x'.repeat(100) });
  });

  it('sends a reference instead of an object too large for one API Gateway message', () => {
    const text = eventMessage('s1', { type: 'MODIFIED', object: configMap(200 * 1024) }, { catchUp: true });
    assert.ok(Buffer.byteLength(text) <= maxMessageBytes);
    assert.deepEqual(JSON.parse(text), {
      type: 'event',
      id: 's1',
      catchUp: true,
      event: { type: 'MODIFIED', object: null },
      ref: { namespace: 'default', name: 'big', resourceVersion: '42' },
    });
  });

  it('keeps only the metadata of a large object that was deleted (it cannot be fetched any more)', () => {
    const text = eventMessage('s1', { type: 'DELETED', object: configMap(200 * 1024) });
    assert.ok(Buffer.byteLength(text) <= maxMessageBytes);
    const message = JSON.parse(text);
    assert.deepEqual(message.event, {
      type: 'DELETED',
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'default', uid: 'u-1', resourceVersion: '42', labels: { a: 'b' } } },
    });
  });

  it('cuts a deleted object down to its identity when even its metadata is too large', () => {
    const object = configMap(10);
    const huge: KubeObject = { ...object, metadata: { ...object.metadata, annotations: { note: 'y'.repeat(200 * 1024) } } };
    const message = JSON.parse(eventMessage('s1', { type: 'DELETED', object: huge }));
    assert.deepEqual(message.event.object.metadata, { name: 'big', namespace: 'default', uid: 'u-1', resourceVersion: '42' });
  });
});
