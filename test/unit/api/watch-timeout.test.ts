import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_REQUEST_TIMEOUT_SECONDS, watchTimeoutSeconds } from '../../../functions/api/resource-verbs.ts';
import { isApiError } from '../../../functions/core/errors.ts';

const query = (text: string) => new URLSearchParams(text);

describe('watchTimeoutSeconds', () => {
  it('keeps a timeout the client asks for', () => {
    assert.equal(watchTimeoutSeconds(query('timeoutSeconds=300')), 300);
  });

  it('clamps a huge timeout to twice the minimum request timeout', () => {
    assert.equal(watchTimeoutSeconds(query('timeoutSeconds=99999999')), 2 * MIN_REQUEST_TIMEOUT_SECONDS);
  });

  it('picks between one and two minimum request timeouts when the client names none (or 0)', () => {
    assert.equal(
      watchTimeoutSeconds(query(''), () => 0),
      MIN_REQUEST_TIMEOUT_SECONDS,
    );
    assert.equal(
      watchTimeoutSeconds(query('timeoutSeconds=0'), () => 0.5),
      1.5 * MIN_REQUEST_TIMEOUT_SECONDS,
    );
    assert.ok(watchTimeoutSeconds(query(''), () => 0.999999) < 2 * MIN_REQUEST_TIMEOUT_SECONDS);
  });

  for (const value of ['-1', 'soon', '1e9', '3.5']) {
    it(`answers timeoutSeconds=${value} with 400`, () => {
      assert.throws(
        () => watchTimeoutSeconds(query(`timeoutSeconds=${value}`)),
        (error: unknown) => isApiError(error, 400),
      );
    });
  }
});
