/**
 * The node heartbeat endpoint locally (docs/adr/196): the host serves the same core as the AWS
 * function beside its API, the node known by its bearer token. An agent joined by the host renews
 * its Lease there — each renewal a Lease update a watch sees, none through the API after the
 * Lease's creation (the API's audit log says so) — and a node may renew only its own Lease.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningAgent, startAgent } from '../../../node-agent/agent.ts';
import { HeartbeatEndpoint } from '../../../node-agent/heartbeat-endpoint.ts';
import { KubeApiError, KubeClient } from '../../../node-agent/kube-client.ts';
import { type ClusterCredentials, loadKubeconfig } from '../../../node-agent/kubeconfig.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { startTestCluster, type TestCluster } from '../../support/cluster.ts';
import { waitFor } from '../../support/wait.ts';

describe('the node heartbeat endpoint of the local host', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let admin: KubeClient;
  let credentials: ClusterCredentials;
  let agent: RunningAgent | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), 'skiff-heartbeat-agent-'));
  const warnings: string[] = [];
  const log = {
    debug: () => {},
    info: () => {},
    warn: (message: string, fields?: Record<string, unknown>) => warnings.push(fields ? `${message} ${JSON.stringify(fields)}` : message),
    error: (message: string, fields?: Record<string, unknown>) => warnings.push(fields ? `${message} ${JSON.stringify(fields)}` : message),
    child() {
      return log;
    },
  };

  before(async () => {
    cluster = await startTestCluster({ nodes: 0 });
    credentials = loadKubeconfig(await cluster.local.joinNode('hb-1'));
    await cluster.local.joinNode('hb-2');
    admin = new KubeClient(loadKubeconfig(cluster.local.kubeconfigPath));
  });
  after(async () => {
    await agent?.stop();
    admin?.close();
    await cluster?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('takes the Lease renewals of an agent the host joined, each one seen by a Lease watch', async () => {
    assert.ok(credentials.heartbeat, 'the host names its heartbeat endpoint in the node kubeconfig');
    assert.equal(credentials.heartbeat.awsIam, undefined, 'locally the bearer token, not a signature');
    agent = await startAgent({ credentials, nodeName: 'hb-1', runtime: 'sim', stateDir, serviceProxy: false, leaseRenewSeconds: 2, log });
    const first = await admin.get(types.leases, 'kube-node-lease', 'hb-1');
    const seen: string[] = [];
    const abort = new AbortController();
    const watching = (async () => {
      for await (const event of admin.watch(
        types.leases,
        { namespace: 'kube-node-lease', resourceVersion: first.metadata.resourceVersion ?? '0' },
        abort.signal,
      )) {
        if (event.type === 'MODIFIED' && event.object.metadata.name === 'hb-1') seen.push((event.object.spec as { renewTime: string }).renewTime);
      }
    })().catch(() => undefined);
    const running = agent;
    await waitFor('three renewals taken by the endpoint, each on the Lease watch', () => (running.heartbeatStats()?.sent ?? 0) >= 3 && seen.length >= 3, {
      timeoutMs: 90_000,
    });
    abort.abort();
    await watching;
    assert.equal(new Set(seen).size, seen.length, 'every renewal has a renewTime of its own');
    // The API's audit log has the Lease's creation by the agent; a renewal through the API only
    // where the endpoint failed (none on a machine that answers within 2 s).
    const stats = running.heartbeatStats();
    assert.ok(stats);
    const audit = readFileSync(join(cluster.dataDir, 'audit.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"leases"') && line.includes('hb-1') && line.includes('"system:node:hb-1"'))
      .map((line) => (JSON.parse(line) as { verb: string }).verb);
    assert.ok(audit.includes('create'), `the Lease was created through the API: ${audit.join(',')}`);
    assert.ok(
      audit.filter((verb) => verb === 'update').length <= stats.failures,
      `renewals through the API (${audit.join(',')}) only after a failure: ${JSON.stringify(stats)} ${warnings.join('; ')}`,
    );
  });

  it("refuses another node's Lease, and a request without the node's token", async () => {
    const target = await admin.create(types.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'hb-2', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'hb-2', leaseDurationSeconds: 40 },
    } as KubeObject);
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/hb-2`;
    assert.ok(credentials.heartbeat);
    const asHb1 = new HeartbeatEndpoint({
      config: credentials.heartbeat,
      ...(credentials.caPem ? { caPem: credentials.caPem } : {}),
      token: async () => credentials.token,
    });
    await assert.rejects(asHb1.put(path, target), (error: unknown) => error instanceof KubeApiError && error.code === 403);
    const nobody = new HeartbeatEndpoint({
      config: credentials.heartbeat,
      ...(credentials.caPem ? { caPem: credentials.caPem } : {}),
      token: async () => undefined,
    });
    await assert.rejects(nobody.put(path, target), (error: unknown) => error instanceof KubeApiError && error.code === 401);
    asHb1.close();
    nobody.close();
    const after = await admin.get(types.leases, 'kube-node-lease', 'hb-2');
    assert.equal(after.metadata.resourceVersion, target.metadata.resourceVersion);
  });
});
