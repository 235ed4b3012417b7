/**
 * A terminating pod is let go once every Ready node's proxies have applied its going
 * (docs/adr/170), with real agents in namespace mode: two nodes, each writes on its Node the
 * EndpointSlices and Endpoints revisions its ClusterIP rules and NodePort proxy have applied.
 * One node's agent is stopped (SIGSTOP): its Node stays Ready (for the lease's 40 s) while its
 * rules stay the old ones. A pod behind a Service on the other node is then held past its own
 * node's rules and past the old fixed second, and goes once the stopped agent runs again; a pod
 * no Service routes to goes at once, the stopped node having applied everything there was.
 * Without root (or the tools) the file is skipped with the reason printed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appliedEndpointsAnnotation, appliedSlicesAnnotation } from '../../../node-agent/proxy/routing-release.ts';
import { choosePodNetworkMode } from '../../../node-agent/runtime/pod-network.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { startTestCluster, type TestCluster } from '../../support/cluster.ts';
import { waitFor } from '../../support/wait.ts';

const possible = choosePodNetworkMode('auto', '10.128.0.0/24');
if (possible.mode !== 'namespaces') console.log(`# routing-release integration skipped: ${possible.reason}`);

interface Applied {
  readonly slices: bigint;
  readonly endpoints: bigint;
}

describe('a terminating pod is let go once every node has applied its going', {
  timeout: 240_000,
  skip: possible.mode !== 'namespaces' ? possible.reason : false,
}, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ nodes: 2, resyncSeconds: 5 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const getJson = async <T = KubeObject>(args: string[]) => JSON.parse(await cluster.kubectlOk(['get', ...args, '-o', 'json'])) as T;
  const applied = async (node: string): Promise<Applied | undefined> => {
    const annotations = (await getJson(['node', node])).metadata.annotations ?? {};
    const slices = annotations[appliedSlicesAnnotation];
    const endpoints = annotations[appliedEndpointsAnnotation];
    return slices && endpoints ? { slices: BigInt(slices), endpoints: BigInt(endpoints) } : undefined;
  };
  const atLeast = (a: Applied | undefined, b: Applied) => a !== undefined && a.slices >= b.slices && a.endpoints >= b.endpoints;
  /** The newest EndpointSlice and Endpoints revisions of the cluster, as a list reads them. */
  const newest = async (): Promise<Applied> => {
    const slices = await getJson<{ metadata: { resourceVersion: string } }>(['endpointslices', '-A']);
    const endpoints = await getJson<{ metadata: { resourceVersion: string } }>(['endpoints', '-A']);
    return { slices: BigInt(slices.metadata.resourceVersion), endpoints: BigInt(endpoints.metadata.resourceVersion) };
  };
  /** Both nodes have applied everything there is (nothing changes meanwhile in this test). */
  const bothCaughtUp = async () => {
    const want = await newest();
    await waitFor('both nodes to have applied the newest endpoints', async () =>
      atLeast(await applied('skiff-node-1'), want) && atLeast(await applied('skiff-node-2'), want) ? true : undefined,
    );
  };
  const podOnNode1 = (name: string, labels: Record<string, string>) =>
    cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels },
        spec: {
          nodeName: 'skiff-node-1',
          terminationGracePeriodSeconds: 120,
          containers: [{ name: 'main', image: 'busybox', command: ['/bin/sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'] }],
        },
      }),
    });
  const running = async (name: string) =>
    waitFor(`${name} to run and be Ready`, async () => {
      const pod = (await getJson(['pod', name])) as KubeObject & { status?: { podIP?: string; conditions?: { type: string; status: string }[] } };
      return pod.status?.podIP && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? pod.status.podIP : undefined;
    });
  const exists = async (name: string) => (await cluster.kubectl(['get', 'pod', name, '-o', 'name'])).code === 0;
  const agent2 = () => {
    const pid = cluster.local.agentPid('skiff-node-2');
    assert.ok(pid, 'the second agent runs');
    return pid;
  };
  /** Stops the second node's agent while `body` runs: its Node stays Ready, its rules stay as they are. */
  const withAgent2Stopped = async <T>(body: () => Promise<T>): Promise<T> => {
    const pid = agent2();
    process.kill(pid, 'SIGSTOP');
    try {
      return await body();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  };

  it('says on each Node what its proxies have applied', async () => {
    await bothCaughtUp();
    const want = await newest();
    for (const node of ['skiff-node-1', 'skiff-node-2']) {
      const said = await applied(node);
      assert.ok(said && said.slices >= want.slices && said.endpoints >= want.endpoints, `${node} says it applied ${JSON.stringify(String(said?.slices))}`);
    }
  });

  it('holds a pod behind a Service while a Ready node has not applied its going, and lets it go once that node has', async () => {
    await podOnNode1('held', { app: 'held' });
    await cluster.kubectlOk(['create', 'service', 'clusterip', 'held', '--tcp=80:80']);
    const ip = await running('held');
    await waitFor('the pod to be a ready endpoint', async () => {
      const slices = await getJson<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>([
        'endpointslices',
        '-l',
        'kubernetes.io/service-name=held',
      ]);
      return slices.items.some((slice) => (slice.endpoints ?? []).some((e) => e.addresses.includes(ip) && e.conditions?.ready)) || undefined;
    });
    await bothCaughtUp();
    const before2 = await applied('skiff-node-2');
    assert.ok(before2);

    await withAgent2Stopped(async () => {
      await cluster.kubectlOk(['delete', 'pod', 'held', '--wait=false']);
      // The pod's own node applies its going: the Service has no ready endpoint left.
      const gone = await waitFor('the pod to leave the ready endpoints', async () => {
        const slices = await getJson<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>([
          'endpointslices',
          '-l',
          'kubernetes.io/service-name=held',
        ]);
        return slices.items.every((slice) => (slice.endpoints ?? []).every((e) => !e.addresses.includes(ip) || e.conditions?.ready === false))
          ? await newest()
          : undefined;
      });
      await waitFor('the pod’s node to apply its going', async () => (atLeast(await applied('skiff-node-1'), gone) ? true : undefined));
      // The old hold gave the other nodes one second from here; the stopped node has not moved.
      const until = Date.now() + 2500;
      while (Date.now() < until) {
        assert.equal(await exists('held'), true, 'the pod was let go while a Ready node still had the old rules');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.deepEqual(await applied('skiff-node-2'), before2, 'the stopped node wrote nothing');
      const node2 = await getJson(['node', 'skiff-node-2']);
      const ready = (node2 as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', 'the stopped node is still Ready');
    });
    // Running again, the node applies the change, says so, and the pod goes.
    await waitFor('the pod to be let go', async () => ((await exists('held')) ? undefined : true), { timeoutMs: 60_000, intervalMs: 250 });
  });

  it('does not hold a pod no Service routes to, though a node is stopped', async () => {
    await podOnNode1('free', { app: 'free' });
    await running('free');
    await bothCaughtUp();
    await withAgent2Stopped(async () => {
      await cluster.kubectlOk(['delete', 'pod', 'free', '--wait=false']);
      // Held, it would stay for its 120 s grace period (the stopped node stays Ready for 40 s).
      await waitFor('the pod to be let go', async () => ((await exists('free')) ? undefined : true), { timeoutMs: 30_000, intervalMs: 250 });
    });
  });
});
