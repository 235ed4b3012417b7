/**
 * The seed walkthrough's Services with the real kubectl against a local cluster with two agents:
 * expose a Deployment as a NodePort and curl 127.0.0.1:<nodePort>, a taken NodePort is a 422,
 * a LoadBalancer Service gets an address that serves, cordon/drain go through the API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { get } from '../integration/services/proxy-support.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

describe('services end to end with kubectl', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ nodes: 2, resyncSeconds: 5 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const jsonpath = async (args: string[], path: string) => (await cluster.kubectl([...args, '-o', `jsonpath=${path}`])).stdout.trim();

  let nodePort = 0;

  it('exposes a Deployment as a NodePort that answers on 127.0.0.1:<nodePort>', async () => {
    await cluster.kubectlOk(['create', 'deployment', 'test1', '--image=nginx']);
    await cluster.kubectlOk(['expose', 'deployment', 'test1', '--type=NodePort', '--port=80']);
    nodePort = Number(await jsonpath(['get', 'service', 'test1'], '{.spec.ports[0].nodePort}'));
    assert.ok(nodePort >= 30000 && nodePort <= 32767, `nodePort ${nodePort}`);
    const clusterIP = await jsonpath(['get', 'service', 'test1'], '{.spec.clusterIP}');
    assert.match(clusterIP, /^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/);
    await waitFor('an endpoint for test1', async () => (await jsonpath(['get', 'endpoints', 'test1'], '{.subsets[0].addresses[0].ip}')) || undefined, {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    // The EndpointSlice is written beside the Endpoints, a moment apart: asked until it says ready.
    await waitFor(
      'a ready endpoint in the EndpointSlice of test1',
      async () =>
        (await jsonpath(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=test1'], '{.items[0].endpoints[0].conditions.ready}')) === 'true' ||
        undefined,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const body = await waitFor(
      'curl 127.0.0.1:<nodePort>',
      async () => {
        const answer = await get('127.0.0.1', nodePort);
        return answer.startsWith('E') ? undefined : answer;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.match(body, /Served by pod test1-/);
  });

  it('spreads curl over the pods when the Deployment is scaled to 3', async () => {
    await cluster.kubectlOk(['scale', 'deployment', 'test1', '--replicas=3']);
    await waitFor(
      '3 ready endpoints',
      async () => (await jsonpath(['get', 'endpoints', 'test1'], '{.subsets[*].addresses[*].ip}')).split(' ').filter(Boolean).length === 3 || undefined,
      {
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    // Endpoints are the controller's; each node's proxy follows them over its watch a moment later,
    // as kube-proxy does: ask until a second pod answers.
    const pods = new Set<string>();
    await waitFor(
      'answers from more than one pod through the NodePort',
      async () => {
        const pod = /Served by pod (\S+)/.exec(await get('127.0.0.1', nodePort))?.[1];
        if (pod) pods.add(pod);
        return pods.size >= 2 || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.ok(pods.size >= 2, `answers from ${[...pods]}`);
  });

  it('keeps answering through `kubectl set image` and `rollout undo`', async () => {
    const failures: string[] = [];
    let answered = 0;
    let running = true;
    const poller = (async () => {
      while (running) {
        const answer = await get('127.0.0.1', nodePort);
        if (answer.startsWith('E') || !answer.includes('Served by pod')) failures.push(answer.slice(0, 80));
        else answered++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await cluster.kubectlOk(['set', 'image', 'deployments/test1', 'nginx=httpd']);
      await cluster.kubectlOk(['rollout', 'status', 'deployment/test1', '--timeout=120s'], { timeoutMs: 130_000 });
      await waitFor('httpd answers', async () => (await get('127.0.0.1', nodePort)).includes('It works!') || undefined, { timeoutMs: 30_000, intervalMs: 250 });
      await cluster.kubectlOk(['rollout', 'undo', 'deployment/test1']);
      await cluster.kubectlOk(['rollout', 'status', 'deployment/test1', '--timeout=120s'], { timeoutMs: 130_000 });
      await waitFor(
        'nginx answers again',
        async () => {
          const answers = await Promise.all([1, 2, 3].map(() => get('127.0.0.1', nodePort)));
          return answers.every((a) => a.includes('Welcome to nginx!')) || undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    } finally {
      running = false;
      await poller;
    }
    assert.ok(answered > 10, `answered ${answered}`);
    assert.deepEqual(failures, [], `failed requests during the rollouts (of ${answered + failures.length})`);
  });

  it('serves the NodePort on every node address from the agents', async () => {
    const addresses = (await jsonpath(['get', 'nodes'], '{.items[*].status.addresses[?(@.type=="InternalIP")].address}')).split(' ').filter(Boolean);
    assert.ok(addresses.length > 0);
    for (const address of addresses) {
      const body = await waitFor(
        `curl ${address}:${nodePort}`,
        async () => {
          const answer = await get(address, nodePort);
          return answer.startsWith('E') ? undefined : answer;
        },
        { timeoutMs: 15_000, intervalMs: 250 },
      );
      assert.match(body, /Served by pod/);
    }
  });

  it('refuses a NodePort that is taken with 422', async () => {
    assert.ok(nodePort > 0, 'needs the first test');
    const result = await cluster.kubectl(['create', 'service', 'nodeport', 'clash', '--tcp=80:80', `--node-port=${nodePort}`]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`spec.ports\\[0\\].nodePort: Invalid value: ${nodePort}: provided port is already allocated`));
    const outOfRange = await cluster.kubectl(['create', 'service', 'nodeport', 'low', '--tcp=80:80', '--node-port=8080']);
    assert.match(outOfRange.stderr, /provided port is not in the valid range. The range of valid ports is 30000-32767/);
  });

  it('applies seed-style YAML (a Deployment with a container port and a NodePort Service) that serves', async () => {
    const fixedPort = nodePort === 30942 ? 30943 : 30942;
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: seed-web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: seed-web
  template:
    metadata:
      labels:
        app: seed-web
    spec:
      containers:
      - name: web
        image: httpd
        ports:
        - containerPort: 80
          name: http
---
apiVersion: v1
kind: Service
metadata:
  name: seed-web
spec:
  type: NodePort
  selector:
    app: seed-web
  ports:
  - port: 80
    targetPort: http
    nodePort: ${fixedPort}
`;
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    const body = await waitFor(
      `curl 127.0.0.1:${fixedPort}`,
      async () => {
        const answer = await get('127.0.0.1', fixedPort);
        return answer.includes('It works!') ? answer : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.match(body, /Served by pod seed-web-/);
    const again = await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    assert.match(again, /service\/seed-web unchanged/);
    assert.equal(Number(await jsonpath(['get', 'service', 'seed-web'], '{.spec.ports[0].nodePort}')), fixedPort);
    await cluster.kubectlOk(['delete', '-f', '-'], { input: manifest });
    await waitFor('the NodePort closed', async () => (await get('127.0.0.1', fixedPort)) === 'ECONNREFUSED' || undefined, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
  });

  it('gives a LoadBalancer Service an EXTERNAL-IP on the loopback range that serves its port', async () => {
    await cluster.kubectlOk(['expose', 'deployment', 'test1', '--type=LoadBalancer', '--name=test1-lb', '--port=18081', '--target-port=80']);
    const ip = await waitFor(
      'an ingress address',
      async () => (await jsonpath(['get', 'service', 'test1-lb'], '{.status.loadBalancer.ingress[0].ip}')) || undefined,
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    assert.match(ip, /^127\./);
    const body = await waitFor(
      'the load balancer answers',
      async () => {
        const answer = await get(ip, 18081);
        return answer.startsWith('E') ? undefined : answer;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.ok(body.length > 0);
    await cluster.kubectlOk(['delete', 'service', 'test1-lb', '--timeout=60s']);
    await waitFor('the load balancer is gone', async () => (await get(ip, 18081)) === 'ECONNREFUSED', { timeoutMs: 30_000 });
  });

  it('cordons and uncordons a node', async () => {
    const node = cluster.local.nodeNames[0] as string;
    await cluster.kubectlOk(['cordon', node]);
    await waitFor(
      'the unschedulable taint',
      async () => (await jsonpath(['get', 'node', node], '{.spec.taints[*].key}')).includes('node.kubernetes.io/unschedulable') || undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    assert.match(await cluster.kubectlOk(['get', 'node', node]), /SchedulingDisabled/);
    await cluster.kubectlOk(['uncordon', node]);
    await waitFor('the taint removed', async () => !(await jsonpath(['get', 'node', node], '{.spec.taints[*].key}')).includes('unschedulable') || undefined, {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
  });
});
