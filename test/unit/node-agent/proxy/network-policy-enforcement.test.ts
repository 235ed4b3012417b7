/**
 * The enforcement loop over a stand-in `nft` (a script that keeps what it is given) and a client
 * that hands over lists and events: the table is written once complete lists are in, rewritten
 * only when it changes, and a new pod is admitted only once the table holds its address.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startNetworkPolicyEnforcement } from '../../../../node-agent/proxy/network-policy-enforcement.ts';
import type { ServiceProxySource } from '../../../../node-agent/proxy/service-proxy.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import type { ResourceType } from '../../../../schemas/registry.ts';
import { waitFor } from '../../../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'skiff-netpol-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in nft: each `nft -f -` appends the script it was given and a separator. */
function fakeNft(name: string): { path: string; scripts: () => string[] } {
  const out = join(dir, `${name}.out`);
  const path = join(dir, `${name}.sh`);
  writeFileSync(out, '');
  writeFileSync(path, `#!/bin/sh\ncat >> "${out}"\necho '%%' >> "${out}"\n`);
  chmodSync(path, 0o755);
  return {
    path,
    scripts: () =>
      readFileSync(out, 'utf8')
        .split('%%\n')
        .filter((script) => script.length > 0),
  };
}

type Handlers = Parameters<ServiceProxySource['listAndWatch']>[2];

function fakeClient(): { client: ServiceProxySource; handlers: Map<string, Handlers> } {
  const handlers = new Map<string, Handlers>();
  return {
    handlers,
    client: {
      listAndWatch(type: ResourceType, _options, given, signal) {
        handlers.set(type.plural, given as Handlers);
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    },
  };
}

const pod = (name: string, labels: Record<string, string>, ip?: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', labels },
    spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'busybox' }] },
    status: { phase: ip ? 'Running' : 'Pending', ...(ip ? { podIP: ip } : {}) },
  }) as KubeObject;
const denyAll = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'deny', namespace: 'shop' },
  spec: { podSelector: {} },
} as KubeObject;

describe('NetworkPolicy enforcement', () => {
  it('writes the table once every list is in, and again only when it changes', async () => {
    const nft = fakeNft('lists');
    const { client, handlers } = fakeClient();
    const enforcement = startNetworkPolicyEnforcement({ client, nft: nft.path, table: 'skiffpol_n1', nodeName: 'n1', admitTimeoutMs: 10_000 });
    try {
      await waitFor('the three watches', () => handlers.size === 3 || undefined);
      handlers.get('pods')?.onList([pod('web', { app: 'web' }, '10.200.1.2')]);
      handlers.get('namespaces')?.onList([]);
      assert.equal(enforcement.applied(), 0);
      handlers.get('networkpolicies')?.onList([denyAll]);
      await enforcement.ready;
      assert.match(nft.scripts()[0] ?? '', /ip daddr vmap \{ 10\.200\.1\.2 : jump ingress-0 \}/);
      // A status change that moves no address, label or port writes nothing.
      handlers.get('pods')?.onEvent({
        type: 'MODIFIED',
        object: { ...pod('web', { app: 'web' }, '10.200.1.2'), metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' }, resourceVersion: '9' } },
      });
      handlers.get('pods')?.onEvent({ type: 'ADDED', object: pod('db', { app: 'db' }, '10.200.1.3') });
      await waitFor('the table with the new pod', () => enforcement.applied() === 2 || undefined);
      assert.match(nft.scripts()[1] ?? '', /10\.200\.1\.3 : jump ingress-/);
      assert.equal(nft.scripts().length, 2);
    } finally {
      await enforcement.stop();
    }
  });

  it('admits a new pod once the table holds the address its status does not say yet', async () => {
    const nft = fakeNft('admit');
    const { client, handlers } = fakeClient();
    const enforcement = startNetworkPolicyEnforcement({ client, nft: nft.path, table: 'skiffpol_n1', nodeName: 'n1', admitTimeoutMs: 10_000 });
    try {
      await waitFor('the three watches', () => handlers.size === 3 || undefined);
      handlers.get('pods')?.onList([pod('starter', { app: 'starter' })]);
      handlers.get('namespaces')?.onList([]);
      handlers.get('networkpolicies')?.onList([denyAll]);
      await enforcement.ready;
      assert.doesNotMatch(nft.scripts().join(''), /10\.200\.1\.7/);
      const started = Date.now();
      await enforcement.admit({ namespace: 'shop', name: 'starter', ip: '10.200.1.7' });
      assert.ok(Date.now() - started < 5000, 'admitted by the table, not by the time-out');
      assert.match(nft.scripts().at(-1) ?? '', /ip daddr vmap \{ 10\.200\.1\.7 : jump ingress-0 \}/);
    } finally {
      await enforcement.stop();
    }
  });

  it('admits a pod it has not seen after the time-out, so a lagging watch never holds a pod back for good', async () => {
    const nft = fakeNft('late');
    const { client, handlers } = fakeClient();
    const enforcement = startNetworkPolicyEnforcement({ client, nft: nft.path, table: 'skiffpol_n1', nodeName: 'n1', admitTimeoutMs: 200 });
    try {
      await waitFor('the three watches', () => handlers.size === 3 || undefined);
      await enforcement.admit({ namespace: 'shop', name: 'unseen', ip: '10.200.1.9' });
      assert.equal(enforcement.applied(), 0);
    } finally {
      await enforcement.stop();
    }
  });
});
