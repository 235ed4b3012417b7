import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { KubeClient } from '../../../node-agent/kube-client.ts';
import { type ServiceProxySource, startServiceProxy } from '../../../node-agent/proxy/service-proxy.ts';
import { types } from '../../../schemas/registry.ts';
import { randomLoopbackSubnet } from '../../support/loopback.ts';
import { waitFor } from '../../support/wait.ts';
import { type Backend, endpointsOf, freePort, get, nodePortService, scriptedSource, startBackend } from './proxy-support.ts';

// The agent's client must fit the proxy's port as it is.
const _clientFits: (client: KubeClient) => ServiceProxySource = (client) => client;

describe('NodePort proxy', () => {
  // Backends and the node's second address on a random loopback /24, not fixed 127.0.0.x ones another run could hold.
  const subnet = randomLoopbackSubnet();
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('forwards real TCP traffic round-robin to the ready endpoints and follows changes', async () => {
    const port = await freePort(subnet.address(2));
    const a: Backend = await startBackend(subnet.address(2), 'pod-a', port);
    const b: Backend = await startBackend(subnet.address(3), 'pod-b', port);
    cleanups.push(a.close, b.close);
    const nodePort = await freePort();
    const source = scriptedSource();
    source.put(types.services, nodePortService('web', nodePort));
    source.put(types.endpoints, endpointsOf('web', [a, b]));
    const proxy = startServiceProxy({ client: source, bindAddresses: ['127.0.0.1', subnet.address(4)] });
    cleanups.push(proxy.stop);
    await waitFor('both NodePort listeners', () => proxy.listening().length === 2, { timeoutMs: 5000 });

    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await get('127.0.0.1', nodePort));
    assert.deepEqual([...answers].sort(), ['pod-a', 'pod-a', 'pod-b', 'pod-b']);
    assert.notEqual(answers[0], answers[1], 'round-robin alternates');
    assert.match(await get(subnet.address(4), nodePort), /^pod-[ab]$/, 'served on the node address too');

    source.put(types.endpoints, endpointsOf('web', [b]));
    for (let i = 0; i < 3; i++) assert.equal(await get('127.0.0.1', nodePort), 'pod-b');

    source.put(types.endpoints, endpointsOf('web', []));
    assert.match(await get('127.0.0.1', nodePort), /^E(CONNRESET|CONNREFUSED)$/, 'no ready endpoint: refused');

    source.remove(types.services, nodePortService('web', nodePort));
    await waitFor('listener closed', async () => (await get('127.0.0.1', nodePort)) === 'ECONNREFUSED', { timeoutMs: 5000 });
  });

  it('skips a backend that refuses and uses the next one', async () => {
    const live = await startBackend(subnet.address(5), 'live');
    cleanups.push(live.close);
    const deadPort = await freePort(subnet.address(6));
    const nodePort = await freePort();
    const source = scriptedSource();
    source.put(types.services, nodePortService('flaky', nodePort));
    source.put(types.endpoints, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'flaky', namespace: 'default' },
      subsets: [
        { addresses: [{ ip: subnet.address(6) }], ports: [{ port: deadPort, protocol: 'TCP' }] },
        { addresses: [{ ip: subnet.address(5) }], ports: [{ port: live.port, protocol: 'TCP' }] },
      ],
    });
    const proxy = startServiceProxy({ client: source, bindAddresses: ['127.0.0.1'] });
    cleanups.push(proxy.stop);
    await waitFor('listener', () => proxy.listening().length === 1, { timeoutMs: 5000 });
    for (let i = 0; i < 3; i++) assert.equal(await get('127.0.0.1', nodePort), 'live');
  });

  it('lets a second agent take over 127.0.0.1:<nodePort> when the first stops', async () => {
    const backend = await startBackend(subnet.address(7), 'pod');
    cleanups.push(backend.close);
    const nodePort = await freePort();
    const source = scriptedSource();
    source.put(types.services, nodePortService('shared', nodePort));
    source.put(types.endpoints, endpointsOf('shared', [backend]));
    const first = startServiceProxy({ client: source, bindAddresses: ['127.0.0.1'], retryBindMs: 100 });
    await waitFor('first agent bound', () => first.listening().length === 1, { timeoutMs: 5000 });
    const second = startServiceProxy({ client: source, bindAddresses: ['127.0.0.1'], retryBindMs: 100 });
    cleanups.push(second.stop);
    assert.equal(await get('127.0.0.1', nodePort), 'pod');
    assert.deepEqual(second.listening(), []);
    await first.stop();
    await waitFor('second agent took over', () => second.listening().length === 1, { timeoutMs: 5000 });
    assert.equal(await get('127.0.0.1', nodePort), 'pod');
  });
});
