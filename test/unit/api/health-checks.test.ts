import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerHealth, type HealthCheck } from '../../../functions/api/health-checks.ts';
import { isApiError } from '../../../functions/core/errors.ts';

const healthy: HealthCheck = { name: 'dynamodb', check: async () => {} };
const failing: HealthCheck = {
  name: 'dynamodb',
  check: async () => {
    throw new Error('DynamoDB Local killed by SIGKILL');
  },
};
const hung: HealthCheck = { name: 'dynamodb', check: () => new Promise(() => {}) };
const query = (text = '') => new URLSearchParams(text);

describe('answerHealth', () => {
  it('answers ok when every check passes', async () => {
    const answer = await answerHealth('readyz', [healthy], query());
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'ok');
  });

  it('answers 500 naming the failed check, without its reason, as kube-apiserver does', async () => {
    const answer = await answerHealth('readyz', [failing], query());
    assert.equal(answer.status, 500);
    assert.equal(answer.body, '[+]ping ok\n[-]dynamodb failed: reason withheld\nreadyz check failed\n');
  });

  it('counts a check that does not answer in time as failed', async () => {
    const answer = await answerHealth('readyz', [hung], query(), undefined, 50);
    assert.equal(answer.status, 500);
  });

  it('lists the checks on ?verbose, leaves out excluded ones, and runs one by name', async () => {
    assert.equal((await answerHealth('readyz', [healthy], query('verbose'))).body, '[+]ping ok\n[+]dynamodb ok\nreadyz check passed\n');
    assert.equal((await answerHealth('readyz', [failing], query('exclude=dynamodb'))).status, 200);
    assert.equal((await answerHealth('readyz', [failing], query(), 'dynamodb')).status, 500);
    assert.equal((await answerHealth('readyz', [failing], query(), 'ping')).status, 200);
    await assert.rejects(answerHealth('readyz', [healthy], query(), 'nope'), (error: unknown) => isApiError(error, 404));
  });
});
