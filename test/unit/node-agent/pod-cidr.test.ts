import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, formatCidr, parseCidr } from '../../../functions/core/ipv4-range.ts';
import { allocatePodIp, defaultPodCidr, podCidrForNodeIndex } from '../../../node-agent/pod-cidr.ts';

describe('defaultPodCidr', () => {
  it('gives the same /24 for the same node name every time', () => {
    assert.equal(defaultPodCidr('skiff-node-1'), defaultPodCidr('skiff-node-1'));
  });

  it('gives different nodes of one machine different subnets', () => {
    const names = Array.from({ length: 8 }, (_, i) => `skiff-node-${i + 1}`);
    assert.equal(new Set(names.map(defaultPodCidr)).size, names.length);
  });

  it('stays inside 127.64.0.0/10, clear of the node addresses in 127.0.0.0/16', () => {
    const range = parseCidr('127.64.0.0/10');
    assert.ok(range);
    for (const name of ['a', 'node-1', 'worker-42', 'x'.repeat(60)]) {
      const cidr = parseCidr(defaultPodCidr(name));
      assert.ok(cidr, name);
      assert.equal(cidr.prefixLength, 24);
      assert.ok(cidrContains(range, formatCidr(cidr).split('/')[0] ?? ''), name);
    }
  });
});

describe('parseCidr', () => {
  const invalid = ['127.64.1.0', '127.64.1.5/24', '300.1.1.0/24', '127.64.1.0/33', 'abc/24', '127.64.1.0/x'];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseCidr(text), undefined));
  }
  it('round-trips a valid CIDR', () => {
    const cidr = parseCidr('127.64.3.0/24');
    assert.ok(cidr);
    assert.equal(formatCidr(cidr), '127.64.3.0/24');
  });
});

describe('allocatePodIp', () => {
  const cidr = parseCidr('127.64.3.0/24');
  assert.ok(cidr);

  it('starts at .2, keeping the network address and .1 free', () => {
    assert.equal(allocatePodIp(cidr, new Set()), '127.64.3.2');
  });

  it('takes the lowest address not in use', () => {
    assert.equal(allocatePodIp(cidr, new Set(['127.64.3.2', '127.64.3.4'])), '127.64.3.3');
  });

  it('returns undefined when the subnet is full, never the broadcast address', () => {
    const small = parseCidr('127.64.3.0/30');
    assert.ok(small);
    assert.equal(allocatePodIp(small, new Set(['127.64.3.2'])), undefined);
  });
});

describe('podCidrForNodeIndex', () => {
  it('gives node N of a cluster its N-th /24 of one /16 inside 127.64.0.0/10', () => {
    const one = podCidrForNodeIndex(1, '/data/a');
    const two = podCidrForNodeIndex(2, '/data/a');
    assert.match(one, /^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.1\.0\/24$/);
    assert.equal(two, one.replace('.1.0/24', '.2.0/24'));
  });

  it('puts clusters with different data dirs on different /16s (for these two)', () => {
    assert.notEqual(podCidrForNodeIndex(1, '/tmp/skiff-e2e-a'), podCidrForNodeIndex(1, '/tmp/skiff-e2e-b'));
  });
});
