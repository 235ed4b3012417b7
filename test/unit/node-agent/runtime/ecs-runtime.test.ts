import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { DescribeTasksCommand, ListTasksCommand, RegisterTaskDefinitionCommand, StartTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { EcsRuntime, type EcsRuntimeOptions } from '../../../../node-agent/runtime/ecs-runtime.ts';
import type { ContainerRecord, PodContainerLaunch, PodLaunch } from '../../../../node-agent/runtime/runtime.ts';
import { PodSandboxError } from '../../../../node-agent/runtime/runtime.ts';
import { SecretsManagerSources } from '../../../../node-agent/runtime/secrets-manager-sources.ts';
import { FakeEcs } from '../../../support/fake-ecs.ts';
import { FakeSecretsManager } from '../../../support/fake-secrets-manager.ts';
import { waitFor } from '../../../support/wait.ts';

const runtimes: EcsRuntime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
});

interface Setup {
  readonly ecs: FakeEcs;
  readonly secrets: FakeSecretsManager;
  readonly sleeps: number[];
}

function setup(options: ConstructorParameters<typeof FakeEcs>[0] = {}): Setup {
  return { ecs: new FakeEcs(options), secrets: new FakeSecretsManager(), sleeps: [] };
}

async function runtimeOn(
  { ecs, secrets, sleeps }: Setup,
  containerInstanceArn = ecs.containerInstanceArn,
  extra: Partial<EcsRuntimeOptions> = {},
): Promise<EcsRuntime> {
  const runtime = await EcsRuntime.create({
    client: ecs.client,
    cluster: ecs.cluster,
    containerInstanceArn,
    nodeName: 'i-0123456789abcdef0',
    subnets: ['subnet-a'],
    securityGroups: ['sg-pods'],
    taskDefinitions: {
      familyPrefix: 'skiff',
      logGroup: '/skiff/pods',
      region: ecs.region,
      executionRoleArn: `arn:aws:iam::${ecs.account}:role/skiff-task-execution`,
    },
    sources: new SecretsManagerSources({ client: secrets.client, prefix: 'skiff/test', retry: { sleep: async (ms) => void sleeps.push(ms) } }),
    // Reads happen when a test asks (refresh), so the calls a test sees are its own.
    pollMs: { busy: 60_000, idle: 60_000 },
    stopMarginMs: 5_000,
    retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 1 },
    ...extra,
  });
  runtimes.push(runtime);
  return runtime;
}

function container(overrides: Partial<PodContainerLaunch> = {}): PodContainerLaunch {
  return {
    name: 'nginx',
    image: 'nginx:1.27',
    env: [{ name: 'HOSTNAME', value: 'web-abc12-x1', origin: 'pod' }],
    ports: [{ containerPort: 80, protocol: 'TCP' }],
    resources: { requests: {}, limits: {} },
    ...overrides,
  };
}

function launch(uid: string, overrides: Partial<PodLaunch> = {}): PodLaunch {
  return {
    pod: { namespace: 'default', name: `web-abc12-${uid.slice(0, 5)}`, uid },
    workloadName: 'web-abc12',
    attempt: 0,
    containers: [container()],
    terminationGracePeriodSeconds: 30,
    sources: [],
    ...overrides,
  };
}

async function untilRunning(runtime: EcsRuntime, records: readonly ContainerRecord[]): Promise<ContainerRecord> {
  const id = records[0]?.id ?? '';
  return waitFor('the task to run', async () => {
    await runtime.refresh();
    const record = runtime.container(id);
    return record && !record.creating && !record.exit ? record : undefined;
  });
}

const uid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('EcsRuntime', () => {
  it('starts a pod as one task on its own container instance: definition, StartTask, then PENDING to RUNNING with the ENI address', async () => {
    const fake = setup();
    const runtime = await runtimeOn(fake);
    assert.deepEqual(fake.ecs.callNames(), ['ListTasks', 'ListTasks']);

    const records = await runtime.startPod(launch(uid(1)));
    assert.deepEqual(fake.ecs.callNames().slice(2), ['DescribeTaskDefinition', 'RegisterTaskDefinition', 'StartTask']);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.creating, true);

    const [register] = fake.ecs.inputsOf(RegisterTaskDefinitionCommand);
    assert.equal(register?.networkMode, 'awsvpc');
    assert.deepEqual(register?.requiresCompatibilities, ['EC2']);
    assert.match(register?.family ?? '', /^skiff-default-web-abc12-[0-9a-f]{16}$/);
    const definition = register?.containerDefinitions?.[0];
    assert.equal(definition?.image, 'nginx:1.27');
    assert.equal(definition?.essential, true);
    assert.deepEqual(definition?.portMappings, [{ containerPort: 80, protocol: 'tcp' }]);
    assert.equal(definition?.memoryReservation, 64);
    assert.equal(definition?.stopTimeout, 30);
    assert.deepEqual(definition?.logConfiguration, {
      logDriver: 'awslogs',
      options: { 'awslogs-group': '/skiff/pods', 'awslogs-region': 'eu-west-1', 'awslogs-stream-prefix': 'default' },
    });
    assert.equal(definition?.environment, undefined, 'variables of one pod go in the StartTask overrides, not the shared definition');

    const [start] = fake.ecs.inputsOf(StartTaskCommand);
    assert.equal(start?.cluster, 'skiff');
    assert.deepEqual(start?.containerInstances, [fake.ecs.containerInstanceArn]);
    assert.equal(start?.startedBy, uid(1));
    assert.deepEqual(start?.networkConfiguration, { awsvpcConfiguration: { subnets: ['subnet-a'], securityGroups: ['sg-pods'] } });
    assert.deepEqual(start?.overrides, { containerOverrides: [{ name: 'nginx', environment: [{ name: 'HOSTNAME', value: 'web-abc12-x1' }] }] });
    assert.deepEqual(Object.fromEntries((start?.tags ?? []).map((t) => [t.key, t.value])), {
      'skiff.io/pod-uid': uid(1),
      'skiff.io/pod-namespace': 'default',
      'skiff.io/pod-name': `web-abc12-${uid(1).slice(0, 5)}`,
      'skiff.io/attempt': '0',
      'skiff.io/node': 'i-0123456789abcdef0',
    });

    const running = await untilRunning(runtime, records);
    assert.match(running.podIP ?? '', /^10\.0\.1\.\d+$/);
    assert.match(running.imageID, /^nginx:1\.27@sha256:[0-9a-f]{64}$/);
    assert.match(running.containerID, /^ecs:\/\/[0-9a-f]{32}\/nginx$/);
  });

  it('reuses the task definition while the template is unchanged and registers a new family for a new image', async () => {
    const fake = setup();
    const runtime = await runtimeOn(fake);
    await runtime.startPod(launch(uid(1)));
    await runtime.startPod(launch(uid(2)));
    await runtime.startPod(launch(uid(3)));
    assert.deepEqual(fake.ecs.callNames().slice(2), ['DescribeTaskDefinition', 'RegisterTaskDefinition', 'StartTask', 'StartTask', 'StartTask']);
    const definitions = new Set(fake.ecs.inputsOf(StartTaskCommand).map((input) => input.taskDefinition));
    assert.equal(definitions.size, 1);

    // Another agent (another node) finds the definition instead of registering its own.
    const other = await runtimeOn(fake, fake.ecs.addContainerInstance());
    await other.startPod(launch(uid(4)));
    assert.deepEqual(fake.ecs.callNames().slice(-4), ['ListTasks', 'ListTasks', 'DescribeTaskDefinition', 'StartTask']);
    assert.equal(fake.ecs.inputsOf(StartTaskCommand).at(-1)?.taskDefinition, [...definitions][0]);

    await runtime.startPod(launch(uid(5), { containers: [container({ image: 'httpd:2.4' })] }));
    assert.deepEqual(fake.ecs.callNames().slice(-3), ['DescribeTaskDefinition', 'RegisterTaskDefinition', 'StartTask']);
    const families = fake.ecs.definitionsRegistered().map((d) => d.family);
    assert.equal(new Set(families).size, 2);
  });

  it('never starts a second task for a pod that has one', async () => {
    const fake = setup();
    const runtime = await runtimeOn(fake);
    const first = await runtime.startPod(launch(uid(1)));
    const again = await runtime.startPod(launch(uid(1)));
    assert.equal(again[0]?.id, first[0]?.id);
    assert.equal(fake.ecs.inputsOf(StartTaskCommand).length, 1);
  });

  it('stops a task with StopTask and resolves once ECS reports it STOPPED, with the exit code', async () => {
    const fake = setup({ stopMs: 150 });
    const runtime = await runtimeOn(fake);
    const records = await runtime.startPod(launch(uid(1)));
    await untilRunning(runtime, records);
    const exits: ContainerRecord[] = [];
    runtime.onExit((record) => exits.push(record));
    const before = fake.ecs.mock.calls().length;

    const stopping = runtime.stop(records[0]?.id ?? '', 30_000);
    // The agent reads task state on its own schedule; here the test drives it.
    const poller = setInterval(() => void runtime.refresh(), 20);
    const stopped = await stopping;
    clearInterval(poller);

    const calls = fake.ecs.callNames().slice(before);
    assert.equal(calls[0], 'StopTask');
    assert.equal(calls.filter((name) => name === 'StopTask').length, 1);
    assert.ok(calls.slice(1).every((name) => name === 'DescribeTasks'));
    assert.equal(fake.ecs.inputsOf(StopTaskCommand)[0]?.task, fake.ecs.inputsOf(DescribeTasksCommand).at(-1)?.tasks?.[0]);
    assert.equal(stopped?.exit?.exitCode, 143);
    assert.equal(stopped?.exit?.reason, 'Error');
    assert.deepEqual(
      exits.map((r) => r.exit?.exitCode),
      [143],
    );
  });

  it('reports a container that exits by itself, with its exit code', async () => {
    const fake = setup();
    const runtime = await runtimeOn(fake);
    const records = await runtime.startPod(launch(uid(1)));
    await untilRunning(runtime, records);
    const taskArn = fake.ecs.running()[0]?.taskArn ?? '';
    fake.ecs.exit(taskArn, 'nginx', 3);
    await runtime.refresh();
    const record = runtime.container(records[0]?.id ?? '');
    assert.equal(record?.exit?.exitCode, 3);
    assert.equal(record?.exit?.reason, 'Error');
    assert.equal(record?.exit?.message, undefined);
    assert.equal(fake.ecs.inputsOf(StopTaskCommand).length, 0);
  });

  it('adopts the tasks a previous agent left (found by tag) and never starts a duplicate', async () => {
    const fake = setup();
    const first = await runtimeOn(fake);
    const records = await first.startPod(launch(uid(1), { attempt: 2 }));
    await untilRunning(first, records);
    await first.close();
    const before = fake.ecs.mock.calls().length;

    const second = await runtimeOn(fake);
    assert.deepEqual(fake.ecs.callNames().slice(before), ['ListTasks', 'ListTasks', 'DescribeTasks']);
    const [running, stopped] = fake.ecs.inputsOf(ListTasksCommand).slice(-2);
    assert.deepEqual(running, { cluster: 'skiff', containerInstance: fake.ecs.containerInstanceArn, desiredStatus: 'RUNNING' });
    assert.equal(stopped?.desiredStatus, 'STOPPED');
    assert.deepEqual(fake.ecs.inputsOf(DescribeTasksCommand).at(-1)?.include, ['TAGS']);
    const adopted = second.containers();
    assert.equal(adopted.length, 1);
    assert.equal(adopted[0]?.pod.uid, uid(1));
    assert.equal(adopted[0]?.attempt, 2);
    assert.equal(adopted[0]?.id, records[0]?.id);

    await second.startPod(launch(uid(1), { attempt: 2 }));
    assert.equal(fake.ecs.inputsOf(StartTaskCommand).length, 1, 'no second StartTask for an adopted pod');
  });

  it('retries throttled calls with back-off and starts exactly one task', async () => {
    const fake = setup();
    const runtime = await runtimeOn(fake);
    fake.ecs.throttle('RegisterTaskDefinition', 1);
    fake.ecs.throttle('StartTask', 2);
    await runtime.startPod(launch(uid(1)));
    assert.deepEqual(fake.ecs.callNames().slice(2), [
      'DescribeTaskDefinition',
      'RegisterTaskDefinition',
      'RegisterTaskDefinition',
      'StartTask',
      'StartTask',
      'StartTask',
    ]);
    assert.equal(fake.ecs.allTasks().length, 1);
    assert.deepEqual(fake.sleeps, [200, 200, 400], 'capped doubling back-off (jitter at its top in this test)');
  });

  it('looks for the task before starting again after a server error, so a lost answer makes no duplicate', async () => {
    const fake = setup();
    const runtime = await runtimeOn(fake);
    fake.ecs.serverError('StartTask', 1);
    await runtime.startPod(launch(uid(1)));
    assert.deepEqual(fake.ecs.callNames().slice(2), ['DescribeTaskDefinition', 'RegisterTaskDefinition', 'StartTask', 'ListTasks', 'StartTask']);
    assert.equal(fake.ecs.inputsOf(ListTasksCommand).at(-1)?.startedBy, uid(1));
    assert.equal(fake.ecs.allTasks().length, 1);
  });

  it('treats a task ECS no longer knows as stopped, and a StopTask on it as done', async () => {
    const fake = setup();
    const runtime = await runtimeOn(fake);
    const records = await runtime.startPod(launch(uid(1)));
    await untilRunning(runtime, records);
    const exits: ContainerRecord[] = [];
    runtime.onExit((record) => exits.push(record));
    fake.ecs.forget(fake.ecs.allTasks()[0]?.taskArn ?? '');
    await runtime.refresh();
    assert.equal(exits.length, 1);
    assert.equal(exits[0]?.exit?.exitCode, 137);
    assert.equal(exits[0]?.exit?.message, 'the task is gone from ECS');

    const second = await runtime.startPod(launch(uid(2)));
    fake.ecs.forget(fake.ecs.allTasks()[0]?.taskArn ?? '');
    const stopped = await runtime.stop(second[0]?.id ?? '', 30_000);
    assert.equal(stopped?.exit?.message, 'the task was already gone from ECS');
    assert.equal(fake.ecs.inputsOf(StopTaskCommand).length, 1);
  });

  it('reports a task ECS cannot place as a sandbox error', async () => {
    const fake = setup({ taskLimit: 1 });
    const runtime = await runtimeOn(fake);
    await runtime.startPod(launch(uid(1)));
    await assert.rejects(runtime.startPod(launch(uid(2))), (error: unknown) => error instanceof PodSandboxError && /RESOURCE:ENI/.test(error.message));
  });

  it('reports an image that cannot be pulled as a pull failure, not a crash', async () => {
    const fake = setup();
    fake.ecs.failPulls('nginx:nope');
    const runtime = await runtimeOn(fake);
    const records = await runtime.startPod(launch(uid(1), { containers: [container({ image: 'nginx:nope' })] }));
    const exited = await waitFor('the failed pull', async () => {
      await runtime.refresh();
      return runtime.container(records[0]?.id ?? '')?.exit;
    });
    assert.equal(exited.pullFailed, true);
    assert.match(exited.message ?? '', /CannotPullContainerError/);
  });

  it('passes Secret and ConfigMap values by reference: no ECS call carries them', async () => {
    const fake = setup();
    const runtime = await runtimeOn(fake);
    const password = 'hunter2-very-secret';
    await runtime.startPod(
      launch(uid(1), {
        containers: [
          container({
            env: [
              { name: 'PASSWORD', origin: 'secret', source: 'db', key: 'password' },
              { name: 'MODE', origin: 'configMap', source: 'settings', key: 'mode' },
              { name: 'GREETING', value: 'hello', origin: 'template' },
            ],
          }),
        ],
        sources: [
          { kind: 'secret', name: 'db', uid: 'u-db', resourceVersion: '7', data: { password } },
          { kind: 'configMap', name: 'settings', uid: 'u-settings', resourceVersion: '3', data: { mode: 'quiet-mode-value' } },
        ],
      }),
    );
    const everything = JSON.stringify(fake.ecs.mock.calls().map((call) => call.args[0].input));
    assert.ok(!everything.includes(password), 'the Secret value appears in no ECS call');
    assert.ok(!everything.includes('quiet-mode-value'), 'the ConfigMap value appears in no ECS call');
    const definition = fake.ecs.inputsOf(RegisterTaskDefinitionCommand)[0]?.containerDefinitions?.[0];
    const dbArn = fake.secrets.arnOf('skiff/test/default/secrets/db');
    const settingsArn = fake.secrets.arnOf('skiff/test/default/configmaps/settings');
    assert.deepEqual(definition?.secrets, [
      { name: 'MODE', valueFrom: `${settingsArn}:mode::` },
      { name: 'PASSWORD', valueFrom: `${dbArn}:password::` },
    ]);
    assert.deepEqual(definition?.environment, [{ name: 'GREETING', value: 'hello' }]);
    assert.equal(fake.secrets.valueOf('skiff/test/default/secrets/db'), JSON.stringify({ password }));
  });
  it('runs exec probes in the task container ECS reports (its runtimeId), and in no container that is not running', async () => {
    const fake = setup();
    const execs: { runtimeId: string; argv: readonly string[]; timeoutMs: number }[] = [];
    const runtime = await runtimeOn(fake, fake.ecs.containerInstanceArn, {
      execInContainer: async (runtimeId, argv, timeoutMs) => {
        execs.push({ runtimeId, argv, timeoutMs });
        return { exitCode: 0, output: 'ok' };
      },
    });
    const records = await runtime.startPod(launch(uid(9)));
    const id = records[0]?.id ?? '';
    assert.deepEqual(await runtime.exec(id, ['cat', '/tmp/healthy'], 1000), { exitCode: 1, output: 'the container is not running' });
    await untilRunning(runtime, records);
    const runtimeId = fake.ecs.running()[0]?.containers?.[0]?.runtimeId;
    assert.ok(runtimeId);
    assert.deepEqual(await runtime.exec(id, ['cat', '/tmp/healthy'], 1000), { exitCode: 0, output: 'ok' });
    assert.deepEqual(execs, [{ runtimeId, argv: ['cat', '/tmp/healthy'], timeoutMs: 1000 }]);

    const stopping = runtime.stop(id, 1000);
    await waitFor('the task stopped', async () => {
      await runtime.refresh();
      return runtime.container(id)?.exit !== undefined;
    });
    await stopping;
    assert.deepEqual(await runtime.exec(id, ['cat', '/tmp/healthy'], 1000), { exitCode: 1, output: 'the container is not running' });
    assert.equal(execs.length, 1);
  });
});
