/**
 * A node draining itself before its instance goes (docs/adr/133), against the real API (HTTPS,
 * DynamoDB Local) with a real agent on the sim runtime: pods are evicted through the eviction
 * subresource, so a PodDisruptionBudget holds a pod until it allows the disruption; DaemonSet
 * pods are not evicted; what a budget still protects when the eviction time is up is deleted,
 * so it gets its grace period before the instance is gone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApiHandler } from '../../../functions/api/http.ts';
import { silentLog } from '../../../functions/logging/log.ts';
import { type RunningAgent, startAgent } from '../../../node-agent/agent.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';
import { waitFor } from '../../support/wait.ts';

describe('a node draining itself', () => {
  let api: TestApi;
  /** Each eviction the agent asked for: the pod's name and the API's answer. */
  const evictions: { readonly pod: string; readonly status: number }[] = [];
  const stateDirs: string[] = [];
  const agents: RunningAgent[] = [];
  const recordEvictions =
    (core: ApiHandler): ApiHandler =>
    async (request) => {
      const response = await core(request);
      const match = /\/pods\/([^/]+)\/eviction$/.exec(request.path);
      if (request.method === 'POST' && match?.[1]) evictions.push({ pod: match[1], status: response.status });
      return response;
    };

  before(async () => {
    api = await startTestApi({ wrap: recordEvictions });
  });
  after(async () => {
    for (const agent of agents) await agent.stop();
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
    await api?.stop();
  });

  async function startNode(nodeName: string): Promise<RunningAgent> {
    const stateDir = mkdtempSync(join(tmpdir(), 'skiff-drain-'));
    stateDirs.push(stateDir);
    const agent = await startAgent({
      credentials: { server: api.url, caPem: api.caPem, token: api.token },
      nodeName,
      runtime: 'sim',
      stateDir,
      serviceProxy: false,
      stopContainersOnStop: true,
      log: silentLog,
    });
    agents.push(agent);
    return agent;
  }

  const pod = (name: string, nodeName: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name }, ...extra },
    spec: { nodeName, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'nginx' }] },
  });

  /** A budget that allows `allowed` disruptions of the pods labelled app=<target>, as its controller would have written it. */
  async function budget(name: string, target: string, allowed: number): Promise<void> {
    const existing = await api.store.get(types.poddisruptionbudgets, 'default', name).catch(() => undefined);
    const object =
      existing ??
      (await api.store.create(types.poddisruptionbudgets, {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name, namespace: 'default' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: target } } },
      }));
    await api.store.update(types.poddisruptionbudgets, {
      ...object,
      status: {
        observedGeneration: object.metadata.generation ?? 1,
        disruptionsAllowed: allowed,
        currentHealthy: 1,
        desiredHealthy: 1 - allowed,
        expectedPods: 1,
      },
    });
  }

  const phaseOf = async (name: string): Promise<string | undefined> => {
    const found = await api.store.get(types.pods, 'default', name).catch(() => undefined);
    if (!found) return 'gone';
    return found.metadata.deletionTimestamp ? 'terminating' : (found.status as { phase?: string } | undefined)?.phase;
  };

  async function running(names: readonly string[]): Promise<void> {
    await waitFor(`${names.join(', ')} Running`, async () => (await Promise.all(names.map(phaseOf))).every((phase) => phase === 'Running'), {
      timeoutMs: 30_000,
    });
  }

  const nodeGone = async (name: string): Promise<boolean> => !(await api.store.get(types.nodes, undefined, name).catch(() => undefined));

  it('evicts within the disruption budget, waits until it allows the last pod, leaves DaemonSet pods to the delete, then deletes the Node', async () => {
    const agent = await startNode('drainer');
    await budget('guard', 'guarded', 0);
    for (const name of ['guarded', 'free']) await api.store.create(types.pods, pod(name, 'drainer'));
    await api.store.create(
      types.pods,
      pod('daemon', 'drainer', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agents', uid: 'ds-uid', controller: true }] }),
    );
    await running(['guarded', 'free', 'daemon']);

    const drained = agent.drain(60_000, 50_000);
    await waitFor('the budget refusing the guarded pod twice', () => evictions.filter((e) => e.pod === 'guarded' && e.status === 429).length >= 2, {
      timeoutMs: 30_000,
    });
    assert.notEqual(await phaseOf('free').then((phase) => phase === 'Running'), true, 'the unguarded pod was evicted at once');
    assert.equal(await phaseOf('guarded'), 'Running', 'the guarded pod stays while the budget forbids');
    assert.equal(await nodeGone('drainer'), false);

    await budget('guard', 'guarded', 1);
    await drained;
    assert.ok(
      evictions.some((e) => e.pod === 'guarded' && e.status < 300),
      JSON.stringify(evictions),
    );
    assert.ok(!evictions.some((e) => e.pod === 'daemon'), 'a DaemonSet pod is not evicted');
    assert.deepEqual(await Promise.all(['guarded', 'free', 'daemon'].map(async (name) => ['gone', 'terminating'].includes((await phaseOf(name)) ?? ''))), [
      true,
      true,
      true,
    ]);
    assert.equal(await nodeGone('drainer'), true);
  });

  it('deletes a pod the budget still protects once the eviction time is up, before the instance goes', async () => {
    const agent = await startNode('hurried');
    await budget('hold', 'held', 0);
    await api.store.create(types.pods, pod('held', 'hurried'));
    await running(['held']);
    const before = evictions.length;
    await agent.drain(30_000, 1_000);
    const asked = evictions.slice(before).filter((e) => e.pod === 'held');
    assert.ok(asked.length >= 1 && asked.every((e) => e.status === 429), JSON.stringify(asked));
    assert.ok(['gone', 'terminating'].includes((await phaseOf('held')) ?? ''));
    assert.equal(await nodeGone('hurried'), true);
  });
});
