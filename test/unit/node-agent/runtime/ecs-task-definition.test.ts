import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, familyName, podTask } from '../../../../node-agent/runtime/ecs-task-definition.ts';
import type { PodContainerLaunch, PodLaunch } from '../../../../node-agent/runtime/runtime.ts';

const settings = { familyPrefix: 'prod', logGroup: '/skiff/prod/pods', region: 'us-east-1', executionRoleArn: 'arn:aws:iam::1:role/exec' };

function launchOf(containers: PodContainerLaunch[], overrides: Partial<PodLaunch> = {}): PodLaunch {
  return {
    pod: { namespace: 'shop', name: 'api-7d9f-x1', uid: 'u-1' },
    workloadName: 'api-7d9f',
    attempt: 0,
    containers,
    terminationGracePeriodSeconds: 30,
    sources: [],
    ...overrides,
  };
}

function containerOf(overrides: Partial<PodContainerLaunch> = {}): PodContainerLaunch {
  return { name: 'api', image: 'example/api:1', env: [], ports: [], resources: { requests: {}, limits: {} }, ...overrides };
}

describe('podTask', () => {
  it('maps command and args to entryPoint and command, ports to awsvpc port mappings, requests and limits to ECS sizes', () => {
    const task = podTask(
      launchOf([
        containerOf({
          command: ['/bin/api'],
          args: ['--port', '8080'],
          workingDir: '/srv',
          ports: [
            { containerPort: 8080, protocol: 'TCP' },
            { containerPort: 5353, protocol: 'UDP' },
          ],
          resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
        }),
      ]),
      settings,
      new Map(),
    );
    const [definition] = task.definition.containerDefinitions ?? [];
    assert.deepEqual(definition?.entryPoint, ['/bin/api']);
    assert.deepEqual(definition?.command, ['--port', '8080']);
    assert.equal(definition?.workingDirectory, '/srv');
    assert.deepEqual(definition?.portMappings, [
      { containerPort: 8080, protocol: 'tcp' },
      { containerPort: 5353, protocol: 'udp' },
    ]);
    assert.equal(definition?.cpu, 256, '250m of 1024 units a core');
    assert.equal(definition?.memoryReservation, 128);
    assert.equal(definition?.memory, 512);
    assert.equal(task.definition.cpu, '1024', 'every container has a CPU limit: the task gets the sum');
    assert.equal(task.definition.memory, '512');
    assert.equal(task.definition.networkMode, 'awsvpc');
    assert.equal(task.definition.executionRoleArn, 'arn:aws:iam::1:role/exec');
    assert.equal(task.definition.taskRoleArn, undefined);
  });

  it('leaves task-level sizes out when a container has no limit, and reserves 64 MiB for a container that asks nothing', () => {
    const task = podTask(
      launchOf([containerOf(), containerOf({ name: 'sidecar', resources: { requests: {}, limits: { memory: '1Gi' } } })]),
      settings,
      new Map(),
    );
    assert.equal(task.definition.cpu, undefined);
    assert.equal(task.definition.memory, undefined);
    const [api, sidecar] = task.definition.containerDefinitions ?? [];
    assert.equal(api?.memoryReservation, 64);
    assert.equal(api?.memory, undefined);
    assert.equal(sidecar?.memory, 1024);
    assert.equal(sidecar?.memoryReservation, undefined, 'a hard limit alone is enough for ECS (the API defaults the request to it anyway)');
  });

  it('caps the stop timeout at the 120 s ECS allows', () => {
    const task = podTask(launchOf([containerOf()], { terminationGracePeriodSeconds: 600 }), settings, new Map());
    assert.equal(task.definition.containerDefinitions?.[0]?.stopTimeout, 120);
  });

  it('gives pods of one template one family, whatever their names and per-pod variables', () => {
    const one = podTask(launchOf([containerOf({ env: [{ name: 'HOSTNAME', value: 'api-7d9f-x1', origin: 'pod' }] })]), settings, new Map());
    const two = podTask(
      launchOf([containerOf({ env: [{ name: 'HOSTNAME', value: 'api-7d9f-y2', origin: 'pod' }] })], {
        pod: { namespace: 'shop', name: 'api-7d9f-y2', uid: 'u-2' },
      }),
      settings,
      new Map(),
    );
    assert.equal(one.family, two.family);
    assert.match(one.family, /^prod-shop-api-7d9f-[0-9a-f]{16}$/);
    assert.deepEqual(one.containerOverrides, [{ name: 'api', environment: [{ name: 'HOSTNAME', value: 'api-7d9f-x1' }] }]);
    assert.deepEqual(two.containerOverrides, [{ name: 'api', environment: [{ name: 'HOSTNAME', value: 'api-7d9f-y2' }] }]);
    const other = podTask(launchOf([containerOf({ image: 'example/api:2' })]), settings, new Map());
    assert.notEqual(other.family, one.family);
  });

  it('puts args that expand per-pod variables in the overrides, keeping the definition shared', () => {
    const task = podTask(launchOf([containerOf({ args: ['--name=api-7d9f-x1'], argsPerPod: true })]), settings, new Map());
    assert.equal(task.definition.containerDefinitions?.[0]?.command, undefined);
    assert.deepEqual(task.containerOverrides, [{ name: 'api', command: ['--name=api-7d9f-x1'] }]);
  });

  it('refers to Secret and ConfigMap keys by ARN and JSON key, never by value', () => {
    const task = podTask(
      launchOf([
        containerOf({
          env: [
            { name: 'TOKEN', origin: 'secret', source: 'api-token', key: 'token' },
            { name: 'LEVEL', origin: 'configMap', source: 'api-config', key: 'level' },
            { name: 'MODE', value: 'prod', origin: 'template' },
          ],
        }),
      ]),
      settings,
      new Map([
        ['secret/api-token', 'arn:aws:secretsmanager:us-east-1:1:secret:skiff/prod/shop/secrets/api-token-AbCdEf'],
        ['configMap/api-config', 'arn:aws:secretsmanager:us-east-1:1:secret:skiff/prod/shop/configmaps/api-config-GhIjKl'],
      ]),
    );
    const [definition] = task.definition.containerDefinitions ?? [];
    assert.deepEqual(definition?.environment, [{ name: 'MODE', value: 'prod' }]);
    assert.deepEqual(definition?.secrets, [
      { name: 'LEVEL', valueFrom: 'arn:aws:secretsmanager:us-east-1:1:secret:skiff/prod/shop/configmaps/api-config-GhIjKl:level::' },
      { name: 'TOKEN', valueFrom: 'arn:aws:secretsmanager:us-east-1:1:secret:skiff/prod/shop/secrets/api-token-AbCdEf:token::' },
    ]);
    assert.deepEqual(task.containerOverrides, []);
  });

  it('refuses a Secret reference it has no stored copy for', () => {
    assert.throws(
      () => podTask(launchOf([containerOf({ env: [{ name: 'T', origin: 'secret', source: 'nope', key: 'k' }] })]), settings, new Map()),
      /no stored copy/,
    );
  });
});

describe('familyName', () => {
  it('keeps ECS family characters and length', () => {
    const name = familyName('prod', 'team.a', `w${'x'.repeat(300)}`, '0123456789abcdef');
    assert.ok(name.length <= 255);
    assert.match(name, /^[A-Za-z0-9_-]+$/);
    assert.ok(name.endsWith('-0123456789abcdef'));
  });
});

describe('canonicalJson', () => {
  it('is the same whatever the key order and leaves undefined out', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined }], c: 'x' } }), canonicalJson({ a: { c: 'x', d: [1, { z: 1 }] }, b: 1 }));
  });
});
