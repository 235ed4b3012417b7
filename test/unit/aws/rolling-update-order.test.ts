/**
 * A rolling update behind an ALB, step by step, with every real part but ELBv2 (mocked with
 * aws-sdk-client-mock): the pod admission that adds the readiness gate, the service load balancer
 * controller (a LoadBalancer Service) or the ingress controller (an Ingress) on the `alb`
 * providers, the store, the node agent's Ready computation and its pod planner. The new pod takes
 * traffic only once it is healthy in the target group; the old one is deregistered, drained, and
 * only then stopped — in that order (docs/adr/094-zero-downtime-targets.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeregisterTargetsCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createAlbIngressLoadBalancers } from '../../../functions/aws/alb-ingress.ts';
import { createAlbLoadBalancers } from '../../../functions/aws/alb-load-balancers.ts';
import type { Controller, ReconcileKey } from '../../../functions/controller-runtime/controller.ts';
import { memoryEventRecorder } from '../../../functions/controller-runtime/events.ts';
import { reconcileKeys } from '../../../functions/controller-runtime/run-controllers.ts';
import { defaultIngressClass, ingressController } from '../../../functions/controllers/ingress/ingress-controller.ts';
import { serviceLoadBalancerController } from '../../../functions/controllers/service-load-balancer/service-load-balancer-controller.ts';
import { addTargetHealthGates } from '../../../functions/domain/services/readiness-gates.ts';
import { ingressTargetHealthType, serviceTargetHealthType } from '../../../functions/domain/services/target-health.ts';
import { createMemoryStore } from '../../../functions/store/memory-store.ts';
import type { ObjectStore } from '../../../functions/store/store.ts';
import { emptySnapshot, planContainerActions } from '../../../node-agent/pod-actions.ts';
import { computePodStatus } from '../../../node-agent/pod-status.ts';
import { parsePod } from '../../../node-agent/pod-view.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { FakeElbv2, testNetwork } from '../../support/fake-elbv2.ts';

function pod(name: string, ip: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', labels: { app: 'web' } },
    spec: { nodeName: 'node-1', terminationGracePeriodSeconds: 30, containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [] },
  };
}

interface Front {
  readonly controller: (fake: FakeElbv2) => Controller;
  readonly key: ReconcileKey;
  /** The condition type of the readiness gate. */
  readonly gate: string;
  /** Makes what routes to the pods labelled app=web. */
  readonly setUp: (store: ObjectStore) => Promise<void>;
}

const webService = (type: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { type, selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
});

const fronts: Record<string, Front> = {
  'a LoadBalancer Service': {
    controller: (fake) => serviceLoadBalancerController(createAlbLoadBalancers({ ...testNetwork, client: fake.client })),
    key: { typeId: types.services.id, namespace: 'shop', name: 'web' },
    gate: serviceTargetHealthType('web'),
    setUp: async (store) => {
      await store.create(types.services, webService('LoadBalancer'));
    },
  },
  'an Ingress': {
    controller: (fake) => ingressController(createAlbIngressLoadBalancers({ ...testNetwork, client: fake.client })),
    key: { typeId: types.ingressclasses.id, name: 'skiff' },
    gate: ingressTargetHealthType('skiff'),
    setUp: async (store) => {
      await store.create(types.ingressclasses, defaultIngressClass());
      await store.create(types.services, webService('ClusterIP'));
      await store.create(types.ingresses, {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          ingressClassName: 'skiff',
          rules: [
            { host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } },
          ],
        },
      });
    },
  },
};

describe('a rolling update behind an ALB', () => {
  for (const [name, front] of Object.entries(fronts)) {
    it(`behind ${name}: registers the new pod and waits for it to be healthy, then deregisters, drains and only then stops the old one`, async () => {
      await rollingUpdate(front);
    });
  }
});

async function rollingUpdate(front: Front): Promise<void> {
  const fake = new FakeElbv2();
  const store = createMemoryStore();
  const controller = front.controller(fake);
  const gate = front.gate;
  const runtime = { store, controllers: [controller], events: memoryEventRecorder() };
  const reconcile = async () => {
    assert.equal(await reconcileKeys(runtime, [{ controller, key: front.key }]), 0);
  };
  const steps: string[] = [];
  const record = (step: string) => steps.push(step);
  let registered = 0;
  let deregistered = 0;
  const watchCalls = () => {
    for (const input of fake.inputs<{ Targets: { Id: string }[] }>(RegisterTargetsCommand).slice(registered))
      record(`RegisterTargets ${input.Targets.map((t) => t.Id).join(',')}`);
    for (const input of fake.inputs<{ Targets: { Id: string }[] }>(DeregisterTargetsCommand).slice(deregistered))
      record(`DeregisterTargets ${input.Targets.map((t) => t.Id).join(',')}`);
    registered = fake.inputs(RegisterTargetsCommand).length;
    deregistered = fake.inputs(DeregisterTargetsCommand).length;
  };
  /** The node agent's view: the Ready condition it would report, and what its planner would do with the containers. */
  const agent = async (name: string) => {
    const raw = await store.get(types.pods, 'shop', name);
    const parsed = parsePod({ ...raw, metadata: { ...raw.metadata, uid: raw.metadata.uid ?? name } });
    if ('error' in parsed) throw new Error(parsed.error);
    const running = {
      ...emptySnapshot('web'),
      current: {
        id: `${name}/web`,
        containerID: 'x',
        pod: { namespace: 'shop', name, uid: raw.metadata.uid ?? '' },
        containerName: 'web',
        attempt: 0,
        image: 'nginx',
        imageID: '',
        startedAt: new Date(Date.now() - 60_000).toISOString(),
      },
    };
    const status = computePodStatus(
      parsed.view,
      [{ name: 'web', image: 'nginx', imageID: '', state: { running: { startedAt: '2026-01-01T00:00:00Z' } }, ready: true, started: true, restartCount: 0 }],
      { hostIP: '10.0.0.10', podIP: (raw.status as { podIP: string }).podIP, now: new Date().toISOString() },
    );
    const ready = (status.conditions as { type: string; status: string }[]).find((c) => c.type === 'Ready')?.status;
    return { ready, plan: planContainerActions(parsed.view, [running], Date.now()).type, status };
  };
  const writeStatus = async (name: string) => {
    const raw = await store.get(types.pods, 'shop', name);
    await store.update(types.pods, { ...raw, status: (await agent(name)).status });
  };

  await front.setUp(store);
  // The old pod, Ready and healthy behind the load balancer.
  const [old] = await addTargetHealthGates(store, 'shop', [pod('web-old', '10.0.1.5')]);
  await store.create(types.pods, old as KubeObject);
  await writeStatus('web-old');
  await reconcile();
  watchCalls();
  assert.equal(fake.groups.size, 1, 'one target group for the Service port');
  const groupArn = [...fake.groups.keys()][0] as string;
  fake.setHealth(groupArn, 'healthy');
  await reconcile();
  await writeStatus('web-old');
  assert.equal((await agent('web-old')).ready, 'True');
  steps.length = 0;

  // The rollout's new pod: admission adds the gate; its containers are ready.
  const [fresh] = await addTargetHealthGates(store, 'shop', [pod('web-new', '10.0.1.6')]);
  assert.ok(fresh);
  assert.deepEqual((fresh.spec as { readinessGates: unknown }).readinessGates, [{ conditionType: gate }]);
  await store.create(types.pods, fresh as KubeObject);
  await writeStatus('web-new');
  record(`web-new Ready=${(await agent('web-new')).ready}`);
  await reconcile();
  watchCalls();
  await writeStatus('web-new');
  record(`web-new Ready=${(await agent('web-new')).ready}`);
  fake.setHealth(groupArn, 'healthy', '10.0.1.6');
  record('ALB: 10.0.1.6 healthy');
  await reconcile();
  watchCalls();
  await writeStatus('web-new');
  record(`web-new Ready=${(await agent('web-new')).ready}`);

  // The Deployment, seeing web-new available, deletes web-old.
  await store.delete(types.pods, 'shop', 'web-old', { gracePeriodSeconds: 30 });
  record(`web-old deleted, agent plans ${(await agent('web-old')).plan}`);
  await reconcile();
  watchCalls();
  record(`agent plans ${(await agent('web-old')).plan}`);
  await reconcile();
  record(`still draining, agent plans ${(await agent('web-old')).plan}`);
  fake.finishDraining();
  record('ALB: deregistration delay over');
  await reconcile();
  watchCalls();
  record(`agent plans ${(await agent('web-old')).plan}`);

  assert.deepEqual(steps, [
    'web-new Ready=False',
    'RegisterTargets 10.0.1.6',
    'web-new Ready=False',
    'ALB: 10.0.1.6 healthy',
    'web-new Ready=True',
    'web-old deleted, agent plans hold',
    'DeregisterTargets 10.0.1.5',
    'agent plans hold',
    'still draining, agent plans hold',
    'ALB: deregistration delay over',
    'agent plans terminate',
  ]);
  const conditions = ((await store.get(types.pods, 'shop', 'web-old')).status as { conditions: { type: string; reason?: string }[] }).conditions;
  assert.equal(conditions.find((c) => c.type === gate)?.reason, 'Deregistered');
}
