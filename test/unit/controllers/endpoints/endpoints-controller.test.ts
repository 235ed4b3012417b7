/** The endpoints controller's apply step against the memory store: Endpoints and the EndpointSlice follow the ready pods. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { endpointsController } from '../../../../functions/controllers/endpoints/endpoints-controller.ts';
import { isApiError } from '../../../../functions/core/errors.ts';
import { ipAddressRecords } from '../../../../functions/domain/services/service-allocation.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

function pod(name: string, ip: string, ready: boolean, labels: Record<string, string> = { app: 'web' }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps', labels },
    spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

const serviceKey = { typeId: types.services.id, namespace: 'apps', name: 'web' };
const namespaceKey = { typeId: types.namespaces.id, name: 'apps' };

async function addresses(world: MemoryCluster): Promise<{ ready: string[]; notReady: string[] }> {
  const endpoints = await world.raw.get(types.endpoints, 'apps', 'web');
  const subsets = (endpoints.subsets ?? []) as { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
  return {
    ready: subsets.flatMap((s) => s.addresses ?? []).map((a) => a.ip),
    notReady: subsets.flatMap((s) => s.notReadyAddresses ?? []).map((a) => a.ip),
  };
}

let world: MemoryCluster;
let service: KubeObject;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  service = await world.admission.create(types.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'apps' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
});
afterEach(() => world.close());

describe('endpointsController.reconcile', () => {
  it("writes Endpoints and an EndpointSlice of the selector's pods, ready and not, owned by the Service", async () => {
    for (const p of [pod('a', '127.1.0.2', true), pod('b', '127.1.0.3', false), pod('other', '127.1.0.9', true, { app: 'db' })]) {
      await world.admission.create(types.pods, p);
    }
    await endpointsController.reconcile(serviceKey, world.controllerContext());
    assert.deepEqual(await addresses(world), { ready: ['127.1.0.2'], notReady: ['127.1.0.3'] });
    const [slice, more] = (await world.raw.list(types.endpointslices, { namespace: 'apps' })).items;
    assert.equal(more, undefined);
    assert.equal(slice?.metadata.ownerReferences?.[0]?.uid, service.metadata.uid);
    assert.equal(slice?.metadata.labels?.['kubernetes.io/service-name'], 'web');
  });

  it('leaves Endpoints that already say the right thing unwritten', async () => {
    await world.admission.create(types.pods, pod('a', '127.1.0.2', true));
    await endpointsController.reconcile(serviceKey, world.controllerContext());
    world.resetCalls();
    await endpointsController.reconcile(namespaceKey, world.controllerContext());
    assert.deepEqual([world.calls.create, world.calls.update, world.calls.delete], [0, 0, 0]);
  });

  it('follows a pod turning ready on the next pass over its namespace', async () => {
    const b = await world.admission.create(types.pods, pod('b', '127.1.0.3', false));
    await endpointsController.reconcile(serviceKey, world.controllerContext());
    await world.admission.update(types.pods, { ...b, status: { ...(b.status as object), conditions: [{ type: 'Ready', status: 'True' }] } }, b);
    await endpointsController.reconcile(namespaceKey, world.controllerContext());
    assert.deepEqual(await addresses(world), { ready: ['127.1.0.3'], notReady: [] });
  });

  it('removes the Endpoints and the slice, and frees the addresses, of a Service that is gone', async () => {
    await world.admission.create(types.pods, pod('a', '127.1.0.2', true));
    await endpointsController.reconcile(serviceKey, world.controllerContext());
    // Removed without the API's delete path (a finalizer's controller, say): its records linger until noticed.
    await world.raw.delete(types.services, 'apps', 'web');
    const later = new Date(Date.now() + 3_600_000);
    await endpointsController.reconcile(
      serviceKey,
      world.controllerContext(() => later),
    );
    await assert.rejects(world.raw.get(types.endpoints, 'apps', 'web'), (e) => isApiError(e, 404));
    assert.equal((await world.raw.list(types.endpointslices, { namespace: 'apps' })).items.length, 0);
    const clusterIP = (service.spec as { clusterIP: string }).clusterIP;
    assert.match(clusterIP, /^10\./);
    assert.deepEqual((await world.raw.list(ipAddressRecords)).items, [], `the record of ${clusterIP} is gone`);
  });
});
