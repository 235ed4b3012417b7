/**
 * `npm start`'s agents take their pods from the watch channel: a whole local cluster with one
 * node agent process, a Deployment rolled out to a new image with the real kubectl while the
 * agent's WebSocket is cut again and again; the agent ends running exactly the pods bound to
 * its node — each of them, with the new image, and nothing of the old ones.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { image: string }[] };
  status?: { phase?: string };
}

interface ContainerJson {
  pod: { uid: string; name: string };
  image: string;
  pid?: number;
  exit?: unknown;
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('node agent over the watch channel', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  const node = 'skiff-node-1';

  before(async () => {
    cluster = await startTestCluster({ nodes: 1 });
    await waitFor('the node to be Ready', async () => (await cluster.kubectl(['get', 'node', node])).stdout.includes(' Ready'), { timeoutMs: 60_000 });
  });
  after(async () => {
    await cluster?.stop();
  });

  async function pods(): Promise<PodJson[]> {
    return (JSON.parse(await cluster.kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: PodJson[] }).items;
  }

  /** Pod uid → image of every container process the agent runs now. */
  function running(): Map<string, string> {
    const state = JSON.parse(readFileSync(join(cluster.dataDir, 'nodes', node, 'containers.json'), 'utf8')) as { containers: ContainerJson[] };
    return new Map(state.containers.filter((c) => !c.exit && alive(c.pid)).map((c) => [c.pod.uid, c.image]));
  }

  it('ends with exactly the right pods after a rollout during which its connection was cut', async () => {
    // maxSurge 100%: the rollout makes its three new pods at once, then removes the old ones, in one
    // step rather than three one after another, each a chain of controllers that takes seconds on
    // a loaded machine; the agent still sees creations and deletions while its connection is cut.
    await cluster.kubectlOk(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
        },
      }),
    });
    await cluster.kubectlOk(['rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
    assert.equal(cluster.local.watchChannel.connectionIds().length, 1, 'the agent holds one channel connection');

    // Cut the agent's connection again and again while the rollout runs, alternately: once at a
    // random moment of its first 400 ms (most often before or during its catch-up), once as soon as
    // the agent has caught up on it (changes pushed after that are cut off). Every other connection
    // thus brings the agent up to date, so the rollout moves on however slow the machine is: with
    // every connection cut after a fixed time, a loaded machine's catch-ups never finished in time.
    const agentLog = () => readFileSync(join(cluster.dataDir, 'nodes', node, 'agent.log'), 'utf8');
    /** The agent's channel connects so far, and whether it has caught up on the latest one. */
    const agentChannel = () => {
      let connects = 0;
      let caughtUp = false;
      for (const line of agentLog().split('\n')) {
        if (line.includes('"message":"watch channel connected"')) {
          connects++;
          caughtUp = false;
        } else if (line.includes('"message":"watch channel caught up"')) {
          caughtUp = true;
        }
      }
      return { connects, caughtUp };
    };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    let cuts = 0;
    let rolling = true;
    const cutter = (async () => {
      let connectsAtCut = agentChannel().connects;
      while (rolling) {
        await pause(50);
        if (cluster.local.watchChannel.connectionIds().length === 0) continue;
        if (cuts % 2 === 0) {
          await pause(Math.random() * 400);
        } else {
          const channel = agentChannel();
          if (channel.connects <= connectsAtCut || !channel.caughtUp) continue;
        }
        if (!rolling) break;
        connectsAtCut = agentChannel().connects;
        cluster.local.watchChannel.dropConnections();
        cuts++;
      }
    })();
    try {
      // With minReadySeconds the rollout lasts at least 8 s however fast the machine (a new pod is
      // available only after 8 s Ready, and the old ones wait for that): on an idle machine the
      // rollout alone took under 3 s, too short for the cuts this test is about.
      await cluster.kubectlOk([
        'patch',
        'deployment/web',
        '-p',
        JSON.stringify({ spec: { minReadySeconds: 8, template: { spec: { containers: [{ name: 'nginx', image: 'httpd' }] } } } }),
      ]);
      await cluster.kubectlOk(['rollout', 'status', 'deployment/web', '--timeout=180s'], { timeoutMs: 190_000 });
    } finally {
      rolling = false;
      await cutter;
    }
    assert.ok(cuts >= 3, `the connection was cut ${cuts} times during the rollout`);

    await waitFor(
      'the agent to run exactly the pods bound to its node, with the new image',
      async () => {
        const bound = (await pods()).filter((p) => p.spec.nodeName === node && !p.metadata.deletionTimestamp);
        const processes = running();
        return (
          bound.length === 3 &&
          bound.every((p) => p.status?.phase === 'Running' && p.spec.containers[0]?.image === 'httpd' && processes.get(p.metadata.uid) === 'httpd') &&
          processes.size === bound.length
        );
      },
      { timeoutMs: 60_000 },
    );
    const log = agentLog();
    const { connects } = agentChannel();
    assert.ok(connects > cuts / 2, `the agent reconnected (${connects} connects for ${cuts} cuts)`);
    assert.doesNotMatch(log, /pod watch failed/, 'no REST watch of pods was needed');
  });
});
