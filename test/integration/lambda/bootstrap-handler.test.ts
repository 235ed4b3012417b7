/**
 * The bootstrap custom resource's Lambda, driven with CloudFormation's Create / Update / Delete
 * events against DynamoDB Local, answering a stand-in of the presigned response URL (an HTTP
 * server on loopback): the system namespaces and kube-system/aws-auth exist after a deploy,
 * entries added by hand survive the next one, and a failure is reported as FAILED.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { parse } from 'yaml';
import { handleBootstrapEvent } from '../../../functions/lambda/bootstrap-handler.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { ObjectStore } from '../../../functions/store/store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

let db: TestDynamoDb;
let store: DynamoDbStore;
let server: Server;
const responses: { method: string; contentType: string | undefined; body: Record<string, unknown> }[] = [];
let responseUrl: string;

const adminRole = 'arn:aws:iam::111122223333:role/PlatformAdmins';
const adminUser = 'arn:aws:iam::111122223333:user/ops/alice';
const nodeRole = 'arn:aws:iam::111122223333:role/skiff-nodes';

function event(requestType: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown>): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:Bootstrap',
    ResponseURL: `${responseUrl}?X-Amz-Signature=abc`,
    StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/Skiff/0123-4567',
    RequestId: `req-${requestType}`,
    LogicalResourceId: 'Bootstrap',
    ResourceType: 'Custom::SkiffBootstrap',
    ResourceProperties: { ServiceToken: 'arn', ...properties },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update')
    return { ...common, RequestType: 'Update', PhysicalResourceId: 'Skiff-bootstrap', OldResourceProperties: { ServiceToken: 'arn' } };
  return { ...common, RequestType: 'Delete', PhysicalResourceId: 'Skiff-bootstrap' };
}

async function awsAuth(): Promise<{ mapRoles: { rolearn: string; username: string; groups: string[] }[]; mapUsers: { userarn: string; username: string }[] }> {
  const object = (await store.get(types.configmaps, 'kube-system', 'aws-auth')) as KubeObject & { data: Record<string, string> };
  return { mapRoles: parse(object.data.mapRoles ?? '[]'), mapUsers: parse(object.data.mapUsers ?? '[]') };
}

describe('bootstrap custom resource', { timeout: 120_000 }, () => {
  before(async () => {
    db = await useDynamoDb();
    store = createDynamoDbStore({ client: db.client, tables: db.tables });
    server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      request.on('end', () => {
        responses.push({ method: request.method ?? '', contentType: request.headers['content-type'], body: JSON.parse(text) });
        response.end();
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    responseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cfn-response`;
  });
  after(async () => {
    store?.close();
    await db?.cleanup();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  });

  it('creates the system namespaces and aws-auth on Create, and answers SUCCESS', async () => {
    const result = await handleBootstrapEvent(event('Create', { AdminPrincipalArns: [adminRole, adminUser], NodeRoleArns: [nodeRole] }), {
      store: () => store,
    });
    assert.equal(result.Status, 'SUCCESS');
    const answered = responses.at(-1);
    assert.equal(answered?.method, 'PUT');
    // Empty, as AWS's cfn-response sends it: fetch would otherwise add text/plain, which the presigned URL does not sign.
    assert.equal(answered?.contentType, '');
    assert.deepEqual(answered?.body, {
      Status: 'SUCCESS',
      PhysicalResourceId: 'Skiff-bootstrap',
      StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/Skiff/0123-4567',
      RequestId: 'req-Create',
      LogicalResourceId: 'Bootstrap',
    });
    const namespaces = (await store.list(types.namespaces)).items.map((ns) => ns.metadata.name);
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.ok(namespaces.includes(name), `${name} exists`);
    assert.deepEqual(await awsAuth(), {
      mapRoles: [
        { rolearn: adminRole, username: 'admin:{{SessionName}}', groups: ['system:masters'] },
        { rolearn: nodeRole, username: 'system:node:{{SessionName}}', groups: ['system:nodes'] },
      ],
      mapUsers: [{ userarn: adminUser, username: 'alice', groups: ['system:masters'] }],
    });
  });

  it('adds newly declared entries on Update and keeps the ones added by hand', async () => {
    const current = (await store.get(types.configmaps, 'kube-system', 'aws-auth')) as KubeObject & { data: Record<string, string> };
    const handAdded = '- rolearn: arn:aws:iam::111122223333:role/Developers\n  username: dev:{{SessionName}}\n  groups: [team-a]\n';
    await store.update(types.configmaps, { ...current, data: { ...current.data, mapRoles: `${current.data.mapRoles}${handAdded}` } });
    const secondNodeRole = 'arn:aws:iam::111122223333:role/skiff-nodes-arm';
    const result = await handleBootstrapEvent(event('Update', { AdminPrincipalArns: adminRole, NodeRoleArns: [nodeRole, secondNodeRole] }), {
      store: () => store,
    });
    assert.equal(result.Status, 'SUCCESS');
    assert.deepEqual(
      (await awsAuth()).mapRoles.map((role) => role.rolearn),
      [adminRole, nodeRole, 'arn:aws:iam::111122223333:role/Developers', secondNodeRole],
    );
    const before = (await store.get(types.configmaps, 'kube-system', 'aws-auth')).metadata.resourceVersion;
    await handleBootstrapEvent(event('Update', { AdminPrincipalArns: adminRole, NodeRoleArns: [nodeRole, secondNodeRole] }), { store: () => store });
    assert.equal((await store.get(types.configmaps, 'kube-system', 'aws-auth')).metadata.resourceVersion, before, 'a second run writes nothing');
  });

  it('leaves the cluster alone on Delete', async () => {
    const result = await handleBootstrapEvent(event('Delete', {}), { store: () => store });
    assert.equal(result.Status, 'SUCCESS');
    assert.equal(responses.at(-1)?.body.PhysicalResourceId, 'Skiff-bootstrap');
    assert.ok(await store.get(types.namespaces, undefined, 'default'));
  });

  it('answers FAILED with the reason when the store cannot be written', async () => {
    const broken = new Proxy({}, { get: () => () => Promise.reject(new Error('AccessDeniedException: not allowed')) }) as ObjectStore;
    const result = await handleBootstrapEvent(event('Create', {}), { store: () => broken });
    assert.equal(result.Status, 'FAILED');
    assert.match(String(responses.at(-1)?.body.Reason), /AccessDeniedException/);
  });
});
