/**
 * Scenario 4: scale. Nodes (with leases) and bound, Running pods are added in steps, straight
 * into the store as KWOK would have them (four batches of 25 in flight, as several writers
 * would); after each step the real kubectl asks the API over HTTPS for `get pods` in the
 * fullest namespace, `get pods -A` (the cluster-wide list) and `get pod <one>`. A namespace
 * holds at most 20,000 pods (the largest namespaced list issue 10 names; Kubernetes' own
 * threshold is 3,000 a namespace), the rest go to further namespaces. It stops at the first
 * step that misses the SLO, when the next step's writes would not fit the time budget, or at
 * the last step.
 *
 * kubectl waits between the pages of a list by itself: client-go's default rate limit (5
 * requests a second after a burst of 10), which no server changes. Its own report of those
 * waits (`-v=3`: "Waited for ... due to client-side throttling") is read, and the SLO is judged
 * on the time less that wait; the time as a user sees it is kept beside it (docs/adr/197).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeTime } from '../../functions/core/kube-time.ts';
import { startHttpsApiServer } from '../../functions/local/https-server.ts';
import { writeKubeconfig } from '../../functions/local/kubeconfig.ts';
import { createServingCertificate } from '../../functions/local/tls.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { type BenchPlane, benchToken } from '../bench-plane.ts';
import type { Progress } from '../progress.ts';
import { seedNodes, simNodeNames } from '../sim-kubelet.ts';

export interface ScaleStep {
  readonly nodes: number;
  readonly pods: number;
  /** Pods in the namespace `kubectl get pods -n` lists. */
  readonly namespacePods: number;
  /** Slowest of three `kubectl get pods -n <ns>` runs (Table output, kubectl's 500-item chunks), as a user waits. */
  readonly kubectlGetPodsSeconds: number;
  /** The same runs less kubectl's own client-side rate-limit waits, slowest of three: what the SLO is judged on. */
  readonly kubectlGetPodsLessClientThrottlingSeconds: number;
  /** Slowest of three `kubectl get pod <name>`. */
  readonly kubectlGetPodSeconds: number;
  /** One `kubectl get pods -A` (Table output, 500-item chunks): the cluster-wide LIST, as a user waits. */
  readonly kubectlGetPodsAllNamespacesSeconds: number;
  /** The same run less kubectl's own client-side rate-limit waits. */
  readonly kubectlGetPodsAllNamespacesLessClientThrottlingSeconds: number;
  readonly withinSlo: boolean;
  /** Writing this step's objects through the store, objects per second. */
  readonly seedObjectsPerSecond: number;
}

export interface ScaleResult {
  readonly anchor: string;
  readonly slo: string;
  readonly steps: readonly ScaleStep[];
  readonly maxNodes: number;
  readonly maxPods: number;
  readonly stoppedBy: 'slo' | 'budget' | 'last step';
}

export interface ScaleOptions {
  readonly plane: BenchPlane;
  readonly progress: Progress;
  readonly steps: readonly { readonly nodes: number; readonly pods: number }[];
  readonly budgetSeconds: number;
}

const namespace = 'bench-scale';
/** Pods a namespace holds before the next one is filled. */
const podsPerNamespace = 20_000;
const listSloSeconds = 5;
const getSloSeconds = 1;
/** Kubernetes' SLO for a cluster-wide LIST. */
const clusterListSloSeconds = 30;
/** Batches of pods written at once while seeding. */
const seedingWriters = 4;

/** The namespace of the pod with this index: `bench-scale`, then `bench-scale-2`, ... */
const namespaceOf = (index: number): string => {
  const ordinal = Math.floor(index / podsPerNamespace);
  return ordinal === 0 ? namespace : `${namespace}-${ordinal + 1}`;
};

function runningPod(index: number, nodeName: string): KubeObject {
  const now = kubeTime(Date.now());
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `scale-${String(index).padStart(6, '0')}`, namespace: namespaceOf(index), labels: { app: 'scale' } },
    spec: { nodeName, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }], restartPolicy: 'Always' },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: now }],
      podIP: `10.${100 + (index % 100)}.${Math.floor(index / 250) % 256}.${2 + (index % 250)}`,
      startTime: now,
      containerStatuses: [
        {
          name: 'main',
          ready: true,
          started: true,
          restartCount: 0,
          image: 'registry.k8s.io/pause:3.9',
          imageID: 'pause@sim',
          state: { running: { startedAt: now } },
        },
      ],
    },
  };
}

interface KubectlTiming {
  readonly seconds: number;
  /** What kubectl reported waiting on its own rate limiter (only waits over 50 ms are reported). */
  readonly throttledSeconds: number;
}

/** kubectl's (client-go's) report of a wait on its own rate limiter, at `-v=3`. */
const throttleReport = /Waited for ([\d.]+)(µs|ms|s) due to client-side throttling/g;

function throttledSecondsIn(stderr: string): number {
  let seconds = 0;
  for (const [, amount, unit] of stderr.matchAll(throttleReport)) seconds += Number(amount) / (unit === 's' ? 1 : unit === 'ms' ? 1000 : 1_000_000);
  return seconds;
}

function timeKubectl(kubeconfig: string, args: readonly string[]): Promise<KubectlTiming> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '-v=3', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // kubectl's own rate limit alone holds a 150,000-pod list for ~58 s (300 pages).
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ seconds: (performance.now() - started) / 1000, throttledSeconds: throttledSecondsIn(stderr) });
      else reject(new Error(`kubectl ${args.join(' ')} failed (${code}): ${stderr.trim().slice(-2000)}`));
    });
  });
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const { plane, progress } = options;
  const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-'));
  const certificate = createServingCertificate({ ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  const server = await startHttpsApiServer({ handler: plane.api, certPem: certificate.certPem, keyPem: certificate.keyPem, port: 0, host: '127.0.0.1' });
  const kubeconfig = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${server.port}`, caCertPem: certificate.caCertPem, token: benchToken, user: 'bench-admin' });
  const started = performance.now();
  const steps: ScaleStep[] = [];
  let stoppedBy: ScaleResult['stoppedBy'] = 'last step';
  let nodes = 0;
  let pods = 0;
  let rate = 0;
  try {
    const namespaces = new Set<string>();
    for (const step of options.steps) {
      const newObjects = step.nodes - nodes + step.pods - pods;
      const elapsed = (performance.now() - started) / 1000;
      if (rate > 0 && elapsed + newObjects / rate > options.budgetSeconds) {
        stoppedBy = 'budget';
        break;
      }
      const label = `scale ${step.nodes} nodes / ${step.pods} pods`;
      const seedStarted = performance.now();
      progress.update(`${label}: registering nodes`);
      const allNames = simNodeNames('scale', step.nodes);
      await seedNodes(plane, allNames.slice(nodes), { leases: true, writers: seedingWriters });
      for (let index = pods; index < step.pods; index += podsPerNamespace - (index % podsPerNamespace)) {
        const name = namespaceOf(index);
        if (namespaces.has(name)) continue;
        await plane.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
        namespaces.add(name);
      }
      const fresh = Array.from({ length: step.pods - pods }, (_, i) => runningPod(pods + i, allNames[(pods + i) % allNames.length] ?? ''));
      let written = 0;
      const chunks: KubeObject[][] = [];
      for (let i = 0; i < fresh.length; i += 25) chunks.push(fresh.slice(i, i + 25));
      let next = 0;
      await Promise.all(
        Array.from({ length: seedingWriters }, async () => {
          for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) {
            await plane.store.batch(
              types.pods,
              chunk.map((object) => ({ op: 'create', object })),
            );
            written += chunk.length;
            progress.update(`${label}: writing pods ${pods + written}/${step.pods}`);
          }
        }),
      );
      rate = newObjects / ((performance.now() - seedStarted) / 1000);
      nodes = step.nodes;
      pods = step.pods;
      progress.update(`${label}: kubectl get pods`);
      let list = 0;
      let listLessThrottling = 0;
      let get = 0;
      for (let i = 0; i < 3; i++) {
        const run = await timeKubectl(kubeconfig, ['get', 'pods', '-n', namespace]);
        list = Math.max(list, run.seconds);
        listLessThrottling = Math.max(listLessThrottling, run.seconds - run.throttledSeconds);
        get = Math.max(get, (await timeKubectl(kubeconfig, ['get', 'pod', '-n', namespace, 'scale-000000'])).seconds);
      }
      progress.update(`${label}: kubectl get pods -A`);
      const all = await timeKubectl(kubeconfig, ['get', 'pods', '-A']);
      const allLessThrottling = all.seconds - all.throttledSeconds;
      const withinSlo = listLessThrottling <= listSloSeconds && get <= getSloSeconds && allLessThrottling <= clusterListSloSeconds;
      const round = (n: number): number => Math.round(n * 100) / 100;
      steps.push({
        nodes,
        pods,
        namespacePods: Math.min(pods, podsPerNamespace),
        kubectlGetPodsSeconds: round(list),
        kubectlGetPodsLessClientThrottlingSeconds: round(listLessThrottling),
        kubectlGetPodSeconds: round(get),
        kubectlGetPodsAllNamespacesSeconds: round(all.seconds),
        kubectlGetPodsAllNamespacesLessClientThrottlingSeconds: round(allLessThrottling),
        withinSlo,
        seedObjectsPerSecond: Math.round(rate),
      });
      progress.log(
        `${label}: kubectl get pods (${Math.min(pods, podsPerNamespace)} in the namespace) ${round(list)} s (${round(listLessThrottling)} s less kubectl's own throttling), ` +
          `get pods -A ${round(all.seconds)} s (${round(allLessThrottling)} s), get pod ${round(get)} s${withinSlo ? '' : ' (over the SLO)'}`,
      );
      if (!withinSlo) {
        stoppedBy = 'slo';
        break;
      }
    }
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  const held = steps.filter((step) => step.withinSlo);
  return {
    anchor: 'KWOK holds 1k nodes / 100k pods; Kubernetes limits: 5,000 nodes / 150,000 pods',
    slo: `kubectl get pods (namespaced LIST, at most ${podsPerNamespace} pods a namespace) <= ${listSloSeconds} s and kubectl get pod <= ${getSloSeconds} s, slowest of 3; kubectl get pods -A (cluster-wide LIST) <= ${clusterListSloSeconds} s, once; lists less kubectl's own client-side rate-limit waits`,
    steps,
    maxNodes: held.at(-1)?.nodes ?? 0,
    maxPods: held.at(-1)?.pods ?? 0,
    stoppedBy,
  };
}
