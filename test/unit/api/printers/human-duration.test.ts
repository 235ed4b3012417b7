import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ageSince, humanDuration } from '../../../../functions/api/printers/human-duration.ts';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe('humanDuration', () => {
  const cases: Array<[number, string]> = [
    [-5 * s, '<invalid>'],
    [-1 * s, '0s'],
    [0, '0s'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [5 * m + 12 * s, '5m12s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 25 * m, '3h25m'],
    [8 * h + 10 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [2 * d + 3 * h, '2d3h'],
    [8 * d + 5 * h, '8d'],
    [400 * d, '400d'],
    [2 * 365 * d, '2y'],
    [3 * 365 * d + 12 * d, '3y12d'],
    [9 * 365 * d + 40 * d, '9y'],
  ];
  for (const [milliseconds, expected] of cases) {
    it(`prints ${milliseconds} ms as ${expected}`, () => {
      assert.equal(humanDuration(milliseconds), expected);
    });
  }
});

describe('ageSince', () => {
  const now = new Date('2026-01-10T12:00:00Z');

  it('measures from an RFC 3339 timestamp', () => {
    assert.equal(ageSince('2026-01-10T11:54:48Z', now), '5m12s');
  });

  it('prints <unknown> for an absent or unreadable timestamp', () => {
    assert.equal(ageSince(undefined, now), '<unknown>');
    assert.equal(ageSince('yesterday-ish', now), '<unknown>');
  });
});
