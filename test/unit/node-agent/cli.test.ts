import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentUsageError, parseAgentArgs } from '../../../node-agent/cli.ts';
import { choosePodNetworkMode } from '../../../node-agent/runtime/pod-network.ts';

describe('parseAgentArgs', () => {
  it('applies defaults: process runtime, 4 CPU, 8Gi, 110 pods, 127.0.0.1, a free port', () => {
    const settings = parseAgentArgs(['--kubeconfig', '/k', '--name', 'n1'], { SKIFF_DATA_DIR: '/data' });
    assert.equal(settings.runtime, 'process');
    assert.deepEqual([settings.cpu, settings.memory, settings.pods, settings.address, settings.port], ['4', '8Gi', 110, '127.0.0.1', 0]);
    assert.equal(settings.stateDir, '/data/nodes/n1');
    assert.equal(settings.imagesFile, '/data/images.json');
    assert.equal(settings.podCidr, undefined);
    assert.equal(settings.keepContainers, false);
  });

  it('gives each --node-index its own address and pod subnet', () => {
    const env = { SKIFF_DATA_DIR: '/data' };
    const one = parseAgentArgs(['--kubeconfig', '/k', '--name', 'n1', '--node-index', '1', '--pod-network', 'loopback'], env);
    const two = parseAgentArgs(['--kubeconfig', '/k', '--name', 'n2', '--node-index', '2', '--pod-network', 'loopback'], env);
    assert.deepEqual([one.address, two.address], ['127.0.1.1', '127.0.1.2']);
    assert.match(one.podCidr ?? '', /^127\.\d+\.1\.0\/24$/);
    assert.equal(two.podCidr, one.podCidr?.replace('.1.0/24', '.2.0/24'));
  });

  it('gives namespace mode a 10.x /24 per --node-index (ADR 136), loopback when it cannot', () => {
    const env = { SKIFF_DATA_DIR: '/data-not-routed' };
    const one = parseAgentArgs(['--kubeconfig', '/k', '--name', 'n1', '--node-index', '1'], env);
    const two = parseAgentArgs(['--kubeconfig', '/k', '--name', 'n2', '--node-index', '2'], env);
    const mode = choosePodNetworkMode('auto', '10.128.0.0/24').mode;
    assert.equal(one.podNetwork, 'auto');
    if (mode === 'namespaces') {
      assert.match(one.podCidr ?? '', /^10\.(1[2-9]\d|2[0-5]\d)\.1\.0\/24$/);
      assert.equal(two.podCidr, one.podCidr?.replace('.1.0/24', '.2.0/24'));
    } else {
      assert.match(one.podCidr ?? '', /^127\.\d+\.1\.0\/24$/);
    }
    assert.throws(() => parseAgentArgs(['--kubeconfig', '/k', '--name', 'n1', '--pod-network', 'bridge'], env), AgentUsageError);
  });

  it('lets explicit flags win over the node-index defaults', () => {
    const settings = parseAgentArgs([
      '--kubeconfig',
      '/k',
      '--name',
      'n1',
      '--node-index',
      '1',
      '--address',
      '127.0.0.9',
      '--pod-cidr',
      '127.99.0.0/24',
      '--runtime',
      'sim',
    ]);
    assert.deepEqual([settings.address, settings.podCidr, settings.runtime], ['127.0.0.9', '127.99.0.0/24', 'sim']);
  });

  it('takes the ecs runtime settings, leaves the size to ECS and the kubelet API on loopback', () => {
    const settings = parseAgentArgs([
      '--kubeconfig',
      '/k',
      '--name',
      'i-0123456789abcdef0',
      '--runtime',
      'ecs',
      '--address',
      '10.0.1.7',
      '--pods',
      '10',
      '--subnets',
      'subnet-a, subnet-b',
      '--security-groups',
      'sg-pods',
      '--pod-log-group',
      '/skiff/prod/pods',
      '--task-execution-role',
      'arn:aws:iam::1:role/exec',
      '--secret-prefix',
      'skiff/prod',
      '--lifecycle-hook',
      'skiff-drain',
    ]);
    assert.equal(settings.runtime, 'ecs');
    assert.deepEqual(settings.sizeGiven, { cpu: false, memory: false, pods: true });
    assert.equal(settings.kubeletAddress, '127.0.0.1');
    assert.equal(settings.serviceProxy, true);
    assert.equal(settings.lifecycleHook, 'skiff-drain');
    assert.deepEqual(settings.ecs, {
      subnets: ['subnet-a', 'subnet-b'],
      securityGroups: ['sg-pods'],
      logGroup: '/skiff/prod/pods',
      executionRoleArn: 'arn:aws:iam::1:role/exec',
      secretPrefix: 'skiff/prod',
    });
  });

  it('names the ecs settings that are missing', () => {
    assert.throws(
      () => parseAgentArgs(['--kubeconfig', '/k', '--name', 'n', '--runtime', 'ecs', '--subnets', 's']),
      (error: unknown) => error instanceof AgentUsageError && /--security-groups, --pod-log-group, --task-execution-role, --secret-prefix/.test(error.message),
    );
  });

  const bad: [string, string[]][] = [
    ['no --name', ['--kubeconfig', '/k']],
    ['an unknown runtime', ['--kubeconfig', '/k', '--name', 'n', '--runtime', 'docker']],
    ['a bad pod count', ['--kubeconfig', '/k', '--name', 'n', '--pods', 'many']],
    ['a name that is not a DNS subdomain', ['--kubeconfig', '/k', '--name', 'Node_1']],
    ['a CPU count that is not a quantity', ['--kubeconfig', '/k', '--name', 'n', '--cpu', 'lots']],
    ['a memory size that is not a quantity', ['--kubeconfig', '/k', '--name', 'n', '--memory', '8GB']],
    ['a node index out of range', ['--kubeconfig', '/k', '--name', 'n', '--node-index', '300']],
  ];
  for (const [what, args] of bad) {
    it(`rejects ${what}`, () => assert.throws(() => parseAgentArgs(args), AgentUsageError));
  }
});
