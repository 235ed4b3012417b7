import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNewer, WatchChannel } from '../../../node-agent/watch-channel.ts';
import { types } from '../../../schemas/registry.ts';

describe('the agent’s watch channel', () => {
  it('orders resourceVersions of one type as numbers, not as text', () => {
    assert.equal(isNewer('10', '9'), true);
    assert.equal(isNewer('9', '10'), false);
    assert.equal(isNewer('10', '10'), false);
    assert.equal(isNewer('123456789012345678901', '123456789012345678900'), true);
    assert.equal(isNewer('5', undefined), true, 'anything is newer than nothing');
    assert.equal(isNewer(undefined, '5'), false);
    assert.equal(isNewer('opaque-b', 'opaque-a'), true, 'versions it cannot order count as new when they differ');
    assert.equal(isNewer('opaque-a', 'opaque-a'), false);
  });

  it('serves the types agents watch and leaves the others to REST watches', () => {
    for (const type of [types.pods, types.services, types.endpoints, types.endpointslices]) assert.equal(WatchChannel.serves(type), true, type.plural);
    for (const type of [types.configmaps, types.nodes, types.leases, types.deployments]) assert.equal(WatchChannel.serves(type), false, type.plural);
  });
});
