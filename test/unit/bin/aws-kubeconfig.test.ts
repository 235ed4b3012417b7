/**
 * `skiff kubeconfig`: the stack's outputs (CloudFormation DescribeStacks, mocked with
 * aws-sdk-client-mock) become a kubeconfig whose user signs in through `skiff token`.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { parse } from 'yaml';
import { deployedCluster, renderAwsKubeconfig, StackError } from '../../../bin/aws-kubeconfig.ts';

const cloudFormation = mockClient(CloudFormationClient);
afterEach(() => cloudFormation.reset());

const outputs = [
  { OutputKey: 'ApiUrl', OutputValue: 'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster/' },
  { OutputKey: 'ClusterId', OutputValue: 'Skiff' },
  { OutputKey: 'Region', OutputValue: 'eu-west-1' },
  { OutputKey: 'WatchChannelUrl', OutputValue: 'wss://def456.execute-api.eu-west-1.amazonaws.com/cluster' },
];

describe('skiff kubeconfig', () => {
  it('reads the stack outputs with one DescribeStacks of that stack', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves({ Stacks: [{ StackName: 'Skiff', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: outputs }] });
    const cluster = await deployedCluster(new CloudFormationClient({ region: 'eu-west-1' }), 'Skiff');
    assert.deepEqual(cluster, {
      stackName: 'Skiff',
      server: 'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster/',
      clusterId: 'Skiff',
      region: 'eu-west-1',
      watchChannel: 'wss://def456.execute-api.eu-west-1.amazonaws.com/cluster',
    });
    assert.deepEqual(
      cloudFormation.calls().map((call) => [call.args[0].constructor.name, call.args[0].input]),
      [['DescribeStacksCommand', { StackName: 'Skiff' }]],
    );
  });

  it('writes a kubeconfig whose user runs skiff token as an exec credential plugin, keeping the stage path', () => {
    const yaml = renderAwsKubeconfig(
      { stackName: 'Skiff', server: 'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster/', clusterId: 'Skiff', region: 'eu-west-1' },
      { command: '/usr/bin/node', commandArgs: ['/src/skiff/bin/skiff.js'], profile: 'ops' },
    );
    const config = parse(yaml);
    assert.equal(config['current-context'], 'skiff-Skiff');
    assert.deepEqual(config.clusters, [{ name: 'skiff-Skiff', cluster: { server: 'https://abc123.execute-api.eu-west-1.amazonaws.com/cluster' } }]);
    assert.deepEqual(config.users[0].user.exec, {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: '/usr/bin/node',
      args: ['/src/skiff/bin/skiff.js', 'token', '--cluster-id', 'Skiff', '--region', 'eu-west-1'],
      env: [{ name: 'AWS_PROFILE', value: 'ops' }],
      interactiveMode: 'Never',
      provideClusterInfo: false,
    });
  });

  it('says clearly when the stack does not exist', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'Stack with id Nope does not exist' }));
    await assert.rejects(deployedCluster(new CloudFormationClient({ region: 'eu-west-1' }), 'Nope'), (error: unknown) => {
      assert.ok(error instanceof StackError);
      assert.match(error.message, /no stack named Nope/);
      return true;
    });
  });

  it('refuses a stack that is not deployed, or not a Skiff stack', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [{ StackName: 'Skiff', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date(), Outputs: outputs }] })
      .resolvesOnce({ Stacks: [{ StackName: 'Other', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [] }] });
    await assert.rejects(deployedCluster(new CloudFormationClient({ region: 'eu-west-1' }), 'Skiff'), /ROLLBACK_COMPLETE/);
    await assert.rejects(deployedCluster(new CloudFormationClient({ region: 'eu-west-1' }), 'Other'), /no ApiUrl output/);
  });
});
