import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { memoryLog } from '../../../functions/logging/log.ts';
import { isNewer, WatchChannel } from '../../../node-agent/watch-channel.ts';
import { types } from '../../../schemas/registry.ts';
import { waitFor } from '../../support/wait.ts';

describe('the agent’s watch channel', () => {
  it('orders resourceVersions of one type as numbers, not as text', () => {
    assert.equal(isNewer('10', '9'), true);
    assert.equal(isNewer('9', '10'), false);
    assert.equal(isNewer('10', '10'), false);
    assert.equal(isNewer('123456789012345678901', '123456789012345678900'), true);
    assert.equal(isNewer('5', undefined), true, 'anything is newer than nothing');
    assert.equal(isNewer(undefined, '5'), false);
    assert.equal(isNewer('opaque-b', 'opaque-a'), true, 'versions it cannot order count as new when they differ');
    assert.equal(isNewer('opaque-a', 'opaque-a'), false);
  });

  it('serves the types agents watch and leaves the others to REST watches', () => {
    for (const type of [types.pods, types.services, types.endpoints, types.endpointslices]) assert.equal(WatchChannel.serves(type), true, type.plural);
    for (const type of [types.configmaps, types.nodes, types.leases, types.deployments]) assert.equal(WatchChannel.serves(type), false, type.plural);
  });

  it('backs off from connections cut before they caught up, and reconnects at once after one that caught up', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    let answer = false;
    server.on('connection', (socket) =>
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as { action: string; id: string };
        if (answer && message.action === 'subscribe') socket.send(JSON.stringify({ type: 'synced', id: message.id, resourceVersion: '7' }));
      }),
    );
    const cut = () => {
      for (const client of server.clients) client.terminate();
    };
    const log = memoryLog();
    const channel = new WatchChannel({
      url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: async () => undefined,
      rest: {
        list: async () => ({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '5' }, items: [] }) as never,
        get: async () => {
          throw new Error('not asked');
        },
      },
      log,
    });
    const abort = new AbortController();
    void channel.listAndWatch(types.pods, {}, { onList() {}, onEvent() {} }, abort.signal);
    const caughtUp = () => log.entries.filter((entry) => entry.message === 'watch channel caught up').length;
    try {
      // A server that takes connections and drops them before answering: each reconnect waits longer.
      const delays: number[] = [];
      for (let round = 1; round <= 3; round++) {
        await waitFor('a connection', () => channel.stats.connects === round && server.clients.size === 1);
        const planned = channel.stats.reconnectDelayMs;
        cut();
        await waitFor('the reconnect planned', () => channel.stats.reconnectDelayMs !== planned);
        delays.push(channel.stats.reconnectDelayMs);
        await waitFor('the reconnect', () => channel.stats.connects > round);
      }
      // 250 ms, doubled each time, jittered down to half.
      assert.ok(delays[0]! >= 125 && delays[0]! <= 250 && delays[2]! >= 500 && delays[2]! <= 1000, `back-off ${delays.join(', ')} ms`);
      // Then it answers: a connection cut once it caught up is no failure, the next try comes at once.
      answer = true;
      cut();
      await waitFor('a connection that caught up', () => caughtUp() === 1, { timeoutMs: 10_000 });
      for (let round = 1; round <= 3; round++) {
        const connects = channel.stats.connects;
        const planned = channel.stats.reconnectDelayMs;
        cut();
        await waitFor('the reconnect planned', () => channel.stats.reconnectDelayMs !== planned);
        assert.ok(channel.stats.reconnectDelayMs >= 125 && channel.stats.reconnectDelayMs <= 250, `back-off ${channel.stats.reconnectDelayMs} ms`);
        await waitFor('caught up again', () => channel.stats.connects > connects && caughtUp() === round + 1);
      }
      assert.deepEqual(Object.keys(log.entries.find((entry) => entry.message === 'watch channel caught up')?.fields ?? {}).sort(), ['ms', 'subscriptions']);
    } finally {
      abort.abort();
      channel.close();
      server.close();
    }
  });
});
