import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendPod } from '../../../functions/domain/services/load-balancer-backends.ts';
import { updateTargets } from '../../../functions/local/load-balancer.ts';
import type { Backend } from '../../../functions/net/tcp-listeners.ts';

function pod(name: string, ip: string, state: BackendPod['state']): BackendPod {
  return {
    namespace: 'shop',
    name,
    uid: name,
    ip,
    state,
    creationTimestamp: '',
    ports: new Map([['', 8080]]),
    probes: new Map(),
    readinessGates: [],
    targetHealth: [],
  };
}

describe('the local load balancer target bookkeeping', () => {
  it('serves the serving pods, drains a leaving one while connections to it are open, then forgets it', () => {
    const balancer = { registered: new Map<string, Backend[]>(), draining: new Map<string, Backend[]>() };
    let open = 0;
    const openConnections = (backend: Backend) => (backend.ip === '10.0.0.1' ? open : 0);

    const first = updateTargets(balancer, [pod('a', '10.0.0.1', 'serving'), pod('b', '10.0.0.2', 'notReady')], openConnections);
    assert.deepEqual([...first.targets], [['a', 'healthy']]);
    assert.deepEqual(first.servingByPort.get(''), [{ ip: '10.0.0.1', port: 8080 }]);

    open = 2;
    const leaving = updateTargets(balancer, [pod('a', '10.0.0.1', 'terminating'), pod('b', '10.0.0.2', 'serving')], openConnections);
    assert.deepEqual([...leaving.targets].sort(), [
      ['a', 'draining'],
      ['b', 'healthy'],
    ]);
    assert.deepEqual(leaving.servingByPort.get(''), [{ ip: '10.0.0.2', port: 8080 }], 'no new connection goes to the leaving pod');

    open = 0;
    const drained = updateTargets(balancer, [pod('a', '10.0.0.1', 'terminating'), pod('b', '10.0.0.2', 'serving')], openConnections);
    assert.deepEqual([...drained.targets], [['b', 'healthy']]);
  });
});
