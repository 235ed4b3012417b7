/**
 * The node agent with the `ecs` runtime against a real local cluster (the API, controllers and
 * scheduler on DynamoDB Local, no process agents) driven by the real kubectl. ECS and Secrets
 * Manager cannot run here: they are the fakes of test/support, which answer as ECS does (tasks
 * PROVISIONING → PENDING with the ENI's private IP → RUNNING → STOPPED) and record every call,
 * so the tests assert the exact calls the agent made.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  type StartTaskCommandInput,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { type AgentOptions, type RunningAgent, startAgent } from '../../node-agent/agent.ts';
import { loadKubeconfig } from '../../node-agent/kubeconfig.ts';
import { EcsRuntime } from '../../node-agent/runtime/ecs-runtime.ts';
import { SecretsManagerSources } from '../../node-agent/runtime/secrets-manager-sources.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { FakeEcs } from '../support/fake-ecs.ts';
import { FakeSecretsManager } from '../support/fake-secrets-manager.ts';
import { waitFor } from '../support/wait.ts';

const bounded = { timeout: 120_000 };
const nodeName = 'i-0e2e0123456789abc';

interface PodJson {
  metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status?: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    containerStatuses?: {
      restartCount: number;
      ready: boolean;
      containerID?: string;
      imageID?: string;
      state: { running?: unknown; waiting?: { reason: string }; terminated?: { exitCode: number; reason: string } };
      lastState: { terminated?: { exitCode: number } };
    }[];
  };
}

describe('node agent with the ecs runtime', () => {
  let cluster: TestCluster;
  let agent: RunningAgent;
  let runtime: EcsRuntime;
  let agentOptions: AgentOptions;
  const ecs = new FakeEcs({ provisionMs: 40, pendingMs: 80, stopMs: 300 });
  const secrets = new FakeSecretsManager();

  async function ecsRuntime(): Promise<EcsRuntime> {
    return EcsRuntime.create({
      client: ecs.client,
      cluster: ecs.cluster,
      containerInstanceArn: ecs.containerInstanceArn,
      nodeName,
      subnets: ['subnet-0a', 'subnet-0b'],
      securityGroups: ['sg-0pods'],
      taskDefinitions: {
        familyPrefix: 'skiff',
        logGroup: '/skiff/skiff/pods',
        region: ecs.region,
        executionRoleArn: `arn:aws:iam::${ecs.account}:role/skiff-task-execution`,
      },
      sources: new SecretsManagerSources({ client: secrets.client, prefix: 'skiff/skiff' }),
      pollMs: { busy: 50, idle: 200 },
      retry: { baseMs: 10, maxMs: 50 },
    });
  }

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
    runtime = await ecsRuntime();
    agentOptions = {
      credentials: loadKubeconfig(join(cluster.dataDir, 'node-kubeconfig')),
      nodeName,
      containerRuntime: runtime,
      address: '127.0.1.202',
      kubeletAddress: '127.0.0.1',
      cpu: '2',
      memory: '3788Mi',
      pods: 10,
      stateDir: join(cluster.dataDir, 'nodes', nodeName),
      backOff: { initialMs: 500, maxMs: 2000 },
      serviceProxy: false,
    };
    agent = await startAgent(agentOptions);
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
  });

  async function pods(selector: string): Promise<PodJson[]> {
    return (JSON.parse(await cluster.kubectlOk(['get', 'pods', '-l', selector, '-o', 'json'])) as { items: PodJson[] }).items;
  }

  async function getPod(name: string): Promise<PodJson> {
    return JSON.parse(await cluster.kubectlOk(['get', 'pod', name, '-o', 'json'])) as PodJson;
  }

  /** Every pod of the selector Running, ready, on the image, with the address of its ECS task. */
  async function untilServing(selector: string, count: number, image: string): Promise<PodJson[]> {
    return waitFor(`${count} ${image} pods serving`, async () => {
      const items = (await pods(selector)).filter((p) => !p.metadata.deletionTimestamp);
      if (items.length !== count) return undefined;
      const ok = items.every(
        (p) => p.status?.phase === 'Running' && p.spec.containers[0]?.image === image && p.status.containerStatuses?.every((c) => c.ready && c.state.running),
      );
      return ok ? items : undefined;
    });
  }

  function taskOf(pod: PodJson): Task | undefined {
    return ecs.running().find((task) => task.tags?.some((tag) => tag.key === 'skiff.io/pod-uid' && tag.value === pod.metadata.uid));
  }

  function addressOf(task: Task | undefined): string | undefined {
    return task?.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
  }

  function startsFor(uid: string): StartTaskCommandInput[] {
    return ecs.inputsOf(StartTaskCommand).filter((input) => input.startedBy === uid);
  }

  it('runs the seed walkthrough: create, scale to 3, set image, rollout undo', bounded, async () => {
    const node = JSON.parse(await cluster.kubectlOk(['get', 'node', nodeName, '-o', 'json'])) as { status: { capacity: Record<string, string> } };
    assert.equal(node.status.capacity.pods, '10');

    await cluster.kubectlOk(['create', 'deployment', 'web', '--image=nginx']);
    const [first] = await untilServing('app=web', 1, 'nginx');
    assert.ok(first);
    const task = taskOf(first);
    assert.ok(task, 'the pod runs as an ECS task tagged with its uid');
    assert.equal(first.status?.podIP, addressOf(task), 'the pod IP is the task ENI private IP');
    assert.match(first.status?.podIP ?? '', /^10\.0\.1\.\d+$/);
    assert.equal(first.status?.hostIP, '127.0.1.202');
    assert.match(first.status?.containerStatuses?.[0]?.containerID ?? '', /^ecs:\/\/[0-9a-f]{32}\/nginx$/);
    assert.match(first.status?.containerStatuses?.[0]?.imageID ?? '', /^nginx@sha256:/);
    assert.deepEqual(ecs.callNames({ withoutPolling: true }), ['ListTasks', 'ListTasks', 'DescribeTaskDefinition', 'RegisterTaskDefinition', 'StartTask']);
    const nginxDefinition = ecs.inputsOf(StartTaskCommand)[0]?.taskDefinition;

    await cluster.kubectlOk(['scale', 'deployment', 'web', '--replicas=3']);
    const three = await untilServing('app=web', 3, 'nginx');
    assert.equal(new Set(three.map((p) => p.status?.podIP)).size, 3, 'each pod has its own VPC address');
    assert.deepEqual(ecs.callNames({ withoutPolling: true }).slice(5), ['StartTask', 'StartTask']);
    assert.ok(
      ecs.inputsOf(StartTaskCommand).every((input) => input.taskDefinition === nginxDefinition),
      'one definition for the template',
    );

    await cluster.kubectlOk(['set', 'image', 'deployment/web', 'nginx=httpd']);
    await cluster.kubectlOk(['rollout', 'status', 'deployment', 'web', '--timeout=90s'], { timeoutMs: 100_000 });
    const httpd = await untilServing('app=web', 3, 'httpd');
    for (const pod of httpd) assert.equal(pod.status?.podIP, addressOf(taskOf(pod)));
    assert.equal(ecs.inputsOf(RegisterTaskDefinitionCommand).length, 2, 'a new template, a new family');
    const httpdDefinition = ecs.inputsOf(StartTaskCommand).at(-1)?.taskDefinition;
    assert.notEqual(httpdDefinition, nginxDefinition);
    await waitFor('the nginx tasks stopped', () => ecs.running().length === 3 && ecs.running().every((t) => t.taskDefinitionArn === httpdDefinition));
    assert.equal(ecs.inputsOf(StopTaskCommand).length, 3, 'each old pod stopped with one StopTask');

    const before = ecs.inputsOf(StartTaskCommand).length;
    await cluster.kubectlOk(['rollout', 'undo', 'deployment', 'web']);
    await cluster.kubectlOk(['rollout', 'status', 'deployment', 'web', '--timeout=90s'], { timeoutMs: 100_000 });
    const back = await untilServing('app=web', 3, 'nginx');
    assert.equal(back.length, 3);
    assert.equal(ecs.inputsOf(RegisterTaskDefinitionCommand).length, 2, 'the nginx definition is reused after the undo');
    assert.ok(
      ecs
        .inputsOf(StartTaskCommand)
        .slice(before)
        .every((input) => input.taskDefinition === nginxDefinition),
    );
    await waitFor('only nginx tasks left', () => ecs.running().length === 3 && ecs.running().every((t) => t.taskDefinitionArn === nginxDefinition));

    await cluster.kubectlOk(['delete', 'deployment', 'web']);
    await waitFor('the tasks of the deleted deployment stopped', () => ecs.running().length === 0);
  });

  function podManifest(name: string, restartPolicy: string, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName, restartPolicy, containers: [{ name: 'app', image: 'busybox' }], ...extra },
    });
  }

  async function runningTaskOf(name: string): Promise<{ pod: PodJson; task: Task }> {
    return waitFor(`pod ${name} running`, async () => {
      const pod = await getPod(name);
      const task = taskOf(pod);
      return pod.status?.containerStatuses?.[0]?.state.running && task?.lastStatus === 'RUNNING' ? { pod, task } : undefined;
    });
  }

  it('restarts a crashed pod under Always with a new task, and keeps the last state', bounded, async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('crash-always', 'Always') });
    const { pod, task } = await runningTaskOf('crash-always');
    ecs.exit(task.taskArn ?? '', 'app', 1);
    const restarted = await waitFor('a restart', async () => {
      const now = await getPod('crash-always');
      const status = now.status?.containerStatuses?.[0];
      return status?.restartCount === 1 && status.state.running ? now : undefined;
    });
    assert.equal(restarted.status?.containerStatuses?.[0]?.lastState.terminated?.exitCode, 1);
    const starts = startsFor(pod.metadata.uid);
    assert.equal(starts.length, 2);
    assert.deepEqual(
      starts.map((s) => s.tags?.find((t) => t.key === 'skiff.io/attempt')?.value),
      ['0', '1'],
    );
    assert.equal(restarted.status?.podIP, addressOf(taskOf(restarted)), 'the new task brings a new address, reported at once');
    await cluster.kubectlOk(['delete', 'pod', 'crash-always', '--grace-period=1']);
  });

  it('leaves a pod that exited 0 under OnFailure Succeeded, and one that failed under Never Failed, without new tasks', bounded, async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('done-onfailure', 'OnFailure') });
    await cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('failed-never', 'Never') });
    const done = await runningTaskOf('done-onfailure');
    const failed = await runningTaskOf('failed-never');
    ecs.exit(done.task.taskArn ?? '', 'app', 0);
    ecs.exit(failed.task.taskArn ?? '', 'app', 2);
    const succeeded = await waitFor('Succeeded', async () =>
      (await getPod('done-onfailure')).status?.phase === 'Succeeded' ? getPod('done-onfailure') : undefined,
    );
    const failedPod = await waitFor('Failed', async () => ((await getPod('failed-never')).status?.phase === 'Failed' ? getPod('failed-never') : undefined));
    assert.equal(succeeded.status?.containerStatuses?.[0]?.state.terminated?.reason, 'Completed');
    assert.equal(failedPod.status?.containerStatuses?.[0]?.state.terminated?.exitCode, 2);
    assert.equal(startsFor(done.pod.metadata.uid).length, 1);
    assert.equal(startsFor(failed.pod.metadata.uid).length, 1);

    // OnFailure restarts a failure.
    await cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('crash-onfailure', 'OnFailure') });
    const crash = await runningTaskOf('crash-onfailure');
    ecs.exit(crash.task.taskArn ?? '', 'app', 7);
    await waitFor('an OnFailure restart', async () => (await getPod('crash-onfailure')).status?.containerStatuses?.[0]?.restartCount === 1);
    assert.equal(startsFor(crash.pod.metadata.uid).length, 2);
    await cluster.kubectlOk(['delete', 'pod', 'done-onfailure', 'failed-never', 'crash-onfailure', '--grace-period=1']);
  });

  it('deletes a pod only after StopTask and ECS reporting the task STOPPED', bounded, async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('graceful', 'Always', { terminationGracePeriodSeconds: 5 }) });
    const { pod, task } = await runningTaskOf('graceful');
    const stopsBefore = ecs.inputsOf(StopTaskCommand).length;
    // The container takes its time to exit: the task stays STOPPING until the test lets it go.
    ecs.hold(task.taskArn ?? '');
    await cluster.kubectlOk(['delete', 'pod', 'graceful', '--wait=false']);
    await waitFor('StopTask', () => ecs.inputsOf(StopTaskCommand).length > stopsBefore);
    const stops = ecs.inputsOf(StopTaskCommand).slice(stopsBefore);
    assert.deepEqual(
      stops.map((s) => s.task),
      [task.taskArn],
    );
    const terminating = await getPod('graceful');
    assert.ok(terminating.metadata.deletionTimestamp, 'the pod stays, terminating, while its task stops');
    const releasedAt = Date.now();
    ecs.release(task.taskArn ?? '');
    await waitFor('the pod gone', async () => (await cluster.kubectl(['get', 'pod', 'graceful'])).code !== 0);
    const final = ecs.allTasks().find((t) => t.taskArn === task.taskArn);
    assert.equal(final?.lastStatus, 'STOPPED');
    assert.ok((final?.stoppedAt?.getTime() ?? 0) >= releasedAt, 'the task stopped only when released, and the pod went after');
    assert.equal(ecs.inputsOf(StopTaskCommand).length, stopsBefore + 1, 'one StopTask');
    assert.equal(
      ecs.inputsOf(RegisterTaskDefinitionCommand).filter((d) => d.containerDefinitions?.[0]?.stopTimeout === 5).length,
      1,
      'the grace period is the stop timeout',
    );
    assert.equal(startsFor(pod.metadata.uid).length, 1);
  });

  it('passes Secret and ConfigMap values by reference: they appear in no ECS call', bounded, async () => {
    const password = 'p4ss-word-from-a-secret';
    await cluster.kubectlOk(['create', 'secret', 'generic', 'db', `--from-literal=password=${password}`]);
    await cluster.kubectlOk(['create', 'configmap', 'settings', '--from-literal=mode=config-map-mode']);
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'with-secrets' },
        spec: {
          nodeName,
          containers: [
            {
              name: 'app',
              image: 'busybox',
              env: [
                { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
                { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              envFrom: [{ configMapRef: { name: 'settings' } }],
            },
          ],
        },
      }),
    });
    const { pod } = await runningTaskOf('with-secrets');
    const everything = JSON.stringify(ecs.mock.calls().map((call) => call.args[0].input));
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes('config-map-mode'));
    const start = startsFor(pod.metadata.uid)[0];
    const definition = ecs
      .definitionsRegistered()
      .find((d) => d.taskDefinitionArn === start?.taskDefinition)
      ?.containerDefinitions?.find((c) => c.name === 'app');
    assert.deepEqual(
      definition?.secrets?.map((s) => s.name),
      ['PASSWORD', 'mode'],
    );
    assert.ok(
      definition?.secrets?.every((s) =>
        /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:skiff\/skiff\/default\/(secrets\/db|configmaps\/settings)-[0-9a-f]{6}:\w+::$/.test(
          s.valueFrom ?? '',
        ),
      ),
    );
    assert.deepEqual(start?.overrides?.containerOverrides?.[0]?.environment, [
      { name: 'HOSTNAME', value: 'with-secrets' },
      { name: 'POD', value: 'with-secrets' },
    ]);
    assert.equal(secrets.valueOf('skiff/skiff/default/secrets/db'), JSON.stringify({ password }));
    await cluster.kubectlOk(['delete', 'pod', 'with-secrets', '--grace-period=1']);
  });

  it('treats a task ECS lost as stopped and restarts the pod', bounded, async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('lost', 'Always') });
    const { pod, task } = await runningTaskOf('lost');
    ecs.forget(task.taskArn ?? '');
    await waitFor('a new task', async () => (await getPod('lost')).status?.containerStatuses?.[0]?.restartCount === 1);
    assert.equal(startsFor(pod.metadata.uid).length, 2);
    await cluster.kubectlOk(['delete', 'pod', 'lost', '--grace-period=1']);
  });

  it('adopts its running tasks after an agent restart without a new StartTask', bounded, async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('survivor', 'Always') });
    const { pod, task } = await runningTaskOf('survivor');
    const startsBefore = ecs.inputsOf(StartTaskCommand).length;
    const describesBefore = ecs.inputsOf(DescribeTaskDefinitionCommand).length;
    // An agent upgrade: the agent goes (leaving its tasks) and a new one comes on the same instance.
    await agent.stop();
    await runtime.close();
    runtime = await ecsRuntime();
    agent = await startAgent({ ...agentOptions, containerRuntime: runtime });
    const adopted = await waitFor('the pod reported by the new agent', async () => {
      const now = await getPod('survivor');
      return now.status?.containerStatuses?.[0]?.state.running ? now : undefined;
    });
    assert.equal(adopted.status?.containerStatuses?.[0]?.restartCount, 0);
    assert.equal(adopted.status?.podIP, addressOf(task));
    assert.equal(adopted.metadata.uid, pod.metadata.uid);
    // The new agent stopping the original task on delete shows it took the pod over; it started none.
    await cluster.kubectlOk(['delete', 'pod', 'survivor', '--grace-period=1']);
    await waitFor('the survivor task stopped', () => !ecs.running().some((t) => t.taskArn === task.taskArn));
    assert.deepEqual(ecs.inputsOf(StopTaskCommand).at(-1)?.task, task.taskArn);
    assert.equal(ecs.inputsOf(StartTaskCommand).length, startsBefore, 'no duplicate task');
    assert.equal(ecs.inputsOf(DescribeTaskDefinitionCommand).length, describesBefore);
  });

  it('drains before its instance goes: cordons the Node, deletes its pods, waits for their tasks to stop, deletes the Node', bounded, async () => {
    await cluster.kubectlOk(['create', 'deployment', 'drained', '--image=nginx', '--replicas=2']);
    const serving = await untilServing('app=drained', 2, 'nginx');
    const tasks = serving.map((pod) => taskOf(pod)?.taskArn);
    const watch = cluster.kubectlBackground(['get', 'node', nodeName, '--watch', '-o', 'jsonpath={.spec.unschedulable}{"\\n"}']);
    try {
      await agent.drain(60_000);
    } finally {
      await watch.stop();
    }
    assert.match(watch.output(), /true/, 'the Node was cordoned');
    for (const arn of tasks)
      assert.ok(
        ecs.inputsOf(StopTaskCommand).some((input) => input.task === arn),
        'each pod task stopped',
      );
    assert.ok(!ecs.running().some((task) => tasks.includes(task.taskArn)));
    const node = await cluster.kubectl(['get', 'node', nodeName]);
    assert.notEqual(node.code, 0);
    assert.match(node.stderr, /NotFound/);
    // The Deployment re-creates its pods; with no node left they wait to be scheduled.
    const replacements = await waitFor('replacement pods', async () => {
      const items = (await pods('app=drained')).filter((p) => !p.metadata.deletionTimestamp && !serving.some((old) => old.metadata.uid === p.metadata.uid));
      return items.length === 2 ? items : undefined;
    });
    assert.ok(replacements.every((p) => p.status?.phase === 'Pending'));
  });
});
