import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listeningAddresses, PodAddressBook } from '../../../node-agent/pod-addresses.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'skiff-addresses-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

describe('PodAddressBook', () => {
  it('gives a pod the same address again, also after an agent restart, and reuses released ones', () => {
    const book = new PodAddressBook('127.64.210.0/24', stateDir);
    assert.equal(book.allocate('a'), '127.64.210.2');
    assert.equal(book.allocate('b'), '127.64.210.3');
    assert.equal(book.allocate('a'), '127.64.210.2');
    const restarted = new PodAddressBook('127.64.210.0/24', stateDir);
    assert.equal(restarted.allocate('b'), '127.64.210.3');
    restarted.release('a');
    assert.equal(restarted.allocate('c'), '127.64.210.2');
  });

  it('skips an address something on the machine already listens on', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.64.211.2', resolve));
    try {
      assert.ok(listeningAddresses().has('127.64.211.2'));
      const book = new PodAddressBook('127.64.211.0/24', join(stateDir, 'other'));
      assert.equal(book.allocate('x'), '127.64.211.3');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects a malformed pod CIDR', () => {
    assert.throws(() => new PodAddressBook('127.64.210.0', undefined), /invalid pod CIDR/);
  });
});
