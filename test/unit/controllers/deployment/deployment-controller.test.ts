/** The Deployment controller's apply step against the memory store. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { deploymentController } from '../../../../functions/controllers/deployment/deployment-controller.ts';
import { podTemplateHash } from '../../../../functions/controllers/deployment/plan-deployment.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };

function deployment(replicas: number, name = 'web'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'apps' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template },
  };
}

const key = (name = 'web') => ({ typeId: types.deployments.id, namespace: 'apps', name });
const replicaSets = async (world: MemoryCluster) => (await world.raw.list(types.replicasets, { namespace: 'apps' })).items;

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster();
  await world.namespace('apps');
});
afterEach(() => world.close());

describe('deploymentController.reconcile', () => {
  it("creates the first ReplicaSet, admitted, named for the template's hash, and reports revision 1 in the status", async () => {
    await world.admission.create(types.deployments, deployment(3));
    await deploymentController.reconcile(key(), world.controllerContext());
    const [rs, more] = await replicaSets(world);
    assert.equal(more, undefined);
    assert.ok(rs);
    const hash = podTemplateHash(((await world.raw.get(types.deployments, 'apps', 'web')).spec as { template: never }).template);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.metadata.ownerReferences?.[0]?.kind, 'Deployment');
    assert.equal((rs.spec as { replicas: number }).replicas, 3);
    // Admitted as the API admits one: defaults are filled in.
    assert.equal((rs.spec as { minReadySeconds?: number }).minReadySeconds, 0);
    const stored = await world.raw.get(types.deployments, 'apps', 'web');
    assert.equal(stored.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal((stored.status as { observedGeneration: number }).observedGeneration, stored.metadata.generation);
  });

  it('scales its ReplicaSet when the Deployment is scaled', async () => {
    await world.admission.create(types.deployments, deployment(3));
    await deploymentController.reconcile(key(), world.controllerContext());
    const current = await world.raw.get(types.deployments, 'apps', 'web');
    await world.admission.update(types.deployments, { ...current, spec: { ...(current.spec as object), replicas: 5 } }, current);
    await deploymentController.reconcile(key(), world.controllerContext());
    assert.deepEqual(
      (await replicaSets(world)).map((rs) => (rs.spec as { replicas: number }).replicas),
      [5],
    );
  });

  it('hashes again with a bumped collision count when another object holds the name', async () => {
    const created = await world.admission.create(types.deployments, deployment(1));
    const name = `web-${podTemplateHash((created.spec as { template: never }).template)}`;
    await world.admission.create(types.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: 'apps' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'other' } }, template: { ...template, metadata: { labels: { app: 'other' } } } },
    });
    await deploymentController.reconcile(key(), world.controllerContext());
    const stored = await world.raw.get(types.deployments, 'apps', 'web');
    assert.equal((stored.status as { collisionCount?: number }).collisionCount, 1);
    await deploymentController.reconcile(key(), world.controllerContext());
    assert.equal((await replicaSets(world)).length, 2);
  });

  it('records FailedCreate, and no retry, when admission refuses the ReplicaSet', async () => {
    // A name 253 characters long is a valid Deployment name; with "-<hash>" it is too long for a ReplicaSet.
    const long = 'w'.repeat(253);
    await world.admission.create(types.deployments, deployment(1, long));
    const ctx = world.controllerContext();
    await deploymentController.reconcile(key(long), ctx);
    assert.equal((await replicaSets(world)).length, 0);
    assert.deepEqual(
      ctx.recorded.map((e) => [e.type, e.reason]),
      [['Warning', 'FailedCreate']],
    );
    assert.match(ctx.recorded[0]?.message ?? '', /^Failed to create new replica set "w+-[a-z0-9]+": ReplicaSet.apps "w+-[a-z0-9]+" is invalid: metadata.name/);
  });

  it('does nothing for a Deployment that is gone', async () => {
    await deploymentController.reconcile(key('gone'), world.controllerContext());
    assert.equal((await replicaSets(world)).length, 0);
  });
});
