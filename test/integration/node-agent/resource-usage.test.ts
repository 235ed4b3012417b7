import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadImageTable } from '../../../node-agent/images.ts';
import { startKubeletServer } from '../../../node-agent/kubelet-server.ts';
import { EcsTaskStatsSource } from '../../../node-agent/metrics/ecs-task-stats.ts';
import { ProcUsageSource } from '../../../node-agent/metrics/proc-usage.ts';
import { UsageTracker } from '../../../node-agent/metrics/resource-usage.ts';
import { killRecordedContainers, ProcessRuntime } from '../../../node-agent/runtime/process-runtime.ts';
import type { ContainerRecord } from '../../../node-agent/runtime/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'skiff-usage-'));
const runtime = new ProcessRuntime({ stateDir, images: loadImageTable() });
const closers: (() => Promise<void> | void)[] = [];

after(async () => {
  for (const close of closers.reverse()) await close();
  await runtime.close();
  killRecordedContainers(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
});

/**
 * How long a process and its descendants have run on a CPU, in nanoseconds, as the scheduler
 * itself counts it (/proc/<pid>/schedstat): a reference apart from the clock-tick counts
 * (/proc/<pid>/stat) the runtime measures with, and one that holds however loaded the machine is.
 */
function ranNanoseconds(root: number): number {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  for (const pid of tree) {
    try {
      total += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

function launch(name: string, script: string) {
  return runtime.start({
    pod: { namespace: 'default', name, uid: `uid-${name}-${process.pid}` },
    containerName: 'app',
    attempt: 0,
    image: 'busybox',
    command: ['/bin/sh', '-c', script],
    env: {},
  });
}

describe('measuring the process runtime from /proc', () => {
  it('gives a busy container about a core and an idle one next to nothing, with the kubelet summary and metrics text', async () => {
    // The busy loop runs in a child of the container's shell: the process tree counts, not only the shim.
    const busy = await launch('busy', 'sh -c "while :; do :; done" & wait');
    const idle = await launch('idle', 'while true; do sleep 3600; done');
    const tracker = new UsageTracker('node-a');
    const source = new ProcUsageSource({ containers: () => runtime.containers() });
    const busyPid = busy.pid ?? 0;
    assert.ok(busyPid > 0);
    // The scheduler's count read just before and just after each sample: the runtime's count
    // between the two samples lies between the inner and the outer difference.
    const ran = [ranNanoseconds(busyPid)];
    tracker.record(await source.sample());
    ran.push(ranNanoseconds(busyPid));
    const first = tracker.summary();
    assert.equal(first?.pods.find((pod) => pod.podRef.name === 'busy')?.containers[0]?.cpu.usageNanoCores, undefined, 'no rate from one sample');

    // Enough time for the busy loop to add up ticks (the clock ticks at 100 Hz): wait on the condition.
    const summary = await waitFor('two samples a second apart', async () => {
      const ranBefore = ranNanoseconds(busyPid);
      const sample = await source.sample();
      const before = first?.pods.find((pod) => pod.podRef.name === 'busy')?.containers[0]?.cpu.time;
      if (!before || sample.node.timeMs - Date.parse(before) < 1000) return undefined;
      tracker.record(sample);
      ran.push(ranBefore, ranNanoseconds(busyPid));
      return tracker.summary();
    });
    const busyPod = summary.pods.find((pod) => pod.podRef.name === 'busy');
    const idlePod = summary.pods.find((pod) => pod.podRef.name === 'idle');
    assert.deepEqual(busyPod?.podRef, { name: 'busy', namespace: 'default', uid: `uid-busy-${process.pid}` });
    const busyCores = busyPod?.containers[0]?.cpu.usageNanoCores ?? 0;
    const idleCores = idlePod?.containers[0]?.cpu.usageNanoCores ?? Number.POSITIVE_INFINITY;
    // The busy loop gets what the scheduler gives it: about a core on an idle machine, a tenth of one
    // or less on a loaded one. So its figure is checked against the scheduler's own count, which
    // holds at any load: the CPU time between the samples lies between the inner and outer
    // differences of the reads around them, give or take a clock tick (10 ms) at each end.
    const [outerStart = 0, innerStart = 0, innerEnd = 0, outerEnd = 0] = ran;
    const firstBusy = first?.pods.find((pod) => pod.podRef.name === 'busy')?.containers[0]?.cpu;
    const busyCpu = busyPod?.containers[0]?.cpu;
    const used = (busyCpu?.usageCoreNanoSeconds ?? 0) - (firstBusy?.usageCoreNanoSeconds ?? 0);
    const tick = 10_000_000;
    assert.ok(innerEnd - innerStart > 0, 'the busy loop ran between the samples');
    assert.ok(
      used >= innerEnd - innerStart - 2 * tick && used <= outerEnd - outerStart + 2 * tick,
      `the runtime counted ${used} ns; the scheduler ran the loop ${innerEnd - innerStart}–${outerEnd - outerStart} ns`,
    );
    // The rate is that CPU time over the time between the samples.
    const windowSeconds = (Date.parse(busyCpu?.time ?? '') - Date.parse(firstBusy?.time ?? '')) / 1000;
    assert.ok(Math.abs(busyCores - used / windowSeconds) <= busyCores * 0.01 + 1, `${busyCores} nanocores over ${windowSeconds} s for ${used} ns`);
    // The sleeping shell next to nothing, however loaded the machine.
    assert.ok(idleCores < 50_000_000, `idle container used ${idleCores} nanocores`);
    assert.ok(busyCores > idleCores, `busy ${busyCores} against idle ${idleCores} nanocores`);
    assert.ok((busyPod?.containers[0]?.memory.workingSetBytes ?? 0) > 100_000, 'a shell holds some memory');
    assert.equal(busyPod?.cpu.usageNanoCores, busyCores);
    assert.ok((summary.node.cpu.usageCoreNanoSeconds ?? 0) >= (busyPod?.cpu.usageCoreNanoSeconds ?? 0));
    assert.equal(summary.node.nodeName, 'node-a');

    const server = await startKubeletServer({ address: '127.0.0.1', port: 0, token: 'node-token', logs: { find: () => undefined }, usage: tracker });
    closers.push(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;
    assert.equal((await fetch(`${base}/stats/summary`)).status, 401);
    const served = await fetch(`${base}/stats/summary`, { headers: { authorization: 'Bearer node-token' } });
    assert.deepEqual(await served.json(), JSON.parse(JSON.stringify(summary)));
    const text = await (await fetch(`${base}/metrics/resource`, { headers: { authorization: 'Bearer node-token' } })).text();
    assert.match(text, /^container_cpu_usage_seconds_total\{container="app",namespace="default",pod="busy"\} [\d.e+-]+ \d+$/m);
    assert.match(text, /^container_memory_working_set_bytes\{container="app",namespace="default",pod="idle"\} \d+ \d+$/m);
    assert.match(text, /^node_cpu_usage_seconds_total [\d.e+-]+ \d+$/m);

    await runtime.stop(busy.id, 1000);
    await runtime.stop(idle.id, 1000);
    tracker.record(await source.sample());
    assert.deepEqual(tracker.summary()?.pods, [], 'stopped containers are no longer measured');
  });

  it('answers 503 before anything was measured', async () => {
    const tracker = new UsageTracker('node-b');
    const server = await startKubeletServer({ address: '127.0.0.1', port: 0, logs: { find: () => undefined }, usage: tracker });
    closers.push(() => server.close());
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/stats/summary`)).status, 503);
  });
});

// A task's answers as the ECS container agent gives them (Docker stats, cgroup v1 names), recorded
// from the task metadata endpoint v4 documentation's shapes.
const dockerId = 'ea32192c8553fbff06c9340478a2ff089b2bb5646fb718b4ee206641c9086d66';
const sidecarId = '6e1a3a5a5a0b1c4c8d1f1b1f3a7b4e8f0c3d2a1b0f9e8d7c6b5a49382716a5b4';
const recordedTask = {
  Cluster: 'arn:aws:ecs:us-west-2:111122223333:cluster/default',
  TaskARN: 'arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c',
  Family: 'skiff-default-web',
  Revision: '1',
  DesiredStatus: 'RUNNING',
  KnownStatus: 'RUNNING',
  Limits: { CPU: 0.25, Memory: 512 },
  Containers: [
    { DockerId: dockerId, Name: 'web', DockerName: 'ecs-skiff-default-web-1-web-f6a2b5c3', Image: 'nginx', KnownStatus: 'RUNNING', Type: 'NORMAL' },
    {
      DockerId: sidecarId,
      Name: 'log-shipper',
      DockerName: 'ecs-skiff-default-web-1-log-shipper-d8e9',
      Image: 'busybox',
      KnownStatus: 'RUNNING',
      Type: 'NORMAL',
    },
  ],
  LaunchType: 'EC2',
};
const recordedStats = {
  [dockerId]: {
    read: '2020-10-02T00:51:13.410254284Z',
    preread: '2020-10-02T00:51:12.406202398Z',
    pids_stats: {},
    blkio_stats: { io_service_bytes_recursive: [], io_serviced_recursive: [] },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: {
      cpu_usage: { total_usage: 2_137_691_504, percpu_usage: [1_370_000_000, 767_691_504], usage_in_kernelmode: 80_000_000, usage_in_usermode: 20_000_000 },
      system_cpu_usage: 9_393_210_000_000,
      online_cpus: 2,
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    precpu_stats: {
      cpu_usage: { total_usage: 1_635_665_504, percpu_usage: [1_120_000_000, 515_665_504], usage_in_kernelmode: 80_000_000, usage_in_usermode: 20_000_000 },
      system_cpu_usage: 9_391_210_000_000,
      online_cpus: 2,
      throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
    },
    memory_stats: {
      usage: 39_047_168,
      max_usage: 40_308_736,
      stats: { active_anon: 1_630_208, total_inactive_file: 4_096_000, total_rss: 1_630_208 },
      limit: 536_870_912,
    },
    name: 'ecs-skiff-default-web-1-web-f6a2b5c3',
    id: dockerId,
    networks: { eth1: { rx_bytes: 564, rx_packets: 4, tx_bytes: 1022, tx_packets: 9 } },
  },
  // A container that has not run long enough has no stats yet.
  [sidecarId]: null,
};

describe('measuring ECS tasks from the task metadata endpoint', () => {
  it('reads each container of the task from /task and /task/stats: the rate between the two readings and the working set without the file cache', async () => {
    const requests: string[] = [];
    const endpoint = http.createServer((request, response) => {
      requests.push(request.url ?? '');
      const body = request.url === '/v4/0a1b2c3d-task/task' ? recordedTask : request.url === '/v4/0a1b2c3d-task/task/stats' ? recordedStats : undefined;
      response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body ?? { error: 'not found' }));
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => endpoint.close(() => resolve())));
    const uri = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/v4/0a1b2c3d-task`;
    const pod = { namespace: 'shop', name: 'web-5d8c7', uid: 'uid-web' };
    const record = (containerName: string, id: string): ContainerRecord => ({
      id,
      containerID: `ecs://${id}`,
      pod,
      containerName,
      attempt: 0,
      image: 'nginx',
      imageID: 'nginx',
      startedAt: '2020-10-02T00:15:08.000Z',
    });
    const runtimeIds: Record<string, string> = { 'task/web': dockerId, 'task/log-shipper': sidecarId };
    const asked: string[] = [];
    const source = new EcsTaskStatsSource({
      containers: () => [record('web', 'task/web'), record('log-shipper', 'task/log-shipper')],
      runtimeIdOf: (id) => runtimeIds[id],
      metadataUriOf: async (runtimeId) => {
        asked.push(runtimeId);
        return uri;
      },
      nodeUsage: () => ({ cpuCoreNanoSeconds: 5e12, memoryWorkingSetBytes: 2e9, timeMs: Date.parse('2020-10-02T00:51:13Z') }),
    });
    const sample = await source.sample();
    assert.deepEqual(sample.containers, [
      {
        namespace: 'shop',
        pod: 'web-5d8c7',
        uid: 'uid-web',
        container: 'web',
        startTime: '2020-10-02T00:15:08.000Z',
        cpuCoreNanoSeconds: 2_137_691_504,
        // 502,026,000 ns of CPU over the 1.004051886 s between the readings.
        cpuNanoCores: Math.round((502_026_000 * 1000) / (Date.parse('2020-10-02T00:51:13.410254284Z') - Date.parse('2020-10-02T00:51:12.406202398Z'))),
        memoryWorkingSetBytes: 39_047_168 - 4_096_000,
        timeMs: Date.parse('2020-10-02T00:51:13.410254284Z'),
      },
    ]);
    assert.deepEqual(requests.sort(), ['/v4/0a1b2c3d-task/task', '/v4/0a1b2c3d-task/task/stats']);
    await source.sample();
    assert.deepEqual(asked, [dockerId], 'the endpoint of a task is looked up once');
    const tracker = new UsageTracker('ip-10-0-1-23');
    tracker.record(sample);
    const summary = tracker.summary();
    assert.equal(summary?.pods[0]?.containers[0]?.cpu.usageNanoCores, sample.containers[0]?.cpuNanoCores);
    assert.equal(summary?.node.memory.workingSetBytes, 2e9);
  });
});
