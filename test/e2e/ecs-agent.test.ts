/**
 * The node agent with the `ecs` runtime against a real local cluster (the API, controllers and
 * scheduler on DynamoDB Local, no process agents) driven by the real kubectl: the seed
 * walkthrough. ECS and Secrets Manager cannot run here: they are the
 * fakes of test/support, which answer as ECS does (tasks PROVISIONING → PENDING with the ENI's
 * private IP → RUNNING → STOPPED) and record every call, so the tests assert the exact calls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RegisterTaskDefinitionCommand, StartTaskCommand, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import { type EcsNodeCluster, type EcsPodJson as PodJson, startEcsNodeCluster } from '../support/ecs-node.ts';
import { waitFor } from '../support/wait.ts';

// The walkthrough allows itself two rollouts of up to 100 s each: its bound must hold both (it
// took 107-120 s on a loaded machine and failed at the old 120 s bound).
const bounded = { timeout: 300_000 };

describe('node agent with the ecs runtime: the walkthrough', () => {
  let node: EcsNodeCluster;

  before(async () => {
    node = await startEcsNodeCluster({ nodeName: 'i-0e2e0123456789abc', address: '127.0.1.202', ecs: { provisionMs: 40, pendingMs: 80, stopMs: 300 } });
  });

  after(async () => {
    await node?.stop();
  });

  async function pods(selector: string): Promise<PodJson[]> {
    return (await node.get<{ items: PodJson[] }>(`/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(selector)}`))?.items ?? [];
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
    return node.ecs.running().find((task) => task.tags?.some((tag) => tag.key === 'skiff.io/pod-uid' && tag.value === pod.metadata.uid));
  }

  function addressOf(task: Task | undefined): string | undefined {
    return task?.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
  }

  it('runs the seed walkthrough: create, scale to 3, set image, rollout undo', bounded, async () => {
    const registered = await node.get<{ status: { capacity: Record<string, string> } }>(`/api/v1/nodes/${node.nodeName}`);
    assert.equal(registered?.status.capacity.pods, '10');

    await node.cluster.kubectlOk(['create', 'deployment', 'web', '--image=nginx']);
    const [first] = await untilServing('app=web', 1, 'nginx');
    assert.ok(first);
    const task = taskOf(first);
    assert.ok(task, 'the pod runs as an ECS task tagged with its uid');
    assert.equal(first.status?.podIP, addressOf(task), 'the pod IP is the task ENI private IP');
    assert.match(first.status?.podIP ?? '', /^10\.0\.1\.\d+$/);
    assert.equal(first.status?.hostIP, '127.0.1.202');
    assert.match(first.status?.containerStatuses?.[0]?.containerID ?? '', /^ecs:\/\/[0-9a-f]{32}\/nginx$/);
    assert.match(first.status?.containerStatuses?.[0]?.imageID ?? '', /^nginx@sha256:/);
    assert.deepEqual(node.ecs.callNames({ withoutPolling: true }), ['ListTasks', 'ListTasks', 'DescribeTaskDefinition', 'RegisterTaskDefinition', 'StartTask']);
    // Pods mount their ServiceAccount token: each live pod of a template has its own token slot,
    // a definition per slot of the template (ADR 139), `<family>-s<slot>`.
    const familyOf = (arn: string | undefined) => arn?.split('/').at(-1)?.split(':')[0] ?? '';
    const templateOf = (arn: string | undefined) => familyOf(arn).replace(/-s\d+$/, '');
    const nginxTemplate = templateOf(node.ecs.inputsOf(StartTaskCommand)[0]?.taskDefinition);
    assert.match(familyOf(node.ecs.inputsOf(StartTaskCommand)[0]?.taskDefinition), /-s0$/);

    await node.cluster.kubectlOk(['scale', 'deployment', 'web', '--replicas=3']);
    const three = await untilServing('app=web', 3, 'nginx');
    assert.equal(new Set(three.map((p) => p.status?.podIP)).size, 3, 'each pod has its own VPC address');
    assert.deepEqual(node.ecs.callNames({ withoutPolling: true }).slice(5), [
      'DescribeTaskDefinition',
      'RegisterTaskDefinition',
      'StartTask',
      'DescribeTaskDefinition',
      'RegisterTaskDefinition',
      'StartTask',
    ]);
    assert.ok(
      node.ecs.inputsOf(StartTaskCommand).every((input) => templateOf(input.taskDefinition) === nginxTemplate),
      'one template, one definition per slot',
    );
    assert.deepEqual(
      node.ecs
        .inputsOf(StartTaskCommand)
        .map((input) => familyOf(input.taskDefinition).slice(-3))
        .sort(),
      ['-s0', '-s1', '-s2'],
    );

    await node.cluster.kubectlOk(['set', 'image', 'deployment/web', 'nginx=httpd']);
    await node.cluster.kubectlOk(['rollout', 'status', 'deployment', 'web', '--timeout=90s'], { timeoutMs: 100_000 });
    const httpd = await untilServing('app=web', 3, 'httpd');
    for (const pod of httpd) assert.equal(pod.status?.podIP, addressOf(taskOf(pod)));
    const families = node.ecs.inputsOf(RegisterTaskDefinitionCommand).map((input) => input.family ?? '');
    assert.equal(new Set(families.map((family) => family.replace(/-s\d+$/, ''))).size, 2, 'a new template, new families');
    const httpdTemplate = templateOf(node.ecs.inputsOf(StartTaskCommand).at(-1)?.taskDefinition);
    assert.notEqual(httpdTemplate, nginxTemplate);
    await waitFor(
      'the nginx tasks stopped',
      () => node.ecs.running().length === 3 && node.ecs.running().every((t) => templateOf(t.taskDefinitionArn) === httpdTemplate),
    );
    assert.equal(node.ecs.inputsOf(StopTaskCommand).length, 3, 'each old pod stopped with one StopTask');

    const before = node.ecs.inputsOf(StartTaskCommand).length;
    await node.cluster.kubectlOk(['rollout', 'undo', 'deployment', 'web']);
    await node.cluster.kubectlOk(['rollout', 'status', 'deployment', 'web', '--timeout=90s'], { timeoutMs: 100_000 });
    const back = await untilServing('app=web', 3, 'nginx');
    assert.equal(back.length, 3);
    assert.equal(node.ecs.inputsOf(RegisterTaskDefinitionCommand).length, families.length, 'the nginx definitions are reused after the undo');
    assert.ok(
      node.ecs
        .inputsOf(StartTaskCommand)
        .slice(before)
        .every((input) => templateOf(input.taskDefinition) === nginxTemplate),
    );
    await waitFor(
      'only nginx tasks left',
      () => node.ecs.running().length === 3 && node.ecs.running().every((t) => templateOf(t.taskDefinitionArn) === nginxTemplate),
    );

    await node.cluster.kubectlOk(['delete', 'deployment', 'web']);
    await waitFor('the tasks of the deleted deployment stopped', () => node.ecs.running().length === 0);
  });
});
