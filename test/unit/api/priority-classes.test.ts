/**
 * PriorityClass over the memory store: the system classes, kube-apiserver's validation, the
 * Table columns, and pod priority from `priorityClassName` at admission (Kubernetes' Priority plugin).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler, ApiResponse } from '../../../functions/api/http.ts';
import { ensureSystemPriorityClasses } from '../../../functions/domain/scheduling/system-priority-classes.ts';
import { types } from '../../../schemas/registry.ts';
import { adminApi, apiCaller } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;
const call = apiCaller(() => api);

const json = (response: ApiResponse): Record<string, any> => JSON.parse(String(response.body));
const classes = '/apis/scheduling.k8s.io/v1/priorityclasses';
const priorityClass = (name: string, value: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'scheduling.k8s.io/v1',
  kind: 'PriorityClass',
  metadata: { name },
  value,
  ...extra,
});
const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'web', image: 'nginx' }], ...spec },
});
const pods = '/api/v1/namespaces/apps/pods';

beforeEach(async () => {
  world = await memoryCluster({ settings: { defaultTolerationSeconds: 300 } });
  await world.namespace('apps');
  await ensureSystemPriorityClasses(world.store);
  api = adminApi({
    store: world.store,
  });
});
afterEach(() => world.close());

describe('PriorityClasses', () => {
  it('has the two system classes, once however often they are ensured', async () => {
    await ensureSystemPriorityClasses(world.store);
    const listed = json(await call(classes));
    assert.deepEqual(
      listed.items.map((c: { metadata: { name: string }; value: number; preemptionPolicy: string }) => `${c.metadata.name}=${c.value}/${c.preemptionPolicy}`),
      ['system-cluster-critical=2000000000/PreemptLowerPriority', 'system-node-critical=2000001000/PreemptLowerPriority'],
    );
  });

  it('prints kube-apiserver’s columns', async () => {
    await call(classes, { method: 'POST', body: priorityClass('high', 1000, { globalDefault: true }) });
    const table = json(await call(`${classes}/high`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }));
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string }) => c.name),
      ['Name', 'Value', 'Global-Default', 'Age', 'PreemptionPolicy'],
    );
    assert.deepEqual(
      [table.rows[0].cells[0], table.rows[0].cells[1], table.rows[0].cells[2], table.rows[0].cells[4]],
      ['high', 1000, true, 'PreemptLowerPriority'],
    );
  });

  const refusals: { name: string; body: unknown; field: string; message: string }[] = [
    {
      name: 'a reserved name',
      body: priorityClass('system-mine', 10),
      field: 'metadata.name',
      message:
        "Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
    },
    {
      name: 'a value above the user range',
      body: priorityClass('huge', 1_000_000_001),
      field: 'value',
      message: 'Forbidden: maximum allowed value of a user defined priority is 1000000000',
    },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} with 422`, async () => {
      const response = await call(classes, { method: 'POST', body: refusal.body });
      assert.equal(response.status, 422);
      assert.deepEqual(
        json(response).details.causes.map((c: { field: string; message: string }) => [c.field, c.message]),
        [[refusal.field, refusal.message]],
      );
    });
  }

  it('refuses a change of value', async () => {
    await call(classes, { method: 'POST', body: priorityClass('high', 1000) });
    const response = await call(`${classes}/high`, { method: 'PUT', body: priorityClass('high', 2000) });
    assert.deepEqual([response.status, json(response).details.causes[0].message], [422, 'Forbidden: may not be changed in an update.']);
  });
});

describe('pod priority at admission', () => {
  it('gives a pod its class’s value and preemption policy', async () => {
    await call(classes, { method: 'POST', body: priorityClass('high', 1000, { preemptionPolicy: 'Never' }) });
    const response = await call(pods, { method: 'POST', body: pod('a', { priorityClassName: 'high' }) });
    assert.equal(response.status, 201, String(response.body));
    const created = json(response);
    assert.deepEqual([created.spec.priority, created.spec.preemptionPolicy], [1000, 'Never']);
    const critical = json(await call(pods, { method: 'POST', body: pod('b', { priorityClassName: 'system-cluster-critical' }) }));
    assert.equal(critical.spec.priority, 2_000_000_000);
  });

  it('gives a pod without a class the global default class', async () => {
    await call(classes, { method: 'POST', body: priorityClass('normal', 50, { globalDefault: true }) });
    const created = json(await call(pods, { method: 'POST', body: pod('a') }));
    assert.deepEqual([created.spec.priorityClassName, created.spec.priority], ['normal', 50]);
  });

  it('refuses a pod naming a missing class, or stating another priority, with 403', async () => {
    const missing = await call(pods, { method: 'POST', body: pod('a', { priorityClassName: 'nosuch' }) });
    assert.deepEqual([missing.status, json(missing).message], [403, 'pods "a" is forbidden: no PriorityClass with name nosuch was found']);
    const stated = await call(pods, { method: 'POST', body: pod('b', { priorityClassName: 'system-node-critical', priority: 5 }) });
    assert.deepEqual(
      [stated.status, json(stated).message],
      [
        403,
        'pods "b" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 2000001000 from the given PriorityClass name',
      ],
    );
    assert.equal((await world.raw.get(types.pods, 'apps', 'a').catch(() => undefined)) ?? undefined, undefined);
  });
});
