/**
 * Self-healing with the real kubectl: kill one agent's process and, within the (shortened) grace
 * period plus eviction time, its node is NotReady and tainted, its pods are evicted and run on the
 * other node, and the Service keeps answering. Then `kubectl drain` empties the other node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

describe('node failure end to end with kubectl', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ nodes: 2, resyncSeconds: 2, nodeGraceSeconds: 6, evictionSeconds: 4 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const podsByNode = async () => {
    const out = await cluster.kubectlOk([
      'get',
      'pods',
      '-l',
      'app=heal',
      '-o',
      'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase} {.metadata.deletionTimestamp}{"\\n"}{end}',
    ]);
    return out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '));
  };

  it('moves the pods of a node whose agent died to the other node', async () => {
    await cluster.kubectlOk(['create', 'deployment', 'heal', '--image=nginx', '--replicas=2']);
    await waitFor('2 running pods', async () => (await podsByNode()).filter(([, phase]) => phase === 'Running').length === 2 || undefined, {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    const [victim, survivor] = cluster.local.nodeNames as [string, string];
    // A node that fails: its agent dies and nothing starts it again.
    cluster.local.killAgent(victim, 'SIGKILL', { restart: false });

    await waitFor(`${victim} NotReady`, async () => (await cluster.kubectl(['get', 'node', victim])).stdout.includes('NotReady') || undefined, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const taints = await cluster.kubectlOk(['get', 'node', victim, '-o', 'jsonpath={.spec.taints[*].key}']);
    assert.match(taints, /node\.kubernetes\.io\/unreachable/);
    const reason = await cluster.kubectlOk(['get', 'node', victim, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}']);
    assert.equal(reason, 'NodeStatusUnknown');

    await waitFor(
      'both pods running on the survivor',
      async () => {
        const pods = await podsByNode();
        return (pods.length === 2 && pods.every(([node, phase, deleting]) => node === survivor && phase === 'Running' && !deleting)) || undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
  });

  it('drains a node through the eviction subresource', async () => {
    const survivor = cluster.local.nodeNames[1] as string;
    const result = await cluster.kubectl(['drain', survivor, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=90s'], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /evicted/);
    assert.match(result.stdout, /drained/);
    assert.match(await cluster.kubectlOk(['get', 'node', survivor]), /SchedulingDisabled/);
  });
});
