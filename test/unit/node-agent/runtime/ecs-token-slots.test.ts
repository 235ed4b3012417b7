/**
 * ServiceAccount token files in ECS tasks (ADR 145): a pod that mounts a token volume gets a task
 * definition of its template's slot, whose host volume is a link the runtime points at the pod's
 * token directory before StartTask; the container mounts it read-only where Kubernetes puts it.
 * ECS is answered by aws-sdk-client-mock (test/support/fake-ecs.ts), the exact calls asserted.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { RegisterTaskDefinitionCommand, StartTaskCommand } from '@aws-sdk/client-ecs';
import { EcsRuntime } from '../../../../node-agent/runtime/ecs-runtime.ts';
import { podTask } from '../../../../node-agent/runtime/ecs-task-definition.ts';
import type { ContainerRecord, PodContainerLaunch, PodLaunch } from '../../../../node-agent/runtime/runtime.ts';
import { SecretsManagerSources } from '../../../../node-agent/runtime/secrets-manager-sources.ts';
import { FakeEcs } from '../../../support/fake-ecs.ts';
import { FakeSecretsManager } from '../../../support/fake-secrets-manager.ts';
import { waitFor } from '../../../support/wait.ts';

const mountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
const uid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('ServiceAccount tokens in ECS tasks', () => {
  let root: string;
  let slotsDir: string;
  const runtimes: EcsRuntime[] = [];

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'skiff-token-slots-'));
    slotsDir = join(root, 'token-slots');
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.close();
  });

  /** A pod's token directory as the agent fills it (service-account-volume.ts). */
  function tokenDir(podUid: string): string {
    const dir = join(root, podUid, 'volumes', 'kubernetes.io~projected', 'kube-api-access-x1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'token'), `token-of-${podUid}`);
    return dir;
  }

  function container(podUid: string): PodContainerLaunch {
    return {
      name: 'app',
      image: 'example/app:1',
      env: [],
      ports: [],
      resources: { requests: {}, limits: {} },
      tokenMounts: [{ hostDir: tokenDir(podUid), mountPath }],
    };
  }

  function launch(podUid: string): PodLaunch {
    return {
      pod: { namespace: 'team-a', name: `app-5f7c9-${podUid.slice(-4)}`, uid: podUid },
      workloadName: 'app-5f7c9',
      attempt: 0,
      containers: [container(podUid)],
      terminationGracePeriodSeconds: 30,
      sources: [],
    };
  }

  const settings = (ecs: FakeEcs) => ({
    familyPrefix: 'skiff',
    logGroup: '/skiff/pods',
    region: ecs.region,
    executionRoleArn: `arn:aws:iam::${ecs.account}:role/skiff-task-execution`,
    tokenSlotsDir: slotsDir,
  });

  async function runtimeOn(ecs: FakeEcs, secrets: FakeSecretsManager): Promise<EcsRuntime> {
    const runtime = await EcsRuntime.create({
      client: ecs.client,
      cluster: ecs.cluster,
      containerInstanceArn: ecs.containerInstanceArn,
      nodeName: 'i-0123456789abcdef0',
      subnets: ['subnet-a'],
      securityGroups: ['sg-pods'],
      taskDefinitions: settings(ecs),
      sources: new SecretsManagerSources({ client: secrets.client, prefix: 'skiff/test' }),
      pollMs: { busy: 60_000, idle: 60_000 },
      stopMarginMs: 5_000,
      retry: { sleep: async () => {}, random: () => 1 },
    });
    runtimes.push(runtime);
    return runtime;
  }

  async function untilRunning(runtime: EcsRuntime, records: readonly ContainerRecord[]): Promise<void> {
    const id = records[0]?.id ?? '';
    await waitFor('the task to run', async () => {
      await runtime.refresh();
      const record = runtime.container(id);
      return record && !record.creating && !record.exit ? record : undefined;
    });
  }

  it('names the token volume in the definition of a slot and mounts it read-only at the ServiceAccount path', () => {
    const ecs = new FakeEcs();
    const first = podTask(launch(uid(1)), settings(ecs), new Map());
    const second = podTask(launch(uid(2)), settings(ecs), new Map(), 1);
    assert.equal(first.hash, second.hash, 'pods of one template hash alike, wherever their tokens are');
    assert.equal(first.family, `skiff-team-a-app-5f7c9-${first.hash}-s0`);
    assert.equal(second.family, `skiff-team-a-app-5f7c9-${first.hash}-s1`);
    assert.deepEqual(first.definition.volumes, [{ name: 'serviceaccount-0', host: { sourcePath: `${slotsDir}/${first.hash}-0/0` } }]);
    assert.deepEqual(first.definition.containerDefinitions?.[0]?.mountPoints, [{ sourceVolume: 'serviceaccount-0', containerPath: mountPath, readOnly: true }]);
    assert.deepEqual(first.tokenLinks, [
      { path: `${slotsDir}/${first.hash}-0/0`, target: join(root, uid(1), 'volumes', 'kubernetes.io~projected', 'kube-api-access-x1') },
    ]);
    // A pod without a token keeps the plain family and no volume.
    const plain = podTask({ ...launch(uid(3)), containers: [{ ...container(uid(3)), tokenMounts: [] }] }, settings(ecs), new Map());
    assert.match(plain.family, /^skiff-team-a-app-5f7c9-[0-9a-f]{16}$/);
    assert.equal(plain.definition.volumes, undefined);
    assert.deepEqual(plain.tokenLinks, []);
  });

  it('gives each live pod of a template its own slot, reuses a freed one, and finds the slots of adopted tasks', async () => {
    const ecs = new FakeEcs({ stopMs: 50 });
    const secrets = new FakeSecretsManager();
    const runtime = await runtimeOn(ecs, secrets);
    const hash = podTask(launch(uid(1)), settings(ecs), new Map()).hash;

    const one = await runtime.startPod(launch(uid(1)));
    const two = await runtime.startPod(launch(uid(2)));
    assert.deepEqual(ecs.callNames().slice(2), [
      'DescribeTaskDefinition',
      'RegisterTaskDefinition',
      'StartTask',
      'DescribeTaskDefinition',
      'RegisterTaskDefinition',
      'StartTask',
    ]);
    const registered = ecs.inputsOf(RegisterTaskDefinitionCommand);
    assert.deepEqual(
      registered.map((input) => [input.family, input.volumes]),
      [
        [`skiff-team-a-app-5f7c9-${hash}-s0`, [{ name: 'serviceaccount-0', host: { sourcePath: `${slotsDir}/${hash}-0/0` } }]],
        [`skiff-team-a-app-5f7c9-${hash}-s1`, [{ name: 'serviceaccount-0', host: { sourcePath: `${slotsDir}/${hash}-1/0` } }]],
      ],
    );
    for (const input of registered) {
      assert.deepEqual(input.containerDefinitions?.[0]?.mountPoints, [{ sourceVolume: 'serviceaccount-0', containerPath: mountPath, readOnly: true }]);
    }
    const starts = ecs.inputsOf(StartTaskCommand);
    assert.deepEqual(
      starts.map((input) => input.tags?.find((tag) => tag.key === 'skiff.io/token-slot')?.value),
      [`${hash}/0`, `${hash}/1`],
    );
    // Each slot's path leads to its own pod's token directory.
    assert.equal(readlinkSync(`${slotsDir}/${hash}-0/0`), join(root, uid(1), 'volumes', 'kubernetes.io~projected', 'kube-api-access-x1'));
    assert.equal(readlinkSync(`${slotsDir}/${hash}-1/0`), join(root, uid(2), 'volumes', 'kubernetes.io~projected', 'kube-api-access-x1'));

    // The first pod's task stops: its slot is free, and its definition is used again as it is.
    await untilRunning(runtime, one);
    await untilRunning(runtime, two);
    const poller = setInterval(() => void runtime.refresh(), 20);
    await runtime.stop(one[0]?.id ?? '', 1000);
    clearInterval(poller);
    const before = ecs.mock.calls().length;
    await runtime.startPod(launch(uid(3)));
    assert.deepEqual(ecs.callNames().slice(before), ['StartTask'], 'slot 0 is free again and its definition known');
    assert.equal(ecs.inputsOf(StartTaskCommand).at(-1)?.taskDefinition, starts[0]?.taskDefinition);
    assert.equal(readlinkSync(`${slotsDir}/${hash}-0/0`), join(root, uid(3), 'volumes', 'kubernetes.io~projected', 'kube-api-access-x1'));

    // An agent that starts again adopts pods 2 and 3 with their slots: a fourth pod takes slot 2.
    await runtime.close();
    const again = await runtimeOn(ecs, secrets);
    await again.startPod(launch(uid(4)));
    const last = ecs.inputsOf(RegisterTaskDefinitionCommand).at(-1);
    assert.equal(last?.family, `skiff-team-a-app-5f7c9-${hash}-s2`);
    assert.equal(
      ecs
        .inputsOf(StartTaskCommand)
        .at(-1)
        ?.tags?.find((tag) => tag.key === 'skiff.io/token-slot')?.value,
      `${hash}/2`,
    );
  });
});
