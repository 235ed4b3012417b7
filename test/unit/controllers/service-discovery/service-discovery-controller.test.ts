/** The service discovery controller against the memory store, with a directory that records what it is asked (Cloud Map cannot run here). */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { serviceDiscoveryController, withdrawRetrySeconds } from '../../../../functions/controllers/service-discovery/service-discovery-controller.ts';
import type { ServiceDirectory } from '../../../../functions/domain/services/service-directory.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
});
afterEach(() => world.close());

function recordingDirectory(withdrawals: boolean[] = []): ServiceDirectory & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    async publish(namespace, name, addresses) {
      calls.push(['publish', namespace, name, [...addresses]]);
    },
    async withdraw(namespace, name) {
      calls.push(['withdraw', namespace, name]);
      return withdrawals.shift() ?? true;
    },
  };
}

const slice = (name: string, service: string, endpoints: { ip: string; ready: boolean }[]): KubeObject =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: endpoints.map((endpoint) => ({ addresses: [endpoint.ip], conditions: { ready: endpoint.ready } })),
    ports: [{ name: '', port: 80, protocol: 'TCP' }],
  }) as KubeObject;

const key = { typeId: types.services.id, namespace: 'default', name: 'backend' };

describe('serviceDiscoveryController', () => {
  it('looks at a Service when it or one of its EndpointSlices changes', () => {
    const controller = serviceDiscoveryController(recordingDirectory());
    assert.deepEqual(controller.keysFor({ typeId: types.services.id, namespace: 'default', name: 'backend' }), [key]);
    assert.deepEqual(
      controller.keysFor({ typeId: types.endpointslices.id, namespace: 'default', name: 'backend-abc', newObject: slice('backend-abc', 'backend', []) }),
      [key],
    );
    assert.deepEqual(controller.keysFor({ typeId: types.pods.id, namespace: 'default', name: 'backend-1' }), []);
  });

  it("publishes a Service's ready pod IPs from all its slices, each once, and no other Service's", async () => {
    const directory = recordingDirectory();
    await world.raw.create(types.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: 'default' },
      spec: { clusterIP: '10.96.3.3', ports: [{ port: 80 }] },
    });
    await world.raw.create(
      types.endpointslices,
      slice('backend-a', 'backend', [
        { ip: '10.0.2.9', ready: true },
        { ip: '10.0.1.4', ready: false },
      ]),
    );
    await world.raw.create(
      types.endpointslices,
      slice('backend-b', 'backend', [
        { ip: '10.0.1.7', ready: true },
        { ip: '10.0.2.9', ready: true },
      ]),
    );
    await world.raw.create(types.endpointslices, slice('other-a', 'other', [{ ip: '10.0.5.5', ready: true }]));
    await serviceDiscoveryController(directory).reconcile(key, world.controllerContext());
    assert.deepEqual(directory.calls, [['publish', 'default', 'backend', ['10.0.1.7', '10.0.2.9']]]);
  });

  it('withdraws a Service that is gone or became ExternalName, and looks again while the withdrawal is not done', async () => {
    const directory = recordingDirectory([false, true]);
    const controller = serviceDiscoveryController(directory);
    assert.deepEqual(await controller.reconcile(key, world.controllerContext()), { requeueAfterSeconds: withdrawRetrySeconds });
    await world.raw.create(types.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: 'default' },
      spec: { type: 'ExternalName', externalName: 'example.com' },
    });
    assert.equal(await controller.reconcile(key, world.controllerContext()), undefined);
    assert.deepEqual(directory.calls, [
      ['withdraw', 'default', 'backend'],
      ['withdraw', 'default', 'backend'],
    ]);
  });
});
