/**
 * The service load balancer controller against the in-memory store and ELBv2 as
 * aws-sdk-client-mock answers it: what a Service asks that the provider cannot serve is an Event
 * and a condition, never a retry loop, and the pods a refused load balancer gates are released;
 * a Service that stops being a LoadBalancer keeps its finalizer until nothing of its load
 * balancer is left.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAlbLoadBalancers } from '../../../../functions/aws/alb-load-balancers.ts';
import { loadBalancerProvidersFromEnvironment } from '../../../../functions/aws/load-balancing-environment.ts';
import { memoryEventRecorder } from '../../../../functions/controller-runtime/events.ts';
import { reconcileKeys } from '../../../../functions/controller-runtime/run-controllers.ts';
import { serviceLoadBalancerController } from '../../../../functions/controllers/service-load-balancer/service-load-balancer-controller.ts';
import { createAdmission } from '../../../../functions/domain/object-admission/admission.ts';
import type { LoadBalancers } from '../../../../functions/domain/services/load-balancers.ts';
import { createMemoryStore } from '../../../../functions/store/memory-store.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { FakeElbv2, testNetwork } from '../../../support/fake-elbv2.ts';

type Condition = { type: string; status: string; reason?: string; message?: string };
const conditions = (object: KubeObject) => ((object.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];

async function setUp(provider: LoadBalancers, ports: unknown[]) {
  const store = createMemoryStore();
  const events = memoryEventRecorder();
  const controller = serviceLoadBalancerController(provider);
  await store.create(types.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports },
  });
  await store.create(types.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
    spec: { readinessGates: [{ conditionType: 'target-health.skiff.io/web' }], containers: [{ name: 'web', image: 'nginx' }] },
    status: { phase: 'Running', podIP: '10.0.1.5', conditions: [{ type: 'ContainersReady', status: 'True' }] },
  });
  const reconcile = async () =>
    reconcileKeys({ store, controllers: [controller], events }, [{ controller, key: { typeId: types.services.id, namespace: 'shop', name: 'web' } }]);
  return { store, events, reconcile };
}

describe('the service load balancer controller on the alb provider', () => {
  it('serves the TCP port of a Service with a UDP port on an ALB, with a Warning Event and a False condition', async () => {
    const fake = new FakeElbv2();
    const { store, events, reconcile } = await setUp(createAlbLoadBalancers({ ...testNetwork, client: fake.client }), [
      { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ]);
    assert.equal(await reconcile(), 0, 'the reconcile does not fail');
    const service = await store.get(types.services, 'shop', 'web');
    assert.match((service.status as { loadBalancer: { ingress: { hostname: string }[] } }).loadBalancer.ingress[0]?.hostname ?? '', /elb\.amazonaws\.com/);
    const ready = conditions(service).find((c) => c.type === 'skiff.io/LoadBalancerReady');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'UnsupportedProtocol');
    assert.ok(events.recorded.some((e) => e.type === 'Warning' && e.reason === 'UnsupportedProtocol' && /port 53\/UDP/.test(e.message)));
    assert.equal(fake.listeners.size, 1, 'port 80 is served');
  });

  it('removes everything it made on AWS when the Service stops being a LoadBalancer, then lets the Service go on', async () => {
    const fake = new FakeElbv2();
    const { store, events, reconcile } = await setUp(createAlbLoadBalancers({ ...testNetwork, client: fake.client }), [
      { port: 80, targetPort: 8080, protocol: 'TCP' },
    ]);
    assert.equal(await reconcile(), 0);
    const balanced = await store.get(types.services, 'shop', 'web');
    assert.deepEqual(balanced.metadata.finalizers, ['service.kubernetes.io/load-balancer-cleanup']);
    assert.equal(fake.resourceCount(), 3, 'a load balancer, a listener, a target group');

    // kubectl patch svc web -p '{"spec":{"type":"ClusterIP"}}', admitted as the API admits it (the NodePort goes with the type).
    await createAdmission({ store }).update(types.services, { ...balanced, spec: { ...(balanced.spec as object), type: 'ClusterIP' } }, balanced);
    fake.reset();
    assert.equal(await reconcile(), 0);
    assert.deepEqual(
      fake.calls().filter((c) => !c.startsWith('Describe')),
      ['DeleteLoadBalancer', 'DeleteTargetGroup'],
      'the load balancer goes first; its target group is still in use',
    );
    assert.deepEqual((await store.get(types.services, 'shop', 'web')).metadata.finalizers, ['service.kubernetes.io/load-balancer-cleanup']);
    assert.equal(await reconcile(), 0);
    assert.equal(fake.resourceCount(), 0, 'nothing left behind');
    const plain = await store.get(types.services, 'shop', 'web');
    assert.equal(plain.metadata.finalizers, undefined);
    assert.deepEqual((plain.status as { loadBalancer?: unknown }).loadBalancer, {});
    assert.equal(
      conditions(plain).find((c) => c.type === 'skiff.io/LoadBalancerReady'),
      undefined,
    );
    assert.ok(events.recorded.some((e) => e.reason === 'DeletedLoadBalancer'));
    const gate = conditions(await store.get(types.pods, 'shop', 'web-1')).find((c) => c.type === 'target-health.skiff.io/web');
    assert.deepEqual([gate?.status, gate?.reason], ['True', 'NotTargeted'], 'the pod no longer waits on a load balancer');
  });

  it('reports a cluster without load balancing once per resync, releases the gated pods and does not fail the batch', async () => {
    const { store, events, reconcile } = await setUp(loadBalancerProvidersFromEnvironment({}).loadBalancers, [{ port: 80, targetPort: 8080, protocol: 'TCP' }]);
    assert.equal(await reconcile(), 0);
    const service = await store.get(types.services, 'shop', 'web');
    assert.equal(conditions(service).find((c) => c.type === 'skiff.io/LoadBalancerReady')?.reason, 'LoadBalancingNotConfigured');
    assert.ok(events.recorded.some((e) => e.type === 'Warning' && e.reason === 'SyncLoadBalancerFailed'));
    const pod = await store.get(types.pods, 'shop', 'web-1');
    const gate = conditions(pod).find((c) => c.type === 'target-health.skiff.io/web');
    assert.deepEqual([gate?.status, gate?.reason], ['True', 'NotTargeted'], 'the pod does not wait for a load balancer that cannot come');
  });
});
