/**
 * Identities in a running cluster, with the real kubectl and two real node agents: a pod's
 * mounted ServiceAccount token lists what its Role allows and nothing more, and one node's own
 * credentials read only what that node's pods use and cannot change another node.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, KubeClient } from '../../node-agent/kube-client.ts';
import { loadKubeconfig } from '../../node-agent/kubeconfig.ts';
import { types } from '../../schemas/registry.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

const bounded = { timeout: 120_000 };

describe('node and pod identities with kubectl', () => {
  let cluster: TestCluster;
  const kubectlPath = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
  const [node1, node2] = ['skiff-node-1', 'skiff-node-2'];
  const asNode = (node: string, args: string[], options: { input?: string } = {}) =>
    cluster.kubectl(['--kubeconfig', join(cluster.dataDir, 'nodes', node, 'kubeconfig'), ...args], options);

  // No bound of its own, as in the other e2e files: most of this hook is the cluster's start, which
  // a loaded machine stretches past any fixed figure (exec-attach: the start 38 s of the hook's 59 s
  // at load 10–12; 120 s ran out at heavy load). The runner's hang guard still applies.
  before(async () => {
    cluster = await startTestCluster({ nodes: 2 });
    await cluster.kubectlOk(['create', 'namespace', 'team-a']);
    await cluster.kubectlOk(['create', 'namespace', 'team-b']);
    await cluster.kubectlOk(['create', 'secret', 'generic', 'used', '--from-literal=k=v', '-n', 'team-a']);
    await cluster.kubectlOk(['create', 'secret', 'generic', 'unused', '--from-literal=k=v', '-n', 'team-a']);
    await cluster.kubectlOk(['create', 'serviceaccount', 'reader', '-n', 'team-a']);
    await cluster.kubectlOk(['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods', '-n', 'team-a']);
    await cluster.kubectlOk(['create', 'rolebinding', 'reader-pods', '--role=pod-reader', '--serviceaccount=team-a:reader', '-n', 'team-a']);
  });
  after(async () => {
    await cluster?.stop();
  });

  it("lets a pod list what its ServiceAccount's Role allows with its mounted token, and nothing more", bounded, async () => {
    // The in-cluster client's view: the API from KUBERNETES_SERVICE_HOST/PORT, the token and CA
    // from the ServiceAccount volume (named by SKIFF_SERVICEACCOUNT_DIR for a process pod).
    const client = `${kubectlPath} --server "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT" --certificate-authority "$SKIFF_SERVICEACCOUNT_DIR/ca.crt" --token "$(cat "$SKIFF_SERVICEACCOUNT_DIR/token")" --cache-dir "$HOME/cache"`; // HOME: the pod's own (ADR 084)
    const script = [
      `echo "namespace=$(cat "$SKIFF_SERVICEACCOUNT_DIR/namespace")"`,
      `${client} get pods -n team-a -o name`,
      `${client} get secrets -n team-a -o name`,
      `${client} get pods -n team-b -o name`,
      'echo done',
      'sleep 3600',
    ].join('; ');
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'in-cluster', namespace: 'team-a' },
        spec: {
          nodeName: node1,
          serviceAccountName: 'reader',
          containers: [{ name: 'client', image: 'busybox', command: ['/bin/sh', '-c', script] }],
        },
      }),
    });
    const logs = await waitFor(
      'the in-cluster client to finish',
      async () => {
        const result = await cluster.kubectl(['logs', 'in-cluster', '-n', 'team-a']);
        return result.stdout.includes('done') ? result.stdout : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.match(logs, /^namespace=team-a$/m);
    assert.match(logs, /^pod\/in-cluster$/m);
    assert.match(
      logs,
      /secrets is forbidden: User "system:serviceaccount:team-a:reader" cannot list resource "secrets" in API group "" in the namespace "team-a"/,
    );
    assert.match(logs, /pods is forbidden: User "system:serviceaccount:team-a:reader" cannot list resource "pods" in API group "" in the namespace "team-b"/);
  });

  it("reads with a node's credentials only what its pods use, and cannot change another node", bounded, async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'uses-secret', namespace: 'team-a' },
        spec: { nodeName: node1, containers: [{ name: 'web', image: 'nginx', env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'used', key: 'k' } } }] }] },
      }),
    });
    assert.equal((await asNode(node1, ['get', 'secret', 'used', '-n', 'team-a', '-o', 'name'])).stdout.trim(), 'secret/used');
    const unused = await asNode(node1, ['get', 'secret', 'unused', '-n', 'team-a']);
    assert.equal(
      unused.stderr.trim(),
      `Error from server (Forbidden): secrets "unused" is forbidden: User "system:node:${node1}" cannot get resource "secrets" in API group "" in the namespace "team-a": no relationship found between node '${node1}' and this object`,
    );
    // Nor can it lend itself the Secret with a pod of its own (a mirror pod) that uses it.
    const nodeUid = (await cluster.kubectlOk(['get', 'node', node1, '-o', 'jsonpath={.metadata.uid}'])).trim();
    const lending = await asNode(node1, ['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'lends-a-secret',
          namespace: 'team-a',
          annotations: { 'kubernetes.io/config.mirror': 'hash' },
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node1, uid: nodeUid, controller: true }],
        },
        spec: { nodeName: node1, containers: [{ name: 'c', image: 'busybox', envFrom: [{ secretRef: { name: 'unused' } }] }] },
      }),
    });
    assert.equal(
      lending.stderr.trim(),
      'Error from server (Forbidden): error when creating "STDIN": pods "lends-a-secret" is forbidden: a mirror pod may not reference secrets',
    );
    const otherNode = await asNode(node2, ['get', 'secret', 'used', '-n', 'team-a']);
    assert.match(otherNode.stderr, /no relationship found between node 'skiff-node-2' and this object/);
    // kubectl reads the node before patching it: a node may read only its own Node.
    const patch = await asNode(node1, ['patch', 'node', node2, '-p', '{"metadata":{"labels":{"owned-by":"node1"}}}']);
    assert.equal(
      patch.stderr.trim(),
      `Error from server (Forbidden): nodes "${node2}" is forbidden: User "system:node:${node1}" cannot get resource "nodes" in API group "" at the cluster scope: node '${node1}' cannot read '${node2}', only its own Node object`,
    );
    // A PATCH sent straight away is refused by NodeRestriction.
    const client = new KubeClient(loadKubeconfig(join(cluster.dataDir, 'nodes', node1, 'kubeconfig')));
    try {
      await assert.rejects(client.patch(types.nodes, undefined, node2, 'merge', { metadata: { labels: { 'owned-by': 'node1' } } }), (error: unknown) => {
        assert.ok(error instanceof KubeApiError);
        assert.equal(error.code, 403);
        assert.equal(error.message, `nodes "${node2}" is forbidden: node "${node1}" is not allowed to modify node "${node2}"`);
        return true;
      });
    } finally {
      client.close();
    }
    assert.equal((await asNode(node1, ['patch', 'node', node1, '-p', '{"metadata":{"labels":{"checked":"yes"}}}'])).code, 0);
    const allPods = await asNode(node1, ['get', 'pods', '-A']);
    assert.match(allPods.stderr, /can only list\/watch pods with spec.nodeName field selector/);
    await waitFor('the pod that uses the secret to run on node 1', async () => {
      const pod = JSON.parse(await cluster.kubectlOk(['get', 'pod', 'uses-secret', '-n', 'team-a', '-o', 'json'])) as { status?: { phase?: string } };
      return pod.status?.phase === 'Running';
    });
  });
});
