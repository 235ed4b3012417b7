/**
 * Readiness and liveness probes of pods on the `ecs` runtime: the agent probes the pod's own
 * address (the task ENI's private IP) from the node. The fake ECS hands out addresses of a
 * loopback /24 picked at random, and the test serves the probes' HTTP endpoints on the addresses
 * its tasks receive, so every probe really crosses a socket to the address ECS reported.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { StartTaskCommand, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { type EcsNodeCluster, startEcsNodeCluster } from '../support/ecs-node.ts';
import { waitFor } from '../support/wait.ts';

const bounded = { timeout: 180_000 };

interface PodJson {
  metadata: { name: string; uid: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      restartCount: number;
      ready: boolean;
      started?: boolean;
      state: { running?: unknown };
      lastState: { terminated?: { exitCode: number } };
    }[];
  };
}

/** What the pods' endpoints answer, and who asked what. */
interface Endpoints {
  readonly port: number;
  readonly prefix: string;
  /** Status per path, and per `address path` where one address answers otherwise. */
  readonly answers: Map<string, number>;
  readonly seen: { address: string; path: string }[];
  close(): Promise<void>;
}

/** HTTP servers on the first `count` addresses the fake ECS will hand out, all on one port. */
async function serveTaskAddresses(count: number): Promise<Endpoints> {
  for (let tries = 0; tries < 20; tries += 1) {
    // 127.0.0.0/8 is loopback on Linux: any address in it can be bound without set-up.
    const prefix = `127.${100 + Math.floor(Math.random() * 150)}.${1 + Math.floor(Math.random() * 250)}`;
    const answers = new Map<string, number>();
    const seen: { address: string; path: string }[] = [];
    const servers: http.Server[] = [];
    const close = () => Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined);
    let port = 0;
    try {
      for (let index = 0; index < count; index += 1) {
        const address = `${prefix}.${10 + index}`;
        const server = http.createServer((request, response) => {
          const path = request.url ?? '/';
          seen.push({ address, path });
          response.writeHead(answers.get(`${address} ${path}`) ?? answers.get(path) ?? 404, { 'content-type': 'text/plain' }).end(path);
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, address, () => resolve());
        });
        servers.push(server);
        port = (server.address() as AddressInfo).port;
      }
      return { port, prefix, answers, seen, close };
    } catch {
      await close();
    }
  }
  throw new Error('no free loopback /24 for the pod addresses');
}

describe('node agent with the ecs runtime: probes', () => {
  let node: EcsNodeCluster;
  let endpoints: Endpoints;

  before(async () => {
    endpoints = await serveTaskAddresses(4);
    node = await startEcsNodeCluster({
      nodeName: 'i-0e2e0fedcba987654',
      address: '127.0.1.206',
      ecs: { provisionMs: 40, pendingMs: 80, stopMs: 200, subnetPrefix: endpoints.prefix },
    });
  });

  after(async () => {
    await node?.stop();
    await endpoints?.close();
  });

  async function getPod(name: string): Promise<PodJson> {
    const pod = await node.get<PodJson>(`/api/v1/namespaces/default/pods/${name}`);
    if (!pod) throw new Error(`pod ${name} not found`);
    return pod;
  }

  function taskOf(uid: string): Task | undefined {
    return node.ecs.running().find((task) => task.tags?.some((tag) => tag.key === 'skiff.io/pod-uid' && tag.value === uid));
  }

  it('probes the task address: not ready while readiness fails, ready once it passes, restarted as a new task when liveness fails', bounded, async () => {
    endpoints.answers.set('/ready', 503);
    endpoints.answers.set('/live', 200);
    const probe = (path: string) => ({ httpGet: { path, port: endpoints.port }, periodSeconds: 1, failureThreshold: 1, timeoutSeconds: 1 });
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'probed' },
      spec: {
        nodeName: node.nodeName,
        containers: [
          {
            name: 'web',
            image: 'nginx',
            ports: [{ containerPort: endpoints.port }],
            readinessProbe: probe('/ready'),
            livenessProbe: probe('/live'),
          },
        ],
      },
    };
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(manifest) });

    // Running on its task's address, probed there, and not ready while /ready answers 503.
    const running = await waitFor('the pod running and probed', async () => {
      const pod = await getPod('probed');
      const status = pod.status?.containerStatuses?.[0];
      const address = pod.status?.podIP;
      if (!status?.state.running || !address) return undefined;
      return endpoints.seen.some((s) => s.address === address && s.path === '/ready') ? pod : undefined;
    });
    const firstAddress = running.status?.podIP ?? '';
    assert.equal(firstAddress, `${endpoints.prefix}.10`, 'the pod IP is the first task ENI address');
    const firstTask = taskOf(running.metadata.uid);
    assert.ok(firstTask?.taskArn);
    const stillUnready = await getPod('probed');
    assert.equal(stillUnready.status?.containerStatuses?.[0]?.ready, false);
    assert.equal(stillUnready.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
    assert.ok(
      endpoints.seen.some((s) => s.address === firstAddress && s.path === '/live'),
      'the liveness probe reached the task address too',
    );

    endpoints.answers.set('/ready', 200);
    await waitFor('the pod ready', async () => {
      const pod = await getPod('probed');
      return pod.status?.containerStatuses?.[0]?.ready === true && pod.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    });
    assert.equal(node.ecs.inputsOf(StopTaskCommand).length, 0, 'a passing liveness probe stops nothing');

    // Liveness fails on the first task's address: the agent stops that task and starts the pod
    // again as a new task, on a new address where it passes.
    endpoints.answers.set(`${firstAddress} /live`, 500);
    await waitFor('the failing task stopped', () => node.ecs.inputsOf(StopTaskCommand).some((input) => input.task === firstTask.taskArn));
    let last: PodJson | undefined;
    const restarted = await waitFor(
      'the pod restarted and ready on a new task',
      async () => {
        const pod = await getPod('probed');
        last = pod;
        const status = pod.status?.containerStatuses?.[0];
        return status?.restartCount === 1 && status.ready && pod.status?.podIP !== firstAddress ? pod : undefined;
      },
      { timeoutMs: 60_000 },
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}; the pod's status: ${JSON.stringify(last?.status)}; ECS calls: ${node.ecs.callNames({ withoutPolling: true }).join(' ')}`,
      );
    });
    const starts = node.ecs.inputsOf(StartTaskCommand).filter((input) => input.startedBy === running.metadata.uid);
    assert.deepEqual(
      starts.map((s) => s.tags?.find((t) => t.key === 'skiff.io/attempt')?.value),
      ['0', '1'],
      'one StartTask per run, the second for the restart',
    );
    assert.equal(node.ecs.inputsOf(StopTaskCommand).filter((input) => input.task === firstTask.taskArn).length, 1);
    const secondAddress = restarted.status?.podIP ?? '';
    assert.equal(secondAddress, `${endpoints.prefix}.11`);
    assert.ok(endpoints.seen.some((s) => s.address === secondAddress && s.path === '/ready'));

    const events = await node.get<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>(
      '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dprobed',
    );
    assert.ok(
      events?.items.some((e) => e.reason === 'Unhealthy' && /Liveness probe failed/.test(e.message)),
      'an Unhealthy event names the failed liveness probe',
    );
    assert.ok(
      events?.items.some((e) => e.reason === 'Unhealthy' && /Readiness probe failed/.test(e.message)),
      'an Unhealthy event names the failed readiness probe',
    );

    await node.cluster.kubectlOk(['delete', 'pod', 'probed', '--grace-period=1']);
    await waitFor('the pod gone', async () => (await node.get(`/api/v1/namespaces/default/pods/probed`)) === undefined);
    assert.equal(node.ecs.running().length, 0);
  });
});
