/**
 * HorizontalPodAutoscaler at autoscaling/v1 over the memory store: every verb served at the old
 * version, and what only v2 can say (other metrics, behavior, conditions) kept through a v1
 * read-modify-write in the annotations Kubernetes uses for it.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ApiHandler } from '../../../functions/api/http.ts';
import { v1CarryAnnotations } from '../../../schemas/horizontal-pod-autoscaler.ts';
import { adminApi, apiCaller, responseJson } from '../../support/api-calls.ts';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.ts';

let world: MemoryCluster;
let api: ApiHandler;
const call = apiCaller(() => api);
const json = responseJson;

const v1 = '/apis/autoscaling/v1/namespaces/apps/horizontalpodautoscalers';
const v2 = '/apis/autoscaling/v2/namespaces/apps/horizontalpodautoscalers';
const memoryMetric = { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } };
const behavior = { scaleDown: { stabilizationWindowSeconds: 5 } };

const v2Autoscaler = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', annotations: { team: 'a' } },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    minReplicas: 1,
    maxReplicas: 4,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }, memoryMetric],
    behavior,
  },
};

beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
  api = adminApi({
    store: world.store,
  });
  const created = await call(v2, { method: 'POST', body: v2Autoscaler });
  assert.equal(created.status, 201, String(created.body));
});
afterEach(() => world.close());

/** The stored object as v2 shows it, with what v1 round trips must keep. */
async function storedV2(): Promise<Record<string, any>> {
  const object = json(await call(`${v2}/web`));
  assert.equal(object.apiVersion, 'autoscaling/v2');
  return object;
}

describe('autoscaling/v1 HorizontalPodAutoscaler', () => {
  it('shows the CPU target as its field and the rest of the v2 spec in the annotations', async () => {
    const object = json(await call(`${v1}/web`));
    assert.equal(object.apiVersion, 'autoscaling/v1');
    assert.equal(object.spec.targetCPUUtilizationPercentage, 60);
    assert.equal(object.spec.metrics, undefined);
    assert.deepEqual(JSON.parse(object.metadata.annotations[v1CarryAnnotations.metrics]), [memoryMetric]);
    assert.deepEqual(JSON.parse(object.metadata.annotations[v1CarryAnnotations.behavior]).scaleDown.stabilizationWindowSeconds, 5);
    assert.equal(object.metadata.annotations.team, 'a');
  });

  it('keeps the other metrics and the behavior through a v1 read and update', async () => {
    const object = json(await call(`${v1}/web`));
    const updated = await call(`${v1}/web`, {
      method: 'PUT',
      body: { ...object, spec: { ...object.spec, maxReplicas: 6, targetCPUUtilizationPercentage: 70 } },
    });
    assert.equal(updated.status, 200, String(updated.body));
    assert.equal(json(updated).apiVersion, 'autoscaling/v1');
    const stored = await storedV2();
    assert.equal(stored.spec.maxReplicas, 6);
    assert.deepEqual(stored.spec.metrics, [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      memoryMetric,
    ]);
    assert.equal(stored.spec.behavior.scaleDown.stabilizationWindowSeconds, 5);
    assert.deepEqual(stored.metadata.annotations, { team: 'a' }, 'the carried annotations are lifted back into the fields');
  });

  it('applies merge, strategic and json patches to the v1 form and keeps what v1 cannot show', async () => {
    const merged = await call(`${v1}/web`, { method: 'PATCH', body: { spec: { maxReplicas: 5 } }, contentType: 'application/merge-patch+json' });
    assert.equal(merged.status, 200, String(merged.body));
    assert.deepEqual([json(merged).apiVersion, json(merged).spec.maxReplicas], ['autoscaling/v1', 5]);
    const strategic = await call(`${v1}/web`, {
      method: 'PATCH',
      body: { metadata: { labels: { tier: 'web' } } },
      contentType: 'application/strategic-merge-patch+json',
    });
    assert.equal(strategic.status, 200, String(strategic.body));
    const patched = await call(`${v1}/web`, {
      method: 'PATCH',
      body: [{ op: 'replace', path: '/spec/targetCPUUtilizationPercentage', value: 40 }],
      contentType: 'application/json-patch+json',
    });
    assert.equal(patched.status, 200, String(patched.body));
    const stored = await storedV2();
    assert.deepEqual(
      [stored.spec.maxReplicas, stored.metadata.labels, stored.spec.metrics[0].resource.target.averageUtilization, stored.spec.metrics[1]],
      [5, { tier: 'web' }, 40, memoryMetric],
    );
    assert.equal(stored.spec.behavior.scaleDown.stabilizationWindowSeconds, 5);
  });

  it('answers a patch that names a stale resourceVersion with 409 and changes nothing', async () => {
    const before = await storedV2();
    await call(`${v2}/web`, { method: 'PATCH', body: { spec: { maxReplicas: 8 } }, contentType: 'application/merge-patch+json' });
    const stale = await call(`${v1}/web`, {
      method: 'PATCH',
      body: { metadata: { resourceVersion: before.metadata.resourceVersion }, spec: { maxReplicas: 2 } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(stale.status, 409, String(stale.body));
    assert.equal(json(stale).kind, 'Status');
    assert.equal((await storedV2()).spec.maxReplicas, 8);
  });

  it('answers a patch of a missing autoscaler with 404 and a broken json patch with a Status', async () => {
    const missing = await call(`${v1}/none`, { method: 'PATCH', body: { spec: { maxReplicas: 2 } }, contentType: 'application/merge-patch+json' });
    assert.equal(missing.status, 404);
    const broken = await call(`${v1}/web`, { method: 'PATCH', body: [{ op: 'remove', path: '/spec/nothing' }], contentType: 'application/json-patch+json' });
    assert.ok(broken.status >= 400 && broken.status < 500, String(broken.status));
    assert.equal(json(broken).kind, 'Status');
    assert.equal((await storedV2()).spec.maxReplicas, 4);
  });

  it('refuses server-side apply at v1 with 405', async () => {
    const applied = await call(`${v1}/web?fieldManager=me`, {
      method: 'PATCH',
      body: { spec: { maxReplicas: 2 } },
      contentType: 'application/apply-patch+yaml',
    });
    assert.equal(applied.status, 405);
    assert.equal(json(applied).kind, 'Status');
  });

  it('watches at v1: each event carries the object as v1 shows it', async () => {
    const listed = json(await call(v1));
    assert.equal(listed.apiVersion, 'autoscaling/v1');
    const abort = new AbortController();
    const response = await call(`${v1}?watch=true&resourceVersion=${listed.metadata.resourceVersion}`, { signal: abort.signal });
    assert.equal(response.status, 200);
    const events = response.stream![Symbol.asyncIterator]();
    await call(`${v2}/web`, { method: 'PATCH', body: { spec: { maxReplicas: 9 } }, contentType: 'application/merge-patch+json' });
    const event = JSON.parse(String((await events.next()).value));
    abort.abort();
    assert.deepEqual(
      [event.type, event.object.apiVersion, event.object.spec.maxReplicas, event.object.spec.targetCPUUtilizationPercentage],
      ['MODIFIED', 'autoscaling/v1', 9, 60],
    );
    assert.deepEqual(JSON.parse(event.object.metadata.annotations[v1CarryAnnotations.metrics]), [memoryMetric]);
  });
});
