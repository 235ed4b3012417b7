/**
 * The seed walkthrough's node side, end to end: `npm start`'s host with two node agents as
 * child processes, driven by the real kubectl. Nodes register Ready, a Deployment's pod runs
 * with an IP and a node, serves the nginx stand-in page, logs and events show, and a killed
 * container process is restarted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killRecordedContainers } from '../../node-agent/runtime/process-runtime.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

/** A hung step fails its test and still lets `after` clean up, instead of hanging the run. */
const bounded = { timeout: 120_000 };

/** Port 80 needs root or a lowered ip_unprivileged_port_start (ADR 080). */
function canBindPort80(): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = net.createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(80, '127.64.254.254', () => server.close(() => resolvePromise(true)));
  });
}

interface PodJson {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { restartCount: number; state: { running?: unknown }; lastState: { terminated?: { exitCode: number } } }[];
  };
}

describe('node agents under the local host, with kubectl', () => {
  let cluster: TestCluster;
  let port = 80;

  before(async () => {
    if (!(await canBindPort80())) port = 8080;
    cluster = await startTestCluster({ nodes: 2 });
  });

  after(async () => {
    await cluster?.stop();
    for (const name of cluster?.local.nodeNames ?? []) killRecordedContainers(join(cluster.dataDir, 'nodes', name));
  });

  async function podsOf(app: string): Promise<PodJson[]> {
    const list = JSON.parse(await cluster.kubectlOk(['get', 'pods', '-l', `app=${app}`, '-o', 'json'])) as { items: PodJson[] };
    return list.items;
  }

  it('registers every node Ready with the Skiff kubelet version', bounded, async () => {
    const output = await waitFor('two Ready nodes', async () => {
      const text = await cluster.kubectlOk(['get', 'nodes']);
      return (text.match(/ Ready /g) ?? []).length === 2 ? text : undefined;
    });
    assert.match(output, /skiff-node-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0-skiff/);
    assert.match(output, /skiff-node-2\s+Ready/);
    const wide = await cluster.kubectlOk(['get', 'nodes', '-o', 'wide']);
    assert.match(wide, /skiff-node-1\s+Ready.*127\.0\.1\.1/);
    assert.match(wide, /skiff-process:\/\/1/);
    const node = await waitFor('node events', async () => {
      const text = await cluster.kubectlOk(['describe', 'node', 'skiff-node-1']);
      return text.includes('Starting kubelet.') ? text : undefined;
    });
    assert.match(node, /PodCIDR:\s+(127|10)\.\d+\.1\.0\/24/);
    assert.match(node, /Ready\s+True\s.*KubeletReady/);
    const lease = JSON.parse(await cluster.kubectlOk(['get', 'lease', '-n', 'kube-node-lease', 'skiff-node-1', '-o', 'json'])) as {
      spec: { holderIdentity: string };
    };
    assert.equal(lease.spec.holderIdentity, 'skiff-node-1');
  });

  it('runs a Deployment pod with an IP on its node, serving the nginx stand-in', bounded, async () => {
    await cluster.kubectlOk(['create', 'deployment', 'test1', '--image=nginx', ...(port === 80 ? [] : [`--port=${port}`])]);
    const wide = await waitFor('pod Running', async () => {
      const text = await cluster.kubectlOk(['get', 'pod', '-o', 'wide']);
      return /test1-\S+\s+1\/1\s+Running/.test(text) ? text : undefined;
    });
    assert.match(wide, /Running\s+0\s+\S+\s+(127|10)\.\d+\.\d+\.\d+\s+skiff-node-[12]/);
    const [pod] = await podsOf('test1');
    assert.ok(pod?.status?.podIP);
    const page = await (await fetch(`http://${pod.status.podIP}:${port}/`, { signal: AbortSignal.timeout(5000) })).text();
    assert.match(page, /Welcome to nginx!/);
    assert.ok(page.includes(pod.metadata.name), 'the page names the pod');
  });

  it('shows the container log and the kubelet events', bounded, async () => {
    const logs = await cluster.kubectlOk(['logs', 'deployment/test1']);
    assert.match(logs, /nginx stand-in for pod test1-\S+ listening on (127|10)\.\d+\.\d+\.\d+:\d+/);
    const [pod] = await podsOf('test1');
    const described = await cluster.kubectlOk(['describe', 'pod', pod?.metadata.name ?? '']);
    for (const reason of ['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']) assert.match(described, new RegExp(`Normal\\s+${reason}\\s`), reason);
    assert.match(described, /Status:\s+Running/);
    assert.match(described, /Container ID:\s+skiff-process:\/\//);
  });

  it('restarts a container whose process was killed, and keeps its previous log', bounded, async () => {
    const [pod] = await podsOf('test1');
    assert.ok(pod?.spec.nodeName);
    const state = JSON.parse(readFileSync(join(cluster.dataDir, 'nodes', pod.spec.nodeName, 'containers.json'), 'utf8')) as {
      containers: { pid: number; pod: { uid: string }; exit?: unknown }[];
    };
    const record = state.containers.find((r) => r.pod.uid === pod.metadata.uid && !r.exit);
    assert.ok(record);
    const children = readFileSync(`/proc/${record.pid}/task/${record.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    for (const child of children) process.kill(child, 'SIGKILL');
    const restarted = await waitFor(
      'restartCount 1',
      async () => {
        const [current] = await podsOf('test1');
        const status = current?.status?.containerStatuses?.[0];
        return status?.restartCount === 1 && status.state.running ? status : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(restarted.lastState.terminated?.exitCode, 137);
    const listing = await cluster.kubectlOk(['get', 'pods', '-l', 'app=test1']);
    assert.match(listing, /1\/1\s+Running\s+1 \(/);
    const previous = await cluster.kubectlOk(['logs', pod.metadata.name, '--previous']);
    assert.match(previous, /listening on/);
  });

  it('stops the pods of a deleted Deployment and lets the API forget them', bounded, async () => {
    const [pod] = await podsOf('test1');
    await cluster.kubectlOk(['delete', 'deployment', 'test1']);
    await waitFor('pods gone', async () => (await podsOf('test1')).length === 0, { timeoutMs: 60_000 });
    const refused = await fetch(`http://${pod?.status?.podIP}:${port}/`, { signal: AbortSignal.timeout(5000) }).then(
      () => false,
      () => true,
    );
    assert.ok(refused, 'the pod address no longer answers');
  });
});
