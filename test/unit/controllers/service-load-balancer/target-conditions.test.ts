import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planTargetConditions } from '../../../../functions/controllers/service-load-balancer/target-conditions.ts';
import type { BackendPod } from '../../../../functions/domain/services/load-balancer-backends.ts';
import type { TargetState } from '../../../../functions/domain/services/load-balancers.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const type = 'target-health.skiff.io/web';

function backend(name: string, state: BackendPod['state'], extra: { gated?: boolean; reason?: string; status?: string } = {}): BackendPod {
  return {
    namespace: 'shop',
    name,
    uid: `uid-${name}`,
    ip: '10.0.0.1',
    state,
    creationTimestamp: '',
    ports: new Map([['', 8080]]),
    probes: new Map(),
    readinessGates: extra.gated ? [type] : [],
    targetHealth: extra.reason ? [{ type, status: extra.status ?? (extra.reason === 'Healthy' ? 'True' : 'False'), reason: extra.reason }] : [],
  };
}

function plan(backends: BackendPod[], targets: Record<string, TargetState>, others: KubeObject[] = []) {
  return planTargetConditions(type, backends, new Map(Object.entries(targets).map(([name, state]) => [`uid-${name}`, state])), others, 'lb web').map((w) => [
    w.name,
    w.condition.status,
    w.condition.reason,
  ]);
}

describe('planTargetConditions', () => {
  it('marks targets as the provider reports them', () => {
    assert.deepEqual(
      plan([backend('a', 'serving'), backend('b', 'serving', { gated: true }), backend('c', 'terminating', { reason: 'Healthy' })], {
        a: 'healthy',
        b: 'registering',
        c: 'draining',
      }),
      [
        ['a', 'True', 'Healthy'],
        ['b', 'False', 'Registering'],
        ['c', 'False', 'Draining'],
      ],
    );
  });

  it('releases a terminating pod the provider no longer has, and writes nothing that is already so', () => {
    assert.deepEqual(plan([backend('c', 'terminating', { reason: 'Draining' }), backend('d', 'serving', { reason: 'Healthy' })], { d: 'healthy' }), [
      ['c', 'False', 'Deregistered'],
    ]);
  });

  it('opens the gate of a serving pod the provider cannot route to, and leaves ungated strangers alone', () => {
    assert.deepEqual(plan([backend('e', 'serving', { gated: true }), backend('f', 'serving'), backend('g', 'notReady', { gated: true })], {}), [
      ['e', 'True', 'NotTargeted'],
    ]);
  });

  it('releases pods outside the Service that still carry a routed condition', () => {
    const left: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'left', namespace: 'shop', uid: 'uid-left' },
      status: { conditions: [{ type, status: 'True', reason: 'Healthy' }] },
    };
    const released: KubeObject = {
      ...left,
      metadata: { ...left.metadata, name: 'released', uid: 'uid-released' },
      status: { conditions: [{ type, status: 'True', reason: 'NotTargeted' }] },
    };
    assert.deepEqual(plan([], {}, [left, released]), [['left', 'True', 'NotTargeted']]);
  });
});
