import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Controller, ObjectChange } from '../../../functions/controller-runtime/controller.ts';
import { memoryEventRecorder } from '../../../functions/controller-runtime/events.ts';
import { reconcileKeys, resyncAll } from '../../../functions/controller-runtime/run-controllers.ts';
import { endpointsController } from '../../../functions/controllers/endpoints/endpoints-controller.ts';
import { ensureSystemNamespaces } from '../../../functions/controllers/namespaces/system-namespaces.ts';
import { nodeLifecycleController } from '../../../functions/controllers/node-lifecycle/node-lifecycle-controller.ts';
import { serviceLoadBalancerController } from '../../../functions/controllers/service-load-balancer/service-load-balancer-controller.ts';
import { isApiError } from '../../../functions/core/errors.ts';
import { type Admission, createAdmission } from '../../../functions/domain/object-admission/admission.ts';
import { createLocalLoadBalancers, type LocalLoadBalancers } from '../../../functions/local/load-balancer.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { randomLoopbackSubnet } from '../../support/loopback.ts';
import { waitFor } from '../../support/wait.ts';
import { freePort, get, startBackend } from './proxy-support.ts';

const ready = (status: boolean) => [{ type: 'Ready', status: status ? 'True' : 'False' }];

function pod(
  namespace: string,
  name: string,
  ip: string,
  options: { ready?: boolean; node?: string; labels?: Record<string, string>; tolerations?: unknown[] } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: options.labels ?? { app: 'web' } },
    spec: {
      nodeName: options.node ?? 'node-a',
      containers: [{ name: 'c', image: 'nginx' }],
      ...(options.tolerations ? { tolerations: options.tolerations } : {}),
    },
    status: { phase: 'Running', podIP: ip, conditions: ready(options.ready ?? true) },
  };
}

function withReady(object: KubeObject, status: boolean): KubeObject {
  return { ...object, status: { ...(object.status as object), conditions: ready(status) } };
}

describe('service controllers against DynamoDB Local', () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  /** Writes as the API would make them (the pods' default tolerations, for one). */
  let admission: Admission;
  const events = memoryEventRecorder();
  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    admission = createAdmission({ store });
    await ensureSystemNamespaces(store);
    for (const name of ['endpoints', 'lifecycle', 'lb']) {
      await admission.create(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  });
  after(async () => {
    store?.close();
    await db?.cleanup();
  });

  /** Feeds one write to the controllers as its stream record would, and reconciles the keys. */
  async function written(controller: Controller, typeId: string, oldObject: KubeObject | undefined, newObject: KubeObject | undefined, now = new Date()) {
    const object = (newObject ?? oldObject) as KubeObject;
    const change: ObjectChange = {
      typeId,
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      name: object.metadata.name ?? '',
      ...(oldObject ? { oldObject } : {}),
      ...(newObject ? { newObject } : {}),
    };
    const keys = controller.keysFor(change).map((key) => ({ controller, key }));
    const failed = await reconcileKeys({ store, controllers: [controller], events, now: () => now }, keys);
    assert.equal(failed, 0, 'no reconcile failed');
  }

  describe('endpoints', () => {
    const ns = 'endpoints';
    const addressesOf = async () => {
      const endpoints = await store.get(types.endpoints, ns, 'web');
      const subsets = (endpoints.subsets ?? []) as { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
      return {
        ready: subsets
          .flatMap((s) => s.addresses ?? [])
          .map((a) => a.ip)
          .sort(),
        notReady: subsets
          .flatMap((s) => s.notReadyAddresses ?? [])
          .map((a) => a.ip)
          .sort(),
      };
    };

    it('keeps Endpoints and the EndpointSlice in step with the ready pods of the selector', async () => {
      const service = await store.create(types.services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
      });
      const a = await store.create(types.pods, pod(ns, 'a', '127.1.0.2'));
      const b = await store.create(types.pods, pod(ns, 'b', '127.1.0.3'));
      await store.create(types.pods, pod(ns, 'other', '127.1.0.9', { labels: { app: 'db' } }));
      const result = await resyncAll({ store, controllers: [endpointsController], events });
      assert.equal(result.failed, 0);
      assert.deepEqual(await addressesOf(), { ready: ['127.1.0.2', '127.1.0.3'], notReady: [] });
      const slices = await store.list(types.endpointslices, { namespace: ns, labelSelector: 'kubernetes.io/service-name=web' });
      assert.equal(slices.items.length, 1);
      assert.equal(slices.items[0]?.metadata.ownerReferences?.[0]?.uid, service.metadata.uid);

      const bNotReady = await store.update(types.pods, withReady(b, false));
      await written(endpointsController, types.pods.id, b, bNotReady);
      assert.deepEqual(await addressesOf(), { ready: ['127.1.0.2'], notReady: ['127.1.0.3'] });

      const bReady = await store.update(types.pods, withReady(bNotReady, true));
      await written(endpointsController, types.pods.id, bNotReady, bReady);
      assert.deepEqual(await addressesOf(), { ready: ['127.1.0.2', '127.1.0.3'], notReady: [] });

      const removed = await store.delete(types.pods, ns, 'a');
      await written(endpointsController, types.pods.id, a, undefined);
      assert.equal(removed.removed, true);
      assert.deepEqual(await addressesOf(), { ready: ['127.1.0.3'], notReady: [] });

      await store.delete(types.services, ns, 'web');
      await written(endpointsController, types.services.id, service, undefined);
      await assert.rejects(store.get(types.endpoints, ns, 'web'), (e: unknown) => isApiError(e, 404));
      assert.equal((await store.list(types.endpointslices, { namespace: ns })).items.length, 0);
    });
  });

  describe('node lifecycle', () => {
    const nodeName = 'node-lapse';
    const ns = 'lifecycle';
    const controller = nodeLifecycleController({ nodeGraceSeconds: 40 });
    const conditionOf = (node: KubeObject) =>
      ((node.status as { conditions: { type: string; status: string; reason?: string }[] }).conditions ?? []).find((c) => c.type === 'Ready');
    const taintsOf = (node: KubeObject) => ((node.spec as { taints?: { key: string; effect: string }[] }).taints ?? []).map((t) => `${t.key}:${t.effect}`);

    it('marks a node with a lapsed Lease NotReady, taints it, evicts its pods after their toleration, and recovers', async () => {
      const start = Date.now();
      const at = (seconds: number) => new Date(start + seconds * 1000);
      await store.create(types.nodes, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: nodeName },
        spec: {},
        status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: at(0).toISOString() }] },
      });
      const lease = await store.create(types.leases, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: nodeName, namespace: 'kube-node-lease' },
        spec: { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: at(0).toISOString() },
      });
      await admission.create(types.pods, pod(ns, 'default-toleration', '127.1.1.2', { node: nodeName }));
      await admission.create(
        types.pods,
        pod(ns, 'short-toleration', '127.1.1.3', {
          node: nodeName,
          tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }],
        }),
      );
      const runAt = async (seconds: number) => assert.equal((await resyncAll({ store, controllers: [controller], events, now: () => at(seconds) })).failed, 0);

      await runAt(30);
      let node = await store.get(types.nodes, undefined, nodeName);
      assert.equal(conditionOf(node)?.status, 'True', 'within the grace period');
      assert.deepEqual(taintsOf(node), []);

      await runAt(41);
      node = await store.get(types.nodes, undefined, nodeName);
      assert.deepEqual([conditionOf(node)?.status, conditionOf(node)?.reason], ['Unknown', 'NodeStatusUnknown']);
      assert.deepEqual(taintsOf(node), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
      const podReady = async (name: string) => ((await store.get(types.pods, ns, name)).status as { conditions: { status: string }[] }).conditions[0]?.status;
      assert.equal(await podReady('default-toleration'), 'False', 'pods of an unreachable node are not ready');
      assert.ok(events.recorded.some((e) => e.reason === 'NodeNotReady'));

      await runAt(52);
      const short = await store.get(types.pods, ns, 'short-toleration');
      assert.ok(short.metadata.deletionTimestamp, 'evicted after its 10 s toleration');
      assert.equal((await store.get(types.pods, ns, 'default-toleration')).metadata.deletionTimestamp, undefined, 'the 300 s one stays');

      await runAt(342);
      assert.ok((await store.get(types.pods, ns, 'default-toleration')).metadata.deletionTimestamp, 'evicted after the default 300 s');

      // Nobody on the unreachable node finishes the graceful deletions; once their grace is over they go.
      await runAt(400);
      await assert.rejects(store.get(types.pods, ns, 'short-toleration'), (e: unknown) => isApiError(e, 404));
      await assert.rejects(store.get(types.pods, ns, 'default-toleration'), (e: unknown) => isApiError(e, 404));

      const renewed = await store.update(types.leases, { ...lease, spec: { ...(lease.spec as object), renewTime: at(500).toISOString() } });
      await written(controller, types.leases.id, lease, renewed, at(501));
      node = await store.get(types.nodes, undefined, nodeName);
      assert.equal(conditionOf(node)?.status, 'True');
      assert.deepEqual(taintsOf(node), []);
    });
  });

  describe('load balancer (local provider)', () => {
    const ns = 'lb';
    let balancers: LocalLoadBalancers;
    const subnet = randomLoopbackSubnet();
    before(() => {
      balancers = createLocalLoadBalancers({ addressRange: subnet.cidr, retryBindMs: 100 });
    });
    after(() => balancers.close());

    const conditionOf = async (name: string, type: string) =>
      ((await store.get(types.pods, ns, name)).status as { conditions?: { type: string; status: string; reason?: string }[] }).conditions?.find(
        (c) => c.type === type,
      );

    it('gives a LoadBalancer Service its own loopback address that forwards to the serving pods, and removes it on delete', async () => {
      const backend = await startBackend('127.1.2.2', 'lb-pod');
      after(backend.close);
      const port = await freePort(subnet.address(1));
      const controller = serviceLoadBalancerController(balancers);
      const service = await store.create(types.services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'front', namespace: ns },
        spec: { type: 'LoadBalancer', selector: { app: 'front' }, ports: [{ port, targetPort: backend.port, protocol: 'TCP' }] },
      });
      const created = await store.create(types.pods, pod(ns, 'front-1', backend.ip, { labels: { app: 'front' } }));
      await written(controller, types.services.id, undefined, service);
      const withStatus = await store.get(types.services, ns, 'front');
      const ingress = (withStatus.status as { loadBalancer: { ingress: { ip: string }[] } }).loadBalancer.ingress;
      assert.equal(ingress[0]?.ip, subnet.address(1));
      assert.ok(withStatus.metadata.finalizers?.includes('service.kubernetes.io/load-balancer-cleanup'));
      assert.equal(await get(subnet.address(1), port), 'lb-pod');
      assert.deepEqual(
        {
          status: (await conditionOf('front-1', 'target-health.skiff.io/front'))?.status,
          reason: (await conditionOf('front-1', 'target-health.skiff.io/front'))?.reason,
        },
        { status: 'True', reason: 'Healthy' },
        'the pod is a healthy target',
      );

      const marked = await store.delete(types.services, ns, 'front');
      assert.equal(marked.removed, false, 'held by the cleanup finalizer');
      await written(controller, types.services.id, withStatus, marked.object);
      await assert.rejects(store.get(types.services, ns, 'front'), (e: unknown) => isApiError(e, 404));
      await waitFor('load balancer closed', async () => (await get(subnet.address(1), port)) === 'ECONNREFUSED', { timeoutMs: 5000 });
      assert.equal((await conditionOf('front-1', 'target-health.skiff.io/front'))?.reason, 'NotTargeted', 'the pod is released');
      await store.delete(types.pods, ns, created.metadata.name ?? '');
    });

    it('lets in only clients of spec.loadBalancerSourceRanges (or the older annotation), refusing the others', async () => {
      const backend = await startBackend(subnet.address(240), 'ranged-pod');
      after(backend.close);
      const controller = serviceLoadBalancerController(balancers);
      const port = await freePort(subnet.address(1));
      const allowed = subnet.address(20);
      const other = subnet.address(21);
      const service = await store.create(types.services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ranged', namespace: ns },
        spec: {
          type: 'LoadBalancer',
          selector: { app: 'ranged' },
          ports: [{ port, targetPort: backend.port, protocol: 'TCP' }],
          loadBalancerSourceRanges: [`${allowed}/32`, 'not-a-cidr'],
        },
      });
      const created = await store.create(types.pods, pod(ns, 'ranged-1', backend.ip, { labels: { app: 'ranged' } }));
      await written(controller, types.services.id, undefined, service);
      const ip = balancers.addressOf(`${ns}/ranged`) as string;
      assert.equal(await get(ip, port, allowed), 'ranged-pod', 'a client in the range is served');
      assert.equal(await get(ip, port, other), 'ECONNRESET', 'a client outside every range is refused');

      // The ranges taken away: every source comes in again (0.0.0.0/0). Then the annotation's ranges.
      const withRanges = await store.get(types.services, ns, 'ranged');
      const { loadBalancerSourceRanges: _, ...spec } = withRanges.spec as Record<string, unknown>;
      const open = await store.update(types.services, { ...withRanges, spec });
      await written(controller, types.services.id, withRanges, open);
      assert.equal(await get(ip, port, other), 'ranged-pod');
      const current = await store.get(types.services, ns, 'ranged');
      const annotated = await store.update(types.services, {
        ...current,
        metadata: { ...current.metadata, annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': ` ${other}/32 , 10.0.0.0/8` } },
      });
      await written(controller, types.services.id, current, annotated);
      assert.equal(await get(ip, port, other), 'ranged-pod');
      assert.equal(await get(ip, port, allowed), 'ECONNRESET');

      const last = await store.get(types.services, ns, 'ranged');
      const marked = await store.delete(types.services, ns, 'ranged');
      await written(controller, types.services.id, last, marked.object);
      await store.delete(types.pods, ns, created.metadata.name ?? '');
    });

    it('keeps a terminating pod draining while a connection to it is open, then marks it deregistered', async () => {
      const net = await import('node:net');
      const held: import('node:net').Socket[] = [];
      const server = net.createServer((socket) => held.push(socket));
      await new Promise<void>((resolve) => server.listen(0, subnet.address(250), () => resolve()));
      const port = (server.address() as import('node:net').AddressInfo).port;
      after(() => {
        for (const socket of held) socket.destroy();
        server.close();
      });
      const controller = serviceLoadBalancerController(balancers);
      const lbPort = await freePort(subnet.address(1));
      const service = await store.create(types.services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'drain', namespace: ns },
        spec: { type: 'LoadBalancer', selector: { app: 'drain' }, ports: [{ port: lbPort, targetPort: port, protocol: 'TCP' }] },
      });
      await store.create(types.pods, pod(ns, 'drain-1', subnet.address(250), { labels: { app: 'drain' } }));
      await written(controller, types.services.id, undefined, service);
      const ip = balancers.addressOf(`${ns}/drain`) as string;
      const client = net.connect({ host: ip, port: lbPort });
      after(() => client.destroy());
      await waitFor('the connection reached the pod', () => held.length === 1 || undefined, { timeoutMs: 5000 });

      const deleting = await store.delete(types.pods, ns, 'drain-1', { gracePeriodSeconds: 30 });
      await written(controller, types.pods.id, undefined, deleting.object);
      assert.equal((await conditionOf('drain-1', 'target-health.skiff.io/drain'))?.reason, 'Draining');

      client.destroy();
      await waitFor(
        'the pod drained',
        async () => {
          await written(controller, types.services.id, undefined, await store.get(types.services, ns, 'drain'));
          return (await conditionOf('drain-1', 'target-health.skiff.io/drain'))?.reason === 'Deregistered' || undefined;
        },
        { timeoutMs: 5000 },
      );
    });
  });
});
