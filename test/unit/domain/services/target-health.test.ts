import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ingressTargetHealthType,
  routedBy,
  serviceTargetHealthType,
  targetHealthCondition,
  terminationHoldUntilMs,
} from '../../../../functions/domain/services/target-health.ts';
import { isQualifiedName } from '../../../../schemas/name-rules.ts';

describe('target-health condition types', () => {
  it('names a Service load balancer by the Service and a class by ingress.<class>', () => {
    assert.equal(serviceTargetHealthType('web'), 'target-health.skiff.io/web');
    assert.equal(ingressTargetHealthType('skiff'), 'target-health.skiff.io/ingress.skiff');
  });

  it('keeps every type a valid qualified name, cutting and hashing a long class name', () => {
    const long = `${'a'.repeat(60)}.example.com`;
    const other = `${'a'.repeat(60)}.example.org`;
    for (const type of [serviceTargetHealthType('x'.repeat(63)), ingressTargetHealthType(long), ingressTargetHealthType('c')]) {
      assert.deepEqual(isQualifiedName(type), [], type);
    }
    assert.notEqual(ingressTargetHealthType(long), ingressTargetHealthType(other));
  });

  it('is True for Healthy and NotTargeted only', () => {
    const statuses = (['Registering', 'Healthy', 'Unhealthy', 'Draining', 'Deregistered', 'NotTargeted'] as const).map(
      (reason) => targetHealthCondition('t', reason, '').status,
    );
    assert.deepEqual(statuses, ['False', 'True', 'False', 'False', 'False', 'True']);
  });
});

describe('terminationHoldUntilMs', () => {
  const deadline = '2026-01-01T12:00:30Z';
  const now = Date.parse('2026-01-01T12:00:00Z');
  const condition = (reason: string, type = 'target-health.skiff.io/web') => ({ type, status: reason === 'Healthy' ? 'True' : 'False', reason });
  const table: [string, Parameters<typeof terminationHoldUntilMs>[0], number, number | undefined][] = [
    ['a pod not being deleted', { conditions: [condition('Healthy')] }, now, undefined],
    ['a healthy target', { deletionTimestamp: deadline, conditions: [condition('Healthy')] }, now, Date.parse(deadline)],
    ['a draining target', { deletionTimestamp: deadline, conditions: [condition('Draining')] }, now, Date.parse(deadline)],
    ['a registering target', { deletionTimestamp: deadline, conditions: [condition('Registering')] }, now, Date.parse(deadline)],
    ['a deregistered target', { deletionTimestamp: deadline, conditions: [condition('Deregistered')] }, now, undefined],
    ['a pod no load balancer routes to', { deletionTimestamp: deadline, conditions: [condition('NotTargeted')] }, now, undefined],
    ['a pod with no target-health condition', { deletionTimestamp: deadline, conditions: [{ type: 'Ready', status: 'True' }] }, now, undefined],
    [
      'one of two load balancers still draining',
      { deletionTimestamp: deadline, conditions: [condition('Deregistered'), condition('Draining', 'target-health.skiff.io/ingress.skiff')] },
      now,
      Date.parse(deadline),
    ],
    ['a target whose grace period is over', { deletionTimestamp: deadline, conditions: [condition('Healthy')] }, Date.parse(deadline), undefined],
    ['a condition of another prefix', { deletionTimestamp: deadline, conditions: [condition('Healthy', 'target-health.elbv2.k8s.aws/tgb')] }, now, undefined],
  ];
  for (const [what, pod, at, expected] of table) {
    it(`holds ${expected === undefined ? 'nothing' : 'until the deletion timestamp'} for ${what}`, () =>
      assert.equal(terminationHoldUntilMs(pod, at), expected));
  }

  it('lists the load balancers still routing', () => {
    assert.deepEqual(routedBy([condition('Draining'), condition('Deregistered', 'target-health.skiff.io/other')]), ['target-health.skiff.io/web']);
  });
});
