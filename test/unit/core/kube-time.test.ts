import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeMicroTime, kubeTime } from '../../../functions/core/kube-time.ts';

describe('Kubernetes timestamps', () => {
  const instant = new Date('2026-03-04T05:06:07.891Z');

  it('writes Time to the whole second, truncating rather than rounding', () => {
    assert.equal(kubeTime(instant), '2026-03-04T05:06:07Z');
    assert.equal(kubeTime(instant.getTime()), '2026-03-04T05:06:07Z');
  });

  it('writes MicroTime with six fractional digits', () => {
    assert.equal(kubeMicroTime(instant), '2026-03-04T05:06:07.891000Z');
    assert.equal(kubeMicroTime(Date.parse('2026-03-04T05:06:07Z')), '2026-03-04T05:06:07.000000Z');
  });

  it('reads back as the same instant (Time to the second)', () => {
    assert.equal(Date.parse(kubeMicroTime(instant)), instant.getTime());
    assert.equal(Date.parse(kubeTime(instant)), Math.floor(instant.getTime() / 1000) * 1000);
  });

  it('refuses an invalid date instead of writing a wrong one', () => {
    assert.throws(() => kubeTime(Number.NaN), RangeError);
  });
});
