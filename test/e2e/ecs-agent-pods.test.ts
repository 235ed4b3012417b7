/**
 * The `ecs` runtime's pods against a real local cluster and the real kubectl: restart policies,
 * graceful deletion, Secrets and ConfigMaps by reference, a task ECS lost, adoption by a
 * restarted agent, and the drain before scale-in (last: it deletes the Node), each asserting the
 * exact ECS calls the fake recorded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
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
import { startAgent } from '../../node-agent/agent.ts';
import { type EcsNodeCluster, type EcsPodJson as PodJson, startEcsNodeCluster } from '../support/ecs-node.ts';
import { waitFor } from '../support/wait.ts';

const bounded = { timeout: 120_000 };

describe('node agent with the ecs runtime: pods', () => {
  let node: EcsNodeCluster;

  before(async () => {
    node = await startEcsNodeCluster({
      nodeName: 'i-0e2e0abcdef012345',
      address: '127.0.1.204',
      ecs: { provisionMs: 40, pendingMs: 80, stopMs: 300 },
      // Pods reach the API at another address than the agent (on AWS: the function URL, not the
      // REST API's stage path, ADR 147); here the same server under its other name.
      inClusterServer: (server) => `https://localhost:${server.port}`,
    });
  });

  after(async () => {
    await node?.stop();
  });

  async function getPod(name: string): Promise<PodJson> {
    const pod = await node.get<PodJson>(`/api/v1/namespaces/default/pods/${name}`);
    if (!pod) throw new Error(`pod ${name} not found`);
    return pod;
  }

  /** Every pod of the selector Running, ready, on the image, with the address of its ECS task. */
  async function pods(selector: string): Promise<PodJson[]> {
    return (await node.get<{ items: PodJson[] }>(`/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(selector)}`))?.items ?? [];
  }

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

  function startsFor(uid: string): StartTaskCommandInput[] {
    return node.ecs.inputsOf(StartTaskCommand).filter((input) => input.startedBy === uid);
  }

  function podManifest(name: string, restartPolicy: string, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName: node.nodeName, restartPolicy, containers: [{ name: 'app', image: 'busybox' }], ...extra },
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
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('crash-always', 'Always') });
    const { pod, task } = await runningTaskOf('crash-always');
    node.ecs.exit(task.taskArn ?? '', 'app', 1);
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
    await node.cluster.kubectlOk(['delete', 'pod', 'crash-always', '--grace-period=1']);
  });

  it('leaves a pod that exited 0 under OnFailure Succeeded, and one that failed under Never Failed, without new tasks', bounded, async () => {
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('done-onfailure', 'OnFailure') });
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('failed-never', 'Never') });
    const done = await runningTaskOf('done-onfailure');
    const failed = await runningTaskOf('failed-never');
    node.ecs.exit(done.task.taskArn ?? '', 'app', 0);
    node.ecs.exit(failed.task.taskArn ?? '', 'app', 2);
    const succeeded = await waitFor('Succeeded', async () =>
      (await getPod('done-onfailure')).status?.phase === 'Succeeded' ? getPod('done-onfailure') : undefined,
    );
    const failedPod = await waitFor('Failed', async () => ((await getPod('failed-never')).status?.phase === 'Failed' ? getPod('failed-never') : undefined));
    assert.equal(succeeded.status?.containerStatuses?.[0]?.state.terminated?.reason, 'Completed');
    assert.equal(failedPod.status?.containerStatuses?.[0]?.state.terminated?.exitCode, 2);
    assert.equal(startsFor(done.pod.metadata.uid).length, 1);
    assert.equal(startsFor(failed.pod.metadata.uid).length, 1);

    // OnFailure restarts a failure.
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('crash-onfailure', 'OnFailure') });
    const crash = await runningTaskOf('crash-onfailure');
    node.ecs.exit(crash.task.taskArn ?? '', 'app', 7);
    await waitFor('an OnFailure restart', async () => (await getPod('crash-onfailure')).status?.containerStatuses?.[0]?.restartCount === 1);
    assert.equal(startsFor(crash.pod.metadata.uid).length, 2);
    await node.cluster.kubectlOk(['delete', 'pod', 'done-onfailure', 'failed-never', 'crash-onfailure', '--grace-period=1']);
  });

  it('deletes a pod only after StopTask and ECS reporting the task STOPPED', bounded, async () => {
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('graceful', 'Always', { terminationGracePeriodSeconds: 5 }) });
    const { pod, task } = await runningTaskOf('graceful');
    const stopsBefore = node.ecs.inputsOf(StopTaskCommand).length;
    // The container takes its time to exit: the task stays STOPPING until the test lets it go.
    node.ecs.hold(task.taskArn ?? '');
    await node.cluster.kubectlOk(['delete', 'pod', 'graceful', '--wait=false']);
    await waitFor('StopTask', () => node.ecs.inputsOf(StopTaskCommand).length > stopsBefore);
    const stops = node.ecs.inputsOf(StopTaskCommand).slice(stopsBefore);
    assert.deepEqual(
      stops.map((s) => s.task),
      [task.taskArn],
    );
    const terminating = await getPod('graceful');
    assert.ok(terminating.metadata.deletionTimestamp, 'the pod stays, terminating, while its task stops');
    const releasedAt = Date.now();
    node.ecs.release(task.taskArn ?? '');
    await waitFor('the pod gone', async () => (await node.cluster.kubectl(['get', 'pod', 'graceful'])).code !== 0);
    const final = node.ecs.allTasks().find((t) => t.taskArn === task.taskArn);
    assert.equal(final?.lastStatus, 'STOPPED');
    assert.ok((final?.stoppedAt?.getTime() ?? 0) >= releasedAt, 'the task stopped only when released, and the pod went after');
    assert.equal(node.ecs.inputsOf(StopTaskCommand).length, stopsBefore + 1, 'one StopTask');
    assert.equal(
      node.ecs.inputsOf(RegisterTaskDefinitionCommand).filter((d) => d.containerDefinitions?.[0]?.stopTimeout === 5).length,
      1,
      'the grace period is the stop timeout',
    );
    assert.equal(startsFor(pod.metadata.uid).length, 1);
  });

  it('passes Secret and ConfigMap values by reference: they appear in no ECS call', bounded, async () => {
    const password = 'p4ss-word-from-a-secret';
    await node.cluster.kubectlOk(['create', 'secret', 'generic', 'db', `--from-literal=password=${password}`]);
    await node.cluster.kubectlOk(['create', 'configmap', 'settings', '--from-literal=mode=config-map-mode']);
    await node.cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'with-secrets' },
        spec: {
          nodeName: node.nodeName,
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
    const everything = JSON.stringify(node.ecs.mock.calls().map((call) => call.args[0].input));
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes('config-map-mode'));
    const start = startsFor(pod.metadata.uid)[0];
    const definition = node.ecs
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
    // In-cluster clients find the API at the kubeconfig's in-cluster server (KUBERNETES_SERVICE_HOST/PORT).
    const api = new URL(node.cluster.local.server);
    assert.deepEqual(start?.overrides?.containerOverrides?.[0]?.environment, [
      { name: 'HOSTNAME', value: 'with-secrets' },
      { name: 'KUBERNETES_SERVICE_HOST', value: 'localhost' },
      { name: 'KUBERNETES_SERVICE_PORT', value: api.port },
      { name: 'KUBERNETES_SERVICE_PORT_HTTPS', value: api.port },
      { name: 'POD', value: 'with-secrets' },
    ]);
    assert.equal(node.secrets.valueOf('skiff/skiff/default/secrets/db'), JSON.stringify({ password }));
    await node.cluster.kubectlOk(['delete', 'pod', 'with-secrets', '--grace-period=1']);
  });

  it('gives the pod its ServiceAccount token, CA and namespace at the usual path through a host volume the agent keeps', bounded, async () => {
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('with-token', 'Always') });
    const { pod, task } = await runningTaskOf('with-token');
    const mountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
    // The admission gave the pod its projected token volume; the task's definition mounts it there.
    const volume = (pod.spec as { volumes?: { name: string; projected?: unknown }[] }).volumes?.find((v) => v.name.startsWith('kube-api-access-'));
    assert.ok(volume?.projected, 'the pod has the kube-api-access volume');
    const family = task.taskDefinitionArn?.split('/').at(-1)?.split(':')[0];
    const definition = node.ecs.inputsOf(RegisterTaskDefinitionCommand).find((input) => input.family === family);
    assert.match(family ?? '', /-s0$/);
    const sourcePath = definition?.volumes?.[0]?.host?.sourcePath ?? '';
    assert.deepEqual(definition?.volumes, [{ name: 'serviceaccount-0', host: { sourcePath } }]);
    assert.deepEqual(definition?.containerDefinitions?.[0]?.mountPoints, [{ sourceVolume: 'serviceaccount-0', containerPath: mountPath, readOnly: true }]);
    assert.equal(startsFor(pod.metadata.uid)[0]?.tags?.find((tag) => tag.key === 'skiff.io/token-slot')?.value, `${family?.split('-').at(-2)}/0`);
    // What Docker would bind there (it follows the link): the files the agent wrote and keeps fresh.
    const files = await waitFor('the token files', async () => {
      try {
        return {
          token: readFileSync(join(sourcePath, 'token'), 'utf8'),
          ca: readFileSync(join(sourcePath, 'ca.crt'), 'utf8'),
          namespace: readFileSync(join(sourcePath, 'namespace'), 'utf8'),
        };
      } catch {
        return undefined;
      }
    });
    assert.equal(files.namespace, 'default');
    assert.match(files.ca, /-----BEGIN CERTIFICATE-----/);
    // An in-cluster client with that token, at the task's KUBERNETES_SERVICE_HOST/_PORT and
    // verifying with ca.crt, is the pod's ServiceAccount.
    const environment = new Map(startsFor(pod.metadata.uid)[0]?.overrides?.containerOverrides?.[0]?.environment?.map((v) => [v.name, v.value]));
    assert.equal(environment.get('KUBERNETES_SERVICE_HOST'), 'localhost');
    const review = await new Promise<{ status?: { userInfo?: { username?: string; extra?: Record<string, string[]> } } }>((resolve, reject) => {
      const request = https.request(
        `https://${environment.get('KUBERNETES_SERVICE_HOST')}:${environment.get('KUBERNETES_SERVICE_PORT')}/apis/authentication.k8s.io/v1/selfsubjectreviews`,
        { method: 'POST', ca: files.ca, headers: { authorization: `Bearer ${files.token}`, 'content-type': 'application/json', accept: 'application/json' } },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => (response.statusCode === 201 ? resolve(JSON.parse(body)) : reject(new Error(`${response.statusCode} ${body}`))));
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
    });
    assert.equal(review.status?.userInfo?.username, 'system:serviceaccount:default:default');
    assert.deepEqual(review.status?.userInfo?.extra?.['authentication.kubernetes.io/pod-name'], ['with-token']);
    await node.cluster.kubectlOk(['delete', 'pod', 'with-token', '--grace-period=1']);
  });

  it('treats a task ECS lost as stopped and restarts the pod', bounded, async () => {
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('lost', 'Always') });
    const { pod, task } = await runningTaskOf('lost');
    node.ecs.forget(task.taskArn ?? '');
    await waitFor('a new task', async () => (await getPod('lost')).status?.containerStatuses?.[0]?.restartCount === 1);
    assert.equal(startsFor(pod.metadata.uid).length, 2);
    await node.cluster.kubectlOk(['delete', 'pod', 'lost', '--grace-period=1']);
  });

  it('adopts its running tasks after an agent restart without a new StartTask', bounded, async () => {
    await node.cluster.kubectlOk(['apply', '-f', '-'], { input: podManifest('survivor', 'Always') });
    const { pod, task } = await runningTaskOf('survivor');
    const startsBefore = node.ecs.inputsOf(StartTaskCommand).length;
    const describesBefore = node.ecs.inputsOf(DescribeTaskDefinitionCommand).length;
    // An agent upgrade: the agent goes (leaving its tasks) and a new one comes on the same instance.
    await node.agent.stop();
    await node.runtime.close();
    node.runtime = await node.newRuntime();
    node.agent = await startAgent({ ...node.agentOptions, containerRuntime: node.runtime });
    const adopted = await waitFor('the pod reported by the new agent', async () => {
      const now = await getPod('survivor');
      return now.status?.containerStatuses?.[0]?.state.running ? now : undefined;
    });
    assert.equal(adopted.status?.containerStatuses?.[0]?.restartCount, 0);
    assert.equal(adopted.status?.podIP, addressOf(task));
    assert.equal(adopted.metadata.uid, pod.metadata.uid);
    // The new agent stopping the original task on delete shows it took the pod over; it started none.
    await node.cluster.kubectlOk(['delete', 'pod', 'survivor', '--grace-period=1']);
    await waitFor('the survivor task stopped', () => !node.ecs.running().some((t) => t.taskArn === task.taskArn));
    assert.deepEqual(node.ecs.inputsOf(StopTaskCommand).at(-1)?.task, task.taskArn);
    assert.equal(node.ecs.inputsOf(StartTaskCommand).length, startsBefore, 'no duplicate task');
    assert.equal(node.ecs.inputsOf(DescribeTaskDefinitionCommand).length, describesBefore);
  });

  it('drains before its instance goes: cordons the Node, evicts its pods, waits for their tasks to stop, deletes the Node', bounded, async () => {
    await node.cluster.kubectlOk(['create', 'deployment', 'drained', '--image=nginx', '--replicas=2']);
    const serving = await untilServing('app=drained', 2, 'nginx');
    const tasks = serving.map((pod) => taskOf(pod)?.taskArn);
    const watch = node.cluster.kubectlBackground(['get', 'node', node.nodeName, '--watch', '-o', 'jsonpath={.spec.unschedulable}{"\\n"}']);
    try {
      await node.agent.drain(60_000);
    } finally {
      await watch.stop();
    }
    assert.match(watch.output(), /true/, 'the Node was cordoned');
    for (const arn of tasks)
      assert.ok(
        node.ecs.inputsOf(StopTaskCommand).some((input) => input.task === arn),
        'each pod task stopped',
      );
    assert.ok(!node.ecs.running().some((task) => tasks.includes(task.taskArn)));
    const gone = await node.cluster.kubectl(['get', 'node', node.nodeName]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound/);
    // The Deployment re-creates its pods; with no node left they wait to be scheduled (the
    // scheduler marks them Pending, PodScheduled False, once it has tried: wait for that).
    const replacements = await waitFor('replacement pods', async () => {
      const items = (await pods('app=drained')).filter((p) => !p.metadata.deletionTimestamp && !serving.some((old) => old.metadata.uid === p.metadata.uid));
      const tried = items.every((p) => (p.status as { conditions?: { type: string }[] } | undefined)?.conditions?.some((c) => c.type === 'PodScheduled'));
      return items.length === 2 && tried ? items : undefined;
    });
    assert.ok(replacements.every((p) => p.status?.phase === 'Pending'));
  });
});
