/**
 * The node agent against the real API (HTTPS, DynamoDB Local) when things go wrong: a Lease
 * renewal the server never answers, and a pod whose probes Node refuses to send (stored around
 * admission, as an object written before admission refused them would be).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApiHandler } from '../../../functions/api/http.ts';
import { silentLog } from '../../../functions/logging/log.ts';
import { type RunningAgent, startAgent } from '../../../node-agent/agent.ts';
import { killRecordedContainers } from '../../../node-agent/runtime/process-runtime.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { startTestApi, type TestApi } from '../../support/test-api.ts';
import { waitFor } from '../../support/wait.ts';

describe('node agent resilience', () => {
  let api: TestApi;
  let hungRenewals = 0;
  const stateDirs: string[] = [];
  const agents: RunningAgent[] = [];
  /** The first Lease renewal of node "hangs" gets no answer at all until the client gives up. */
  const hangFirstRenewal =
    (core: ApiHandler): ApiHandler =>
    async (request) => {
      if (request.method === 'PUT' && request.path.endsWith('/leases/hangs') && hungRenewals === 0) {
        hungRenewals++;
        await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve(), { once: true }));
      }
      return core(request);
    };

  before(async () => {
    api = await startTestApi({ wrap: hangFirstRenewal });
  });
  after(async () => {
    for (const agent of agents) await agent.stop();
    for (const dir of stateDirs) {
      killRecordedContainers(dir);
      rmSync(dir, { recursive: true, force: true });
    }
    await api?.stop();
  });

  function agentOptions(nodeName: string, runtime: 'process' | 'sim') {
    const stateDir = mkdtempSync(join(tmpdir(), 'skiff-agent-'));
    stateDirs.push(stateDir);
    return {
      credentials: { server: api.url, caPem: api.caPem, token: api.token },
      nodeName,
      runtime,
      stateDir,
      serviceProxy: false,
      stopContainersOnStop: true,
      log: silentLog,
    };
  }

  async function renewTime(node: string): Promise<string | undefined> {
    const lease = await api.store.get(types.leases, 'kube-node-lease', node).catch(() => undefined);
    return (lease?.spec as { renewTime?: string } | undefined)?.renewTime;
  }

  it('keeps renewing its Lease after a renewal that hangs', async () => {
    agents.push(await startAgent({ ...agentOptions('hangs', 'sim'), leaseRenewSeconds: 1 }));
    await waitFor('a renewal to hang', () => hungRenewals === 1, { timeoutMs: 20_000 });
    const seen = new Set<string>();
    await waitFor(
      'two renewals after the hung one',
      async () => {
        const time = await renewTime('hangs');
        if (time) seen.add(time);
        return seen.size >= 3;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });

  it('runs a pod whose probes Node refuses to send, failing those probes instead of crashing', async () => {
    agents.push(await startAgent(agentOptions('probes', 'process')));
    const container = (name: string, probe: Record<string, unknown>) => ({
      name,
      image: 'busybox',
      command: ['/bin/sh', '-c', 'sleep 120'],
      livenessProbe: { ...probe, periodSeconds: 1, failureThreshold: 1000 },
    });
    // Written to the store directly: admission refuses these since issue 9.
    await api.store.create(types.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bad-probes', namespace: 'default' },
      spec: {
        nodeName: 'probes',
        containers: [
          container('header-name', { httpGet: { port: 80, path: '/', httpHeaders: [{ name: 'bad name', value: 'x' }] } }),
          container('header-value', { httpGet: { port: 80, path: '/', httpHeaders: [{ name: 'X-Ok', value: 'a\nInjected: 1' }] } }),
          container('host', { httpGet: { port: 80, path: '/', host: 'a b' } }),
        ],
      },
    });
    const events = async (reason: string) => {
      const { items } = await api.store.list(types.events, { namespace: 'default', fieldSelector: 'involvedObject.name=bad-probes' });
      const matching = items.filter((event) => event.reason === reason);
      return { events: matching, containers: new Set(matching.map((event) => (event.involvedObject as { fieldPath?: string }).fieldPath)) };
    };
    const unhealthy = await waitFor(
      'a failed probe of every container',
      async () => {
        const found = await events('Unhealthy');
        return found.containers.size === 3 ? found.events : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.ok(unhealthy.every((event) => String(event.message).startsWith('Liveness probe failed')));
    assert.equal((await events('Started')).containers.size, 3, 'every container started');
    // Still failing, and still probing: the agent is alive and at work (repeats bump the count).
    const total = (found: { events: readonly KubeObject[] }) => found.events.reduce((sum, event) => sum + Number(event.count ?? 1), 0);
    const before = total({ events: unhealthy });
    await waitFor('more failed probes', async () => total(await events('Unhealthy')) > before + 3 || undefined, { timeoutMs: 20_000 });
  });
});
