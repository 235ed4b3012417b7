import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError } from '../../../../functions/core/errors.ts';
import { bindPod } from '../../../../functions/domain/pods/pod-binding.ts';
import { podDeleteOptions } from '../../../../functions/domain/pods/pod-deletion.ts';
import { now, pod } from '../../fixtures.ts';

describe('bindPod', () => {
  it('sets nodeName and PodScheduled=True without touching the original', () => {
    const original = pod('a');
    const bound = bindPod(original, 'n1', now);
    assert.equal((bound.spec as { nodeName: string }).nodeName, 'n1');
    const conditions = (bound.status as { conditions: { type: string; status: string }[] }).conditions;
    assert.equal(conditions.find((c) => c.type === 'PodScheduled')?.status, 'True');
    assert.equal((original.spec as { nodeName?: string }).nodeName, undefined);
  });

  it('refuses to bind a pod twice', () => {
    assert.throws(
      () => bindPod(pod('a', { node: 'n1' }), 'n2', now),
      (error) => error instanceof ConflictError && /already assigned to node "n1"/.test(error.message),
    );
  });
});

describe('podDeleteOptions', () => {
  const cases = [
    { name: 'removes an unbound pod at once', pod: pod('a'), grace: 0 },
    { name: 'gives a bound pod the default 30 seconds', pod: pod('a', { node: 'n1' }), grace: 30 },
    {
      name: 'gives a bound pod its own terminationGracePeriodSeconds',
      pod: { ...pod('a', { node: 'n1' }), spec: { nodeName: 'n1', terminationGracePeriodSeconds: 5, containers: [] } },
      grace: 5,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const options = podDeleteOptions(c.pod);
      assert.equal(options.gracePeriodSeconds, c.grace);
      assert.deepEqual(options.preconditions, { uid: 'uid-a' });
    });
  }

  const asked = [
    { name: 'gives a bound pod the grace period the client asked for', pod: pod('a', { node: 'n1' }), asked: 7, grace: 7 },
    { name: 'removes an unbound pod at once even when the client asked for a grace period', pod: pod('a'), asked: 30, grace: 0 },
    {
      name: 'removes a Succeeded pod at once even on a node',
      pod: { ...pod('a', { node: 'n1' }), status: { phase: 'Succeeded' } },
      asked: 30,
      grace: 0,
    },
    { name: 'removes a Failed pod at once even on a node', pod: { ...pod('a', { node: 'n1' }), status: { phase: 'Failed' } }, asked: undefined, grace: 0 },
  ];
  for (const c of asked) {
    it(c.name, () => {
      assert.equal(podDeleteOptions(c.pod, c.asked).gracePeriodSeconds, c.grace);
    });
  }
});
