import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { podsPerInstance, supportsTrunking } from '../../../../node-agent/ec2/ecs-capacity.ts';

describe('podsPerInstance', () => {
  it('counts network interfaces less the primary one without trunking', () => {
    assert.equal(podsPerInstance('c6g.large', false), 2);
    assert.equal(podsPerInstance('m7g.4xlarge', false), 7);
    assert.equal(podsPerInstance('t4g.medium', false), 2);
  });

  it('takes the trunked task limit where ECS trunks the type', () => {
    assert.equal(podsPerInstance('c6g.large', true), 10);
    assert.equal(podsPerInstance('r7g.xlarge', true), 20);
    assert.equal(supportsTrunking('c6g.large'), true);
  });

  it('does not trunk burstable types, and knows nothing of other families', () => {
    assert.equal(podsPerInstance('t4g.medium', true), 2);
    assert.equal(supportsTrunking('t4g.medium'), false);
    assert.equal(podsPerInstance('x2gd.large', true), undefined);
    assert.equal(podsPerInstance('c6g.huge', false), undefined);
  });
});
