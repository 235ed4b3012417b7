import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackAddress } from '../../../functions/local/listening-sockets.ts';

describe('isLoopbackAddress', () => {
  for (const address of ['127.0.0.1', '127.64.3.9', '::1', '::ffff:127.0.0.1']) {
    it(`counts ${address} as loopback`, () => assert.equal(isLoopbackAddress(address), true));
  }
  for (const address of ['0.0.0.0', '::', '192.0.2.2', '::ffff:10.0.0.1', 'fe80::1', '128.0.0.1']) {
    it(`does not count ${address} as loopback`, () => assert.equal(isLoopbackAddress(address), false));
  }
});
