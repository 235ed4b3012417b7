/**
 * A watch client that never reads, on a type with 10,000 objects: the local HTTPS server pulls
 * events from the API core only as fast as the socket takes them, so what the server holds
 * stays bounded by the socket's buffers, not by the size of the type.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import type { ApiHandler } from '../../../functions/api/http.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { rawRequest } from '../../support/raw-https.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';
import { waitFor } from '../../support/wait.ts';

const objects = 10_000;
const paddingBytes = 2_000;

describe('a watch whose client never reads', () => {
  let api: TestApi;
  let pulledBytes = 0;
  let pulledEvents = 0;
  const counting =
    (core: ApiHandler): ApiHandler =>
    async (request) => {
      const response = await core(request);
      if (!response.stream) return response;
      const source = response.stream;
      return {
        ...response,
        stream: (async function* () {
          for await (const chunk of source) {
            pulledEvents++;
            pulledBytes += Buffer.byteLength(chunk);
            yield chunk;
          }
        })(),
      };
    };

  before(async () => {
    // The in-memory store, with the DynamoDB adapter's semantics: 10,000 objects in a moment.
    api = await startTestApi({ wrap: counting, memory: true });
    const padding = 'x'.repeat(paddingBytes);
    const batches: KubeObject[][] = [];
    for (let start = 0; start < objects; start += 25) {
      batches.push(
        Array.from({ length: Math.min(25, objects - start) }, (_, i) => ({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${start + i}`, namespace: 'default' },
          data: { padding },
        })),
      );
    }
    for (const batch of batches) {
      await api.store.batch(
        types.configmaps,
        batch.map((object) => ({ op: 'create', object })),
      );
    }
  });
  after(() => api?.stop());

  it('pulls only what the socket holds, and keeps serving others', async () => {
    const url = new URL(api.url);
    const socket = connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    socket.write(`GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${api.token}\r\n\r\n`);
    // Read only the status line, then stop reading for good.
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause();
    const total = objects * paddingBytes;
    // Wait until the server has stopped pulling: the same count across a second of polling.
    let last = -1;
    await waitFor(
      'the server to stop pulling events',
      () => {
        const settled = pulledEvents > 0 && pulledEvents === last;
        last = pulledEvents;
        return settled;
      },
      { intervalMs: 1000, timeoutMs: 60_000 },
    );
    console.log(`watch back-pressure: pulled ${pulledEvents} events, ${pulledBytes} bytes of ${objects * paddingBytes}`);
    assert.ok(pulledEvents < objects, `pulled all ${pulledEvents} events of a client that reads nothing`);
    assert.ok(pulledBytes < total / 2, `pulled ${pulledBytes} bytes of ${total} for a client that reads nothing`);

    const list = await rawRequest(api.url, { path: '/api/v1/namespaces/default/configmaps?limit=1', token: api.token });
    assert.equal(list.status, 200, 'the server keeps serving other clients');
    socket.destroy();
  });
});
