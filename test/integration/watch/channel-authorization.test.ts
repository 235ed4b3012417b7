/**
 * The watch channel asks the API's authorizer (docs/adr/120, 073): a subscription as the
 * list/watch of the same resource with the same selectors, a Lease renewal as the update of that
 * Lease. Driven here with the deployed cluster's authorizer (system:masters, the node authorizer,
 * RBAC: functions/lambda/cluster-authentication.ts), against DynamoDB Local: what is allowed goes
 * through, what is not is answered with Kubernetes' 403 Status and registers nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterAuthorizer } from '../../../functions/lambda/cluster-authentication.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import { ensureTable } from '../../../functions/store/tables.ts';
import { type Channel, createChannel } from '../../../functions/watch/channel.ts';
import { channelTableDefinition, dynamoDbChannelRegistry } from '../../../functions/watch/channel-registry.ts';
import type { ConnectionPoster } from '../../../functions/watch/connection-poster.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

describe('watch channel authorization', { timeout: 120_000 }, () => {
  let db: TestDynamoDb;
  let store: DynamoDbStore;
  let channel: Channel;
  const sent: { connectionId: string; message: Record<string, any> }[] = [];
  const poster: ConnectionPoster = {
    async post(connectionId, message) {
      sent.push({ connectionId, message: JSON.parse(message) });
    },
  };
  const registry = () => dynamoDbChannelRegistry({ client: db.client, tableName: `${db.tables.objects}-channel` });

  before(async () => {
    db = await useDynamoDb();
    await ensureTable(db.client, `${db.tables.objects}-channel`, channelTableDefinition);
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    channel = createChannel({
      registry: registry(),
      store,
      catchUpStore: createDynamoDbStore({ client: db.client, tables: db.tables, bookmarkIntervalMs: 0 }),
      authenticate: async (token) => (token === 'n1-token' ? { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] } : undefined),
      authorizer: clusterAuthorizer(store),
    });
    assert.deepEqual(await channel.connect('c1', { authorization: 'Bearer n1-token' }), { statusCode: 200 });
  });
  after(async () => {
    store?.close();
    await db?.cleanup();
  });

  const subscribe = (id: string, resource: string, extra: Record<string, string> = {}) =>
    channel.receive('c1', JSON.stringify({ action: 'subscribe', id, group: '', version: 'v1', resource, resourceVersion: '0', ...extra }), poster);

  it('lets a node watch the pods bound to it and Services', async () => {
    sent.length = 0;
    await subscribe('mine', 'pods', { fieldSelector: 'spec.nodeName=n1' });
    await subscribe('svc', 'services');
    assert.deepEqual(
      sent.map((m) => [m.message.type, m.message.id]),
      [
        ['synced', 'mine'],
        ['synced', 'svc'],
      ],
    );
  });

  it("refuses the pods of another node, and every pod, with Kubernetes' 403 and registers nothing", async () => {
    sent.length = 0;
    await subscribe('theirs', 'pods', { fieldSelector: 'spec.nodeName=n2' });
    await subscribe('all', 'pods');
    assert.deepEqual(
      sent.map((m) => [m.message.type, m.message.id, m.message.status.code, m.message.status.reason]),
      [
        ['error', 'theirs', 403, 'Forbidden'],
        ['error', 'all', 403, 'Forbidden'],
      ],
    );
    assert.match(
      sent[0]?.message.status.message,
      /^pods is forbidden: User "system:node:n1" cannot watch resource "pods" in API group "" at the cluster scope/,
    );
    const registered = (await registry().subscriptionsOf('core/pods')).map((s) => s.id);
    assert.deepEqual(registered, ['mine']);
  });

  it("refuses to renew another node's Lease", async () => {
    await store.create(types.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n2', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'n2', leaseDurationSeconds: 40 },
    });
    const before = await store.get(types.leases, 'kube-node-lease', 'n2');
    sent.length = 0;
    await channel.receive('c1', JSON.stringify({ action: 'renewLease', nodeName: 'n2' }), poster);
    assert.deepEqual(
      sent.map((m) => [m.message.id, m.message.status.code]),
      [['lease/n2', 403]],
    );
    assert.equal((await store.get(types.leases, 'kube-node-lease', 'n2')).metadata.resourceVersion, before.metadata.resourceVersion);
  });
});
