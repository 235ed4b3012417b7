import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressAt, cidrContains, ipv4ToNumber, numberToIpv4, offsetInRange, parseCidr, parseIpv4Cidr } from '../../../functions/core/ipv4-range.ts';

describe('ipv4ToNumber', () => {
  it('reads a dotted quad as an unsigned 32-bit number', () => {
    assert.equal(ipv4ToNumber('0.0.0.0'), 0);
    assert.equal(ipv4ToNumber('10.96.0.1'), 10 * 2 ** 24 + 96 * 2 ** 16 + 1);
    assert.equal(ipv4ToNumber('255.255.255.255'), 2 ** 32 - 1);
    assert.equal(numberToIpv4(ipv4ToNumber('127.64.3.2') ?? -1), '127.64.3.2');
  });

  // Go's net.ParseIP refuses octets with leading zeros since Go 1.17, and Kubernetes with it:
  // "010" could mean 8 (octal, as inet_aton reads it) or 10, so it is neither.
  for (const text of ['010.96.0.1', '10.096.0.1', '10.96.00.1', '127.64.3.02', '00.0.0.0']) {
    it(`refuses ${text}: an octet with a leading zero`, () => assert.equal(ipv4ToNumber(text), undefined));
  }

  for (const text of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d', '']) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(ipv4ToNumber(text), undefined));
  }
});

describe('the leading-zero rule holds for every parser of the module', () => {
  it('refuses a pod CIDR with a leading zero', () => {
    assert.equal(parseCidr('127.064.3.0/24'), undefined);
    assert.ok(parseCidr('127.64.3.0/24'));
  });

  it('refuses a service CIDR with a leading zero', () => {
    assert.throws(() => parseIpv4Cidr('10.096.0.0/12'), /invalid service CIDR/);
    assert.equal(parseIpv4Cidr('10.96.0.0/12').base, ipv4ToNumber('10.96.0.0'));
  });

  it('finds no address with a leading zero inside a range', () => {
    const range = parseIpv4Cidr('10.96.0.0/12');
    assert.equal(offsetInRange(range, '10.96.0.010'), undefined);
    assert.equal(offsetInRange(range, '10.96.0.10'), 10);
    const cidr = parseCidr('127.64.3.0/24');
    assert.ok(cidr);
    assert.equal(cidrContains(cidr, '127.64.3.07'), false);
    assert.equal(cidrContains(cidr, '127.64.3.7'), true);
  });
});

describe('parseIpv4Cidr and parseCidr', () => {
  it('masks host bits of a service range but refuses them in a pod CIDR', () => {
    assert.equal(addressAt(parseIpv4Cidr('10.96.0.5/24'), 0), '10.96.0.0');
    assert.equal(parseCidr('10.96.0.5/24'), undefined);
  });
});
