/**
 * Loopback addresses for tests that bind servers: each call picks a random /24 in 127.0.0.0/8,
 * so test runs on one machine (other suites, other checkouts) do not meet on a fixed address.
 */
import { randomInt } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';

/** `127.a.b.0/24` with a and b random, away from 127.0.x (the host's own) and 127.64–127.127 (node pod CIDRs). */
export function randomLoopbackSubnet(): { readonly cidr: string; address(host: number): string } {
  const a = randomInt(128, 255);
  const b = randomInt(1, 255);
  return { cidr: `127.${a}.${b}.0/24`, address: (host) => `127.${a}.${b}.${host}` };
}

/** A TCP port free on `ip` right now (the OS picks it). */
export async function freePort(ip = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, ip, () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
