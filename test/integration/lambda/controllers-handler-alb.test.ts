/**
 * The controller-manager Lambda on AWS with load balancing configured, as the stack configures
 * it (`CLUSTER_NAME`, `LB_VPC_ID`, `LB_PUBLIC_SUBNETS`, `LB_PRIVATE_SUBNETS`,
 * `LB_SECURITY_GROUPS`; the store on DynamoDB Local through `AWS_ENDPOINT_URL`), driven with the
 * DynamoDB Streams event shape AWS documents, made from the items the store wrote. ELBv2 cannot
 * run here: every ElasticLoadBalancingV2Client of the process is answered by aws-sdk-client-mock
 * (`test/support/fake-elbv2.ts`). A LoadBalancer Service gets its ALB, its DNS name in
 * `status.loadBalancer` and the cleanup finalizer; deleting it removes every ELBv2 resource
 * before the Service goes. An Ingress becomes listener rules on the IngressClass's shared ALB.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateRuleCommand, DeleteLoadBalancerCommand, DeleteTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createDynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { FakeElbv2, testNetwork } from '../../support/fake-elbv2.ts';
import { namespaceObject } from '../controllers/control-plane.ts';

type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

const context = {
  functionName: 'skiff-controllers',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:skiff-controllers',
  memoryLimitInMB: '1024',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const variables = [
  'OBJECTS_TABLE',
  'CHANGES_TABLE',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'CLUSTER_NAME',
  'LB_VPC_ID',
  'LB_PUBLIC_SUBNETS',
  'LB_PRIVATE_SUBNETS',
  'LB_SECURITY_GROUPS',
] as const;

const namespace = `lambda-alb-${process.pid}`;

describe('controller-manager Lambda with the alb provider', () => {
  let db: TestDynamoDb;
  let store: ReturnType<typeof createDynamoDbStore>;
  let fake: FakeElbv2;
  let handler: StreamHandler;
  let sequence = 0;
  const saved = Object.fromEntries(variables.map((name) => [name, process.env[name]]));

  before(async () => {
    db = await useDynamoDb();
    Object.assign(process.env, {
      OBJECTS_TABLE: db.tables.objects,
      CHANGES_TABLE: db.tables.changes,
      AWS_ENDPOINT_URL: db.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'skiff',
      AWS_SECRET_ACCESS_KEY: 'skiff',
      CLUSTER_NAME: testNetwork.clusterName,
      LB_VPC_ID: testNetwork.vpcId,
      LB_PUBLIC_SUBNETS: testNetwork.publicSubnets.join(','),
      LB_PRIVATE_SUBNETS: testNetwork.privateSubnets.join(','),
      LB_SECURITY_GROUPS: testNetwork.securityGroups.join(','),
    });
    fake = new FakeElbv2({ everyClient: true });
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    ({ handler } = (await import('../../../functions/lambda/controllers-handler.ts')) as { handler: StreamHandler });
    // The namespace and one serving pod (app: web) behind the Services of both tests.
    await store.create(types.namespaces, namespaceObject(namespace));
    await store.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace, labels: { app: 'web' } },
      spec: { nodeName: 'ip-10-0-1-20', containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }] },
      status: {
        phase: 'Running',
        podIP: '10.0.1.5',
        conditions: [
          { type: 'ContainersReady', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
      },
    } satisfies KubeObject);
  });

  after(async () => {
    fake?.restore();
    store?.close();
    for (const name of variables) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await db?.cleanup();
  });

  /** The object's item as the table holds it now (undefined once deleted). */
  async function item(typeId: string, name: string, ns = namespace): Promise<Record<string, AttributeValue> | undefined> {
    const out = await db.client.send(
      new GetItemCommand({ TableName: db.tables.objects, Key: { pk: { S: typeId }, sk: { S: `${ns}/${name}` } }, ConsistentRead: true }),
    );
    return out.Item;
  }

  /** One stream record of the objects table, as DynamoDB Streams delivers it (NEW_AND_OLD_IMAGES). */
  function record(
    typeId: string,
    name: string,
    images: { old?: Record<string, AttributeValue> | undefined; new?: Record<string, AttributeValue> | undefined },
    ns = namespace,
  ): DynamoDBRecord {
    sequence += 1;
    const eventName = !images.old ? 'INSERT' : !images.new ? 'REMOVE' : 'MODIFY';
    return {
      eventID: `${sequence}`,
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { pk: { S: typeId }, sk: { S: `${ns}/${name}` } },
        ...(images.new ? { NewImage: images.new as never } : {}),
        ...(images.old ? { OldImage: images.old as never } : {}),
        SequenceNumber: `${100 + sequence}`,
        SizeBytes: 512,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: `arn:aws:dynamodb:eu-west-1:123456789012:table/${db.tables.objects}/stream/2026-01-01T00:00:00.000`,
    };
  }

  const mutations = () => fake.calls().filter((call) => !call.startsWith('Describe'));

  it('makes an ALB for a LoadBalancer Service and removes all of it when the Service is deleted', async () => {
    await store.create(types.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
    const created = await item(types.services.id, 'web');
    assert.ok(created);

    const first = await handler({ Records: [record(types.services.id, 'web', { new: created })] }, context);
    assert.deepEqual(first, { batchItemFailures: [] });
    assert.deepEqual(mutations(), ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener', 'RegisterTargets']);
    const service = await store.get(types.services, namespace, 'web');
    assert.deepEqual(service.metadata.finalizers, ['service.kubernetes.io/load-balancer-cleanup']);
    const hostname = (service.status as { loadBalancer?: { ingress?: { hostname?: string }[] } }).loadBalancer?.ingress?.[0]?.hostname;
    assert.equal(hostname, [...fake.loadBalancers.values()][0]?.lb.DNSName);
    assert.equal(fake.resourceCount(), 3, 'a load balancer, a listener, a target group');

    // kubectl delete: the finalizer holds the Service while the load balancer goes.
    const before = await item(types.services.id, 'web');
    await store.delete(types.services, namespace, 'web');
    const deleting = await item(types.services.id, 'web');
    assert.ok(deleting, 'held by the finalizer');
    const change = record(types.services.id, 'web', { old: before, new: deleting });
    fake.reset();
    assert.deepEqual(await handler({ Records: [change] }, context), { batchItemFailures: [] });
    assert.deepEqual(mutations(), ['DeleteLoadBalancer', 'DeleteTargetGroup']);
    assert.ok(await item(types.services.id, 'web'), 'the target group was still in use: the Service waits');
    // The same record again (a retry, or the resync's pass): the target group goes, then the Service.
    assert.deepEqual(await handler({ Records: [change] }, context), { batchItemFailures: [] });
    assert.equal(fake.resourceCount(), 0, 'nothing left in the account');
    assert.equal(await item(types.services.id, 'web'), undefined, 'the Service is gone once its load balancer is');
  });
  it('removes every ELBv2 resource, the finalizer and the status when a Service stops being a LoadBalancer, and releases its pods', async () => {
    await store.create(types.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'switch', namespace },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }] },
    });
    const created = await item(types.services.id, 'switch');
    fake.reset();
    assert.deepEqual(await handler({ Records: [record(types.services.id, 'switch', { new: created })] }, context), { batchItemFailures: [] });
    assert.deepEqual(mutations(), ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener', 'RegisterTargets']);
    assert.equal(fake.resourceCount(), 3);
    const made = await store.get(types.services, namespace, 'switch');
    assert.deepEqual(made.metadata.finalizers, ['service.kubernetes.io/load-balancer-cleanup']);
    const loadBalancerArn = [...fake.loadBalancers.keys()][0];
    const targetGroupArn = [...fake.groups.keys()][0];
    const listenerArn = [...fake.listeners.keys()][0];

    // kubectl patch svc switch -p '{"spec":{"type":"ClusterIP"}}': the API drops the fields of the old type with it.
    const before = await item(types.services.id, 'switch');
    const {
      externalTrafficPolicy: _policy,
      allocateLoadBalancerNodePorts: _allocate,
      ...spec
    } = made.spec as { ports: Record<string, unknown>[] } & Record<string, unknown>;
    await store.update(types.services, { ...made, spec: { ...spec, type: 'ClusterIP', ports: spec.ports.map(({ nodePort: _, ...port }) => port) } });
    const changed = record(types.services.id, 'switch', { old: before, new: await item(types.services.id, 'switch') });
    fake.reset();
    assert.deepEqual(await handler({ Records: [changed] }, context), { batchItemFailures: [] });
    assert.deepEqual(mutations(), ['DeleteLoadBalancer', 'DeleteTargetGroup']);
    assert.deepEqual(fake.inputs(DeleteLoadBalancerCommand), [{ LoadBalancerArn: loadBalancerArn }]);
    assert.deepEqual(fake.inputs(DeleteTargetGroupCommand), [{ TargetGroupArn: targetGroupArn }]);
    assert.ok(listenerArn && !fake.listeners.has(listenerArn), 'the listener went with the load balancer');
    assert.equal(fake.resourceCount(), 0, 'no load balancer, listener, rule or target group left in the account');
    // The finalizer stays until a pass finds nothing of the Service's left (the stream's retry, or the resync).
    assert.deepEqual((await store.get(types.services, namespace, 'switch')).metadata.finalizers, ['service.kubernetes.io/load-balancer-cleanup']);
    fake.reset();
    assert.deepEqual(await handler({ Records: [changed] }, context), { batchItemFailures: [] });
    assert.deepEqual(mutations(), [], 'nothing more to delete');
    const after = await store.get(types.services, namespace, 'switch');
    assert.equal((after.spec as { type?: string }).type, 'ClusterIP', 'the Service stays, as a ClusterIP one');
    assert.deepEqual(after.metadata.finalizers ?? [], []);
    assert.deepEqual((after.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress ?? [], []);
    // The pod no longer waits on a load balancer that will not drain it.
    const pod = await store.get(types.pods, namespace, 'web-1');
    const condition = ((pod.status as { conditions?: { type: string; status: string; reason?: string }[] }).conditions ?? []).find(
      (c) => c.type === 'target-health.skiff.io/switch',
    );
    assert.equal(condition?.reason, 'NotTargeted');
    assert.equal(condition?.status, 'True');
    // A further pass finds nothing of the Service's and calls nothing that changes the account.
    fake.reset();
    assert.deepEqual(await handler({ Records: [changed] }, context), { batchItemFailures: [] });
    assert.deepEqual(mutations(), []);
    assert.equal(fake.resourceCount(), 0);
  });

  it('turns an Ingress into listener rules on the shared ALB of its class and reports its DNS name', async () => {
    await store.create(types.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api', namespace },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
    await store.create(types.ingresses, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'shop', namespace },
      spec: {
        rules: [
          {
            host: 'shop.example.com',
            http: { paths: [{ path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } }] },
          },
        ],
      },
    });
    fake.reset();
    const inserted = await item(types.ingresses.id, 'shop');
    assert.deepEqual(await handler({ Records: [record(types.ingresses.id, 'shop', { new: inserted })] }, context), { batchItemFailures: [] });
    assert.deepEqual(mutations(), ['CreateLoadBalancer', 'CreateTargetGroup', 'RegisterTargets', 'CreateListener', 'CreateRule']);
    const [rule] = fake.inputs<{ Priority: number; Conditions: unknown[] }>(CreateRuleCommand);
    assert.equal(rule?.Priority, 1);
    assert.deepEqual(rule?.Conditions, [
      { Field: 'host-header', HostHeaderConfig: { Values: ['shop.example.com'] } },
      { Field: 'path-pattern', PathPatternConfig: { Values: ['/api', '/api/*'] } },
    ]);
    const ingress = await store.get(types.ingresses, namespace, 'shop');
    const hostname = (ingress.status as { loadBalancer?: { ingress?: { hostname?: string }[] } }).loadBalancer?.ingress?.[0]?.hostname;
    assert.equal(hostname, [...fake.loadBalancers.values()][0]?.lb.DNSName);
    assert.ok(await item(types.ingressclasses.id, 'skiff', ''), 'the default class skiff was made');

    // The last Ingress of the class goes: so does its ALB, and then its target groups.
    const last = await item(types.ingresses.id, 'shop');
    await store.delete(types.ingresses, namespace, 'shop');
    const removal = record(types.ingresses.id, 'shop', { old: last });
    assert.deepEqual(await handler({ Records: [removal] }, context), { batchItemFailures: [] });
    assert.deepEqual(await handler({ Records: [removal] }, context), { batchItemFailures: [] });
    assert.equal(fake.resourceCount(), 0, 'nothing of the class is left');
  });
});
