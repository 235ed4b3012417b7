/**
 * The agent's report of its figures over the watch channel (docs/adr/193), against a real
 * WebSocket server on loopback (the `ws` library, as the local stand-in of API Gateway uses): the
 * message is `nodeStats` with the node's Summary; a report larger than API Gateway's 32 KB frame
 * goes as several frames that make one message; one over the 128 KB message limit is not sent.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { StatsSummary } from '../../../functions/domain/metrics/node-stats.ts';
import { WatchChannel } from '../../../node-agent/watch-channel.ts';
import { types } from '../../../schemas/registry.ts';
import { maxFrameBytes, maxMessageBytes } from '../../../schemas/watch-channel.ts';
import { waitFor } from '../../support/wait.ts';

/** Figures of a node running `count` one-container pods. */
function summaryOf(count: number): StatsSummary {
  const time = new Date().toISOString();
  const cpu = { time, usageNanoCores: 123_456_789, usageCoreNanoSeconds: 987_654_321_000 };
  const memory = { time, workingSetBytes: 64 * 1024 * 1024 };
  return {
    node: { nodeName: 'n1', cpu, memory },
    pods: Array.from({ length: count }, (_, i) => ({
      podRef: { name: `web-${i}`, namespace: 'default', uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` },
      containers: [{ name: 'web', startTime: time, cpu, memory }],
      cpu,
      memory,
    })),
    windowSeconds: 10,
  };
}

describe('the agent’s figures over the watch channel', () => {
  let server: WebSocketServer;
  let channel: WatchChannel;
  const received: string[] = [];
  const tokens: (string | undefined)[] = [];
  const abort = new AbortController();

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1024 * 1024 });
    await new Promise<void>((done) => server.once('listening', () => done()));
    server.on('connection', (socket, request) => {
      tokens.push(request.headers.authorization);
      socket.on('message', (data, isBinary) => {
        assert.equal(isBinary, false, 'a text message');
        received.push(data.toString());
      });
    });
    const port = (server.address() as AddressInfo).port;
    channel = new WatchChannel({
      url: `ws://127.0.0.1:${port}/`,
      token: async () => 'node-token',
      rest: {
        list: async () => ({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '7' }, items: [] }) as never,
        get: async () => {
          throw new Error('not used');
        },
      },
    });
    // The channel opens for the agent's first subscription.
    void channel.listAndWatch(types.pods, { fieldSelector: 'spec.nodeName=n1' }, { onList() {}, onEvent() {} }, abort.signal);
    await waitFor('the channel open', () => channel.open);
  });
  after(async () => {
    abort.abort();
    channel?.close();
    await new Promise<void>((done) => server.close(() => done()));
  });

  const reports = () =>
    received.map((text) => JSON.parse(text) as { action: string; nodeName?: string; summary?: StatsSummary }).filter((m) => m.action === 'nodeStats');

  it('sends a nodeStats message with the node’s summary, on the connection its token opened', async () => {
    const summary = summaryOf(3);
    assert.equal(channel.sendNodeStats('n1', summary), true);
    await waitFor('the report', () => reports().length === 1);
    assert.deepEqual(reports()[0], { action: 'nodeStats', nodeName: 'n1', summary });
    assert.deepEqual(tokens, ['Bearer node-token']);
  });

  it('sends a report over one frame’s 32 KB as one message, and none over the 128 KB message limit', async () => {
    const large = summaryOf(100);
    const size = Buffer.byteLength(JSON.stringify({ action: 'nodeStats', nodeName: 'n1', summary: large }));
    assert.ok(size > maxFrameBytes && size < maxMessageBytes, `a report of ${size} bytes`);
    // The frames the client writes: what it hands the socket, and whether each ends the message.
    const socket = (channel as unknown as { socket: WebSocket }).socket;
    const frames: { bytes: number; fin: boolean | undefined }[] = [];
    const send = socket.send.bind(socket);
    socket.send = ((data: Buffer, options: { fin?: boolean }) => {
      frames.push({ bytes: data.length, fin: options?.fin });
      return send(data, options);
    }) as typeof socket.send;
    assert.equal(channel.sendNodeStats('n1', large), true);
    socket.send = send;
    assert.ok(frames.length === Math.ceil(size / maxFrameBytes) && frames.length > 1, `${frames.length} frames`);
    assert.ok(frames.every((frame) => frame.bytes <= maxFrameBytes));
    assert.deepEqual(
      frames.map((frame) => frame.fin),
      frames.map((_, i) => i === frames.length - 1),
      'only the last frame ends the message',
    );
    await waitFor('the large report', () => reports().length === 2);
    assert.deepEqual(reports()[1]?.summary, large, 'its frames were joined into the one message');

    const tooLarge = summaryOf(300);
    assert.ok(Buffer.byteLength(JSON.stringify(tooLarge)) > maxMessageBytes);
    assert.equal(channel.sendNodeStats('n1', tooLarge), false);
    // Something sent after it arrives, and the refused report did not.
    assert.equal(channel.sendNodeStats('n1', summaryOf(1)), true);
    await waitFor('the report after it', () => reports().length === 3);
    assert.equal(reports()[2]?.summary?.pods.length, 1);
  });

  it('sends nothing while the channel is not open', () => {
    const closed = new WatchChannel({
      url: 'ws://127.0.0.1:1/',
      token: async () => undefined,
      rest: { list: async () => ({}) as never, get: async () => ({}) as never },
    });
    try {
      assert.equal(closed.sendNodeStats('n1', summaryOf(1)), false);
    } finally {
      closed.close();
    }
  });
});
