/**
 * Pods' own network with the real kubectl (docs/adr/136, 137): as root, two nodes, each pod in
 * its own network, PID and mount namespaces on its node's bridge. A pod reaches a pod of the
 * other node by its IP and a Service by its ClusterIP; the host reaches the ClusterIP too;
 * resolv.conf and hosts are the pod's; a pod sees only its own processes and cannot take
 * another pod's address; the NodePort path still answers; nothing is left on the machine after
 * the cluster stops. Without root (or the tools) the file is skipped with the reason printed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { bridgeMac, choosePodNetworkMode, podNetworkNames } from '../../node-agent/runtime/pod-network.ts';
import { get } from '../integration/services/proxy-support.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

const possible = choosePodNetworkMode('auto', '10.128.0.0/24');
if (possible.mode !== 'namespaces') console.log(`# pod-network e2e skipped: ${possible.reason}`);

describe('pods in their own network namespaces', { timeout: 300_000, skip: possible.mode !== 'namespaces' ? possible.reason : false }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ nodes: 2, resyncSeconds: 5 });
  });
  after(async () => {
    const dataDir = cluster?.dataDir;
    await cluster?.stop();
    if (!dataDir) return;
    // Everything the nodes made on the machine goes with the cluster.
    for (const node of ['skiff-node-1', 'skiff-node-2']) {
      const names = podNetworkNames(`${dataDir}/nodes/${node}`);
      assert.equal(existsSync(`/sys/class/net/${names.bridge}`), false, `bridge ${names.bridge} left behind`);
      const left = existsSync('/run/netns') ? readdirSync('/run/netns').filter((name) => name.startsWith(names.netnsPrefix)) : [];
      assert.deepEqual(left, [], 'network namespaces left behind');
    }
  });

  const jsonpath = async (args: string[], path: string) => (await cluster.kubectl([...args, '-o', `jsonpath=${path}`])).stdout.trim();
  const podOn = (name: string, node: string, image: string, command?: string) =>
    cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: name } },
        spec: {
          nodeName: node,
          containers: [{ name: 'main', image, ...(command ? { command: ['/bin/sh', '-c', command] } : {}), ports: [{ containerPort: 80 }] }],
        },
      }),
    });
  const ready = (name: string) =>
    waitFor(
      `${name} running with an IP`,
      async () => {
        const ip = await jsonpath(['get', 'pod', name], '{.status.podIP}');
        const phase = await jsonpath(['get', 'pod', name], '{.status.phase}');
        return phase === 'Running' && ip ? ip : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  const logsMatch = (name: string, pattern: RegExp) =>
    waitFor(
      `${name}'s log to match ${pattern}`,
      async () => {
        const result = await cluster.kubectl(['logs', name]);
        return pattern.test(result.stdout) ? result.stdout : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );

  it('says the mode in kubectl describe node', async () => {
    const described = await waitFor('the node to say its network mode', async () => {
      const out = await cluster.kubectlOk(['describe', 'node', 'skiff-node-1']);
      return /PodNetworkNamespaces/.test(out) ? out : undefined;
    });
    assert.match(described, /skiff\.io\/pod-network: namespaces/);
    assert.match(described, /NetworkUnavailable\s+False/);
    const cidr = await jsonpath(['get', 'node', 'skiff-node-2'], '{.spec.podCIDR}');
    assert.match(cidr, /^10\.(1[3-9]\d|2[0-5]\d|12[89])\.2\.0\/24$/);
    // The bridge's MAC is set (addr_assign_type 3), not taken from whichever veth is lowest:
    // else it changes as pods come and go and the pods' replies to the host are lost (ADR 137).
    const { bridge } = podNetworkNames(`${cluster.dataDir}/nodes/skiff-node-1`);
    assert.equal(readFileSync(`/sys/class/net/${bridge}/addr_assign_type`, 'utf8').trim(), '3');
    assert.equal(readFileSync(`/sys/class/net/${bridge}/address`, 'utf8').trim(), bridgeMac(bridge));
  });

  let backendIP = '';
  it('a pod reaches a pod of the other node by its IP', async () => {
    await podOn('backend', 'skiff-node-2', 'nginx');
    backendIP = await ready('backend');
    const cidr = await jsonpath(['get', 'node', 'skiff-node-2'], '{.spec.podCIDR}');
    assert.ok(backendIP.startsWith(cidr.slice(0, cidr.lastIndexOf('.'))), `${backendIP} in ${cidr}`);
    await podOn('caller', 'skiff-node-1', 'busybox', `while true; do curl -s -m 2 http://${backendIP}/; sleep 1; done`);
    await logsMatch('caller', /Served by pod backend/);
  });

  it("gives the pod its own resolv.conf, hosts, hostname and processes, and no other pod's address", async () => {
    const script = [
      'cat /etc/resolv.conf /etc/hosts',
      'echo "hostname=$(hostname)"',
      'echo "pids=$(ls /proc | grep -c "^[0-9]")"',
      `${process.execPath} -e "require('net').createServer().listen(8099,'${backendIP}').on('error',e=>console.log('bind other:',e.code))"`,
      'sleep 3600',
    ].join('; ');
    await podOn('looker', 'skiff-node-1', 'busybox', script);
    const log = await logsMatch('looker', /bind other:/);
    assert.match(log, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
    assert.match(log, /options ndots:5/);
    const ip = await jsonpath(['get', 'pod', 'looker'], '{.status.podIP}');
    assert.match(log, new RegExp(`${ip.replaceAll('.', '\\.')}\\s+looker`));
    assert.match(log, /hostname=looker/);
    // The sandbox, the container's shell and what it runs: a handful, not the machine's.
    const pids = Number(/pids=(\d+)/.exec(log)?.[1]);
    assert.ok(pids > 0 && pids < 10, `pids seen: ${pids}`);
    assert.match(log, /bind other: EADDRNOTAVAIL/);
  });

  it("runs the container and kubectl exec in the container's workingDir, inside the pod's files", async () => {
    // Relative to the working directory, /etc's resolv.conf must be the pod's (a mount of its
    // own namespace), as it is by its full path.
    const show = 'echo "in $(pwd -P)"; ls; grep search resolv.conf';
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'workdir' },
        spec: {
          nodeName: 'skiff-node-1',
          containers: [{ name: 'main', image: 'busybox', workingDir: '/etc', command: ['/bin/sh', '-c', `${show}; sleep 3600`] }],
        },
      }),
    });
    const started = await logsMatch('workdir', /search /);
    const execed = await cluster.kubectlOk(['exec', 'workdir', '--', '/bin/sh', '-c', show]);
    for (const out of [started, execed]) {
      assert.match(out, /^in \/etc$/m);
      assert.match(out, /^resolv\.conf$/m);
      assert.match(out, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
    }
  });

  it('routes a ClusterIP to its endpoints from a pod and from the host; the NodePort still answers', async () => {
    await cluster.kubectlOk(['expose', 'pod', 'backend', '--port=8080', '--target-port=80', '--type=NodePort']);
    const clusterIP = await jsonpath(['get', 'service', 'backend'], '{.spec.clusterIP}');
    const nodePort = Number(await jsonpath(['get', 'service', 'backend'], '{.spec.ports[0].nodePort}'));
    await podOn('viaservice', 'skiff-node-1', 'busybox', `while true; do curl -s -m 2 http://${clusterIP}:8080/; sleep 1; done`);
    await logsMatch('viaservice', /Served by pod backend/);
    const fromHost = await waitFor('the ClusterIP from the host', async () => {
      const answer = await get(clusterIP, 8080);
      return answer.startsWith('E') ? undefined : answer;
    });
    assert.match(fromHost, /Served by pod backend/);
    const viaNodePort = await waitFor('the NodePort', async () => {
      const answer = await get('127.0.0.1', nodePort);
      return answer.startsWith('E') ? undefined : answer;
    });
    assert.match(viaNodePort, /Served by pod backend/);
  });
  it('resolves Services by name through the cluster DNS: short, full and headless names, pod names; kube-dns exists', async () => {
    const dnsIP = await jsonpath(['get', 'service', 'kube-dns', '-n', 'kube-system'], '{.spec.clusterIP}');
    assert.equal(dnsIP, '10.96.0.10');
    await cluster.kubectlOk(['create', 'service', 'clusterip', 'backend-headless', '--clusterip=None', '--tcp=80:80']);
    await cluster.kubectlOk(['set', 'selector', 'service', 'backend-headless', 'app=backend']);
    const dashed = backendIP.replaceAll('.', '-');
    const script = [
      'while true',
      'do curl -s -m 2 http://backend:8080/ | sed "s/^/short: /"',
      'curl -s -m 2 http://backend.default.svc.cluster.local:8080/ | sed "s/^/full: /"',
      'getent hosts backend-headless | sed "s/^/headless: /"',
      `getent hosts ${dashed}.default.pod.cluster.local | sed "s/^/pod: /"`,
      'sleep 1',
      'done',
    ].join('; ');
    await podOn('frontend', 'skiff-node-1', 'busybox', script);
    const ip = backendIP.replaceAll('.', '\\.');
    const log = await logsMatch(
      'frontend',
      new RegExp(`(?=[\\s\\S]*short: .*Served by pod backend)(?=[\\s\\S]*full: .*Served by pod backend)(?=[\\s\\S]*headless: ${ip})(?=[\\s\\S]*pod: ${ip})`),
    );
    assert.match(log, /short: .*Served by pod backend/);
  });
  let clusterIP = '';

  it('spreads ClusterIP traffic over 3 pods on 2 nodes', async () => {
    await cluster.kubectlOk(['create', 'deployment', 'spread', '--image=nginx', '--replicas=3', '--port=80']);
    await cluster.kubectlOk(['expose', 'deployment', 'spread', '--port=80', '--type=NodePort']);
    clusterIP = await jsonpath(['get', 'service', 'spread'], '{.spec.clusterIP}');
    await waitFor(
      '3 ready endpoints on 2 nodes',
      async () => {
        const nodes = (
          await jsonpath(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=spread'], '{.items[*].endpoints[?(@.conditions.ready==true)].nodeName}')
        )
          .split(' ')
          .filter(Boolean);
        return (nodes.length === 3 && new Set(nodes).size === 2) || undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const seen = await waitFor(
      'answers from all 3 pods through the ClusterIP',
      async () => {
        const pods = new Set<string>();
        for (let i = 0; i < 30; i++) pods.add(/Served by pod (\S+)/.exec(await get(clusterIP, 80))?.[1] ?? 'none');
        pods.delete('none');
        return pods.size === 3 ? pods : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.equal(seen.size, 3);
  });

  // Issue 15: a request was once lost here about one run in six (ETIMEDOUT) while old pods left:
  // the bridge's MAC changed as veths came and went (ADR 137). Issue 13: every node's proxies
  // (ClusterIP rules and NodePort proxy) let an old pod go before it stops (ADR 170), so a steady
  // loop through each path loses no request.
  it('follows a rolling update through the ClusterIP and the NodePort with no failed request', async () => {
    const nodePort = Number(await jsonpath(['get', 'service', 'spread'], '{.spec.ports[0].nodePort}'));
    // The second node's own address: its NodePort proxy, whichever agent holds 127.0.0.1's port.
    const node2 = await jsonpath(['get', 'node', 'skiff-node-2'], '{.status.addresses[?(@.type=="InternalIP")].address}');
    const paths = { clusterIP: () => get(clusterIP, 80), nodePort: () => get(node2, nodePort) };
    const failures: string[] = [];
    const answered = { clusterIP: 0, nodePort: 0 };
    let running = true;
    const pollers = (Object.keys(paths) as (keyof typeof paths)[]).map(async (path) => {
      while (running) {
        const answer = await paths[path]();
        if (answer.startsWith('E') || !answer.includes('Served by pod')) failures.push(`${path}: ${answer.slice(0, 80)}`);
        else answered[path]++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    try {
      const started = Date.now();
      await cluster.kubectlOk(['set', 'image', 'deployments/spread', 'nginx=httpd']);
      await cluster.kubectlOk(['rollout', 'status', 'deployment/spread', '--timeout=120s'], { timeoutMs: 130_000 });
      console.log(`# rollout of spread took ${Date.now() - started} ms`);
      await waitFor(
        'only httpd answers on both paths',
        async () => {
          const answers = await Promise.all([1, 2, 3, 4, 5, 6].flatMap(() => [paths.clusterIP(), paths.nodePort()]));
          return answers.every((answer) => answer.includes('It works!')) || undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    } finally {
      running = false;
      await Promise.all(pollers);
    }
    assert.ok(answered.clusterIP > 10 && answered.nodePort > 10, `answered ${JSON.stringify(answered)}`);
    assert.deepEqual(failures, [], `failed requests during the rollout (answered ${JSON.stringify(answered)})`);
  });

  it('keeps one client on one pod with ClientIP affinity', async () => {
    await cluster.kubectlOk(['patch', 'service', 'spread', '-p', '{"spec":{"sessionAffinity":"ClientIP"}}']);
    const sticky = await waitFor(
      'one pod for one client',
      async () => {
        const pods = new Set<string>();
        for (let i = 0; i < 12; i++) pods.add(/Served by pod (\S+)/.exec(await get(clusterIP, 80))?.[1] ?? 'none');
        return pods.size === 1 && !pods.has('none') ? pods : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.equal(sticky.size, 1);
  });
});
