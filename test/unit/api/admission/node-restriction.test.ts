/** NodeRestriction over the in-memory store: what a node may write, with Kubernetes' messages. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { nodeRestrictionPlugin } from '../../../../functions/api/admission/node-restriction.ts';
import type { AdmissionAttributes } from '../../../../functions/api/admission/request-admission.ts';
import { ForbiddenError } from '../../../../functions/core/errors.ts';
import { createMemoryStore } from '../../../../functions/store/memory-store.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../../schemas/registry.ts';

const store = createMemoryStore();
const n1 = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
let onN1: KubeObject;
let onN2: KubeObject;

function pod(name: string, nodeName: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'team-a' }, spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }] } };
}

before(async () => {
  onN1 = await store.create(types.pods, pod('on-n1', 'n1'));
  onN2 = await store.create(types.pods, pod('on-n2', 'n2'));
});

function attempt(type: ResourceType, operation: AdmissionAttributes['operation'], rest: Partial<AdmissionAttributes>): Promise<void> {
  return nodeRestrictionPlugin.validate?.({ type, operation, name: '', user: n1, dryRun: false, ...rest }, store) ?? Promise.resolve();
}

async function refusal(run: Promise<void>): Promise<string> {
  try {
    await run;
  } catch (error) {
    assert.ok(error instanceof ForbiddenError);
    return error.message;
  }
  assert.fail('expected a 403');
}

describe('NodeRestriction', () => {
  it('lets a node write its own Node and refuses another', async () => {
    await attempt(types.nodes, 'UPDATE', { name: 'n1', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } } });
    assert.equal(
      await refusal(attempt(types.nodes, 'UPDATE', { name: 'n2', object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } } })),
      'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"',
    );
    assert.match(await refusal(attempt(types.nodes, 'DELETE', { name: 'n2' })), /not allowed to modify node "n2"/);
  });

  it('lets a node update the status of its own pods only', async () => {
    await attempt(types.pods, 'UPDATE', { subresource: 'status', namespace: 'team-a', name: 'on-n1', oldObject: onN1, object: onN1 });
    assert.equal(
      await refusal(attempt(types.pods, 'UPDATE', { subresource: 'status', namespace: 'team-a', name: 'on-n2', oldObject: onN2, object: onN2 })),
      'pods "on-n2" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself',
    );
  });

  it('lets a node delete and evict its own pods only', async () => {
    await attempt(types.pods, 'DELETE', { namespace: 'team-a', name: 'on-n1', oldObject: onN1 });
    assert.match(
      await refusal(attempt(types.pods, 'DELETE', { namespace: 'team-a', name: 'on-n2', oldObject: onN2 })),
      /can only delete pods with spec.nodeName set to itself/,
    );
    assert.match(await refusal(attempt(types.pods, 'CREATE', { subresource: 'eviction', namespace: 'team-a', name: 'on-n2' })), /can only evict pods/);
  });

  it('lets a node create mirror pods only', async () => {
    assert.match(
      await refusal(attempt(types.pods, 'CREATE', { namespace: 'team-a', name: 'x', object: pod('x', 'n1') })),
      /pod does not have "kubernetes.io\/config.mirror" annotation, node "n1" can only create mirror pods/,
    );
  });

  it('lets a node renew only its own Lease', async () => {
    const lease = (name: string): KubeObject => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' } });
    await attempt(types.leases, 'CREATE', { namespace: 'kube-node-lease', name: 'n1', object: lease('n1') });
    assert.match(
      await refusal(attempt(types.leases, 'CREATE', { namespace: 'kube-node-lease', name: 'n2', object: lease('n2') })),
      /same name as the requesting node/,
    );
  });

  it('lets a node request tokens only bound to its own pods, for their account', async () => {
    const request = (boundObjectRef?: object): KubeObject => ({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: {},
      spec: { ...(boundObjectRef ? { boundObjectRef } : {}) },
    });
    const token = (name: string, object: KubeObject) => attempt(types.serviceaccounts, 'CREATE', { subresource: 'token', namespace: 'team-a', name, object });
    await token('default', request({ kind: 'Pod', apiVersion: 'v1', name: 'on-n1', uid: onN1.metadata.uid }));
    assert.match(await refusal(token('default', request())), /node requested token not bound to a pod/);
    assert.match(await refusal(token('default', request({ kind: 'Pod', name: 'on-n2' }))), /bound to a pod scheduled on a different node/);
    assert.match(await refusal(token('admin', request({ kind: 'Pod', name: 'on-n1' }))), /does not use this service account/);
  });

  it('leaves everyone but nodes alone', async () => {
    await nodeRestrictionPlugin.validate?.(
      { type: types.nodes, operation: 'DELETE', name: 'n2', user: { username: 'alice', groups: [] }, dryRun: false },
      store,
    );
  });
});
