/** The ReplicaSet controller's apply step against the memory store: what it writes, and through which path. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { replicaSetController } from '../../../../functions/controllers/replicaset/replicaset-controller.ts';
import { ConflictError } from '../../../../functions/core/errors.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

function replicaSet(name: string, replicas: number, podSpec: Record<string, unknown> = {}, namespace = 'apps'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx' }], ...podSpec } },
    },
  };
}

/** The random part of the token volume's name (`kube-api-access-<5>`) is each pod's own. */
const withoutVolumeSuffix = (spec: unknown) => JSON.parse(JSON.stringify(spec).replace(/kube-api-access-[a-z0-9]{5}/g, 'kube-api-access-*')) as unknown;

/** A pod made by hand, with no owner. */
const bare = (name: string, app: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'apps', labels: { app } },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
});

const key = (name: string, namespace = 'apps') => ({ typeId: types.replicasets.id, namespace, name });
const livePods = async (world: MemoryCluster, namespace = 'apps') =>
  (await world.raw.list(types.pods, { namespace })).items.filter((pod) => !pod.metadata.deletionTimestamp);

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster({ settings: { defaultTolerationSeconds: 300 } });
  await world.namespace('apps');
});
afterEach(() => world.close());

describe('replicaSetController.reconcile', () => {
  it('creates the missing pods with exactly what a pod made through the API gets', async () => {
    await world.admission.create(types.replicasets, replicaSet('web', 3));
    const ctx = world.controllerContext();
    await replicaSetController.reconcile(key('web'), ctx);
    const pods = await livePods(world);
    assert.equal(pods.length, 3);
    // What the API's create makes of the same pod (its steps in its order, as a dry run).
    const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'by-hand', namespace: 'apps' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };
    const apiMade = await world.admission.writeCreate(types.pods, world.admission.admitCreate(types.pods, body).object, { dryRun: true });
    assert.ok(JSON.stringify(apiMade.spec).includes('kube-api-access-'), 'the API mounts the ServiceAccount token');
    for (const pod of pods) {
      assert.deepEqual(
        withoutVolumeSuffix(pod.spec),
        withoutVolumeSuffix(apiMade.spec),
        `${pod.metadata.name} has the API's defaults, default tolerations, ServiceAccount and token volume`,
      );
      assert.equal(pod.metadata.ownerReferences?.[0]?.name, 'web');
    }
    assert.deepEqual(
      ctx.recorded.map((e) => e.reason),
      ['SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate'],
    );
  });

  it('makes no pod that names a missing ServiceAccount and says why in a FailedCreate event, as the API refuses it', async () => {
    await world.admission.create(types.replicasets, replicaSet('web', 2, { serviceAccountName: 'ghost' }));
    const ctx = world.controllerContext();
    await replicaSetController.reconcile(key('web'), ctx);
    assert.equal((await livePods(world)).length, 0);
    assert.deepEqual(
      ctx.recorded.map((e) => [e.reason, /is forbidden: error looking up service account apps\/ghost: serviceaccount "ghost" not found$/.test(e.message)]),
      [
        ['FailedCreate', true],
        ['FailedCreate', true],
      ],
    );
  });

  it('reports the pods it sees through the status subresource, leaving the spec alone', async () => {
    await world.admission.create(types.replicasets, replicaSet('web', 2));
    await replicaSetController.reconcile(key('web'), world.controllerContext());
    await replicaSetController.reconcile(key('web'), world.controllerContext());
    const rs = await world.raw.get(types.replicasets, 'apps', 'web');
    assert.deepEqual([(rs.status as { replicas: number }).replicas, (rs.spec as { replicas: number }).replicas], [2, 2]);
  });

  it('deletes surplus pods gracefully when they run on a node and at once when they do not', async () => {
    await world.admission.create(types.replicasets, replicaSet('web', 2));
    await replicaSetController.reconcile(key('web'), world.controllerContext());
    const [first] = await livePods(world);
    assert.ok(first);
    await world.admission.bindAll([{ pod: first, nodeName: 'n1' }], new Date());
    const rs = await world.raw.get(types.replicasets, 'apps', 'web');
    await world.admission.update(types.replicasets, { ...rs, spec: { ...(rs.spec as object), replicas: 0 } }, rs);
    const ctx = world.controllerContext();
    await replicaSetController.reconcile(key('web'), ctx);
    const left = (await world.raw.list(types.pods, { namespace: 'apps' })).items;
    assert.deepEqual(
      left.map((pod) => [pod.metadata.name, pod.metadata.deletionGracePeriodSeconds]),
      [[first.metadata.name, 30]],
      'the bound pod waits for its node; the unbound one is gone',
    );
    assert.deepEqual(
      ctx.recorded.map((e) => e.reason),
      ['SuccessfulDelete', 'SuccessfulDelete'],
    );
  });

  const refusals: { name: string; setup: () => Promise<KubeObject>; namespace: string; message: RegExp }[] = [
    {
      name: 'records FailedCreate and creates nothing when the pod template is invalid',
      namespace: 'apps',
      // Stored past the API (an older release's rules, say): only the pods it asks for are refused.
      setup: () => world.raw.create(types.replicasets, replicaSet('web', 2, { containers: [{ name: 'Web_1', image: 'nginx' }] })),
      message: /^Error creating: Pod "web-" is invalid: spec\.containers\[0\]\.name: Invalid value: "Web_1"/,
    },
    {
      name: 'records FailedCreate and creates nothing in a namespace being terminated, without failing the reconcile',
      namespace: 'going',
      setup: async () => {
        const namespace = await world.namespace('going');
        const rs = await world.admission.create(types.replicasets, replicaSet('web', 2, {}, 'going'));
        await world.admission.delete(types.namespaces, namespace);
        return rs;
      },
      message: /^Error creating: pods is forbidden: unable to create new content in namespace going because it is being terminated$/,
    },
  ];
  for (const c of refusals) {
    it(c.name, async () => {
      await c.setup();
      const ctx = world.controllerContext();
      await replicaSetController.reconcile(key('web', c.namespace), ctx);
      assert.equal((await livePods(world, c.namespace)).length, 0);
      assert.equal(ctx.recorded.length, 2);
      for (const event of ctx.recorded) {
        assert.deepEqual([event.type, event.reason], ['Warning', 'FailedCreate']);
        assert.match(event.message, c.message);
      }
    });
  }

  it('adopts the orphans its selector matches instead of creating pods, and leaves pods the selector does not match', async () => {
    const rs = await world.admission.create(types.replicasets, replicaSet('web', 2));
    await world.admission.create(types.pods, bare('left-behind', 'web'));
    await world.admission.create(types.pods, bare('stranger', 'db'));
    const ctx = world.controllerContext();
    await replicaSetController.reconcile(key('web'), ctx);
    const pods = await livePods(world);
    const controllerOf = (name: string) => pods.find((pod) => pod.metadata.name === name)?.metadata.ownerReferences?.find((ref) => ref.controller)?.uid;
    assert.equal(controllerOf('left-behind'), rs.metadata.uid);
    assert.equal(controllerOf('stranger'), undefined);
    assert.equal(pods.filter((pod) => pod.metadata.ownerReferences?.some((ref) => ref.uid === rs.metadata.uid)).length, 2, 'one adopted, one created');
    assert.deepEqual(
      ctx.recorded.map((e) => e.reason),
      ['SuccessfulCreate'],
    );
  });

  it('releases a pod relabelled out of its selector and replaces it', async () => {
    const rs = await world.admission.create(types.replicasets, replicaSet('web', 1));
    await replicaSetController.reconcile(key('web'), world.controllerContext());
    const [first] = await livePods(world);
    assert.ok(first);
    await world.admission.update(types.pods, { ...first, metadata: { ...first.metadata, labels: { app: 'debugging' } } }, first);
    await replicaSetController.reconcile(key('web'), world.controllerContext());
    const pods = await livePods(world);
    const released = pods.find((pod) => pod.metadata.name === first.metadata.name);
    assert.ok(released, 'the relabelled pod stays');
    assert.equal(released.metadata.ownerReferences, undefined, 'and is nobody’s');
    const owned = pods.filter((pod) => pod.metadata.ownerReferences?.some((ref) => ref.uid === rs.metadata.uid));
    assert.equal(owned.length, 1);
    assert.notEqual(owned[0]?.metadata.name, first.metadata.name);
  });

  it('adopts nothing when the ReplicaSet it read was deleted and made again since', async () => {
    const stale = await world.admission.create(types.replicasets, replicaSet('web', 0));
    await world.raw.delete(types.replicasets, 'apps', 'web');
    await world.admission.create(types.replicasets, replicaSet('web', 0));
    await world.admission.create(types.pods, bare('orphan', 'web'));
    // The reconcile of the stale copy: its first read of the ReplicaSet was made before the replacement.
    const ctx = world.controllerContext();
    let replicaSetReads = 0;
    const store: typeof ctx.store = Object.assign(Object.create(ctx.store), {
      get: (type: ResourceType, namespace: string | undefined, name: string) =>
        type.id === types.replicasets.id && replicaSetReads++ === 0 ? Promise.resolve(stale) : ctx.store.get(type, namespace, name),
    });
    // Its status write is refused too: it is conditional on the ReplicaSet that was deleted.
    await assert.rejects(replicaSetController.reconcile(key('web'), { ...ctx, store }), ConflictError);
    const orphan = await world.raw.get(types.pods, 'apps', 'orphan');
    assert.deepEqual([orphan.metadata.ownerReferences, orphan.metadata.deletionTimestamp], [undefined, undefined]);
  });

  it('does nothing for a ReplicaSet that is gone', async () => {
    const ctx = world.controllerContext();
    world.resetCalls();
    await replicaSetController.reconcile(key('gone'), ctx);
    assert.deepEqual([world.calls.get, world.calls.list, world.calls.create, world.calls.batch], [1, 0, 0, 0]);
  });
});
