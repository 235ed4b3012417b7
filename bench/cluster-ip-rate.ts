/**
 * ClusterIP connection rate, kernel DNAT against a userspace proxy (docs/adr/137), as root:
 *
 *   npx tsx bench/cluster-ip-rate.ts [--seconds 3] [--clients 8]
 *
 * A backend listens in a network namespace of its own behind a bridge (a pod, as the process
 * runtime makes one); the same short connections (connect, read a 2-byte answer, close) are
 * made for a few seconds through a ClusterIP rewritten by an nftables DNAT rule in `output`, and
 * through the NodePort proxy's listener set (`functions/net/tcp-listeners.ts`) on 127.0.0.1.
 * Prints connections per second of each. Everything it makes has a pid-derived name and is
 * removed at the end; it listens on loopback and the namespace only.
 */
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { createListenerSet, listenerKey } from '../functions/net/tcp-listeners.ts';
import { applyNftScript, clusterIpRuleset } from '../node-agent/index.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, clients: { type: 'string', default: '8' } } });
const seconds = Number(values.seconds);
const clients = Number(values.clients);
if ((process.getuid?.() ?? -1) !== 0) {
  console.log('cluster-ip-rate: needs root (network namespaces and nftables); skipped');
  process.exit(0);
}
const tag = (process.pid % 100_000).toString(16);
const bridge = `skbrate${tag}`;
const netns = `skiff-rate-${tag}`;
const veth = `skvrate${tag}`;
const table = `skiff_rate_${tag}`;
const clusterIP = '10.111.254.254';
const octet = 200 + (process.pid % 50);
const gateway = `10.254.${octet}.1`;
const backendIp = `10.254.${octet}.2`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

function cleanUp(): void {
  for (const args of [
    ['netns', 'del', netns],
    ['link', 'del', bridge],
  ]) {
    try {
      ip(...args);
    } catch {
      // Not there.
    }
  }
  try {
    execFileSync('nft', ['delete', 'table', 'ip', table], { stdio: 'pipe' });
  } catch {
    // Not there.
  }
}

/** Sequential short connections from `clients` loops for the duration: connections per second. */
async function rate(host: string, port: number): Promise<number> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolvePromise) => {
      const socket = net.connect({ host, port });
      socket.setTimeout(2000, () => socket.destroy(new Error('timed out')));
      socket.on('data', () => socket.end());
      socket.on('close', () => resolvePromise());
      socket.on('error', () => {
        failed += 1;
        resolvePromise();
      });
    });
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        await one();
        done += 1;
      }
    }),
  );
  if (failed > 0) console.log(`  (${failed} connections failed)`);
  return Math.round((done - failed) / seconds);
}

cleanUp();
try {
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  ip('netns', 'add', netns);
  ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
  ip('link', 'set', veth, 'master', bridge, 'up');
  ip('-n', netns, 'addr', 'add', `${backendIp}/24`, 'dev', 'eth0');
  ip('-n', netns, 'link', 'set', 'eth0', 'up');
  ip('-n', netns, 'link', 'set', 'lo', 'up');
  ip('-n', netns, 'route', 'add', 'default', 'via', gateway);
  const backend = spawn(
    'ip',
    [
      'netns',
      'exec',
      netns,
      process.execPath,
      '-e',
      `require('net').createServer((s) => s.end('ok')).listen(8080, '${backendIp}', () => console.log('ready'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolvePromise) => backend.stdout.once('data', () => resolvePromise()));
  await applyNftScript(
    'nft',
    clusterIpRuleset({ table, bridge }, [
      { key: 'bench/backend', clusterIP, ports: [{ protocol: 'TCP', port: 80, endpoints: [{ ip: backendIp, port: 8080 }] }] },
    ]),
  );
  const proxyPort = await new Promise<number>((resolvePromise) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolvePromise(port));
    });
  });
  const listeners = createListenerSet();
  await listeners.apply(
    new Map([
      [
        listenerKey('127.0.0.1', proxyPort),
        { address: '127.0.0.1', port: proxyPort, target: { description: 'bench', backends: () => [{ ip: backendIp, port: 8080 }] } },
      ],
    ]),
  );
  const direct = await rate(backendIp, 8080);
  const dnat = await rate(clusterIP, 80);
  const proxied = listeners.bound().length > 0 ? await rate('127.0.0.1', proxyPort) : Number.NaN;
  console.log(JSON.stringify({ seconds, clients, connectionsPerSecond: { direct, nftablesDnat: dnat, userspaceProxy: proxied } }));
  await listeners.close();
  backend.kill();
} finally {
  cleanUp();
}
