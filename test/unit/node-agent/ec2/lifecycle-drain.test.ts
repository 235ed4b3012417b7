import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { instanceMetadata } from '../../../../node-agent/ec2/instance-metadata.ts';
import { watchLifecycle } from '../../../../node-agent/ec2/lifecycle-drain.ts';
import { waitFor } from '../../../support/wait.ts';

/**
 * The instance metadata service cannot run here: a loopback server answers as IMDSv2 is
 * documented to (a token from PUT /latest/api/token, required on every GET).
 */
function metadataServer(values: Map<string, string>) {
  const requests: string[] = [];
  const token = 'imds-session-token';
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (request.method === 'PUT' && request.url === '/latest/api/token') {
      if (!request.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void response.writeHead(400).end();
      return void response.writeHead(200).end(token);
    }
    if (request.headers['x-aws-ec2-metadata-token'] !== token) return void response.writeHead(401).end();
    const value = values.get((request.url ?? '').replace('/latest/meta-data/', ''));
    if (value === undefined) return void response.writeHead(404).end();
    response.writeHead(200).end(value);
  });
  return { server, requests };
}

describe('lifecycle drain', () => {
  const values = new Map<string, string>([
    ['autoscaling/target-lifecycle-state', 'InService'],
    ['tags/instance/aws:autoscaling:groupName', 'skiff-nodes-ABC'],
  ]);
  const { server, requests } = metadataServer(values);
  let endpoint = '';

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads metadata with an IMDSv2 session token and answers undefined for a missing path', async () => {
    const metadata = instanceMetadata({ endpoint });
    assert.equal(await metadata.get('autoscaling/target-lifecycle-state'), 'InService');
    assert.equal(await metadata.get('no/such/path'), undefined);
    assert.deepEqual(requests.slice(0, 2), ['PUT /latest/api/token', 'GET /latest/meta-data/autoscaling/target-lifecycle-state']);
    assert.equal(requests.filter((r) => r.startsWith('PUT')).length, 1, 'the session token is reused');
  });

  it('drains when the group marks the instance for termination, then completes the lifecycle action', async () => {
    const autoScaling = new AutoScalingClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const mock = mockClient(autoScaling);
    mock.on(CompleteLifecycleActionCommand).resolves({});
    const steps: string[] = [];
    values.set('autoscaling/target-lifecycle-state', 'InService');
    const watcher = watchLifecycle({
      metadata: instanceMetadata({ endpoint }),
      autoScaling,
      hookName: 'skiff-drain',
      instanceId: 'i-0123456789abcdef0',
      pollMs: 20,
      drain: async () => {
        steps.push('drain');
        assert.equal(mock.commandCalls(CompleteLifecycleActionCommand).length, 0, 'the action completes only after the drain');
      },
    });
    const polls = () => requests.filter((r) => r.endsWith('/autoscaling/target-lifecycle-state')).length;
    const seen = polls();
    await waitFor('three more reads of the target state', () => polls() >= seen + 3);
    assert.deepEqual(steps, [], 'nothing happens while the instance is in service');
    values.set('autoscaling/target-lifecycle-state', 'Terminated');
    await watcher.drained;
    watcher.stop();
    assert.deepEqual(steps, ['drain']);
    assert.deepEqual(
      mock.commandCalls(CompleteLifecycleActionCommand).map((call) => call.args[0].input),
      [{ AutoScalingGroupName: 'skiff-nodes-ABC', LifecycleHookName: 'skiff-drain', InstanceId: 'i-0123456789abcdef0', LifecycleActionResult: 'CONTINUE' }],
    );
  });

  it('leaves the action to the hook timeout when the drain fails', async () => {
    const autoScaling = new AutoScalingClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const mock = mockClient(autoScaling);
    values.set('autoscaling/target-lifecycle-state', 'Terminated');
    const watcher = watchLifecycle({
      metadata: instanceMetadata({ endpoint }),
      autoScaling,
      hookName: 'skiff-drain',
      instanceId: 'i-1',
      pollMs: 20,
      drain: async () => {
        throw new Error('the API is unreachable');
      },
    });
    await assert.rejects(watcher.drained, /unreachable/);
    watcher.stop();
    assert.equal(mock.commandCalls(CompleteLifecycleActionCommand).length, 0);
  });
});
