/**
 * The node agent's pod lifecycle against the real API with the real kubectl: an agent started
 * in-process (short crash back-off so restarts come in seconds) runs pods pinned to its node.
 * Crash loops, liveness and readiness probes, env from ConfigMaps/Secrets/fields, image pull
 * failures, graceful deletion, restart policies, and adoption by a restarted agent.
 */
import assert from 'node:assert/strict';
import { chmodSync, closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AgentOptions, type RunningAgent, startAgent } from '../../node-agent/agent.ts';
import { loadKubeconfig } from '../../node-agent/kubeconfig.ts';
import { podCidrForNodeIndex } from '../../node-agent/pod-cidr.ts';
import { killRecordedContainers } from '../../node-agent/runtime/process-runtime.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { waitFor } from '../support/wait.ts';

/** A hung step fails its test and still lets `after` clean up, instead of hanging the run. */
const bounded = { timeout: 120_000 };

const nodeName = 'agent-e2e';

interface PodJson {
  metadata: { uid: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      restartCount: number;
      ready: boolean;
      containerID?: string;
      state: { running?: unknown; waiting?: { reason: string; message?: string }; terminated?: { exitCode: number } };
      lastState: { terminated?: { exitCode: number } };
    }[];
  };
}

describe('node agent pod lifecycle', () => {
  let cluster: TestCluster;
  let agent: RunningAgent;
  let agentOptions: AgentOptions;
  const scratch = mkdtempSync(join(tmpdir(), 'skiff-agent-e2e-'));
  // The probe's marker file lives here: a pod runs as a user of its own (ADR 084), so it may look.
  chmodSync(scratch, 0o755);

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
    agentOptions = {
      // The node's own kubeconfig, as the host gives its agents: the host sends its token to the kubelet API.
      credentials: loadKubeconfig(await cluster.local.joinNode(nodeName)),
      nodeName,
      address: '127.0.1.201',
      // The cluster's own block of pod subnets (by its data dir, as the host picks its nodes'): a fixed
      // 127.64.201.0/24 was the same in every run, so two runs of this file at once gave their pods
      // the same loopback addresses.
      podCidr: podCidrForNodeIndex(201, cluster.dataDir),
      stateDir: join(cluster.dataDir, 'nodes', nodeName),
      backOff: { initialMs: 1000, maxMs: 4000 },
      serviceProxy: false,
    };
    agent = await startAgent(agentOptions);
  });

  after(async () => {
    await agent?.stop();
    killRecordedContainers(agentOptions.stateDir);
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function apply(manifest: unknown): Promise<void> {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  }

  function pod(name: string, containers: unknown[], spec: Record<string, unknown> = {}): unknown {
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, containers, ...spec } };
  }

  async function getPod(name: string): Promise<PodJson> {
    return JSON.parse(await cluster.kubectlOk(['get', 'pod', name, '-o', 'json'])) as PodJson;
  }

  async function describePod(name: string): Promise<string> {
    return cluster.kubectlOk(['describe', 'pod', name]);
  }

  const sh = (script: string) => ({ command: ['/bin/sh', '-c', script] });

  it('restarts a crashing container with a growing restartCount, backs off, and keeps the previous log', bounded, async () => {
    await apply(pod('crasher', [{ name: 'app', image: 'busybox', ...sh('echo "crash on $POD_NAME"; exit 3') }]));
    const status = await waitFor(
      'two restarts',
      async () => {
        const s = (await getPod('crasher')).status?.containerStatuses?.[0];
        return s && s.restartCount >= 2 ? s : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(status.lastState.terminated?.exitCode, 3);
    const described = await waitFor('BackOff event', async () => {
      const text = await describePod('crasher');
      return text.includes('Back-off restarting failed container app') ? text : undefined;
    });
    assert.match(described, /Restart Count:\s+\d/);
    const previous = await cluster.kubectlOk(['logs', 'crasher', '--previous']);
    assert.equal(previous, 'crash on crasher\n');
    const waiting = await waitFor('CrashLoopBackOff', async () => {
      const s = (await getPod('crasher')).status?.containerStatuses?.[0];
      return s?.state.waiting?.reason === 'CrashLoopBackOff' ? s.state.waiting : undefined;
    });
    assert.match(waiting.message ?? '', /^back-off \ds restarting failed container=app pod=crasher_default/);
    await cluster.kubectlOk(['delete', 'pod', 'crasher', '--wait=true']);
  });

  it('restarts a container whose liveness probe fails, with Unhealthy and Killing events', bounded, async () => {
    await apply(
      pod('unlive', [
        {
          name: 'web',
          image: 'nginx',
          ports: [{ containerPort: 8081 }],
          livenessProbe: { httpGet: { path: '/', port: 9 }, periodSeconds: 1, failureThreshold: 2 },
        },
      ]),
    );
    await waitFor('a liveness restart', async () => ((await getPod('unlive')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, { timeoutMs: 30_000 });
    const described = await describePod('unlive');
    const podNetwork = agentOptions.podCidr?.replace(/\.0\/24$/, '').replaceAll('.', '\\.');
    assert.match(described, new RegExp(`Liveness probe failed: Get "http://${podNetwork}\\.\\d+:9/": dial tcp .*connection refused`));
    assert.match(described, /Container web failed liveness probe, will be restarted/);
    await cluster.kubectlOk(['delete', 'pod', 'unlive', '--wait=true']);
  });

  it('keeps a pod with a passing liveness probe running and serves its page on the pod IP', bounded, async () => {
    await apply(
      pod('live', [
        {
          name: 'web',
          image: 'httpd',
          ports: [{ containerPort: 8082, name: 'http' }],
          livenessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
          readinessProbe: { tcpSocket: { port: 8082 }, periodSeconds: 1 },
        },
      ]),
    );
    const running = await waitFor('ready', async () => {
      const p = await getPod('live');
      return p.status?.containerStatuses?.[0]?.ready ? p : undefined;
    });
    const page = await (await fetch(`http://${running.status?.podIP}:8082/`, { signal: AbortSignal.timeout(5000) })).text();
    assert.match(page, /It works!/);
    assert.match(page, /pod live/);
    assert.equal(running.status?.containerStatuses?.[0]?.restartCount, 0);
    await cluster.kubectlOk(['delete', 'pod', 'live', '--wait=true']);
  });

  it('replaces a container whose image is changed in place, without back-off', bounded, async () => {
    await apply(pod('swapped', [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8083 }] }]));
    const first = await waitFor('nginx running', async () => {
      const p = await getPod('swapped');
      return p.status?.containerStatuses?.[0]?.ready ? p : undefined;
    });
    await cluster.kubectlOk(['set', 'image', 'pod/swapped', 'web=httpd']);
    const page = await waitFor(
      'httpd page',
      async () => {
        const response = await fetch(`http://${first.status?.podIP}:8083/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        const text = response?.ok ? await response.text() : '';
        return text.includes('It works!') ? text : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.match(page, /pod swapped/);
    // The agent writes the status after the new container started: the page can come first.
    const status = await waitFor('the restart in the status', async () => {
      const current = (await getPod('swapped')).status?.containerStatuses?.[0];
      return current && current.restartCount >= 1 && current.ready ? current : undefined;
    });
    assert.equal(status.restartCount, 1);
    assert.match(await describePod('swapped'), /Container web definition changed, will be restarted/);
    await cluster.kubectlOk(['delete', 'pod', 'swapped', '--wait=true']);
  });

  it('follows an exec readiness probe in and out of Ready', bounded, async () => {
    const marker = join(scratch, 'ready');
    await apply(
      pod('gated', [
        {
          name: 'app',
          image: 'busybox',
          env: [{ name: 'MARKER', value: marker }],
          readinessProbe: { exec: { command: ['/bin/sh', '-c', 'test -f "$MARKER"'] }, periodSeconds: 1 },
        },
      ]),
    );
    const ready = async (want: string) => {
      const p = await getPod('gated');
      return p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === want;
    };
    await waitFor('Running but not Ready', () => ready('False'));
    writeFileSync(marker, '');
    await waitFor('Ready', () => ready('True'));
    rmSync(marker);
    await waitFor('not Ready again', () => ready('False'));
    assert.match(await describePod('gated'), /Readiness probe failed: command/);
    await cluster.kubectlOk(['delete', 'pod', 'gated', '--wait=true']);
  });

  it('builds the environment from values, ConfigMaps, Secrets and pod fields', bounded, async () => {
    await cluster.kubectlOk(['create', 'configmap', 'settings', '--from-literal=MODE=fast', '--from-literal=LEVEL=3']);
    await cluster.kubectlOk(['create', 'secret', 'generic', 'creds', '--from-literal=password=s3cret']);
    await apply(
      pod('envy', [
        {
          name: 'app',
          image: 'busybox',
          ...sh('echo "mode=$MODE pass=$PASS name=$ME ip=$IP cfg=$CFG_LEVEL greeting=$GREETING"; sleep 300'),
          env: [
            { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
            { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
            { name: 'ME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'GREETING', value: 'hello $(ME)' },
          ],
          envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'settings' } }],
        },
      ]),
    );
    const ip = await waitFor('pod IP', async () => (await getPod('envy')).status?.podIP);
    const logs = await waitFor('env line', async () => {
      const text = await cluster.kubectlOk(['logs', 'envy']);
      return text.includes('mode=') ? text : undefined;
    });
    assert.equal(logs, `mode=fast pass=s3cret name=envy ip=${ip} cfg=3 greeting=hello envy\n`);
    await cluster.kubectlOk(['delete', 'pod', 'envy', '--wait=true']);
  });

  it('streams a running container log with kubectl logs -f --tail', bounded, async () => {
    await apply(pod('ticker', [{ name: 'app', image: 'busybox', ...sh('i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done') }]));
    await waitFor('ticking', async () => (await cluster.kubectl(['logs', 'ticker'])).stdout.includes('tick-3'));
    const follow = cluster.kubectlBackground(['logs', '-f', '--tail=1', 'ticker']);
    try {
      const seen = await waitFor('three new ticks', () => {
        const ticks = follow.output().match(/tick-\d+/g) ?? [];
        return ticks.length >= 3 ? ticks : undefined;
      });
      const numbers = seen.map((tick) => Number(tick.slice(5)));
      assert.ok(numbers[0] !== undefined && numbers[0] >= 3, 'starts at the tail, not the beginning');
      assert.deepEqual(numbers.slice(0, 3), [numbers[0], (numbers[0] ?? 0) + 1, (numbers[0] ?? 0) + 2]);
    } finally {
      await follow.stop();
    }
    await cluster.kubectlOk(['delete', 'pod', 'ticker', '--wait=true']);
  });

  it('answers kubectl logs --tail 10 of a 1 GiB container log with bounded memory', bounded, async () => {
    await apply(pod('biglog', [{ name: 'app', image: 'busybox', ...sh('echo first line') }], { restartPolicy: 'Never' }));
    await waitFor('biglog done', async () => ((await getPod('biglog')).status?.phase === 'Succeeded' ? true : undefined));
    const state = JSON.parse(readFileSync(join(agentOptions.stateDir, 'containers.json'), 'utf8')) as {
      containers: { pod: { name: string }; logPath?: string }[];
    };
    const logPath = state.containers.find((record) => record.pod.name === 'biglog')?.logPath;
    assert.ok(logPath, 'the runtime recorded where the container logged');
    // The finished container's log grown to 1 GiB: a hole (read as zero bytes), then a last MiB of
    // numbered 64-byte lines. Only what the agent and the API read is measured.
    const gib = 1024 ** 3;
    const tailBytes = 1024 * 1024;
    const line = (n: number) => `line ${String(n).padStart(10, '0')} ${'x'.repeat(47)}\n`;
    const fd = openSync(logPath, 'r+');
    try {
      ftruncateSync(fd, gib - tailBytes);
      writeSync(fd, Buffer.from(Array.from({ length: tailBytes / 64 }, (_, n) => line(n)).join('')), 0, tailBytes, gib - tailBytes);
    } finally {
      closeSync(fd);
    }
    assert.equal(statSync(logPath).size, gib);

    // The API and the agent run in this process: their buffers are this process's.
    let peak = 0;
    const base = process.memoryUsage().arrayBuffers;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    }, 10);
    let text: string;
    try {
      text = await cluster.kubectlOk(['logs', 'biglog', '--tail', '10']);
    } finally {
      clearInterval(sampler);
    }
    const numbers = text
      .trimEnd()
      .split('\n')
      .map((entry) => Number(/^line (\d{10}) x{47}$/.exec(entry)?.[1]));
    assert.deepEqual(
      numbers,
      Array.from({ length: 10 }, (_, i) => tailBytes / 64 - 10 + i),
    );
    assert.ok(peak < 64 * 1024 * 1024, `buffers grew by ${Math.round(peak / 1024 / 1024)} MiB answering --tail 10 of a 1 GiB log`);
    await cluster.kubectlOk(['delete', 'pod', 'biglog', '--wait=true']);
  });

  it('waits with CreateContainerConfigError while a referenced Secret is missing', bounded, async () => {
    await apply(pod('nosecret', [{ name: 'app', image: 'busybox', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'absent', key: 'k' } } }] }]));
    const waiting = await waitFor('config error', async () => (await getPod('nosecret')).status?.containerStatuses?.[0]?.state.waiting);
    assert.equal(waiting.reason, 'CreateContainerConfigError');
    assert.equal(waiting.message, 'secret "absent" not found');
    await cluster.kubectlOk(['delete', 'pod', 'nosecret', '--wait=true']);
  });

  it('leaves a container of an unknown image Waiting as a failed pull does', bounded, async () => {
    await apply(pod('nopull', [{ name: 'app', image: 'registry.example.com/nothing:1' }]));
    const waiting = await waitFor('pull failure', async () => {
      const state = (await getPod('nopull')).status?.containerStatuses?.[0]?.state.waiting;
      return state?.reason.includes('ImagePull') ? state : undefined;
    });
    assert.match(waiting?.message ?? '', /not in the local image table/);
    const listing = await cluster.kubectlOk(['get', 'pod', 'nopull']);
    assert.match(listing, /ErrImagePull|ImagePullBackOff/);
    await cluster.kubectlOk(['delete', 'pod', 'nopull', '--wait=true']);
  });

  it('gives a container that ignores SIGTERM its grace period, then kills it and finishes the deletion', bounded, async () => {
    await apply(
      pod('stubborn', [{ name: 'app', image: 'busybox', ...sh('trap "" TERM; while true; do sleep 0.2; done') }], { terminationGracePeriodSeconds: 2 }),
    );
    await waitFor('running', async () => (await getPod('stubborn')).status?.phase === 'Running');
    const started = Date.now();
    await cluster.kubectlOk(['delete', 'pod', 'stubborn', '--wait=true'], { timeoutMs: 60_000 });
    const took = Date.now() - started;
    assert.ok(took >= 1500, `deleted after ${took} ms, before the grace period`);
    // Under the default grace (30 s) the deletion could not end sooner: that is the line between the
    // pod's 2 s honoured and not, not a speed (a loaded machine adds seconds to kubectl and the agent).
    assert.ok(took < 30_000, `deletion took ${took} ms, as long as the default grace period`);
    const described = await cluster.kubectl(['get', 'pod', 'stubborn']);
    assert.equal(described.code, 1);
  });

  const policyTable: [policy: string, exitCode: number, phase: string][] = [
    ['Never', 0, 'Succeeded'],
    ['Never', 1, 'Failed'],
    ['OnFailure', 0, 'Succeeded'],
  ];
  for (const [policy, exitCode, phase] of policyTable) {
    it(`ends a pod whose container exits ${exitCode} under restartPolicy ${policy} as ${phase}`, bounded, async () => {
      const name = `once-${policy.toLowerCase()}-${exitCode}`;
      await apply(pod(name, [{ name: 'app', image: 'busybox', ...sh(`exit ${exitCode}`) }], { restartPolicy: policy }));
      const done = await waitFor(phase, async () => {
        const p = await getPod(name);
        return p.status?.phase === phase ? p : undefined;
      });
      assert.equal(done.status?.containerStatuses?.[0]?.state.terminated?.exitCode, exitCode);
      assert.equal(done.status?.containerStatuses?.[0]?.restartCount, 0);
      await cluster.kubectlOk(['delete', 'pod', name, '--wait=true']);
    });
  }

  it('runs pods on a sim node at once, with no process', bounded, async () => {
    const sim = await startAgent({
      ...agentOptions,
      // Its own identity: one node's credentials may not register another node.
      credentials: loadKubeconfig(await cluster.local.joinNode('sim-e2e')),
      nodeName: 'sim-e2e',
      runtime: 'sim',
      address: '127.0.1.202',
      podCidr: podCidrForNodeIndex(202, cluster.dataDir),
      stateDir: join(cluster.dataDir, 'nodes', 'sim-e2e'),
    });
    try {
      const node = JSON.parse(await cluster.kubectlOk(['get', 'node', 'sim-e2e', '-o', 'json'])) as {
        status: { nodeInfo: { containerRuntimeVersion: string } };
      };
      assert.equal(node.status.nodeInfo.containerRuntimeVersion, 'skiff-sim://1');
      await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'simmed', namespace: 'default' },
        spec: { nodeName: 'sim-e2e', containers: [{ name: 'app', image: 'anything/at-all:1' }] },
      });
      const running = await waitFor('sim pod ready', async () => {
        const p = await getPod('simmed');
        return p.status?.containerStatuses?.[0]?.ready ? p : undefined;
      });
      assert.equal(running.status?.phase, 'Running');
      assert.match(running.status?.containerStatuses?.[0]?.containerID ?? '', /^skiff-sim:\/\//);
      assert.equal(running.status?.podIP?.replace(/\.\d+$/, '.0/24'), podCidrForNodeIndex(202, cluster.dataDir));
      await cluster.kubectlOk(['delete', 'pod', 'simmed', '--wait=true']);
    } finally {
      await sim.stop();
    }
  });

  it('adopts running containers after an agent restart, then restarts a killed one', bounded, async () => {
    await apply(pod('survivor', [{ name: 'app', image: 'busybox', ...sh('echo up; sleep 300') }]));
    const before = await waitFor('running', async () => {
      const p = await getPod('survivor');
      return p.status?.containerStatuses?.[0]?.state.running ? p : undefined;
    });
    const containerID = before.status?.containerStatuses?.[0]?.containerID;
    await agent.stop();
    agent = await startAgent(agentOptions);
    // The new agent must report the same container, not start a second one.
    const records = JSON.parse(readFileSync(join(agentOptions.stateDir, 'containers.json'), 'utf8')) as {
      containers: { containerID: string; pid: number; pod: { uid: string }; exit?: unknown }[];
    };
    const mine = records.containers.filter((r) => r.pod.uid === before.metadata.uid);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]?.containerID, containerID);
    assert.equal((await getPod('survivor')).status?.containerStatuses?.[0]?.restartCount, 0);

    // Kill the container's program (the shim's child), as `kill` on a container's main process would.
    const shimPid = mine[0]?.pid ?? 0;
    const children = readFileSync(`/proc/${shimPid}/task/${shimPid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    for (const child of children) process.kill(child, 'SIGKILL');
    const after = await waitFor(
      'restart after kill',
      async () => {
        const s = (await getPod('survivor')).status?.containerStatuses?.[0];
        return s && s.restartCount === 1 && s.state.running ? s : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(after.lastState.terminated?.exitCode, 137);
    assert.notEqual(after.containerID, containerID);
    await cluster.kubectlOk(['delete', 'pod', 'survivor', '--wait=true']);
    assert.ok(!existsSync(`/proc/${shimPid}`) || readFileSync(`/proc/${shimPid}/stat`, 'utf8').includes(') Z '));
  });
});
