import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cloudWatchPodLogSource, logStreamOf } from '../../../functions/aws/cloudwatch-pod-logs.ts';
import type { PodLogRequest } from '../../../functions/domain/pods/pod-logs.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { FakeCloudWatchLogs } from '../../support/fake-cloudwatch-logs.ts';

const group = '/skiff/test/pods';

function pod(containerID: string | undefined, state: Record<string, unknown> = { running: {} }, lastState: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', uid: 'u1' },
    status: { containerStatuses: [{ name: 'app', ...(containerID ? { containerID } : {}), state, lastState }] },
  };
}

function request(target: KubeObject, overrides: Partial<PodLogRequest> = {}): PodLogRequest {
  return {
    pod: target,
    node: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } },
    container: 'app',
    follow: false,
    previous: false,
    timestamps: false,
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function text(iterable: AsyncIterable<string | Buffer>): Promise<string> {
  let out = '';
  for await (const chunk of iterable) out += chunk.toString();
  return out;
}

describe('cloudWatchPodLogSource', () => {
  it('names the awslogs stream of an ECS run: <namespace>/<container>/<task id>', () => {
    assert.equal(logStreamOf('shop', 'app', 'ecs://0123abcd/app'), 'shop/app/0123abcd');
    assert.equal(logStreamOf('shop', 'app', 'ecs://0123abcd/other'), undefined);
    assert.equal(logStreamOf('shop', 'app', 'skiff-process://0123abcd'), undefined);
  });

  it('pages backwards for a tail longer than one page, and returns it oldest first', async () => {
    const logs = new FakeCloudWatchLogs(group);
    const lines = Array.from({ length: 12_500 }, (_, i) => `line ${i}`);
    logs.append('shop/app/t1', lines, 1000);
    const source = cloudWatchPodLogSource({ client: logs.client, logGroup: group });
    const out = await text(await source(request(pod('ecs://t1/app'), { tailLines: 12_000 })));
    const got = out.trimEnd().split('\n');
    assert.equal(got.length, 12_000);
    assert.equal(got[0], 'line 500');
    assert.equal(got.at(-1), 'line 12499');
    assert.deepEqual(
      logs.inputs().map((i) => [i.startFromHead, i.limit, i.nextToken]),
      [
        [false, 10_000, undefined],
        [false, 2_000, 'b/2500'],
      ],
    );
  });

  it('reads a stream page after page from its head, and nothing for a stream not written yet', async () => {
    const logs = new FakeCloudWatchLogs(group);
    logs.append(
      'shop/app/t1',
      Array.from({ length: 10_001 }, (_, i) => `l${i}`),
      1000,
    );
    const source = cloudWatchPodLogSource({ client: logs.client, logGroup: group });
    const out = await text(await source(request(pod('ecs://t1/app'))));
    assert.equal(out.split('\n').length - 1, 10_001);
    assert.equal(await text(await source(request(pod('ecs://t2/app')))), '');
  });

  it('cuts the output at limitBytes, in the middle of a line if it must', async () => {
    const logs = new FakeCloudWatchLogs(group);
    logs.append('shop/app/t1', ['hello', 'world'], 1000);
    const source = cloudWatchPodLogSource({ client: logs.client, logGroup: group });
    assert.equal(await text(await source(request(pod('ecs://t1/app'), { limitBytes: 8 }))), 'hello\nwo');
  });

  it('refuses a container that waits to start, and a --previous with no previous run', async () => {
    const logs = new FakeCloudWatchLogs(group);
    const source = cloudWatchPodLogSource({ client: logs.client, logGroup: group });
    await assert.rejects(source(request(pod('ecs://t1/app', { waiting: { reason: 'ContainerCreating' } }))), /is waiting to start: ContainerCreating/);
    await assert.rejects(source(request(pod('ecs://t1/app'), { previous: true })), /previous terminated container "app" in pod "web" not found/);
  });

  it('reads the last run while the container waits in CrashLoopBackOff, and the one before with previous', async () => {
    const logs = new FakeCloudWatchLogs(group);
    logs.append('shop/app/t2', ['second'], 1000);
    logs.append('shop/app/t1', ['first'], 500);
    const source = cloudWatchPodLogSource({ client: logs.client, logGroup: group });
    const crashLooping = pod('ecs://t2/app', { waiting: { reason: 'CrashLoopBackOff' } }, { terminated: { containerID: 'ecs://t1/app' } });
    assert.equal(await text(await source(request(crashLooping))), 'second\n');
    assert.equal(await text(await source(request(crashLooping, { previous: true }))), 'first\n');
  });

  it('ends a follow when the pod shows the run over, after one last read', async () => {
    const logs = new FakeCloudWatchLogs(group);
    logs.append('shop/app/t1', ['a'], 1000);
    let current = pod('ecs://t1/app');
    const source = cloudWatchPodLogSource({ client: logs.client, logGroup: group, pollMs: 5, runCheckMs: 10 });
    const chunks: string[] = [];
    const iterator = (await source(request(current, { follow: true, currentPod: async () => current })))[Symbol.asyncIterator]();
    chunks.push(String((await iterator.next()).value));
    logs.append('shop/app/t1', ['b'], 2000);
    chunks.push(String((await iterator.next()).value));
    current = pod('ecs://t1/app', { terminated: { exitCode: 0 } });
    logs.append('shop/app/t1', ['c'], 3000);
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      chunks.push(String(next.value));
    }
    assert.deepEqual(chunks, ['a\n', 'b\n', 'c\n']);
  });
});
