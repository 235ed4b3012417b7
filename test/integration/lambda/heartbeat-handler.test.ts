/**
 * The node heartbeat Lambda (docs/adr/196) driven with the event Lambda sends for a function URL
 * with `AWS_IAM` auth (payload format 2.0, the verified caller in
 * `requestContext.authorizer.iam`) against DynamoDB Local: the caller is mapped through
 * `kube-system/aws-auth` (a node role's session name is the instance ID), and a node may renew only
 * its own Lease and write only its own Node's status; every other request is refused and changes
 * nothing. The SigV4 check itself is Lambda's, before the function runs: it cannot run here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { kubeMicroTime } from '../../../functions/core/kube-time.ts';
import { bootstrapCluster } from '../../../functions/lambda/bootstrap-handler.ts';
import type { HeartbeatResult } from '../../../functions/lambda/heartbeat-handler.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { buildLease, buildNode } from '../../../node-agent/index.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';
import { restoreEnvironment, setEnvironment } from '../../support/environment.ts';
import { functionUrlIamEvent, type IamCaller } from '../../support/lambda-events.ts';

const account = '111122223333';
const nodeRole = `arn:aws:iam::${account}:role/skiff-nodes`;
const adminRole = `arn:aws:iam::${account}:role/platform-admins`;
const nodeA = 'i-0aaa1111aaaa1111a';
const nodeB = 'i-0bbb2222bbbb2222b';
const nodeCaller = (instanceId: string, role = 'skiff-nodes'): IamCaller => ({
  accountId: account,
  userArn: `arn:aws:sts::${account}:assumed-role/${role}/${instanceId}`,
  userId: `AROAEXAMPLENODES:${instanceId}`,
});
const leasePath = (node: string) => `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`;
const context = { awsRequestId: 'heartbeat-test', getRemainingTimeInMillis: () => 9_000 } as unknown as Context;

describe('node heartbeat Lambda behind its AWS_IAM function URL, against DynamoDB Local', { timeout: 120_000 }, () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  let handler: (event: LambdaFunctionURLEvent, context: Context) => Promise<HeartbeatResult>;

  async function invoke(event: LambdaFunctionURLEvent): Promise<{ statusCode: number; body: Record<string, any> }> {
    const result = await handler(event, context);
    return { statusCode: result.statusCode, body: result.body ? (JSON.parse(result.body) as Record<string, any>) : {} };
  }
  const lease = (node: string) => store.get(types.leases, 'kube-node-lease', node);
  const renewed = (object: KubeObject, at: number): KubeObject => ({
    ...object,
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    spec: { ...(object.spec as object), renewTime: kubeMicroTime(at) },
  });

  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    await bootstrapCluster(store, { AdminPrincipalArns: [adminRole], NodeRoleArns: [nodeRole] });
    for (const name of [nodeA, nodeB]) {
      const node = await store.create(
        types.nodes,
        buildNode(
          { name, address: '10.0.3.17', podCidr: '10.0.3.0/24', cpu: '2', memory: '4Gi', pods: 10, kubeletPort: 10250, containerRuntimeVersion: 'ecs://1' },
          new Date().toISOString(),
        ),
      );
      await store.create(types.leases, buildLease(name, node.metadata.uid, 40, new Date(Date.now() - 5_000)));
    }
    setEnvironment({
      OBJECTS_TABLE: db.tables.objects,
      CHANGES_TABLE: db.tables.changes,
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    handler = (await import('../../../functions/lambda/heartbeat-handler.ts')).handler as unknown as typeof handler;
  });

  after(async () => {
    restoreEnvironment();
    store?.close();
    await db?.cleanup();
  });

  it("renews the caller's own Lease: a new resourceVersion and renewTime, seen by a Lease watch", async () => {
    const before = await lease(nodeA);
    const at = Date.now();
    const stopWatch = new AbortController();
    const watch = store
      .watch(types.leases, { namespace: 'kube-node-lease', resourceVersion: before.metadata.resourceVersion ?? '0', signal: stopWatch.signal })
      [Symbol.asyncIterator]();
    const answer = await invoke(functionUrlIamEvent('PUT', leasePath(nodeA), nodeCaller(nodeA), { body: renewed(before, at) }));
    assert.equal(answer.statusCode, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.kind, 'Lease');
    assert.equal(answer.body.spec.renewTime, kubeMicroTime(at));
    assert.ok(BigInt(answer.body.metadata.resourceVersion) > BigInt(before.metadata.resourceVersion ?? '0'));
    const stored = await lease(nodeA);
    assert.equal(stored.metadata.resourceVersion, answer.body.metadata.resourceVersion);
    // The watch starts at A's Lease as first written: B's creation comes before A's renewal.
    let event = await watch.next();
    while (!event.done && event.value.object.metadata.name !== nodeA) event = await watch.next();
    stopWatch.abort();
    await watch.return?.();
    assert.equal(event.value?.type, 'MODIFIED');
    assert.equal(event.value?.object.metadata.name, nodeA);
    assert.equal(event.value?.object.metadata.resourceVersion, answer.body.metadata.resourceVersion);
  });

  it('answers 409 for a stale resourceVersion and keeps the Lease', async () => {
    const current = await lease(nodeA);
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    const answer = await invoke(functionUrlIamEvent('PUT', leasePath(nodeA), nodeCaller(nodeA), { body: renewed(stale, Date.now()) }));
    assert.equal(answer.statusCode, 409);
    assert.equal(answer.body.kind, 'Status');
    assert.equal(answer.body.reason, 'Conflict');
    assert.deepEqual(await lease(nodeA), current);
  });

  it("writes the caller's own Node status", async () => {
    const node = await store.get(types.nodes, undefined, nodeA);
    const heartbeat = '2026-11-28T23:00:00Z';
    const status = node.status as { conditions: { type: string; lastHeartbeatTime: string }[] };
    const body = {
      ...node,
      apiVersion: 'v1',
      kind: 'Node',
      status: { ...status, conditions: status.conditions.map((c) => ({ ...c, lastHeartbeatTime: heartbeat })) },
    };
    const answer = await invoke(functionUrlIamEvent('PUT', `/api/v1/nodes/${nodeA}/status`, nodeCaller(nodeA), { body }));
    assert.equal(answer.statusCode, 200, JSON.stringify(answer.body));
    const stored = await store.get(types.nodes, undefined, nodeA);
    const ready = (stored.status as typeof status).conditions.find((c) => c.type === 'Ready');
    assert.equal(ready?.lastHeartbeatTime, heartbeat);
  });

  it("refuses another node's Lease and Node status with 403, even when it asks to impersonate that node", async () => {
    const before = await lease(nodeB);
    const nodeBefore = await store.get(types.nodes, undefined, nodeB);
    const asked: Record<string, string>[] = [{}, { 'impersonate-user': `system:node:${nodeB}`, 'impersonate-group': 'system:nodes' }];
    for (const headers of asked) {
      const renewal = await invoke(functionUrlIamEvent('PUT', leasePath(nodeB), nodeCaller(nodeA), { body: renewed(before, Date.now()), headers }));
      assert.equal(renewal.statusCode, 403);
      assert.equal(renewal.body.reason, 'Forbidden');
      const status = await invoke(
        functionUrlIamEvent('PUT', `/api/v1/nodes/${nodeB}/status`, nodeCaller(nodeA), { body: { ...nodeBefore, apiVersion: 'v1', kind: 'Node' }, headers }),
      );
      assert.equal(status.statusCode, 403);
    }
    assert.deepEqual(await lease(nodeB), before);
    assert.deepEqual(await store.get(types.nodes, undefined, nodeB), nodeBefore);
  });

  it('refuses with 401 a caller aws-auth does not map, and an event without the IAM caller', async () => {
    const before = await lease(nodeA);
    const stranger = await invoke(functionUrlIamEvent('PUT', leasePath(nodeA), nodeCaller(nodeA, 'someone-else'), { body: renewed(before, Date.now()) }));
    assert.equal(stranger.statusCode, 401);
    assert.equal(stranger.body.kind, 'Status');
    const anonymous = await invoke(functionUrlIamEvent('PUT', leasePath(nodeA), undefined, { body: renewed(before, Date.now()) }));
    assert.equal(anonymous.statusCode, 401);
    assert.deepEqual(await lease(nodeA), before);
  });

  it('serves nothing but the two writes, and only to nodes', async () => {
    const before = await lease(nodeA);
    const read = await invoke(functionUrlIamEvent('GET', leasePath(nodeA), nodeCaller(nodeA)));
    assert.equal(read.statusCode, 405);
    const create = await invoke(
      functionUrlIamEvent('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', nodeCaller(nodeA), { body: before }),
    );
    assert.equal(create.statusCode, 404);
    const configMap = await invoke(
      functionUrlIamEvent('PUT', '/api/v1/namespaces/default/configmaps/x', nodeCaller(nodeA), {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } },
      }),
    );
    assert.equal(configMap.statusCode, 404);
    const node = await invoke(
      functionUrlIamEvent('PUT', `/api/v1/nodes/${nodeA}`, nodeCaller(nodeA), { body: await store.get(types.nodes, undefined, nodeA) }),
    );
    assert.equal(node.statusCode, 404);
    // An administrator (system:masters) is not a node: the endpoint is not a way into the API.
    const admin = { accountId: account, userArn: `arn:aws:sts::${account}:assumed-role/platform-admins/alice`, userId: 'AROAEXAMPLEADMINS:alice' };
    const asAdmin = await invoke(functionUrlIamEvent('PUT', leasePath(nodeA), admin, { body: renewed(before, Date.now()) }));
    assert.equal(asAdmin.statusCode, 403);
    assert.deepEqual(await lease(nodeA), before);
  });
});
