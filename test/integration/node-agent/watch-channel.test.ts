/**
 * The agent's watch channel against the local host's channel (the same handler and fan-out code
 * as on AWS): pods bound to a node are created, relabelled and deleted while the channel's
 * connection is cut again and again; the channel's subscriber must see exactly the events a REST
 * watch with the same selector sees — none missed, none twice — and end with the same pods.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeClient, type WatchEvent } from '../../../node-agent/kube-client.ts';
import { loadKubeconfig } from '../../../node-agent/kubeconfig.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { startTestCluster, type TestCluster } from '../../support/cluster.ts';
import { waitFor } from '../../support/wait.ts';

interface Recorder {
  state: Map<string, string>;
  events: Map<string, string[]>;
  listed: boolean;
}

function recorder(): Recorder & { handlers: { onList(items: readonly KubeObject[]): void; onEvent(event: WatchEvent<KubeObject>): void } } {
  const r: Recorder = { state: new Map(), events: new Map(), listed: false };
  return {
    ...r,
    get state() {
      return r.state;
    },
    get listed() {
      return r.listed;
    },
    handlers: {
      onList(items) {
        r.state = new Map(items.map((item) => [item.metadata.name ?? '', item.metadata.resourceVersion ?? '']));
        r.listed = true;
      },
      onEvent(event) {
        const name = event.object.metadata.name ?? '';
        const seen = r.events.get(name) ?? [];
        seen.push(`${event.type}@${event.object.metadata.resourceVersion}`);
        r.events.set(name, seen);
        if (event.type === 'DELETED') r.state.delete(name);
        else r.state.set(name, event.object.metadata.resourceVersion ?? '');
      },
    },
  };
}

describe('the watch channel through cut connections', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let channelClient: KubeClient;
  let restClient: KubeClient;
  const abort = new AbortController();

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
    // Node n1's own credentials (the host joins it: its token, in its own kubeconfig).
    const nodeCredentials = loadKubeconfig(await cluster.local.joinNode('n1'));
    assert.ok(nodeCredentials.watchChannel, 'the host names its channel in the node kubeconfig');
    channelClient = new KubeClient(nodeCredentials);
    restClient = new KubeClient(loadKubeconfig(cluster.local.kubeconfigPath));
  });
  after(async () => {
    abort.abort();
    channelClient?.close();
    restClient?.close();
    await cluster?.stop();
  });

  const pod = (name: string, nodeName: string, labels: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }] },
  });

  it('delivers every change exactly once, as a REST watch does, however often the connection drops', async () => {
    const viaChannel = recorder();
    const viaRest = recorder();
    const options = { fieldSelector: 'spec.nodeName=n1' };
    // Pods have been written before the lists: they return a version of their own, not "0",
    // which a watch reads as "from any point" (current objects as synthetic ADDED events).
    await restClient.create(types.pods, pod('seed', 'n2'));
    void channelClient.listAndWatch(types.pods, options, viaChannel.handlers, abort.signal);
    void restClient.listAndWatch(types.pods, options, viaRest.handlers, abort.signal);
    await waitFor('both lists', () => viaChannel.listed && viaRest.listed);
    await waitFor('the channel subscribed', () => cluster.local.watchChannel.connectionIds().length === 1);

    let cuts = 0;
    for (let round = 0; round < 6; round++) {
      // Each round's writes race the reconnect's catch-up.
      if (round > 0) await waitFor('the channel to reconnect', () => (channelClient.channel?.stats.connects ?? 0) > round);
      for (let i = 0; i < 4; i++) {
        const name = `p-${round}-${i}`;
        await restClient.create(types.pods, pod(name, i % 3 === 2 ? 'n2' : 'n1'));
        if (i % 2 === 0) await restClient.patch(types.pods, 'default', name, 'merge', { metadata: { labels: { round: String(round) } } });
        if (round > 0 && i === 1) await restClient.delete(types.pods, 'default', `p-${round - 1}-0`, { gracePeriodSeconds: 0 });
      }
      // Cut the connection mid-stream, without a close handshake.
      cluster.local.watchChannel.dropConnections();
      cuts++;
    }
    await restClient.patch(types.pods, 'default', 'p-5-1', 'merge', { metadata: { labels: { last: 'yes' } } });

    const listed = await restClient.list(types.pods, { fieldSelector: 'spec.nodeName=n1' });
    const expected = new Map(listed.items.map((item) => [item.metadata.name ?? '', item.metadata.resourceVersion ?? '']));
    await waitFor(
      'the channel subscriber to hold exactly the pods bound to n1',
      () => JSON.stringify([...viaChannel.state].sort()) === JSON.stringify([...expected].sort()),
      { timeoutMs: 60_000 },
    );
    await waitFor('the REST watcher too', () => JSON.stringify([...viaRest.state].sort()) === JSON.stringify([...expected].sort()), { timeoutMs: 30_000 });
    assert.equal(
      JSON.stringify([...viaChannel.events].sort(), null, 1),
      JSON.stringify([...viaRest.events].sort(), null, 1),
      'the same events, none missed, none twice',
    );
    assert.ok(channelClient.channel && channelClient.channel.stats.connects >= cuts + 1, `reconnected after each of the ${cuts} cuts`);
    assert.equal(channelClient.channel?.stats.relists, 0, 'caught up from its position, never relisting');
  });
});
