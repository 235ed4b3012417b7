/**
 * What Kubernetes' own kubectl tests check that a cluster has and refuses, driven with the real
 * kubectl against a local cluster without nodes (issue: compatibility). The test that deletes
 * every namespace runs last.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

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
    const phases = await waitFor('scratch gone and kube-node-lease back', async () => {
      const now = await namespacePhases();
      if (now.scratch || now['kube-node-lease'] !== 'Active') return undefined;
      const uid = await cluster.kubectlOk(['get', 'namespace', 'kube-node-lease', '-o', 'jsonpath={.metadata.uid}']);
      return uid !== leaseUid ? now : undefined;
    });
    assert.deepEqual(phases, { default: 'Active', 'kube-node-lease': 'Active', 'kube-public': 'Active', 'kube-system': 'Active' });
  });
});
