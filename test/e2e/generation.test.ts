/**
 * metadata.generation as kube-apiserver 1.32 keeps it, seen through the real kubectl on a local
 * cluster with one (simulated) node (docs/adr/204): pods, nodes and Services keep none, even
 * when the scheduler binds a pod; a Deployment moves on spec changes only, not on its status or
 * labels; an EndpointSlice moves on its endpoints and labels; a custom resource on everything but
 * its metadata and, with the status subresource, its status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

interface Shown {
  metadata: { generation?: number; resourceVersion: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { observedGeneration?: number; updatedReplicas?: number };
}

const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
            data: {type: object, x-kubernetes-preserve-unknown-fields: true}
            status: {type: object, x-kubernetes-preserve-unknown-fields: true}
`;

const endpointSlice = `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: manual
addressType: IPv4
endpoints:
  - addresses: [10.9.0.1]
ports:
  - {name: http, port: 80, protocol: TCP}
`;

describe('metadata.generation per kind with kubectl', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startTestCluster({ nodes: 1, agentRuntime: 'sim' });
  });
  after(async () => {
    await cluster?.stop();
  });

  async function show(...args: string[]): Promise<Shown> {
    return JSON.parse(await cluster.kubectlOk(['get', ...args, '-o', 'json'])) as Shown;
  }

  it('keeps none on a pod the scheduler bound, on its node, and on a Service', async () => {
    await cluster.kubectlOk(['run', 'lone', '--image=nginx']);
    await waitFor('the pod bound and running', async () => {
      const pod = (await show('pod', 'lone')) as Shown & { status?: { phase?: string } };
      return pod.spec?.nodeName !== undefined && pod.status?.phase === 'Running';
    });
    assert.equal((await show('pod', 'lone')).metadata.generation, undefined);
    const nodes = JSON.parse(await cluster.kubectlOk(['get', 'nodes', '-o', 'json'])) as { items: Shown[] };
    assert.equal(nodes.items.length, 1);
    assert.equal(nodes.items[0]?.metadata.generation, undefined);

    await cluster.kubectlOk(['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
    assert.equal((await show('service', 'web')).metadata.generation, undefined);
    await cluster.kubectlOk(['patch', 'service', 'web', '--type=merge', '-p', '{"spec":{"ports":[{"name":"80-8080","port":80,"targetPort":9090}]}}']);
    assert.equal((await show('service', 'web')).metadata.generation, undefined);
  });

  it('moves a Deployment on spec changes, not on its status or labels; rollout status waits for the controller to see it', async () => {
    await cluster.kubectlOk(['create', 'deployment', 'app', '--image=nginx']);
    const createdAt = await show('deployment', 'app');
    assert.equal(createdAt.metadata.generation, 1);
    assert.match(await cluster.kubectlOk(['rollout', 'status', 'deployment/app', '--timeout=60s']), /successfully rolled out/);
    const rolledOut = await show('deployment', 'app');
    assert.notEqual(rolledOut.metadata.resourceVersion, createdAt.metadata.resourceVersion, 'the controller wrote its status');
    assert.equal(rolledOut.metadata.generation, 1);
    assert.equal(rolledOut.status?.observedGeneration, 1);

    await cluster.kubectlOk(['patch', 'deployment', 'app', '--subresource=status', '--type=merge', '-p', '{"status":{"collisionCount":0}}']);
    await cluster.kubectlOk(['label', 'deployment', 'app', 'tier=front']);
    assert.equal((await show('deployment', 'app')).metadata.generation, 1);

    await cluster.kubectlOk(['scale', 'deployment', 'app', '--replicas=2']);
    assert.equal((await show('deployment', 'app')).metadata.generation, 2);
    await cluster.kubectlOk(['set', 'image', 'deployment/app', 'nginx=nginx:1.28']);
    assert.equal((await show('deployment', 'app')).metadata.generation, 3);
    assert.match(await cluster.kubectlOk(['rollout', 'status', 'deployment/app', '--timeout=60s']), /successfully rolled out/);
    const done = await show('deployment', 'app');
    assert.equal(done.metadata.generation, 3);
    assert.equal(done.status?.observedGeneration, 3);
    assert.equal(done.status?.updatedReplicas, 2);
  });

  it('moves an EndpointSlice on its endpoints and labels, not on its annotations', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: endpointSlice });
    assert.equal((await show('endpointslice', 'manual')).metadata.generation, 1);
    await cluster.kubectlOk(['annotate', 'endpointslice', 'manual', 'note=kept']);
    assert.equal((await show('endpointslice', 'manual')).metadata.generation, 1);
    await cluster.kubectlOk(['label', 'endpointslice', 'manual', 'zone=a']);
    assert.equal((await show('endpointslice', 'manual')).metadata.generation, 2);
    await cluster.kubectlOk(['patch', 'endpointslice', 'manual', '--type=merge', '-p', '{"endpoints":[{"addresses":["10.9.0.2"]}]}']);
    assert.equal((await show('endpointslice', 'manual')).metadata.generation, 3);
  });

  it('moves a custom resource on everything but its metadata and, through /status, its status', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: crd });
    await cluster.kubectlOk(['wait', '--for', 'condition=established', '--timeout=30s', 'crd/gadgets.example.com']);
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: 'apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\nspec: {size: 1}\ndata: {colour: red}\n',
    });
    assert.equal((await show('gadget', 'g')).metadata.generation, 1);
    await cluster.kubectlOk(['patch', 'gadget', 'g', '--type=merge', '-p', '{"data":{"colour":"blue"}}']);
    assert.equal((await show('gadget', 'g')).metadata.generation, 2);
    await cluster.kubectlOk(['patch', 'gadget', 'g', '--subresource=status', '--type=merge', '-p', '{"status":{"ready":true}}']);
    await cluster.kubectlOk(['label', 'gadget', 'g', 'tier=a']);
    assert.equal((await show('gadget', 'g')).metadata.generation, 2);
    await cluster.kubectlOk(['patch', 'gadget', 'g', '--type=merge', '-p', '{"spec":{"size":2}}']);
    assert.equal((await show('gadget', 'g')).metadata.generation, 3);
  });
});
