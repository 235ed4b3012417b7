/**
 * `kubectl logs` as on AWS: the API reads container output from CloudWatch Logs (the stream the
 * `awslogs` driver writes for each ECS task) instead of asking a kubelet. A real local cluster
 * serves the API with the CloudWatch log source; the pods run on an agent with the `ecs` runtime;
 * ECS and CloudWatch Logs are the fakes of test/support. The real kubectl drives every flag.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cloudWatchPodLogSource } from '../../functions/aws/cloudwatch-pod-logs.ts';
import type { TestCluster } from '../support/cluster.ts';
import { type EcsNodeCluster, startEcsNodeCluster } from '../support/ecs-node.ts';
import { FakeCloudWatchLogs } from '../support/fake-cloudwatch-logs.ts';
import type { FakeEcs } from '../support/fake-ecs.ts';
import { waitFor } from '../support/wait.ts';

const bounded = { timeout: 120_000 };
const nodeName = 'i-0109e2e0123456789';
const logGroup = '/skiff/e2e/pods';

interface PodJson {
  metadata: { uid: string };
  status?: { containerStatuses?: { name: string; containerID?: string; restartCount: number; state: { running?: unknown } }[] };
}

describe('kubectl logs from CloudWatch Logs', () => {
  let node: EcsNodeCluster;
  let cluster: TestCluster;
  let ecs: FakeEcs;
  const logs = new FakeCloudWatchLogs(logGroup);

  before(async () => {
    node = await startEcsNodeCluster({
      nodeName,
      address: '127.0.1.203',
      logGroup,
      podLogs: cloudWatchPodLogSource({ client: logs.client, logGroup, pollMs: 100, runCheckMs: 300 }),
    });
    ({ cluster, ecs } = node);
  });

  after(async () => {
    await node?.stop();
  });

  async function getPod(name: string): Promise<PodJson> {
    const pod = await node.get<PodJson>(`/api/v1/namespaces/default/pods/${name}`);
    if (!pod) throw new Error(`pod ${name} not found`);
    return pod;
  }

  /** The pod runs; the CloudWatch stream of each container's current run. */
  async function runningStreams(name: string, count = 1): Promise<Record<string, string>> {
    return waitFor(`${name} running`, async () => {
      const statuses = (await getPod(name)).status?.containerStatuses ?? [];
      if (statuses.length !== count || !statuses.every((s) => s.state.running && s.containerID)) return undefined;
      return Object.fromEntries(statuses.map((s) => [s.name, `default/${s.name}/${/^ecs:\/\/([^/]+)\//.exec(s.containerID ?? '')?.[1]}`]));
    });
  }

  function createPod(name: string, containers: string[]): Promise<string> {
    return cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { nodeName, containers: containers.map((c) => ({ name: c, image: 'busybox' })) },
      }),
    });
  }

  it('reads a container run from its stream: everything, --tail, --timestamps, --limit-bytes, --since, --since-time', bounded, async () => {
    await createPod('talker', ['app']);
    const { app: stream = '' } = await runningStreams('talker');
    const now = Date.now();
    logs.append(stream, ['an old line'], now - 2 * 3600_000);
    logs.append(stream, ['one', 'two', 'three'], now - 1000);
    const before = logs.inputs().length;

    assert.equal(await cluster.kubectlOk(['logs', 'talker']), 'an old line\none\ntwo\nthree\n');
    assert.deepEqual(logs.inputs()[before], { logGroupName: logGroup, logStreamName: stream, startFromHead: true });

    assert.equal(await cluster.kubectlOk(['logs', 'talker', '--tail=2']), 'two\nthree\n');
    assert.deepEqual(logs.inputs().at(-1), { logGroupName: logGroup, logStreamName: stream, startFromHead: false, limit: 2 });

    const stamped = await cluster.kubectlOk(['logs', 'talker', '--tail=1', '--timestamps']);
    assert.equal(stamped, `${new Date(now - 1000).toISOString()} three\n`);

    assert.equal(await cluster.kubectlOk(['logs', 'talker', '--limit-bytes=6']), 'an old');

    assert.equal(await cluster.kubectlOk(['logs', 'talker', '--since=1h']), 'one\ntwo\nthree\n');
    const since = logs.inputs().at(-1);
    assert.ok(since?.startTime !== undefined && Math.abs(since.startTime - (Date.now() - 3600_000)) < 60_000, 'startTime is an hour ago');

    const sinceTime = new Date(now - 3 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    assert.equal(await cluster.kubectlOk(['logs', 'talker', `--since-time=${sinceTime}`]), 'an old line\none\ntwo\nthree\n');
    assert.equal(logs.inputs().at(-1)?.startTime, Date.parse(sinceTime));
  });

  it('reads the container -c names; the API asks for one when the pod has several', bounded, async () => {
    await createPod('pair', ['web', 'sidecar']);
    const streams = await runningStreams('pair', 2);
    logs.append(streams.web ?? '', ['from web']);
    logs.append(streams.sidecar ?? '', ['from the sidecar']);
    assert.equal(await cluster.kubectlOk(['logs', 'pair', '-c', 'sidecar']), 'from the sidecar\n');
    assert.equal(await cluster.kubectlOk(['logs', 'pair', '-c', 'web']), 'from web\n');
    // kubectl itself picks the first container when none is named, and says so.
    const defaulted = await cluster.kubectl(['logs', 'pair']);
    assert.equal(defaulted.stdout, 'from web\n');
    assert.match(defaulted.stderr, /Defaulted container "web" out of: web, sidecar/);
    const raw = await cluster.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/pair/log']);
    assert.notEqual(raw.code, 0);
    assert.match(raw.stderr, /a container name must be specified for pod pair, choose one of: \[web sidecar\]/);
  });

  it('reads the run before the current one with --previous, and says when there is none', bounded, async () => {
    await createPod('crasher', ['app']);
    const { app: first = '' } = await runningStreams('crasher');
    logs.append(first, ['first run, about to crash']);
    const none = await cluster.kubectl(['logs', 'crasher', '--previous']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /previous terminated container "app" in pod "crasher" not found/);

    const task = ecs.running().find((t) => first.endsWith(t.taskArn?.split('/').pop() ?? '-'));
    ecs.exit(task?.taskArn ?? '', 'app', 1);
    await waitFor('the restart', async () => (await getPod('crasher')).status?.containerStatuses?.[0]?.restartCount === 1);
    const { app: second = '' } = await runningStreams('crasher');
    assert.notEqual(second, first);
    logs.append(second, ['second run']);
    assert.equal(await cluster.kubectlOk(['logs', 'crasher', '--previous']), 'first run, about to crash\n');
    assert.equal(await cluster.kubectlOk(['logs', 'crasher']), 'second run\n');
  });

  it('follows a run with -f until it ends', bounded, async () => {
    await createPod('follower', ['app']);
    const { app: stream = '' } = await runningStreams('follower');
    logs.append(stream, ['before the follow']);
    const follow = cluster.kubectlBackground(['logs', '-f', 'follower']);
    try {
      await waitFor('the first line', () => follow.output().includes('before the follow\n'));
      logs.append(stream, ['while following', 'and more']);
      await waitFor('the new lines', () => follow.output().includes('while following\nand more\n'));
      const task = ecs.running().find((t) => stream.endsWith(t.taskArn?.split('/').pop() ?? '-'));
      logs.append(stream, ['last words']);
      ecs.exit(task?.taskArn ?? '', 'app', 0);
      await waitFor('the follow to end with the run', () => follow.process.exitCode !== null, { timeoutMs: 30_000 });
      assert.equal(follow.process.exitCode, 0);
      assert.equal(follow.output(), 'before the follow\nwhile following\nand more\nlast words\n');
    } finally {
      await follow.stop();
    }
  });

  it('answers a container that has not started with the waiting reason, and bad options with 422', bounded, async () => {
    ecs.failPulls('busybox:missing');
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'unpulled' },
        spec: { nodeName, containers: [{ name: 'app', image: 'busybox:missing' }] },
      }),
    });
    await waitFor('ErrImagePull', async () => JSON.stringify((await getPod('unpulled')).status).includes('ErrImagePull'));
    const waiting = await cluster.kubectl(['logs', 'unpulled']);
    assert.notEqual(waiting.code, 0);
    assert.match(waiting.stderr, /container "app" in pod "unpulled" is waiting to start: (ErrImagePull|ImagePullBackOff)/);

    const bad = await cluster.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/unpulled/log?sinceSeconds=0&tailLines=-1']);
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /The PodLogOptions "unpulled" is invalid:[\s\S]*tailLines: Invalid value: -1[\s\S]*sinceSeconds: Invalid value: 0: must be greater than 0/,
    );
    const notNumber = await cluster.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/unpulled/log?tailLines=ten']);
    assert.notEqual(notNumber.code, 0);
    assert.match(notNumber.stderr, /BadRequest[\s\S]*tailLines must be an integer, got "ten"/);
  });
});
