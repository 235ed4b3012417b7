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
let nodeN1: KubeObject;

/** A pod as ServiceAccount admission leaves it: naming its account. */
function pod(name: string, nodeName: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'team-a' },
    spec: { nodeName, serviceAccountName: 'default', containers: [{ name: 'c', image: 'nginx' }] },
  };
}

before(async () => {
  onN1 = await store.create(types.pods, pod('on-n1', 'n1'));
  onN2 = await store.create(types.pods, pod('on-n2', 'n2'));
  nodeN1 = await store.create(types.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
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

  it('lets a node create a mirror pod only when its Node controls it and it references nothing to read', async () => {
    const owner = () => ({ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: nodeN1.metadata.uid, controller: true });
    const mirror = (spec: Record<string, unknown> = {}, owners: object[] = [owner()]): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'static-web', namespace: 'team-a', annotations: { 'kubernetes.io/config.mirror': 'hash' }, ownerReferences: owners as never },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }], ...spec },
    });
    const create = (object: KubeObject) => attempt(types.pods, 'CREATE', { namespace: 'team-a', name: 'static-web', object });
    await create(mirror());
    const refusals: [KubeObject, string][] = [
      [mirror({ nodeName: 'n2' }), 'node "n1" can only create pods with spec.nodeName set to itself'],
      [mirror({}, []), 'node "n1" can only create pods with an owner reference set to itself'],
      [mirror({}, [owner(), owner()]), 'node "n1" can only create pods with a single owner reference set to itself'],
      [mirror({}, [{ ...owner(), name: 'n2' }]), 'node "n1" can only create pods with an owner reference set to itself'],
      [mirror({}, [{ ...owner(), controller: false }]), 'node "n1" can only create pods with a controller owner reference set to itself'],
      [mirror({}, [{ ...owner(), blockOwnerDeletion: true }]), 'node "n1" must not set blockOwnerDeletion on an owner reference'],
      [mirror({}, [{ ...owner(), uid: 'stale' }]), `node n1 UID mismatch: expected stale got ${nodeN1.metadata.uid}`],
      [mirror({ serviceAccountName: 'default' }), 'node "n1" can not create pods that reference a service account'],
      [mirror({ volumes: [{ name: 's', secret: { secretName: 'db' } }] }), 'node "n1" can not create pods that reference secrets'],
      [mirror({ volumes: [{ name: 'c', configMap: { name: 'settings' } }] }), 'node "n1" can not create pods that reference configmaps'],
      [
        mirror({ volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] }),
        'node "n1" can not create pods that reference persistentvolumeclaims',
      ],
    ];
    for (const [object, message] of refusals) assert.equal(await refusal(create(object)), `pods "static-web" is forbidden: ${message}`);
  });

  it('refuses a node changing its own taints, or pod labels through pod status', async () => {
    const node = (taints: object[]): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { taints } });
    const tainted = node([{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]);
    await attempt(types.nodes, 'UPDATE', { name: 'n1', oldObject: tainted, object: tainted });
    // A status write carries whatever spec the agent read; the store keeps the stored one.
    await attempt(types.nodes, 'UPDATE', { name: 'n1', subresource: 'status', oldObject: tainted, object: node([]) });
    assert.equal(
      await refusal(attempt(types.nodes, 'UPDATE', { name: 'n1', oldObject: tainted, object: node([]) })),
      'nodes "n1" is forbidden: node "n1" is not allowed to modify taints',
    );
    const relabelled = { ...onN1, metadata: { ...onN1.metadata, labels: { tier: 'privileged' } } };
    assert.equal(
      await refusal(attempt(types.pods, 'UPDATE', { subresource: 'status', namespace: 'team-a', name: 'on-n1', oldObject: onN1, object: relabelled })),
      'pods "on-n1" is forbidden: node "n1" cannot update labels through pod status',
    );
  });

  it('lets a node set only the kubelet labels on its Node, never node-restriction ones', async () => {
    const node = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels } });
    const kubelet = {
      'kubernetes.io/hostname': 'n1',
      'kubernetes.io/os': 'linux',
      'topology.kubernetes.io/zone': 'a',
      'node.kubernetes.io/exclude-from-external-load-balancers': '',
    };
    await attempt(types.nodes, 'CREATE', { name: 'n1', object: node({ ...kubelet, team: 'a', 'example.com/disk': 'ssd' }) });
    assert.equal(
      await refusal(
        attempt(types.nodes, 'CREATE', {
          name: 'n1',
          object: node({ ...kubelet, 'node-role.kubernetes.io/control-plane': '', 'a.node-restriction.kubernetes.io/pci': 'yes' }),
        }),
      ),
      'nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: a.node-restriction.kubernetes.io/pci, node-role.kubernetes.io/control-plane',
    );
    const trusted = node({ ...kubelet, 'node-restriction.kubernetes.io/trusted': 'yes' });
    await attempt(types.nodes, 'UPDATE', {
      name: 'n1',
      oldObject: trusted,
      object: { ...trusted, metadata: { ...trusted.metadata, labels: { ...kubelet, 'node-restriction.kubernetes.io/trusted': 'yes', team: 'b' } } },
    });
    assert.equal(
      await refusal(attempt(types.nodes, 'UPDATE', { name: 'n1', oldObject: trusted, object: node(kubelet) })),
      'nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/trusted',
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
    const bound = (target: KubeObject, uid = target.metadata.uid) => request({ kind: 'Pod', apiVersion: 'v1', name: target.metadata.name, uid });
    await token('default', bound(onN1));
    assert.match(await refusal(token('default', request())), /node requested token not bound to a pod/);
    assert.match(
      await refusal(token('default', request({ kind: 'Pod', apiVersion: 'v1', name: 'on-n1' }))),
      /node requested token with a pod binding without a uid$/,
    );
    assert.match(
      await refusal(token('default', bound(onN1, 'old-uid'))),
      /the UID in the bound object reference \(old-uid\) does not match the UID in record. The object might have been deleted and then recreated$/,
    );
    assert.match(await refusal(token('default', bound(onN2))), /bound to a pod scheduled on a different node/);
    assert.match(await refusal(token('admin', bound(onN1))), /does not use this service account/);
  });

  it('leaves everyone but nodes alone', async () => {
    await nodeRestrictionPlugin.validate?.(
      { type: types.nodes, operation: 'DELETE', name: 'n2', user: { username: 'alice', groups: [] }, dryRun: false },
      store,
    );
  });
});
