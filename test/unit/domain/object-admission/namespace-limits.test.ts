import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ForbiddenError } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('team');
});
afterEach(() => world.close());

const pod = (name: string, resources?: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'team' },
  spec: { containers: [{ name: 'app', image: 'busybox', ...(resources ? { resources } : {}) }] },
});
const quota = (hard: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name: 'q', namespace: 'team' },
  spec: { hard },
});
const limitRange = (item: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'LimitRange',
  metadata: { name: 'l', namespace: 'team' },
  spec: { limits: [{ type: 'Container', ...item }] },
});

async function refusal(object: KubeObject): Promise<string> {
  const error = await world.admission.create(types.pods, object).catch((e: unknown) => e);
  assert.ok(error instanceof ForbiddenError, `expected a 403, got ${String(error)}`);
  return error.message;
}

describe('LimitRanger', () => {
  it('sets the default limit and request of a container that leaves them unset, keeping what it set', async () => {
    await world.admission.create(types.limitranges, limitRange({ default: { memory: '512Mi', cpu: '1' }, defaultRequest: { memory: '256Mi' } }));
    const created = await world.admission.create(types.pods, pod('a', { limits: { cpu: '500m' } }));
    assert.deepEqual((created.spec as { containers: { resources: unknown }[] }).containers[0]?.resources, {
      limits: { cpu: '500m', memory: '512Mi' },
      requests: { memory: '256Mi', cpu: '500m' },
    });
  });

  it("refuses a container over the max with Kubernetes' message", async () => {
    await world.admission.create(types.limitranges, limitRange({ max: { cpu: '1' } }));
    assert.equal(
      await refusal(pod('big', { limits: { cpu: '2' }, requests: { cpu: '2' } })),
      'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
    );
  });
});

describe('ResourceQuota admission', () => {
  it('refuses the pod that would pass the pod count, naming requested, used and limited', async () => {
    await world.admission.create(types.resourcequotas, quota({ pods: '1' }));
    await world.admission.create(types.pods, pod('one'));
    assert.equal(await refusal(pod('two')), 'pods "two" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1');
  });

  it('charges the pods of one batch one after the other', async () => {
    await world.admission.create(types.resourcequotas, quota({ pods: '2' }));
    const { created, refused } = await world.admission.createAll(types.pods, [pod('a'), pod('b'), pod('c')]);
    assert.equal(created.length, 2);
    assert.equal(refused.length, 1);
    assert.match(refused[0]?.error.message ?? '', /exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2/);
  });

  it('sums compute requests and refuses a pod that does not say what it requests', async () => {
    await world.admission.create(types.resourcequotas, quota({ 'requests.cpu': '1', 'limits.memory': '1Gi' }));
    await world.admission.create(types.pods, pod('a', { requests: { cpu: '600m' }, limits: { memory: '512Mi' } }));
    assert.equal(
      await refusal(pod('b', { requests: { cpu: '600m' }, limits: { memory: '512Mi' } })),
      'pods "b" is forbidden: exceeded quota: q, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1',
    );
    assert.equal(await refusal(pod('c')), 'pods "c" is forbidden: failed quota: q: must specify limits.memory for: app; requests.cpu for: app');
  });

  it('counts other kinds by count/<resource>', async () => {
    await world.admission.create(types.resourcequotas, quota({ 'count/configmaps': '1' }));
    const configMap = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'team' } });
    await world.admission.create(types.configmaps, configMap('a'));
    const error = await world.admission.create(types.configmaps, configMap('b')).catch((e: unknown) => e);
    assert.ok(error instanceof ForbiddenError);
    assert.equal(
      error.message,
      'configmaps "b" is forbidden: exceeded quota: q, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1',
    );
  });
});
