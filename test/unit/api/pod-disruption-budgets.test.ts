/**
 * PodDisruptionBudget over the memory store: the kind as kube-apiserver serves it, the disruption
 * controller's status, and the eviction subresource that spends the budget (kube-apiserver's
 * EvictionREST: 429 while the budget forbids, one disruption per allowed, never two at once).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler, ApiResponse } from '../../../functions/api/http.ts';
import { disruptionController } from '../../../functions/controllers/disruption/disruption-controller.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { adminApi, apiCaller } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;
const call = apiCaller(() => api);
let clock: Date;

const json = (response: ApiResponse): Record<string, any> => JSON.parse(String(response.body));
const budgets = '/apis/policy/v1/namespaces/apps/poddisruptionbudgets';
const budget = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec });
const evict = (pod: string, deleteOptions?: Record<string, unknown>) =>
  call(`/api/v1/namespaces/apps/pods/${pod}/eviction`, {
    method: 'POST',
    body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: 'apps' }, ...(deleteOptions ? { deleteOptions } : {}) },
  });

let replicaSet: KubeObject;

/** A Running pod of the web ReplicaSet, ready or not. */
async function runningPod(name: string, ready = true, phase = 'Running'): Promise<KubeObject> {
  return world.raw.create(types.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'apps',
      labels: { app: 'web' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: replicaSet.metadata.uid ?? '', controller: true }],
    },
    spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'nginx' }] },
    status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
}

/** One pass of the disruption controller over every budget of the namespace. */
async function sync(): Promise<Record<string, any>> {
  const context = world.controllerContext(() => clock);
  const result = await disruptionController.reconcile({ typeId: types.poddisruptionbudgets.id, namespace: 'apps', name: '' }, context);
  return { result, recorded: context.recorded };
}

const statusOf = async (name: string) => json(await call(`${budgets}/${name}`)).status;

beforeEach(async () => {
  clock = new Date('2026-11-28T12:00:00Z');
  world = await memoryCluster();
  await world.namespace('apps');
  replicaSet = await world.raw.create(types.replicasets, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'apps' },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    },
  });
  api = adminApi({
    store: world.store,
    now: () => clock,
  });
});
afterEach(() => world.close());

describe('the PodDisruptionBudget kind', () => {
  it('starts with an empty status whatever the client sent, and prints kube-apiserver’s columns', async () => {
    const created = await call(budgets, { method: 'POST', body: { ...budget('b', { maxUnavailable: '25%' }), status: { disruptionsAllowed: 9 } } });
    assert.equal(created.status, 201, String(created.body));
    assert.deepEqual(json(created).status, { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
    const table = json(await call(`${budgets}/b`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }));
    assert.deepEqual(
      table.columnDefinitions.map((c: { name: string }) => c.name),
      ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age'],
    );
    assert.deepEqual(table.rows[0].cells.slice(0, 4), ['b', 'N/A', '25%', 0]);
  });

  const refusals = [
    { name: 'both bounds', spec: { minAvailable: 1, maxUnavailable: 1 }, field: 'spec', message: 'minAvailable and maxUnavailable cannot be both set' },
    { name: 'a percentage above 100', spec: { minAvailable: '150%' }, field: 'spec.minAvailable', message: 'must not be greater than 100%' },
    { name: 'a negative number', spec: { maxUnavailable: -1 }, field: 'spec.maxUnavailable', message: 'must be greater than or equal to 0' },
    {
      name: 'an unknown eviction policy',
      spec: { unhealthyPodEvictionPolicy: 'Sometimes' },
      field: 'spec.unhealthyPodEvictionPolicy',
      message: 'Unsupported value',
    },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} with 422`, async () => {
      const response = await call(budgets, { method: 'POST', body: budget('bad', refusal.spec) });
      assert.equal(response.status, 422, String(response.body));
      const [cause] = json(response).details.causes;
      assert.equal(cause.field, refusal.field);
      assert.ok(cause.message.includes(refusal.message), cause.message);
    });
  }
});

describe('the disruption controller', () => {
  it('counts minAvailable against the covered pods: expected, healthy, desired, allowed and the condition', async () => {
    await call(budgets, { method: 'POST', body: budget('b', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }) });
    for (const name of ['p1', 'p2', 'p3']) await runningPod(name);
    await runningPod('p4', false);
    await sync();
    const status = await statusOf('b');
    assert.deepEqual(
      [status.expectedPods, status.currentHealthy, status.desiredHealthy, status.disruptionsAllowed, status.observedGeneration],
      [4, 3, 2, 1, 1],
    );
    assert.deepEqual(status.conditions, [
      { type: 'DisruptionAllowed', status: 'True', observedGeneration: 1, lastTransitionTime: '2026-11-28T12:00:00Z', reason: 'SufficientPods', message: '' },
    ]);
    // Nothing moved: nothing written.
    world.resetCalls();
    await sync();
    assert.equal(world.calls.update, 0);
  });

  it('counts maxUnavailable and percentages against the owning controller’s scale, rounded up', async () => {
    await call(budgets, { method: 'POST', body: budget('max', { maxUnavailable: '30%', selector: { matchLabels: { app: 'web' } } }) });
    await call(budgets, { method: 'POST', body: budget('min', { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } }) });
    for (const name of ['p1', 'p2']) await runningPod(name);
    await sync();
    const max = await statusOf('max');
    // Scale 4: 30% of 4 rounds up to 2 unavailable, so 2 must stay healthy.
    assert.deepEqual([max.expectedPods, max.desiredHealthy, max.currentHealthy, max.disruptionsAllowed], [4, 2, 2, 0]);
    assert.equal(max.conditions[0].reason, 'InsufficientPods');
    const min = await statusOf('min');
    assert.deepEqual([min.expectedPods, min.desiredHealthy, min.disruptionsAllowed], [4, 2, 0]);
  });

  it('allows nothing, with SyncFailed, when a covered pod’s controller cannot be found', async () => {
    await call(budgets, { method: 'POST', body: budget('b', { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } }) });
    await world.raw.delete(types.replicasets, 'apps', 'web');
    await runningPod('p1');
    const { recorded } = await sync();
    const status = await statusOf('b');
    assert.equal(status.disruptionsAllowed, 0);
    assert.deepEqual(
      [status.conditions[0].status, status.conditions[0].reason, status.conditions[0].message],
      ['False', 'SyncFailed', 'found no controllers for pod "p1"'],
    );
    assert.ok(recorded.some((e: { reason: string }) => e.reason === 'CalculateExpectedPodCountFailed'));
  });

  it('keeps an evicted pod out of the healthy count until it is deleted or two minutes pass', async () => {
    await call(budgets, { method: 'POST', body: budget('b', { minAvailable: 1, selector: { matchLabels: { app: 'web' } } }) });
    for (const name of ['p1', 'p2', 'p3']) await runningPod(name);
    await sync();
    assert.equal((await statusOf('b')).disruptionsAllowed, 2);
    const stored = await world.raw.get(types.poddisruptionbudgets, 'apps', 'b');
    // An eviction recorded whose pod is not (yet) being deleted.
    await world.raw.update(types.poddisruptionbudgets, { ...stored, status: { ...(stored.status as object), disruptedPods: { p1: '2026-11-28T12:00:00Z' } } });
    const first = await sync();
    assert.equal(first.result?.requeueAfterSeconds, 120);
    assert.deepEqual([(await statusOf('b')).currentHealthy, (await statusOf('b')).disruptionsAllowed], [2, 1]);
    clock = new Date('2026-11-28T12:02:01Z');
    const late = await sync();
    const status = await statusOf('b');
    assert.deepEqual([status.currentHealthy, status.disruptionsAllowed, status.disruptedPods], [3, 2, undefined]);
    assert.ok(late.recorded.some((e: { reason: string }) => e.reason === 'NotDeleted'));
  });

  it('says NoPods for a budget that covers none', async () => {
    await call(budgets, { method: 'POST', body: budget('b', { minAvailable: 1, selector: { matchLabels: { app: 'none' } } }) });
    const { recorded } = await sync();
    assert.deepEqual(
      recorded.map((e: { reason: string; message: string }) => [e.reason, e.message]),
      [['NoPods', 'No matching pods found']],
    );
    assert.equal((await statusOf('b')).disruptionsAllowed, 0);
  });
});

describe('the eviction subresource under a budget', () => {
  beforeEach(async () => {
    await call(budgets, { method: 'POST', body: budget('b', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }) });
    for (const name of ['p1', 'p2', 'p3']) await runningPod(name);
    await sync();
  });

  it('evicts while the budget allows, then refuses with 429 and kube-apiserver’s words', async () => {
    const first = await evict('p1');
    assert.equal(first.status, 201, String(first.body));
    const status = await statusOf('b');
    assert.deepEqual([status.disruptionsAllowed, Object.keys(status.disruptedPods)], [0, ['p1']]);
    assert.equal(status.conditions[0].reason, 'InsufficientPods');
    // The controller sees p1 on its way out.
    await sync();
    assert.equal((await statusOf('b')).disruptedPods, undefined);
    const second = await evict('p2');
    assert.equal(second.status, 429);
    assert.deepEqual(json(second), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      reason: 'TooManyRequests',
      details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget b needs 2 healthy pods and has 2 currently' }] },
      code: 429,
    });
    assert.equal((await world.raw.get(types.pods, 'apps', 'p2')).metadata.deletionTimestamp, undefined);
    // The evicted pod carries DisruptionTarget while it terminates; the refused one does not.
    const evicted = await world.raw.get(types.pods, 'apps', 'p1');
    assert.ok(evicted.metadata.deletionTimestamp);
    assert.deepEqual(
      (evicted.status as { conditions: Record<string, string>[] }).conditions.find((c) => c.type === 'DisruptionTarget'),
      {
        type: 'DisruptionTarget',
        status: 'True',
        lastTransitionTime: '2026-11-28T12:00:00Z',
        reason: 'EvictionByEvictionAPI',
        message: 'Eviction API: evicting',
      },
    );
    const refused = await world.raw.get(types.pods, 'apps', 'p2');
    assert.equal(
      (refused.status as { conditions: { type: string }[] }).conditions.some((c) => c.type === 'DisruptionTarget'),
      false,
    );
  });

  it('lets exactly one of two concurrent evictions spend the last allowed disruption', async () => {
    const answers = await Promise.all([evict('p1'), evict('p2'), evict('p3')]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 429, 429]);
    const deleting = (await world.raw.list(types.pods, { namespace: 'apps' })).items.filter((p) => p.metadata.deletionTimestamp);
    assert.equal(deleting.length, 1);
  });

  it('spends nothing on a dry run but still refuses one the budget forbids', async () => {
    const dry = await evict('p1', { dryRun: ['All'] });
    assert.equal(dry.status, 201);
    assert.equal((await statusOf('b')).disruptionsAllowed, 1);
    await evict('p1');
    assert.equal((await evict('p2', { dryRun: ['All'] })).status, 429);
  });

  it('refuses while the controller has not seen the budget’s generation', async () => {
    const stored = json(await call(`${budgets}/b`));
    const changed = await call(`${budgets}/b`, { method: 'PUT', body: { ...stored, spec: { ...stored.spec, minAvailable: 1 } } });
    assert.equal(changed.status, 200, String(changed.body));
    const refused = await evict('p1');
    assert.equal(refused.status, 429);
    assert.deepEqual(json(refused).details, {
      causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget b is still being processed by the server.' }],
      retryAfterSeconds: 10,
    });
  });

  it('evicts pending pods without the budget, and unready ones under AlwaysAllow or a met budget', async () => {
    await world.raw.delete(types.pods, 'apps', 'p3');
    await runningPod('pending', false, 'Pending');
    await sync();
    assert.equal((await evict('pending')).status, 201);
    await runningPod('unready', false);
    await sync();
    // Two healthy of two desired: the unready pod may go without spending anything.
    assert.equal((await evict('unready')).status, 201);
    assert.equal((await statusOf('b')).disruptionsAllowed, 0);
    const stored = json(await call(`${budgets}/b`));
    await call(`${budgets}/b`, { method: 'PUT', body: { ...stored, spec: { ...stored.spec, minAvailable: 3, unhealthyPodEvictionPolicy: 'AlwaysAllow' } } });
    await runningPod('sick', false);
    await sync();
    assert.equal((await evict('sick')).status, 201);
    assert.equal((await evict('p1')).status, 429);
  });

  it('answers 500 for a pod two budgets cover, as kube-apiserver', async () => {
    await call(budgets, { method: 'POST', body: budget('all', { minAvailable: 0, selector: {} }) });
    const response = await evict('p1');
    assert.equal(response.status, 500);
    assert.equal(json(response).message, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  });
});
