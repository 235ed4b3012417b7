/** The `kubernetes` Service controller against the memory store: the Service, its Endpoints and its EndpointSlice. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { endpointsController } from '../../../../functions/controllers/endpoints/endpoints-controller.ts';
import { kubernetesServiceController } from '../../../../functions/controllers/kubernetes-service/kubernetes-service-controller.ts';
import { ipAddressRecords } from '../../../../functions/domain/services/service-allocation.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
});
afterEach(() => world.close());

const controller = kubernetesServiceController({ apiServer: { ip: '127.0.0.1', port: 36443 } });
const key = { typeId: types.services.id, namespace: 'default', name: 'kubernetes' };
const get = (type: (typeof types)['services' | 'endpoints' | 'endpointslices']) => world.raw.get(type, 'default', 'kubernetes');

describe('kubernetesServiceController', () => {
  it('looks again when the default namespace or one of the three objects changes, and at nothing else', () => {
    const changes = [
      { typeId: types.namespaces.id, name: 'default' },
      { typeId: types.namespaces.id, name: 'apps' },
      { typeId: types.services.id, namespace: 'default', name: 'kubernetes' },
      { typeId: types.endpointslices.id, namespace: 'default', name: 'kubernetes' },
      { typeId: types.endpoints.id, namespace: 'default', name: 'kubernetes' },
      { typeId: types.services.id, namespace: 'apps', name: 'kubernetes' },
      { typeId: types.services.id, namespace: 'default', name: 'web' },
    ];
    assert.deepEqual(
      changes.map((change) => controller.keysFor(change).length),
      [1, 0, 1, 1, 1, 0, 0],
    );
  });

  it("makes the Service on the range's first address, port 443 https to the API server, with Endpoints and an EndpointSlice at it", async () => {
    await controller.reconcile(key, world.controllerContext());
    const service = await get(types.services);
    assert.deepEqual(service.metadata.labels, { component: 'apiserver', provider: 'kubernetes' });
    const spec = service.spec as Record<string, unknown>;
    assert.deepEqual(
      [spec.type, spec.clusterIP, spec.clusterIPs, spec.selector, spec.sessionAffinity, spec.ports],
      ['ClusterIP', '10.96.0.1', ['10.96.0.1'], undefined, 'None', [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 36443 }]],
    );
    assert.ok(await world.raw.get(ipAddressRecords, undefined, '10.96.0.1'), 'the address is held in the allocator');
    assert.deepEqual((await get(types.endpoints)).subsets, [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: 36443, protocol: 'TCP' }] }]);
    const slice = await get(types.endpointslices);
    assert.deepEqual(
      [slice.metadata.labels?.['kubernetes.io/service-name'], slice.addressType, slice.endpoints, slice.ports],
      ['kubernetes', 'IPv4', [{ addresses: ['127.0.0.1'], conditions: { ready: true } }], [{ name: 'https', port: 36443, protocol: 'TCP' }]],
    );
  });

  it('writes nothing when all is as it should be, and puts back what was changed or deleted', async () => {
    await controller.reconcile(key, world.controllerContext());
    const versions = async () =>
      Promise.all([get(types.services), get(types.endpoints), get(types.endpointslices)].map(async (o) => (await o).metadata.resourceVersion));
    const before = await versions();
    await controller.reconcile(key, world.controllerContext());
    assert.deepEqual(await versions(), before);

    const endpoints = await get(types.endpoints);
    await world.raw.update(types.endpoints, { ...endpoints, subsets: [] });
    await world.raw.delete(types.endpointslices, 'default', 'kubernetes', { gracePeriodSeconds: 0 });
    const service = await get(types.services);
    await world.raw.update(types.services, {
      ...service,
      spec: { ...(service.spec as object), ports: [{ name: 'https', port: 8443, protocol: 'TCP', targetPort: 1 }] },
    });
    await controller.reconcile(key, world.controllerContext());
    assert.equal(((await get(types.endpoints)).subsets as unknown[]).length, 1);
    assert.ok(await get(types.endpointslices));
    assert.deepEqual(((await get(types.services)).spec as { ports: unknown }).ports, [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 36443 }]);
  });

  it('is left alone by the endpoints controller, as a Service without a selector', async () => {
    await controller.reconcile(key, world.controllerContext());
    const before = await get(types.endpoints);
    await endpointsController.reconcile({ typeId: types.services.id, namespace: 'default', name: 'kubernetes' }, world.controllerContext());
    assert.equal((await get(types.endpoints)).metadata.resourceVersion, before.metadata.resourceVersion);
    assert.ok(await get(types.endpointslices));
  });

  it('makes only the Service where the API server has no address pods reach', async () => {
    await kubernetesServiceController({ serviceCidr: '10.100.0.0/16' }).reconcile(key, world.controllerContext());
    assert.equal(((await get(types.services)).spec as { clusterIP: string }).clusterIP, '10.100.0.1');
    assert.equal((await world.raw.list(types.endpoints, { namespace: 'default' })).items.length, 0);
  });
});

describe('kube-dns Service', () => {
  const withDns = kubernetesServiceController({ apiServer: { ip: '127.0.0.1', port: 36443 }, clusterDns: { ip: '127.0.0.1', port: 40053 } });
  const dnsKey = { typeId: types.services.id, namespace: 'kube-system', name: 'kube-dns' };

  it('is looked at only when the cluster has a DNS server, on changes of kube-system or its objects', () => {
    const change = { typeId: types.services.id, namespace: 'kube-system', name: 'kube-dns' };
    assert.deepEqual(withDns.keysFor(change), [dnsKey]);
    assert.deepEqual(withDns.keysFor({ typeId: types.namespaces.id, name: 'kube-system' }), [dnsKey]);
    assert.deepEqual(controller.keysFor(change), []);
  });

  it('is made on the tenth address with 53/UDP and 53/TCP to the DNS server, with Endpoints and an EndpointSlice there', async () => {
    await withDns.reconcile(dnsKey, world.controllerContext());
    const service = await world.raw.get(types.services, 'kube-system', 'kube-dns');
    const spec = service.spec as Record<string, unknown>;
    assert.equal(service.metadata.labels?.['k8s-app'], 'kube-dns');
    assert.deepEqual(
      [spec.clusterIP, spec.ports],
      [
        '10.96.0.10',
        [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 40053 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 40053 },
        ],
      ],
    );
    const slice = await world.raw.get(types.endpointslices, 'kube-system', 'kube-dns');
    assert.deepEqual(
      [slice.endpoints, slice.ports],
      [
        [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
        [
          { name: 'dns', port: 40053, protocol: 'UDP' },
          { name: 'dns-tcp', port: 40053, protocol: 'TCP' },
        ],
      ],
    );
    assert.deepEqual((await world.raw.get(types.endpoints, 'kube-system', 'kube-dns')).subsets, [
      {
        addresses: [{ ip: '127.0.0.1' }],
        ports: [
          { name: 'dns', port: 40053, protocol: 'UDP' },
          { name: 'dns-tcp', port: 40053, protocol: 'TCP' },
        ],
      },
    ]);
  });
});
