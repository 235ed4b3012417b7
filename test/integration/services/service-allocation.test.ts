import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidError, isApiError } from '../../../functions/core/errors.ts';
import {
  allocateService,
  ipAddressRecords,
  nodePortRecords,
  releaseAllocationsOf,
  releaseService,
  repairServiceAllocations,
  writeServiceWithAllocations,
} from '../../../functions/domain/services/service-allocation.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

function service(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ...spec } };
}

const specOf = (s: KubeObject) => s.spec as { clusterIP: string; ports: { nodePort?: number }[] };

type AllocationOptions = NonNullable<Parameters<typeof allocateService>[3]>;

/**
 * The tests of this file share one store, so a value one test picks at random must never be a
 * value another test asks for by number. Each test allocates in its own lane: random picks come
 * from the lower half of its slice of the NodePort range and of the service CIDR, and the values
 * it asks for by number from the upper half, which nothing ever picks at random.
 */
function lane(index: number) {
  const base = 30000 + index * 100;
  return {
    /** Options for allocations that pick at random. */
    random: { nodePortRange: { min: base, max: base + 49 }, serviceCidr: `10.96.${index}.0/25` } satisfies AllocationOptions,
    /** Options for allocations that ask for `port(k)` or `ip(k)`. */
    chosen: { nodePortRange: { min: base, max: base + 99 }, serviceCidr: `10.96.${index}.0/24` } satisfies AllocationOptions,
    port: (k: number) => base + 50 + k,
    ip: (k: number) => `10.96.${index}.${128 + k}`,
  };
}

async function createService(store: DynamoDbStore, object: KubeObject, options: AllocationOptions): Promise<KubeObject> {
  return writeServiceWithAllocations(store, object, undefined, (allocated) => store.create(types.services, allocated), options);
}

function expectInvalid(field: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof InvalidError, String(error));
    assert.equal(error.code, 422);
    assert.equal(error.details?.causes?.[0]?.field, field);
    assert.match(error.details?.causes?.[0]?.message ?? '', message);
    return true;
  };
}

describe('service allocation against DynamoDB Local', () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
  });
  after(async () => {
    store?.close();
    await db?.cleanup();
  });

  it('gives 20 concurrent NodePort Services distinct ClusterIPs and NodePorts', async () => {
    const { random } = lane(0);
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createService(store, service('concurrent', `svc-${i}`, { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] }), random),
      ),
    );
    const ips = created.map((s) => specOf(s).clusterIP);
    const ports = created.map((s) => specOf(s).ports[0]?.nodePort);
    assert.equal(new Set(ips).size, 20, `distinct IPs: ${ips}`);
    assert.equal(new Set(ports).size, 20, `distinct ports: ${ports}`);
    for (const ip of ips) assert.match(ip, /^10\.(9[6-9]|10[0-9]|11[01])\./);
    for (const port of ports) assert.ok(port !== undefined && port >= 30000 && port <= 32767);
  });

  it('lets exactly one of several concurrent requests for one NodePort win; the others get 422', async () => {
    const { chosen, port, ip } = lane(1);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        createService(store, service('race', `want-${i}`, { type: 'NodePort', clusterIP: ip(i), ports: [{ port: 80, nodePort: port(0) }] }), chosen),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) {
      if (r.status === 'rejected')
        expectInvalid('spec.ports[0].nodePort', new RegExp(`^Invalid value: ${port(0)}: provided port is already allocated$`))(r.reason);
    }
  });

  it('fills a small NodePort range with distinct ports under concurrency, then reports it full', async () => {
    // Beyond every lane: 32000-32004 is this test's alone.
    const options = { ...lane(2).random, nodePortRange: { min: 32000, max: 32004 } };
    const created = await Promise.all(
      Array.from({ length: 5 }, (_, i) => createService(store, service('small', `s-${i}`, { type: 'NodePort', ports: [{ port: 80 }] }), options)),
    );
    assert.deepEqual(created.map((s) => specOf(s).ports[0]?.nodePort).sort(), [32000, 32001, 32002, 32003, 32004]);
    await assert.rejects(createService(store, service('small', 's-5', { type: 'NodePort', ports: [{ port: 80 }] }), options), /range is full/);
    assert.ok(await store.get(types.services, 'small', 's-0'));
    await assert.rejects(store.get(types.services, 'small', 's-5'), (e: unknown) => isApiError(e, 404));
  });

  it('refuses a taken NodePort and a taken ClusterIP with 422 and frees what it claimed', async () => {
    const { chosen, port, ip } = lane(3);
    const first = await createService(
      store,
      service('taken', 'first', { type: 'NodePort', clusterIP: ip(0), ports: [{ port: 80, nodePort: port(0) }] }),
      chosen,
    );
    assert.equal(specOf(first).clusterIP, ip(0));
    await assert.rejects(
      createService(
        store,
        service('taken', 'second', {
          type: 'NodePort',
          clusterIP: ip(1),
          ports: [
            { port: 80, nodePort: port(1) },
            { port: 81, nodePort: port(0) },
          ],
        }),
        chosen,
      ),
      expectInvalid('spec.ports[1].nodePort', /provided port is already allocated/),
    );
    // port(1) was claimed for `second` before port(0) failed: it must be free again.
    const third = await createService(
      store,
      service('taken', 'third', { type: 'NodePort', clusterIP: ip(2), ports: [{ port: 80, nodePort: port(1) }] }),
      chosen,
    );
    assert.equal(specOf(third).ports[0]?.nodePort, port(1));
    await assert.rejects(
      createService(store, service('taken', 'fourth', { clusterIP: ip(0), ports: [{ port: 80 }] }), chosen),
      expectInvalid('spec.clusterIPs', /provided IP is already allocated/),
    );
  });

  it('refuses an out-of-range NodePort with the Kubernetes message', async () => {
    await assert.rejects(
      createService(store, service('range', 'low', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }), { serviceCidr: lane(4).random.serviceCidr }),
      expectInvalid('spec.ports[0].nodePort', /^Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767$/),
    );
  });

  it('frees the allocations of a create that fails after allocating', async () => {
    const { random, chosen, port, ip } = lane(5);
    await createService(store, service('dup', 'web', { type: 'NodePort', ports: [{ port: 80 }] }), random);
    await assert.rejects(
      createService(store, service('dup', 'web', { type: 'NodePort', clusterIP: ip(0), ports: [{ port: 80, nodePort: port(0) }] }), chosen),
      (e: unknown) => isApiError(e, 409),
    );
    await assert.rejects(store.get(ipAddressRecords, undefined, ip(0)), (e: unknown) => isApiError(e, 404));
    await assert.rejects(store.get(nodePortRecords, undefined, String(port(0))), (e: unknown) => isApiError(e, 404));
  });

  it('keeps values on update, frees dropped ones, and frees everything on delete', async () => {
    const { random, ip } = lane(6);
    const created = await createService(store, service('update', 'web', { type: 'NodePort', ports: [{ port: 80 }, { port: 443 }] }), random);
    const [http, https] = specOf(created).ports.map((p) => p.nodePort as number);
    const changed = { ...created, spec: { ...(created.spec as object), clusterIP: undefined, clusterIPs: undefined, ports: [{ port: 80 }] } };
    const updated = await writeServiceWithAllocations(store, changed, created, (allocated) => store.update(types.services, allocated), random);
    assert.equal(specOf(updated).clusterIP, specOf(created).clusterIP);
    assert.equal(specOf(updated).ports[0]?.nodePort, http);
    await assert.rejects(store.get(nodePortRecords, undefined, String(https)), (e: unknown) => isApiError(e, 404));
    await assert.rejects(
      writeServiceWithAllocations(
        store,
        { ...updated, spec: { ...(updated.spec as object), clusterIP: ip(0) } },
        updated,
        (a) => store.update(types.services, a),
        random,
      ),
      expectInvalid('spec.clusterIPs[0]', /may not change once set/),
    );
    const removed = await store.delete(types.services, 'update', 'web');
    await releaseService(store, removed.object);
    await assert.rejects(store.get(ipAddressRecords, undefined, specOf(created).clusterIP), (e: unknown) => isApiError(e, 404));
    await assert.rejects(store.get(nodePortRecords, undefined, String(http)), (e: unknown) => isApiError(e, 404));
  });

  it('releases what a Service that went away without the API still holds', async () => {
    const created = await createService(store, service('gone', 'web', { type: 'NodePort', ports: [{ port: 80 }] }), lane(7).random);
    await store.delete(types.services, 'gone', 'web');
    const later = new Date(Date.now() + 60_000);
    const released = await releaseAllocationsOf(store, 'gone', 'web', later);
    assert.deepEqual(released.sort(), [`IPAddress/${specOf(created).clusterIP}`, `ServiceNodePort/${specOf(created).ports[0]?.nodePort}`].sort());
  });

  it('repairs: frees records no Service holds and restores records a Service holds', async () => {
    const { random } = lane(8);
    const created = await createService(store, service('repair', 'kept', { type: 'NodePort', ports: [{ port: 80 }] }), random);
    const orphan = await allocateService(store, service('repair', 'never-written', { type: 'NodePort', ports: [{ port: 80 }] }), undefined, random);
    const keptPort = String(specOf(created).ports[0]?.nodePort);
    await store.delete(nodePortRecords, undefined, keptPort);
    const result = await repairServiceAllocations(store, types.services, new Date(Date.now() + 300_000));
    assert.ok(result.released.includes(`ip/${specOf(orphan).clusterIP}`), JSON.stringify(result));
    assert.ok(result.released.includes(`port/${specOf(orphan).ports[0]?.nodePort}`));
    assert.ok(result.restored.includes(`port/${keptPort}`));
    assert.ok(await store.get(nodePortRecords, undefined, keptPort));
    await assert.rejects(store.get(ipAddressRecords, undefined, specOf(orphan).clusterIP), (e: unknown) => isApiError(e, 404));
  });
});
