/**
 * What Kubernetes' own kubectl tests check that a cluster has and refuses, driven with the real
 * kubectl against a local cluster without nodes (issue: compatibility). The test that deletes
 * every namespace runs last.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

/** Debian's python3 with its python3-kubernetes package (.ci/run installs it). */
const DEBIAN_PYTHON = '/usr/bin/python3';
/** Why the Python client's test cannot run here, if it cannot: said in the run's output, counted as skipped. */
const pythonClientMissing = (() => {
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', 'import kubernetes'], { stdio: 'ignore' });
    return false;
  } catch {
    return `${DEBIAN_PYTHON} cannot import kubernetes: apt-get install python3-kubernetes (.ci/run does)`;
  }
})();

describe('compatibility with what kubectl expects of a cluster', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const namespacePhases = async () =>
    Object.fromEntries(
      (await cluster.kubectlOk(['get', 'namespaces', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}']))
        .trim()
        .split(' ')
        .map((pair) => pair.split('=')),
    ) as Record<string, string>;

  it('has the kubernetes Service in default: the first service address, 443/TCP https, endpoints at the API server', async () => {
    const port = new URL(cluster.local.server).port;
    const service = await waitFor('the kubernetes Service and its endpoints', async () => {
      const result = await cluster.kubectl(['get', 'service', 'kubernetes', '-o', 'json']);
      const endpoints = await cluster.kubectl(['get', 'endpoints', 'kubernetes', '-o', 'jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}']);
      return result.code === 0 && endpoints.code === 0 && endpoints.stdout === `127.0.0.1:${port}` ? JSON.parse(result.stdout) : undefined;
    });
    assert.equal(service.spec.clusterIP, '10.96.0.1');
    assert.deepEqual(service.spec.ports, [{ name: 'https', port: 443, protocol: 'TCP', targetPort: Number(port) }]);
    assert.equal((await cluster.kubectlOk(['get', 'services', '-o', 'jsonpath={range .items[*]}{.metadata.name}:{end}'])).trim(), 'kubernetes:');
    // What Kubernetes' own service tests read from describe.
    const described = await cluster.kubectlOk(['describe', 'service', 'kubernetes']);
    for (const line of [
      /^Name:\s+kubernetes$/m,
      /^Labels:\s+component=apiserver$/m,
      /^\s+provider=kubernetes$/m,
      /^Selector:\s+<none>$/m,
      /^IP:\s+10\.96\.0\.1$/m,
    ]) {
      assert.match(described, line);
    }
    assert.match(described, /^Port:\s+https\s+443\/TCP$/m);
    assert.match(described, new RegExp(`^Endpoints:\\s+127\\.0\\.0\\.1:${port}$`, 'm'));
    assert.match(described, /^Session Affinity:\s+None$/m);
    const slice = JSON.parse(await cluster.kubectlOk(['get', 'endpointslice', 'kubernetes', '-o', 'json']));
    assert.deepEqual([slice.addressType, slice.endpoints[0].addresses, slice.ports[0].port], ['IPv4', ['127.0.0.1'], Number(port)]);
  });

  it('changes nothing on kubectl scale --dry-run=server and kubectl drain --dry-run=server', async () => {
    await cluster.kubectlOk(['create', 'deployment', 'dry', '--image=nginx', '--replicas=1']);
    const scaled = await cluster.kubectlOk(['scale', 'deployment/dry', '--replicas=5', '--dry-run=server']);
    assert.equal(scaled.trim(), 'deployment.apps/dry scaled (server dry run)');
    assert.equal(await cluster.kubectlOk(['get', 'deployment', 'dry', '-o', 'jsonpath={.spec.replicas}']), '1');

    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'dry-node' } };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'dry-pod', namespace: 'default' },
      spec: { nodeName: 'dry-node', containers: [{ name: 'web', image: 'nginx' }] },
    };
    for (const object of [node, pod]) await cluster.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(object) });
    const drained = await cluster.kubectlOk(['drain', 'dry-node', '--force', '--dry-run=server', '--timeout=60s']);
    assert.match(drained, /node\/dry-node cordoned \(server dry run\)/);
    assert.match(drained, /evicting pod default\/dry-pod \(server dry run\)/);
    assert.match(drained, /node\/dry-node drained \(server dry run\)/);
    assert.equal(await cluster.kubectlOk(['get', 'node', 'dry-node', '-o', 'jsonpath={.spec.unschedulable}']), '');
    assert.equal(await cluster.kubectlOk(['get', 'pod', 'dry-pod', '-o', 'jsonpath={.metadata.deletionTimestamp}']), '');
    await cluster.kubectlOk(['delete', 'pod', 'dry-pod', '--grace-period=0', '--force']);
    await cluster.kubectlOk(['delete', 'node', 'dry-node']);
  });

  it('replaces a Node sent with resourceVersion "0", and deletes a ConfigMap at once with --grace-period=10', async () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'replaced-node', resourceVersion: '0' } };
    await cluster.kubectlOk(['create', '-f', '-'], { input: JSON.stringify({ ...node, metadata: { name: 'replaced-node' } }) });
    await cluster.kubectlOk(['label', 'node', 'replaced-node', 'moved=on']);
    const replaced = await cluster.kubectl(['replace', '-f', '-'], { input: JSON.stringify({ ...node, spec: { unschedulable: true } }) });
    assert.deepEqual([replaced.code, replaced.stdout.trim(), replaced.stderr], [0, 'node/replaced-node replaced', '']);
    assert.equal(await cluster.kubectlOk(['get', 'node', 'replaced-node', '-o', 'jsonpath={.spec.unschedulable}']), 'true');
    await cluster.kubectlOk(['delete', 'node', 'replaced-node']);

    await cluster.kubectlOk(['create', 'configmap', 'graceful', '--from-literal=a=b']);
    const deleted = await cluster.kubectl(['delete', 'configmap', 'graceful', '--grace-period=10', '--timeout=20s']);
    assert.deepEqual([deleted.code, deleted.stdout.trim()], [0, 'configmap "graceful" deleted']);
    assert.equal((await cluster.kubectl(['get', 'configmap', 'graceful'])).code, 1);
  });

  it('takes kubectl replace --save-config of a pod that leaves out its default tolerations', async () => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'replaced-pod', namespace: 'default' },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    };
    await cluster.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(manifest) });
    // kubectl replace of an object without a resourceVersion reads the server's and sends it: a
    // write in between (here the scheduler's, marking the pod unschedulable on this node-less
    // cluster) is a Conflict, as it would be against kube-apiserver. The replace comes once the
    // pod is settled.
    await cluster.kubectlOk(['wait', '--for=condition=PodScheduled=false', 'pod/replaced-pod', '--timeout=60s'], { timeoutMs: 70_000 });
    const pod = JSON.parse(await cluster.kubectlOk(['get', 'pod', 'replaced-pod', '-o', 'json']));
    // As a pod.yaml has it: no tolerations, no resourceVersion.
    delete pod.spec.tolerations;
    delete pod.metadata.resourceVersion;
    pod.metadata.labels = { replaced: 'yes' };
    const replaced = await cluster.kubectl(['replace', '-f', '-', '--save-config'], { input: JSON.stringify(pod) });
    assert.deepEqual([replaced.code, replaced.stdout.trim(), replaced.stderr], [0, 'pod/replaced-pod replaced', '']);
    const tolerations = await cluster.kubectlOk(['get', 'pod', 'replaced-pod', '-o', 'jsonpath={.spec.tolerations[*].key}']);
    assert.equal(tolerations, 'node.kubernetes.io/not-ready node.kubernetes.io/unreachable');
    await cluster.kubectlOk(['delete', 'pod', 'replaced-pod', '--grace-period=0', '--force']);
  });

  it('applies a Deployment that switches to Recreate and a volume that switches type (kubectl apply sends $retainKeys)', async () => {
    const deployment = (strategy: object, volume: object) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'retained', namespace: 'default' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'retained' } },
        strategy,
        template: {
          metadata: { labels: { app: 'retained' } },
          spec: { containers: [{ name: 'web', image: 'nginx' }], volumes: [{ name: 'data', ...volume }] },
        },
      },
    });
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify(deployment({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } }, { emptyDir: {} })),
    });
    const applied = await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(deployment({ type: 'Recreate' }, { configMap: { name: 'settings' } })),
    });
    assert.deepEqual([applied.code, applied.stdout.trim(), applied.stderr], [0, 'deployment.apps/retained configured', '']);
    const stored = JSON.parse(await cluster.kubectlOk(['get', 'deployment', 'retained', '-o', 'json']));
    assert.deepEqual(stored.spec.strategy, { type: 'Recreate' });
    assert.deepEqual(stored.spec.template.spec.volumes, [{ name: 'data', configMap: { name: 'settings', defaultMode: 420 } }]);
    await cluster.kubectlOk(['delete', 'deployment', 'retained']);
  });

  it('lets kubectl apply --server-side take over from kubectl apply without a conflict', async () => {
    const manifest = (app: string, value: string) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'taken-over', namespace: 'default', labels: { app } }, data: { a: value } });
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest('web', '1') });
    const applied = await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: manifest('api', '2') });
    assert.deepEqual([applied.code, applied.stdout.trim(), applied.stderr], [0, 'configmap/taken-over serverside-applied', '']);
    const stored = JSON.parse(await cluster.kubectlOk(['get', 'configmap', 'taken-over', '-o', 'json', '--show-managed-fields']));
    assert.deepEqual([stored.metadata.labels, stored.data], [{ app: 'api' }, { a: '2' }]);
    // kubectl then moves client-side apply's fields to its own managers, as against kube-apiserver.
    const managers = stored.metadata.managedFields.map((entry: { manager: string; operation: string }) => `${entry.manager}/${entry.operation}`);
    assert.deepEqual(managers, ['kubectl/Apply', 'kubectl-last-applied/Apply']);
    await cluster.kubectlOk(['delete', 'configmap', 'taken-over']);
  });

  it('serves kubectl 1.27 to 1.33 alike: apply of a Deployment and a Service, explain, get and describe (1.27 and 1.28 read /openapi/v2)', async () => {
    const directory = dirname(realpathSync(execFileSync('which', ['kubectl'], { encoding: 'utf8' }).trim()));
    const manifests = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'versions', namespace: 'default' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'versions' } },
          template: { metadata: { labels: { app: 'versions' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'versions', namespace: 'default' },
        spec: { selector: { app: 'versions' }, ports: [{ port: 80 }] },
      },
    ];
    const input = manifests.map((manifest) => JSON.stringify(manifest)).join('\n');
    for (const minor of [27, 28, 29, 30, 31, 32, 33]) {
      const run = (args: string[], stdin?: string) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          const child = execFile(
            join(directory, `kubectl.1.${minor}`),
            ['--kubeconfig', cluster.local.kubeconfigPath, '--cache-dir', join(cluster.dataDir, `cache-1.${minor}`), ...args],
            { timeout: 60_000 },
            (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
          );
          if (stdin !== undefined) child.stdin?.end(stdin);
        });
      const applied = await run(['apply', '-f', '-'], input);
      assert.deepEqual([minor, applied.code, applied.stderr], [minor, 0, ''], applied.stdout);
      assert.match(applied.stdout, /deployment\.apps\/versions (created|configured|unchanged)/);
      const explained = await run(['explain', 'deployment.spec.replicas']);
      assert.deepEqual([minor, explained.code, explained.stderr], [minor, 0, '']);
      assert.match(explained.stdout, /replicas/);
      for (const args of [
        ['get', 'deployment,service', 'versions'],
        ['describe', 'deployment', 'versions'],
      ]) {
        const result = await run(args);
        assert.deepEqual([minor, args[0], result.code, result.stderr], [minor, args[0], 0, '']);
      }
    }
    await cluster.kubectlOk(['delete', 'deployment,service', 'versions']);
  });

  it('has the system PriorityClasses, creates one with kubectl create priorityclass, and gives a pod its priority', async () => {
    const listed = await cluster.kubectlOk(['get', 'priorityclasses', '--no-headers']);
    assert.match(listed, /^system-cluster-critical\s+2000000000\s+false\s+\S+\s+PreemptLowerPriority$/m);
    assert.match(listed, /^system-node-critical\s+2000001000\s+false\s+\S+\s+PreemptLowerPriority$/m);
    const created = await cluster.kubectl(['create', 'priorityclass', 'high-priority', '--value=1000', '--description=for the test']);
    assert.deepEqual([created.code, created.stdout.trim(), created.stderr], [0, 'priorityclass.scheduling.k8s.io/high-priority created', '']);
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'prioritized', namespace: 'default' },
      spec: { priorityClassName: 'high-priority', containers: [{ name: 'web', image: 'nginx' }] },
    };
    await cluster.kubectlOk(['create', '-f', '-'], { input: JSON.stringify(manifest) });
    assert.equal(
      await cluster.kubectlOk(['get', 'pod', 'prioritized', '-o', 'jsonpath={.spec.priority}/{.spec.preemptionPolicy}']),
      '1000/PreemptLowerPriority',
    );
    const missing = await cluster.kubectl(['run', 'unprioritized', '--image=nginx', '--overrides={"spec":{"priorityClassName":"nosuch"}}']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /pods "unprioritized" is forbidden: no PriorityClass with name nosuch was found/);
    const reserved = await cluster.kubectl(['create', 'priorityclass', 'system-mine', '--value=5']);
    assert.match(reserved.stderr, /priority class names with 'system-' prefix are reserved for system use only/);
    await cluster.kubectlOk(['delete', 'pod', 'prioritized', '--grace-period=0', '--force']);
    await cluster.kubectlOk(['delete', 'priorityclass', 'high-priority']);
  });

  it('sorts kubectl get by a field of the objects (--sort-by asks the Table for whole objects)', async () => {
    await cluster.kubectlOk(['create', 'namespace', 'sorted']);
    for (const [name, key] of Object.entries({ first: 'b', second: 'c', third: 'a' })) {
      await cluster.kubectlOk(['create', 'configmap', name, '-n', 'sorted', `--from-literal=k=${key}`]);
    }
    const listed = await cluster.kubectlOk(['get', 'configmaps', '-n', 'sorted', '--sort-by={.data.k}', '--no-headers']);
    const names = listed
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/)[0]);
    assert.deepEqual(
      names.filter((name) => name !== 'kube-root-ca.crt'),
      ['third', 'first', 'second'],
    );
  });

  it('streams ADDED, MODIFIED and DELETED to a watch of the official Python client (?watch=True)', { skip: pythonClientMissing }, async () => {
    await cluster.kubectlOk(['create', 'namespace', 'python-watch']);
    const script = fileURLToPath(new URL('./python/watch_config_maps.py', import.meta.url));
    const { stdout } = await promisify(execFile)(DEBIAN_PYTHON, [script, 'python-watch'], {
      env: { ...process.env, KUBECONFIG: cluster.local.kubeconfigPath },
      timeout: 90_000,
    });
    assert.deepEqual(JSON.parse(stdout), ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
  });

  it('refuses kubectl delete namespace default as NamespaceLifecycle does', async () => {
    for (const dryRun of [[], ['--dry-run=server']]) {
      const result = await cluster.kubectl(['delete', 'namespace', 'default', ...dryRun]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr.trim(), 'Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted');
    }
    assert.equal((await namespacePhases()).default, 'Active');
  });

  it('leaves the system namespaces after kubectl delete namespace --all: three refused, kube-node-lease made again', async () => {
    await cluster.kubectlOk(['create', 'namespace', 'scratch']);
    const leaseUid = await cluster.kubectlOk(['get', 'namespace', 'kube-node-lease', '-o', 'jsonpath={.metadata.uid}']);
    const result = await cluster.kubectl(['delete', 'namespace', '--all', '--wait=false']);
    assert.equal(result.code, 1, 'kubectl reports the refusals');
    for (const name of ['default', 'kube-public', 'kube-system']) {
      assert.ok(result.stderr.includes(`namespaces "${name}" is forbidden: this namespace may not be deleted`), result.stderr);
    }
    assert.match(result.stdout, /namespace "scratch" deleted/);
    const systemNamespaces = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];
    const phases = await waitFor('scratch gone and kube-node-lease back', async () => {
      const now = await namespacePhases();
      // Every namespace the other tests made goes too, scratch among them.
      if (Object.keys(now).some((name) => !systemNamespaces.includes(name)) || now['kube-node-lease'] !== 'Active') return undefined;
      const uid = await cluster.kubectlOk(['get', 'namespace', 'kube-node-lease', '-o', 'jsonpath={.metadata.uid}']);
      return uid !== leaseUid ? now : undefined;
    });
    assert.deepEqual(phases, { default: 'Active', 'kube-node-lease': 'Active', 'kube-public': 'Active', 'kube-system': 'Active' });
  });
});

describe('PodDisruptionBudgets, ReplicationControllers and kubectl apply --prune, on two nodes', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startTestCluster({ nodes: 2, agentRuntime: 'sim', resyncSeconds: 5 });
    await waitFor('two Ready nodes', async () => ((await cluster.kubectlOk(['get', 'nodes'])).match(/ Ready /g) ?? []).length === 2, { timeoutMs: 60_000 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const budget = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'guarded', namespace: 'default' },
    spec: { minAvailable: 2, selector: { matchLabels: { app: 'guarded' } } },
  };

  it('drains a node within a PodDisruptionBudget: one eviction at a time, the 429s retried, never fewer than minAvailable ready', async () => {
    await cluster.kubectlOk(['create', 'deployment', 'guarded', '--image=nginx', '--replicas=3']);
    await cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(budget) });
    await cluster.kubectlOk(['rollout', 'status', 'deployment/guarded', '--timeout=120s'], { timeoutMs: 130_000 });
    const status = await waitFor('the budget allowing one disruption', async () => {
      const pdb = JSON.parse(await cluster.kubectlOk(['get', 'pdb', 'guarded', '-o', 'json']));
      return pdb.status?.disruptionsAllowed === 1 ? pdb.status : undefined;
    });
    assert.deepEqual([status.expectedPods, status.currentHealthy, status.desiredHealthy, status.observedGeneration], [3, 3, 2, 1]);
    assert.deepEqual(
      status.conditions.map((c: Record<string, unknown>) => [c.type, c.status, c.reason]),
      [['DisruptionAllowed', 'True', 'SufficientPods']],
    );
    const table = await cluster.kubectlOk(['get', 'pdb']);
    assert.match(table, /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\n/);
    assert.match(table, /\nguarded\s+2\s+N\/A\s+1\s+\S+\n/);
    const described = await cluster.kubectlOk(['describe', 'pdb', 'guarded']);
    for (const line of [
      /^Name:\s+guarded$/m,
      /^Min available:\s+2$/m,
      /^Selector:\s+app=guarded$/m,
      /^\s+Allowed disruptions:\s+1$/m,
      /^\s+Current:\s+3$/m,
      /^\s+Desired:\s+2$/m,
      /^\s+Total:\s+3$/m,
    ]) {
      assert.match(described, line);
    }

    // The node with the most of the pods (two of three on two nodes) is drained.
    const placement = (await cluster.kubectlOk(['get', 'pods', '-l', 'app=guarded', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}']))
      .trim()
      .split('\n');
    const counts = new Map<string, number>();
    for (const node of placement) counts.set(node, (counts.get(node) ?? 0) + 1);
    const [node, onNode] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    assert.ok(onNode >= 2, `two pods on one node: ${placement.join(' ')}`);

    // Every change of the pods, in order: name, deletionTimestamp, Ready.
    const watch = cluster.kubectlBackground([
      'get',
      'pods',
      '-l',
      'app=guarded',
      '-w',
      '-o',
      'jsonpath={.metadata.name}|{.metadata.deletionTimestamp}|{.status.conditions[?(@.type=="Ready")].status}{"\\n"}',
    ]);
    await waitFor(
      'the watch listing the pods',
      () =>
        watch
          .output()
          .split('\n')
          .filter((line) => line.includes('|')).length >= 3,
    );
    const drained = await cluster.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s'], { timeoutMs: 150_000 });
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, new RegExp(`node/${node} drained`));
    assert.equal((drained.stdout.match(/pod\/guarded-\S+ evicted/g) ?? []).length, onNode);
    assert.match(
      drained.stderr,
      /error when evicting pods\/"guarded-\S+" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./,
    );

    await waitFor('three ready pods again', async () => {
      const pdb = JSON.parse(await cluster.kubectlOk(['get', 'pdb', 'guarded', '-o', 'json']));
      return pdb.status?.currentHealthy === 3 && pdb.status.disruptionsAllowed === 1;
    });
    await watch.stop();
    const healthy = new Map<string, boolean>();
    let fewest = Number.POSITIVE_INFINITY;
    const lines = watch
      .output()
      .split('\n')
      .filter((line) => line.includes('|'));
    for (const [index, line] of lines.entries()) {
      const [name = '', deleting, ready] = line.split('|');
      healthy.set(name, !deleting && ready === 'True');
      if (index >= 2) fewest = Math.min(fewest, [...healthy.values()].filter(Boolean).length);
    }
    assert.equal(fewest, 2, `the budget held through the drain:\n${lines.join('\n')}`);
    const after = (await cluster.kubectlOk(['get', 'pods', '-l', 'app=guarded', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}']))
      .trim()
      .split('\n');
    assert.ok(!after.includes(node), `no pod left on ${node}: ${after.join(' ')}`);
    await cluster.kubectlOk(['uncordon', node]);
  });

  it('runs a ReplicationController from YAML: selector and labels from the template, scale, describe, delete with its pods', async () => {
    const manifest = [
      'apiVersion: v1',
      'kind: ReplicationController',
      'metadata:',
      '  name: legacy',
      'spec:',
      '  replicas: 3',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app: legacy',
      '    spec:',
      '      containers:',
      '      - name: web',
      '        image: nginx',
    ].join('\n');
    assert.match(await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest }), /replicationcontroller\/legacy created/);
    const created = JSON.parse(await cluster.kubectlOk(['get', 'rc', 'legacy', '-o', 'json']));
    assert.deepEqual(
      [created.spec.selector, created.metadata.labels, created.spec.template.spec.restartPolicy],
      [{ app: 'legacy' }, { app: 'legacy' }, 'Always'],
    );
    await waitFor('three ready replicas', async () => (await cluster.kubectlOk(['get', 'rc', 'legacy', '-o', 'jsonpath={.status.readyReplicas}'])) === '3', {
      timeoutMs: 60_000,
    });
    const table = await cluster.kubectlOk(['get', 'rc', '-o', 'wide']);
    assert.match(table, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    assert.match(table, /\nlegacy\s+3\s+3\s+3\s+\S+\s+web\s+nginx\s+app=legacy\n/);
    assert.match(await cluster.kubectlOk(['get', 'all']), /\nreplicationcontroller\/legacy\s+3\s+3\s+3\s+/);

    assert.match(await cluster.kubectlOk(['scale', 'rc', 'legacy', '--replicas=1']), /replicationcontroller\/legacy scaled/);
    // describe counts every pod the selector matches, the terminating ones too: wait until they are gone.
    await waitFor(
      'one pod left',
      async () =>
        (await cluster.kubectlOk(['get', 'pods', '-l', 'app=legacy', '-o', 'name'])).trim().split('\n').length === 1 &&
        (await cluster.kubectlOk(['get', 'rc', 'legacy', '-o', 'jsonpath={.status.replicas}'])) === '1',
      { timeoutMs: 60_000 },
    );
    const described = await cluster.kubectlOk(['describe', 'rc', 'legacy']);
    for (const line of [
      /^Name:\s+legacy$/m,
      /^Selector:\s+app=legacy$/m,
      /^Replicas:\s+1 current \/ 1 desired$/m,
      /^Pods Status:\s+1 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m,
      /SuccessfulDelete/,
    ]) {
      assert.match(described, line);
    }
    assert.match(await cluster.kubectlOk(['delete', 'rc', 'legacy']), /replicationcontroller "legacy" deleted/);
    await waitFor('its pods gone', async () => (await cluster.kubectlOk(['get', 'pods', '-l', 'app=legacy', '-o', 'name'])).trim() === '', {
      timeoutMs: 60_000,
    });
  });

  it('lets go of a pod relabelled out of a ReplicaSet and replaces it; adopts the pods a ReplicaSet deleted with --cascade=orphan left', async () => {
    const manifest = [
      'apiVersion: apps/v1',
      'kind: ReplicaSet',
      'metadata:',
      '  name: claims',
      'spec:',
      '  replicas: 2',
      '  selector:',
      '    matchLabels:',
      '      app: claims',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app: claims',
      '    spec:',
      '      containers:',
      '      - name: web',
      '        image: nginx',
    ].join('\n');
    const podsOf = async (selector: string) =>
      (await cluster.kubectlOk(['get', 'pods', '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.ownerReferences[0].uid} {end}']))
        .trim()
        .split(' ')
        .filter(Boolean)
        .map((pair) => pair.split('=') as [string, string]);
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    await waitFor('two ready replicas', async () => (await cluster.kubectlOk(['get', 'rs', 'claims', '-o', 'jsonpath={.status.readyReplicas}'])) === '2', {
      timeoutMs: 60_000,
    });
    const first = (await podsOf('app=claims'))[0]?.[0];
    assert.ok(first);

    // Taken out of the ReplicaSet's selector (to look at it, say): the pod stays, nobody's, and a new one takes its place.
    await cluster.kubectlOk(['label', 'pod', first, 'app=debugging', '--overwrite']);
    const kept = await waitFor(
      'the relabelled pod released and replaced',
      async () => {
        const owned = await podsOf('app=claims');
        const released = await cluster.kubectlOk(['get', 'pod', first, '-o', 'jsonpath={.metadata.ownerReferences}']);
        return owned.length === 2 && !owned.some(([name]) => name === first) && released === '' ? owned : undefined;
      },
      { timeoutMs: 60_000 },
    );

    // The ReplicaSet goes, its pods stay; the next one of the same selector adopts them and makes none.
    await cluster.kubectlOk(['delete', 'rs', 'claims', '--cascade=orphan']);
    await waitFor(
      'orphans',
      async () => (await podsOf('app=claims')).every(([, uid]) => uid === '') && (await cluster.kubectl(['get', 'rs', 'claims'])).code !== 0,
      {
        timeoutMs: 60_000,
      },
    );
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    const uid = await cluster.kubectlOk(['get', 'rs', 'claims', '-o', 'jsonpath={.metadata.uid}']);
    await waitFor(
      'the orphans adopted',
      async () => {
        const owned = await podsOf('app=claims');
        return owned.length === 2 && owned.every(([, owner]) => owner === uid);
      },
      { timeoutMs: 60_000 },
    );
    assert.deepEqual((await podsOf('app=claims')).map(([name]) => name).sort(), kept.map(([name]) => name).sort(), 'the same pods, none made');
    await cluster.kubectlOk(['delete', 'rs', 'claims']);
    await cluster.kubectlOk(['delete', 'pod', first]);
  });

  it('prunes with kubectl apply --prune -l: the object dropped from the directory goes (kubectl 1.32 and 1.27)', async () => {
    const directory = dirname(realpathSync(execFileSync('which', ['kubectl'], { encoding: 'utf8' }).trim()));
    for (const minor of [32, 27]) {
      const dir = await mkdtemp(join(cluster.dataDir, `prune-1.${minor}-`));
      const configMap = (name: string) =>
        JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels: { app: `prune${minor}` } }, data: { k: name } });
      await writeFile(join(dir, 'kept.json'), configMap(`kept${minor}`));
      await writeFile(join(dir, 'dropped.json'), configMap(`dropped${minor}`));
      const run = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(
            join(directory, `kubectl.1.${minor}`),
            ['--kubeconfig', cluster.local.kubeconfigPath, '--cache-dir', join(cluster.dataDir, `prune-cache-1.${minor}`), ...args],
            { timeout: 60_000 },
            (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
          );
        });
      // kubectl 1.32 warns that pruning cluster-scoped kinds by default is deprecated; nothing else may be said.
      const complaints = (stderr: string) =>
        stderr.split('\n').filter((line) => line !== '' && !line.includes('Deprecated: kubectl apply will no longer prune'));
      const first = await run(['apply', '--prune', '-l', `app=prune${minor}`, '-f', dir]);
      assert.deepEqual([minor, first.code, complaints(first.stderr)], [minor, 0, []], first.stdout);
      assert.match(first.stdout, new RegExp(`configmap/dropped${minor} created`));
      await rm(join(dir, 'dropped.json'));
      const second = await run(['apply', '--prune', '-l', `app=prune${minor}`, '-f', dir]);
      assert.deepEqual([minor, second.code, complaints(second.stderr)], [minor, 0, []], second.stdout);
      assert.match(second.stdout, new RegExp(`configmap/kept${minor} unchanged`));
      assert.match(second.stdout, new RegExp(`configmap/dropped${minor} pruned`));
      const left = await cluster.kubectlOk(['get', 'configmaps', '-l', `app=prune${minor}`, '-o', 'name']);
      assert.equal(left.trim(), `configmap/kept${minor}`);
    }
  });
});

describe('owners claim what kubectl leaves them at once, without a resync', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  /** Longer than any wait here: whatever is adopted was adopted because a change named it, not by a resync pass. */
  const resyncSeconds = 3600;

  before(async () => {
    cluster = await startTestCluster({ nodes: 1, agentRuntime: 'sim', resyncSeconds });
    await waitFor('a Ready node', async () => / Ready /.test(await cluster.kubectlOk(['get', 'nodes'])), { timeoutMs: 60_000 });
  });
  after(async () => {
    await cluster?.stop();
  });

  const namesAndUids = async (args: readonly string[]) =>
    (await cluster.kubectlOk([...args, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}={.metadata.ownerReferences[0].uid} {end}']))
      .trim()
      .split(' ')
      .filter(Boolean)
      .map((triple) => triple.split('=') as [string, string, string])
      .sort();

  it('adopts the ReplicaSet a Deployment deleted with --cascade=orphan left when the Deployment is applied again: the same ReplicaSet and pods, no collisionCount', async () => {
    const manifest = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: orphaned',
      'spec:',
      '  replicas: 2',
      '  selector:',
      '    matchLabels:',
      '      app: orphaned',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app: orphaned',
      '    spec:',
      '      containers:',
      '      - name: web',
      '        image: nginx',
    ].join('\n');
    const rolledOut = async () => {
      const status = await cluster.kubectlOk(['get', 'deployment', 'orphaned', '-o', 'jsonpath={.status.updatedReplicas}/{.status.availableReplicas}']);
      return status === '2/2';
    };
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    await waitFor('the Deployment rolled out', rolledOut, { timeoutMs: 60_000 });
    const replicaSetsBefore = await namesAndUids(['get', 'rs', '-l', 'app=orphaned']);
    const podsBefore = await namesAndUids(['get', 'pods', '-l', 'app=orphaned']);
    assert.equal(replicaSetsBefore.length, 1);
    assert.equal(podsBefore.length, 2);

    await cluster.kubectlOk(['delete', 'deployment', 'orphaned', '--cascade=orphan']);
    await waitFor('the ReplicaSet orphaned', async () => (await namesAndUids(['get', 'rs', '-l', 'app=orphaned'])).every(([, , owner]) => owner === ''), {
      timeoutMs: 60_000,
    });
    await cluster.kubectlOk(['apply', '-f', '-'], { input: manifest });
    const deploymentUid = await cluster.kubectlOk(['get', 'deployment', 'orphaned', '-o', 'jsonpath={.metadata.uid}']);
    await waitFor(
      'the ReplicaSet adopted and the Deployment rolled out',
      async () => (await namesAndUids(['get', 'rs', '-l', 'app=orphaned'])).some(([, , owner]) => owner === deploymentUid) && (await rolledOut()),
      { timeoutMs: 60_000 },
    );
    const [[name, uid]] = replicaSetsBefore as [[string, string, string]];
    assert.deepEqual(await namesAndUids(['get', 'rs', '-l', 'app=orphaned']), [[name, uid, deploymentUid]], 'the same ReplicaSet, and no other');
    assert.deepEqual(await namesAndUids(['get', 'pods', '-l', 'app=orphaned']), podsBefore, 'the same pods, still the ReplicaSet’s');
    assert.equal(await cluster.kubectlOk(['get', 'deployment', 'orphaned', '-o', 'jsonpath={.status.collisionCount}']), '');
    await cluster.kubectlOk(['delete', 'deployment', 'orphaned']);
  });

  it('adopts a bare pod made with a ReplicaSet’s labels at once, and deletes the surplus pod', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'adopter', namespace: 'default' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'adopter' } },
          template: { metadata: { labels: { app: 'adopter' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
        },
      }),
    });
    await waitFor('one ready replica', async () => (await cluster.kubectlOk(['get', 'rs', 'adopter', '-o', 'jsonpath={.status.readyReplicas}'])) === '1', {
      timeoutMs: 60_000,
    });
    const replicaSetUid = await cluster.kubectlOk(['get', 'rs', 'adopter', '-o', 'jsonpath={.metadata.uid}']);
    await cluster.kubectlOk(['run', 'stray', '--image=nginx', '--labels=app=adopter']);
    // Adopted, two pods for one replica, one deleted (the stray, most likely: the least far along
    // goes first): one pod left, the ReplicaSet's. Left alone, the stray would stay bare beside it.
    await waitFor(
      'the bare pod adopted and the surplus gone',
      async () => {
        const pods = await namesAndUids(['get', 'pods', '-l', 'app=adopter']);
        return pods.length === 1 && pods.every(([, , owner]) => owner === replicaSetUid);
      },
      { timeoutMs: 60_000 },
    );
    await cluster.kubectlOk(['delete', 'rs', 'adopter']);
  });
});
