/** The Deployment controller's apply step against the memory store. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ObjectChange } from '../../../../functions/controller-runtime/controller.ts';
import { memoryEventRecorder } from '../../../../functions/controller-runtime/events.ts';
import { withoutReferenceTo } from '../../../../functions/controller-runtime/owner-references.ts';
import { handleStreamEvent, type StreamDeps, type StreamRecordLike } from '../../../../functions/controller-runtime/run-controllers.ts';
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

describe('deploymentController claims ReplicaSets by its selector', () => {
  const replicasOf = (rs: KubeObject) => (rs.spec as { replicas: number }).replicas;
  const collisionCount = async () => ((await world.raw.get(types.deployments, 'apps', 'web')).status as { collisionCount?: number }).collisionCount;

  it('adopts the ReplicaSet a --cascade=orphan delete left as its new one: the same object, no collision count, no second ReplicaSet', async () => {
    await world.admission.create(types.deployments, deployment(3));
    await deploymentController.reconcile(key(), world.controllerContext());
    const [made] = await replicaSets(world);
    assert.ok(made?.metadata.uid);
    // What the garbage collector does for --cascade=orphan: the references go, then the Deployment.
    const first = await world.raw.get(types.deployments, 'apps', 'web');
    await world.admission.update(types.replicasets, withoutReferenceTo(made, first.metadata.uid ?? ''), made);
    await world.raw.delete(types.deployments, 'apps', 'web');

    const second = await world.admission.create(types.deployments, deployment(3));
    await deploymentController.reconcile(key(), world.controllerContext());
    await deploymentController.reconcile(key(), world.controllerContext());
    const after = await replicaSets(world);
    assert.deepEqual(
      after.map((rs) => [rs.metadata.uid, rs.metadata.ownerReferences?.map((ref) => [ref.uid, ref.controller]), replicasOf(rs)]),
      [[made.metadata.uid, [[second.metadata.uid, true]], 3]],
    );
    assert.equal(await collisionCount(), undefined);
  });

  it('releases a ReplicaSet relabelled out of its selector and makes another under a new hash', async () => {
    await world.admission.create(types.deployments, deployment(2));
    await deploymentController.reconcile(key(), world.controllerContext());
    const [made] = await replicaSets(world);
    assert.ok(made);
    await world.admission.update(types.replicasets, { ...made, metadata: { ...made.metadata, labels: { app: 'debug' } } }, made);
    await deploymentController.reconcile(key(), world.controllerContext());
    const released = await world.raw.get(types.replicasets, 'apps', made.metadata.name ?? '');
    assert.equal(released.metadata.ownerReferences, undefined, 'the controller reference removed');
    // Its hashed name is taken by the released one, as in Kubernetes: hash again.
    assert.equal(await collisionCount(), 1);
    await deploymentController.reconcile(key(), world.controllerContext());
    const current = (await replicaSets(world)).filter((rs) => rs.metadata.uid !== made.metadata.uid);
    assert.deepEqual(
      current.map((rs) => [rs.metadata.ownerReferences?.[0]?.name, replicasOf(rs)]),
      [['web', 2]],
    );
  });

  it('leaves alone a ReplicaSet its selector matches that another controller controls', async () => {
    const otherTemplate = { ...template, spec: { containers: [{ name: 'web', image: 'nginx:other' }] } };
    const other = await world.admission.create(types.deployments, {
      ...deployment(1, 'other'),
      spec: { ...(deployment(1).spec as object), template: otherTemplate },
    });
    await deploymentController.reconcile(key('other'), world.controllerContext());
    const [theirs] = await replicaSets(world);
    await world.admission.create(types.deployments, deployment(1));
    await deploymentController.reconcile(key(), world.controllerContext());
    const stored = await world.raw.get(types.replicasets, 'apps', theirs?.metadata.name ?? '');
    assert.equal(stored.metadata.ownerReferences?.[0]?.uid, other.metadata.uid);
  });
});

describe('an orphan ReplicaSet reaches the Deployments that match it in the batch that made it', () => {
  interface ChangeRecord extends StreamRecordLike {
    readonly change: ObjectChange;
  }
  const deps: () => StreamDeps<ChangeRecord> = () => ({
    store: world.store,
    controllers: [deploymentController],
    events: memoryEventRecorder(),
    parseRecord: (record) => record.change,
  });

  it('adopts a ReplicaSet made by hand with its labels, as an old one', async () => {
    const owner = await world.admission.create(types.deployments, deployment(1));
    await deploymentController.reconcile(key(), world.controllerContext());
    const other = { ...template, spec: { containers: [{ name: 'web', image: 'nginx:older' }] } };
    const orphan = await world.admission.create(types.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'by-hand', namespace: 'apps', labels: { app: 'web' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: other },
    });
    const change: ObjectChange = { typeId: types.replicasets.id, namespace: 'apps', name: 'by-hand', newObject: orphan };
    const result = await handleStreamEvent({ Records: [{ eventID: 'e1', dynamodb: { SequenceNumber: '1' }, change }] }, deps());
    assert.deepEqual(result.batchItemFailures, []);
    const adopted = await world.raw.get(types.replicasets, 'apps', 'by-hand');
    assert.equal(adopted.metadata.ownerReferences?.[0]?.uid, owner.metadata.uid);
    const stored = await world.raw.get(types.deployments, 'apps', 'web');
    assert.equal(stored.metadata.annotations?.['deployment.kubernetes.io/revision'], '1', 'its own ReplicaSet is still the new one');
  });
});
