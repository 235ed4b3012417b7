/**
 * The node authorizer as a table, over the in-memory store: what `system:node:n1` may read and
 * write, given pods bound to n1 and n2 and what they reference.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type AuthorizationAttributes, resourceAttributes } from '../../../../functions/domain/authorization/authorizer.ts';
import { nodeAuthorizer, podReferences } from '../../../../functions/domain/authorization/node-authorizer.ts';
import { createMemoryStore } from '../../../../functions/store/memory-store.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';

const store = createMemoryStore();
const authorizer = nodeAuthorizer(store);
const n1 = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
const impostor = { username: 'system:node:n1', groups: ['system:authenticated'] };

function pod(name: string, nodeName: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'team-a' }, spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }], ...spec } };
}

before(async () => {
  await store.create(
    types.pods,
    pod('on-n1', 'n1', {
      serviceAccountName: 'builder',
      containers: [
        {
          name: 'c',
          image: 'nginx',
          env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }],
          envFrom: [{ configMapRef: { name: 'env-config' } }],
        },
      ],
      volumes: [
        { name: 'v', secret: { secretName: 'volume-secret' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'p', projected: { sources: [{ configMap: { name: 'kube-root-ca.crt' } }, { secret: { name: 'projected-secret' } }] } },
      ],
      imagePullSecrets: [{ name: 'pull-secret' }],
    }),
  );
  await store.create(types.pods, pod('on-n2', 'n2', { serviceAccountName: 'default', volumes: [{ name: 'v', secret: { secretName: 'n2-secret' } }] }));
  for (const [name, claim] of [
    ['pvc-data', 'data'],
    ['pvc-other', 'other'],
  ]) {
    await store.create(types.persistentvolumes, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name },
      spec: { claimRef: { namespace: 'team-a', name: claim }, local: { path: `/volumes/${name}` } },
    } as KubeObject);
  }
  // A mirror pod names no account (ServiceAccount admission leaves it so): it lends n1 no token.
  await store.create(types.pods, {
    ...pod('mirror-on-n1', 'n1'),
    metadata: { name: 'mirror-on-n1', namespace: 'team-a', annotations: { 'kubernetes.io/config.mirror': 'x' } },
  });
});

const r = (verb: string, resource: string, extra: Partial<AuthorizationAttributes> = {}) => resourceAttributes(n1, { verb, resource, ...extra });
const table: [string, AuthorizationAttributes, boolean][] = [
  ['a Secret a pod of its own uses in env', r('get', 'secrets', { namespace: 'team-a', name: 'env-secret' }), true],
  ['a Secret in a volume', r('get', 'secrets', { namespace: 'team-a', name: 'volume-secret' }), true],
  ['a Secret in a projected volume', r('get', 'secrets', { namespace: 'team-a', name: 'projected-secret' }), true],
  ['an image pull Secret', r('get', 'secrets', { namespace: 'team-a', name: 'pull-secret' }), true],
  ['a ConfigMap in envFrom', r('get', 'configmaps', { namespace: 'team-a', name: 'env-config' }), true],
  ['the CA ConfigMap of the token volume', r('watch', 'configmaps', { namespace: 'team-a', name: 'kube-root-ca.crt' }), true],
  ['a Secret only a pod of another node uses', r('get', 'secrets', { namespace: 'team-a', name: 'n2-secret' }), false],
  ['a Secret no pod uses', r('get', 'secrets', { namespace: 'team-a', name: 'unused' }), false],
  ['a claim a pod of its own mounts', r('get', 'persistentvolumeclaims', { namespace: 'team-a', name: 'data' }), true],
  ['a claim no pod of its own mounts', r('get', 'persistentvolumeclaims', { namespace: 'team-a', name: 'other' }), false],
  ['the volume bound to a claim its pod mounts', r('get', 'persistentvolumes', { name: 'pvc-data' }), true],
  ['a volume bound to another claim', r('get', 'persistentvolumes', { name: 'pvc-other' }), false],
  ['every volume', r('list', 'persistentvolumes'), false],
  ['every Secret of a namespace', r('list', 'secrets', { namespace: 'team-a' }), false],
  ['writing a Secret a pod uses', r('update', 'secrets', { namespace: 'team-a', name: 'env-secret' }), false],
  ['a token for the account of its pod', r('create', 'serviceaccounts', { namespace: 'team-a', name: 'builder', subresource: 'token' }), true],
  [
    'a token for an account only a pod of another node uses',
    r('create', 'serviceaccounts', { namespace: 'team-a', name: 'default', subresource: 'token' }),
    false,
  ],
  ['its own pod', r('get', 'pods', { namespace: 'team-a', name: 'on-n1' }), true],
  ["another node's pod", r('get', 'pods', { namespace: 'team-a', name: 'on-n2' }), false],
  ['its pods by field selector', r('watch', 'pods', { fieldSelector: 'spec.nodeName=n1' }), true],
  ["another node's pods by field selector", r('list', 'pods', { fieldSelector: 'spec.nodeName=n2' }), false],
  ['every pod', r('list', 'pods'), false],
  ['status of pods (NodeRestriction narrows it)', r('update', 'pods', { namespace: 'team-a', name: 'on-n1', subresource: 'status' }), true],
  // A node runs its pods; it never opens sessions into them through the API (kube-apiserver's node authorizer neither).
  ['exec into its own pod over SPDY', r('create', 'pods', { namespace: 'team-a', name: 'on-n1', subresource: 'exec' }), false],
  ['exec into its own pod over a WebSocket', r('get', 'pods', { namespace: 'team-a', name: 'on-n1', subresource: 'exec' }), false],
  ['attach to its own pod', r('create', 'pods', { namespace: 'team-a', name: 'on-n1', subresource: 'attach' }), false],
  ['port-forward to its own pod', r('get', 'pods', { namespace: 'team-a', name: 'on-n1', subresource: 'portforward' }), false],
  ['its own Node', r('get', 'nodes', { name: 'n1' }), true],
  ['another Node', r('get', 'nodes', { name: 'n2' }), false],
  ['listing every Node (kube-proxy, docs/adr/170)', r('list', 'nodes'), true],
  ['watching every Node (kube-proxy, docs/adr/170)', r('watch', 'nodes'), true],
  ['patching a Node (NodeRestriction narrows it)', r('patch', 'nodes', { name: 'n2' }), true],
  ['deleting its own Node', r('delete', 'nodes', { name: 'n1' }), true],
  ['deleting another Node', r('delete', 'nodes', { name: 'n2' }), false],
  ['its own Lease', r('update', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'n1' }), true],
  ["another node's Lease", r('update', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease', name: 'n2' }), false],
  ['a Lease elsewhere', r('get', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'default', name: 'n1' }), false],
  ['watching Services (kube-proxy)', r('watch', 'services'), true],
  ['watching Endpoints (kube-proxy)', r('watch', 'endpoints'), true],
  ['listing EndpointSlices (kube-proxy)', r('list', 'endpointslices', { apiGroup: 'discovery.k8s.io' }), true],
  ['creating Events', r('create', 'events', { namespace: 'team-a' }), true],
  ['creating Deployments', r('create', 'deployments', { apiGroup: 'apps', namespace: 'team-a' }), false],
  ['creating ClusterRoleBindings', r('create', 'clusterrolebindings', { apiGroup: 'rbac.authorization.k8s.io' }), false],
];

describe('the node authorizer', () => {
  for (const [description, attributes, allowed] of table) {
    it(`${allowed ? 'allows' : 'refuses'} n1 ${description}`, async () => {
      assert.equal((await authorizer.authorize(attributes)).verdict, allowed ? 'allow' : 'no-opinion');
    });
  }

  it("says why, in Kubernetes' words", async () => {
    assert.equal(
      (await authorizer.authorize(r('get', 'secrets', { namespace: 'team-a', name: 'unused' }))).reason,
      "no relationship found between node 'n1' and this object",
    );
    assert.equal((await authorizer.authorize(r('list', 'pods'))).reason, 'can only list/watch pods with spec.nodeName field selector');
  });

  it('has no opinion on a user named like a node but not in system:nodes', async () => {
    assert.equal((await authorizer.authorize(resourceAttributes(impostor, { verb: 'get', resource: 'nodes', name: 'n1' }))).verdict, 'no-opinion');
  });

  it('finds every Secret and ConfigMap a pod references', () => {
    const refs = podReferences(pod('x', 'n1', { initContainers: [{ name: 'i', image: 'busybox', envFrom: [{ secretRef: { name: 'init-secret' } }] }] }));
    assert.deepEqual([...refs.secrets], ['init-secret']);
    assert.equal(refs.serviceAccount, undefined, 'no account unless the pod names one');
    const claims = podReferences(pod('y', 'n1', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-0' } }] }));
    assert.deepEqual([...claims.persistentVolumeClaims], ['data-0']);
  });
});
