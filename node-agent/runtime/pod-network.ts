/**
 * Pods' own network (docs/adr/136). When the agent runs as root and the machine has `ip`,
 * `unshare`, `nsenter` and `nft`, every pod gets a sandbox: a network namespace with a veth pair
 * to the node's bridge and its own address from the node's podCIDR, and a sandbox process
 * (Kubernetes' "pause") that holds a PID, mount, UTS and IPC namespace of the pod, in which
 * `/etc/resolv.conf` and `/etc/hosts` are the pod's own files. Containers, exec probes and
 * `kubectl exec` enter those namespaces with `nsenter`. Otherwise pods stay on loopback
 * addresses (docs/adr/080) and this module does nothing.
 *
 * Every name (bridge, namespaces, veths, nftables table) carries a hash of the cluster's data
 * dir and of the node's state dir, so clusters run side by side on one machine never touch each
 * other's, and a node that starts again sweeps what its earlier run left, and only that.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { type Cidr, formatCidr, numberToIpv4, parseCidr } from '../../functions/core/ipv4-range.ts';
import { isSameLiveProcess, type ProcessIdentity, processIdentity } from './process-identity.ts';

export type PodNetworkMode = 'namespaces' | 'loopback';

/** The cluster's DNS domain, as kubelet's --cluster-domain. */
export const clusterDomain = 'cluster.local';

const toolDirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

function toolPath(name: string): string | undefined {
  for (const dir of toolDirs) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** The tools namespace mode needs, or the first missing one. */
export function namespaceTools(): { ip: string; unshare: string; nsenter: string; nft: string } | { missing: string } {
  const found = { ip: toolPath('ip'), unshare: toolPath('unshare'), nsenter: toolPath('nsenter'), nft: toolPath('nft') };
  for (const [name, path] of Object.entries(found)) if (!path) return { missing: name };
  return found as { ip: string; unshare: string; nsenter: string; nft: string };
}

/**
 * Which mode a node runs: namespaces when asked, or by default when the agent is root, the
 * tools are there and the pod CIDR is not a loopback range (a 127/8 podCIDR keeps loopback
 * mode: those addresses cannot leave a namespace). The reason is what `kubectl describe node` says.
 */
export function choosePodNetworkMode(
  wanted: PodNetworkMode | 'auto',
  podCidr: string,
  uid: number = process.getuid?.() ?? -1,
): { mode: PodNetworkMode; reason: string } {
  const loopbackCidr = podCidr.startsWith('127.');
  if (wanted === 'loopback') return { mode: 'loopback', reason: 'loopback mode was asked for (--pod-network loopback)' };
  const tools = namespaceTools();
  const cannot =
    uid !== 0
      ? 'the node agent does not run as root'
      : 'missing' in tools
        ? `${tools.missing} is not installed`
        : loopbackCidr
          ? `the pod CIDR ${podCidr} is a loopback range`
          : undefined;
  if (cannot) {
    if (wanted === 'namespaces') throw new Error(`--pod-network namespaces cannot be honoured: ${cannot}`);
    return { mode: 'loopback', reason: `${cannot}: pods are host processes on loopback addresses of the pod CIDR` };
  }
  return { mode: 'namespaces', reason: 'each pod has its own network, PID, mount, UTS and IPC namespaces on the node bridge' };
}

export function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

export interface PodNetworkNames {
  /** Prefix of every bridge of the cluster (nftables matches `iifname "<prefix>*"`). */
  readonly clusterBridgePrefix: string;
  readonly bridge: string;
  readonly netnsPrefix: string;
  readonly table: string;
  /** The node's NetworkPolicy table (docs/adr/209), apart from the ClusterIP one so each is rewritten alone. */
  readonly policyTable: string;
  readonly nodeTag: string;
}

/** The names of a node's network objects, from its state dir (its cluster is the data dir two levels up). */
export function podNetworkNames(stateDir: string): PodNetworkNames {
  const node = resolve(stateDir);
  const cluster = shortHash(resolve(node, '..', '..'), 6);
  const tag = `${cluster}${shortHash(node, 5)}`;
  return {
    clusterBridgePrefix: `skb${cluster}`,
    bridge: `skb${tag}`,
    netnsPrefix: `skiff-${tag}-`,
    table: `skiff_${tag}`,
    policyTable: `skiff_${tag}_policy`,
    nodeTag: tag,
  };
}

/**
 * The bridge's own MAC address: fixed, locally administered and unicast (first octet 0x02), from
 * the bridge's name. A bridge without one set takes the lowest MAC of its ports and changes it
 * whenever a pod's veth comes or goes; pods keep the gateway's old MAC in their neighbour table and
 * their replies to the host, sent to it, are dropped for seconds (docs/adr/137).
 */
export function bridgeMac(bridge: string): string {
  const bytes = shortHash(`bridge-mac/${bridge}`, 10).match(/../g) ?? [];
  return ['02', ...bytes].join(':');
}

/** The host side of a pod's veth pair: 15 characters, the kernel's limit. */
export function vethName(nodeTag: string, podUid: string): string {
  return `skv${shortHash(`${nodeTag}/${podUid}`, 12)}`;
}

/** IPv4 routes of the machine (destination network and interface), from /proc/net/route. */
export function hostRoutes(): { network: number; prefixLength: number; iface: string }[] {
  let table: string;
  try {
    table = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const routes: { network: number; prefixLength: number; iface: string }[] = [];
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [iface, destination, , , , , , mask] = fields;
    if (!iface || !destination || !mask) continue;
    const swap = (hex: string) => Number.parseInt(hex.match(/../g)?.reverse().join('') ?? '0', 16) >>> 0;
    const maskValue = swap(mask);
    const prefixLength = maskValue === 0 ? 0 : 32 - Math.log2((~maskValue >>> 0) + 1);
    if (prefixLength === 0) continue;
    routes.push({ network: swap(destination), prefixLength, iface });
  }
  return routes;
}

function overlaps(a: { network: number; prefixLength: number }, b: { network: number; prefixLength: number }): boolean {
  const shortest = Math.min(a.prefixLength, b.prefixLength);
  const mask = shortest === 0 ? 0 : (0xffffffff << (32 - shortest)) >>> 0;
  return (a.network & mask) >>> 0 === (b.network & mask) >>> 0;
}

/**
 * The /24 of node number `index` in namespace mode: `10.B.<index>.0/24`, B in 128–255 chosen by
 * a hash of the cluster's data dir, moved on to the next B while the /24 is already routed on
 * this machine (another cluster's bridge, a network of the host). The node's own bridge does
 * not count: an agent started again finds its earlier route.
 */
export function namespacePodCidr(index: number, stateDir: string, routes = hostRoutes()): string {
  const names = podNetworkNames(stateDir);
  const start = Number.parseInt(shortHash(resolve(stateDir, '..', '..'), 4), 16) % 128;
  let fallback: string | undefined;
  for (let step = 0; step < 128; step += 1) {
    const block = 128 + ((start + step) % 128);
    const cidr: Cidr = { network: ((10 << 24) | (block << 16) | ((index % 256) << 8)) >>> 0, prefixLength: 24 };
    fallback ??= formatCidr(cidr);
    if (!routes.some((route) => route.iface !== names.bridge && overlaps(route, cidr))) return formatCidr(cidr);
  }
  return fallback ?? '10.128.0.0/24';
}

const sandboxSchema = z.object({
  uid: z.string(),
  netns: z.string(),
  veth: z.string(),
  ip: z.string(),
  pid: z.number(),
  processIdentity: z.object({ bootId: z.string(), startTicks: z.string() }).optional(),
});
type Sandbox = z.infer<typeof sandboxSchema> & { readonly processIdentity?: ProcessIdentity };
const stateSchema = z.object({ sandboxes: z.array(sandboxSchema) });

export interface SandboxSpec {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly hostname: string;
  readonly subdomain?: string;
  /** Where the pod's resolv.conf and hosts are written (the pod's own directory). */
  readonly podDir: string;
}

export interface PodNetworkOptions {
  readonly stateDir: string;
  readonly podCidr: string;
  /** The nameserver in pods' resolv.conf (the kube-dns Service's ClusterIP); the host's resolvers when absent. */
  readonly clusterDns?: string;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
  /**
   * Awaited before a new sandbox is handed to the runtime, so the pod's containers start only once
   * what must hold for its address does: the node's NetworkPolicy rules (docs/adr/209). Never rejects.
   */
  readonly sandboxReady?: (spec: SandboxSpec) => Promise<void>;
}

function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${[file, ...args].join(' ')}: ${stderr.trim() || error.message}`));
      else resolvePromise(stdout);
    });
  });
}

async function attempt(file: string, args: readonly string[]): Promise<void> {
  await run(file, args).catch(() => undefined);
}

/** Whether a mount table (`/proc/<pid>/mounts`) has a tmpfs at `path` (octal escapes as the kernel writes them). */
export function tmpfsMountedAt(table: string, path: string): boolean {
  const decode = (text: string) => text.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
  return table.split('\n').some((line) => {
    const [, mountPoint, type] = line.split(' ');
    return type === 'tmpfs' && mountPoint !== undefined && decode(mountPoint) === path;
  });
}

/** What `/etc/hosts` of a pod says, as the kubelet writes it. */
export function podHostsFile(spec: Pick<SandboxSpec, 'ip' | 'hostname' | 'subdomain' | 'namespace'>): string {
  const own = spec.subdomain ? `${spec.hostname}.${spec.subdomain}.${spec.namespace}.svc.${clusterDomain}\t${spec.hostname}` : spec.hostname;
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${spec.ip}\t${own}`,
    '',
  ].join('\n');
}

/** A pod's `/etc/resolv.conf` (dnsPolicy ClusterFirst): the cluster DNS and Kubernetes' search path. */
export function podResolvConf(namespace: string, nameservers: readonly string[]): string {
  return [
    `search ${namespace}.svc.${clusterDomain} svc.${clusterDomain} ${clusterDomain}`,
    ...nameservers.map((server) => `nameserver ${server}`),
    'options ndots:5',
    '',
  ].join('\n');
}

function hostNameservers(): string[] {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((line) => /^\s*nameserver\s+(\S+)/.exec(line)?.[1])
      .filter((server): server is string => server !== undefined);
  } catch {
    return [];
  }
}

/**
 * The sandbox's first process: mounts the pod's files over /etc, names the host, and then
 * stays as PID 1 of the pod's PID namespace, reaping what its orphans leave, until it is killed.
 */
const sandboxScript = [
  'mount --bind "$1" /etc/resolv.conf',
  'mount --bind "$2" /etc/hosts',
  'hostname "$3"',
  ': > "$4"',
  "trap 'exit 0' TERM INT",
  'while :; do sleep 3600 & wait $!; done',
].join('\n');

export class PodNetwork {
  readonly names: PodNetworkNames;
  readonly cidr: Cidr;
  readonly gateway: string;
  private readonly tools: { ip: string; unshare: string; nsenter: string; nft: string };
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly statePath: string;
  private readonly pending = new Map<string, Promise<Sandbox>>();

  constructor(private readonly options: PodNetworkOptions) {
    const tools = namespaceTools();
    if ('missing' in tools) throw new Error(`${tools.missing} is needed for pods' own network namespaces`);
    this.tools = tools;
    this.names = podNetworkNames(options.stateDir);
    const cidr = parseCidr(options.podCidr);
    if (!cidr || cidr.prefixLength > 30) throw new Error(`invalid pod CIDR ${options.podCidr}`);
    this.cidr = cidr;
    this.gateway = numberToIpv4(cidr.network + 1);
    this.statePath = join(options.stateDir, 'sandboxes.json');
    if (existsSync(this.statePath)) {
      const parsed = stateSchema.safeParse(JSON.parse(readFileSync(this.statePath, 'utf8')));
      if (parsed.success) for (const sandbox of parsed.data.sandboxes) this.sandboxes.set(sandbox.uid, sandbox);
    }
  }

  /**
   * The node's bridge with the pod CIDR's first address, forwarding on, and loopback
   * destinations allowed from the bridge (a ClusterIP whose endpoint listens on 127.0.0.1, as
   * the API server does); then sweeps namespaces of this node whose sandbox is gone.
   */
  async setUp(): Promise<void> {
    const { ip } = this.tools;
    const bridge = this.names.bridge;
    if (!existsSync(`/sys/class/net/${bridge}`)) await run(ip, ['link', 'add', bridge, 'type', 'bridge']);
    // Set, not inherited from the ports: the gateway's MAC never changes under the pods.
    await run(ip, ['link', 'set', 'dev', bridge, 'address', bridgeMac(bridge)]);
    const prefix = `${this.gateway}/${this.cidr.prefixLength}`;
    const shown = await run(ip, ['-4', '-o', 'addr', 'show', 'dev', bridge]);
    for (const match of shown.matchAll(/inet (\S+)/g)) if (match[1] !== prefix) await attempt(ip, ['addr', 'del', match[1] ?? '', 'dev', bridge]);
    if (!shown.includes(`inet ${prefix} `)) await run(ip, ['addr', 'add', prefix, 'dev', bridge]);
    await run(ip, ['link', 'set', bridge, 'up']);
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
    for (const [uid, sandbox] of this.sandboxes) {
      if (!isSameLiveProcess(sandbox.pid, sandbox.processIdentity)) {
        await this.destroy(sandbox);
        this.sandboxes.delete(uid);
      }
    }
    const live = new Set([...this.sandboxes.values()].map((sandbox) => sandbox.netns));
    for (const netns of this.ownNamespaces()) {
      if (!live.has(netns)) await attempt(ip, ['netns', 'del', netns]);
    }
    this.save();
  }

  private ownNamespaces(): string[] {
    try {
      return readdirSync('/run/netns').filter((name) => name.startsWith(this.names.netnsPrefix));
    } catch {
      return [];
    }
  }

  /** The sandbox of a pod, made when it has none (or its sandbox process is gone). */
  ensureSandbox(spec: SandboxSpec): Promise<Sandbox> {
    const existing = this.sandboxes.get(spec.uid);
    if (existing && existing.ip === spec.ip && isSameLiveProcess(existing.pid, existing.processIdentity)) return Promise.resolve(existing);
    const inFlight = this.pending.get(spec.uid);
    if (inFlight) return inFlight;
    const made = this.create(spec, existing).finally(() => this.pending.delete(spec.uid));
    this.pending.set(spec.uid, made);
    return made;
  }

  private async create(spec: SandboxSpec, stale: Sandbox | undefined): Promise<Sandbox> {
    if (stale) await this.destroy(stale);
    const { ip, unshare, nsenter } = this.tools;
    const netns = `${this.names.netnsPrefix}${shortHash(spec.uid, 12)}`;
    const veth = vethName(this.names.nodeTag, spec.uid);
    await attempt(ip, ['netns', 'del', netns]);
    await attempt(ip, ['link', 'del', veth]);
    await run(ip, ['netns', 'add', netns]);
    try {
      await run(ip, ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      await run(ip, ['link', 'set', veth, 'master', this.names.bridge, 'up']);
      await run(ip, ['-n', netns, 'addr', 'add', `${spec.ip}/${this.cidr.prefixLength}`, 'dev', 'eth0']);
      await run(ip, ['-n', netns, 'link', 'set', 'lo', 'up']);
      await run(ip, ['-n', netns, 'link', 'set', 'eth0', 'up']);
      await run(ip, ['-n', netns, 'route', 'add', 'default', 'via', this.gateway]);
      // The address may have been another pod's a moment ago: forget that pod's MAC.
      await attempt(ip, ['neigh', 'del', spec.ip, 'dev', this.names.bridge]);
      const etc = join(spec.podDir, 'etc');
      mkdirSync(etc, { recursive: true, mode: 0o755 });
      chmodSync(etc, 0o755);
      const resolvConf = join(etc, 'resolv.conf');
      const hosts = join(etc, 'hosts');
      const ready = join(etc, '.sandbox-ready');
      rmSync(ready, { force: true });
      writeFileSync(resolvConf, podResolvConf(spec.namespace, this.options.clusterDns ? [this.options.clusterDns] : hostNameservers()), { mode: 0o644 });
      writeFileSync(hosts, podHostsFile(spec), { mode: 0o644 });
      const child = spawn(
        nsenter,
        [
          `--net=/run/netns/${netns}`,
          '--',
          unshare,
          '--pid',
          '--fork',
          '--mount-proc',
          '--mount',
          '--uts',
          '--ipc',
          '--propagation',
          'private',
          '--',
          '/bin/sh',
          '-c',
          sandboxScript,
          'skiff-sandbox',
          resolvConf,
          hosts,
          spec.hostname.slice(0, 63),
          ready,
        ],
        { detached: true, stdio: 'ignore' },
      );
      child.unref();
      const parent = child.pid;
      if (parent === undefined) throw new Error('the sandbox process could not be started');
      const deadline = Date.now() + 10_000;
      let pid: number | undefined;
      while (Date.now() < deadline) {
        pid ??= childOf(parent);
        if (pid !== undefined && existsSync(ready)) break;
        if (child.exitCode !== null) throw new Error(`the sandbox process exited with code ${child.exitCode}`);
        await new Promise((done) => setTimeout(done, 10));
      }
      if (pid === undefined || !existsSync(ready)) {
        killQuietly(parent);
        throw new Error('the sandbox process did not come up within 10 s');
      }
      const identity = processIdentity(pid);
      const sandbox: Sandbox = { uid: spec.uid, netns, veth, ip: spec.ip, pid, ...(identity ? { processIdentity: identity } : {}) };
      this.sandboxes.set(spec.uid, sandbox);
      this.save();
      this.options.log?.('pod sandbox made', { uid: spec.uid, netns, ip: spec.ip });
      await this.options.sandboxReady?.(spec);
      return sandbox;
    } catch (error) {
      await attempt(ip, ['netns', 'del', netns]);
      throw error;
    }
  }

  /**
   * The argv prefix that runs a command in a pod's namespaces (network, mount, PID, UTS, IPC),
   * in `cwd`; undefined when the pod has no live sandbox.
   */
  enterArgv(uid: string, cwd?: string): string[] | undefined {
    const sandbox = this.sandboxes.get(uid);
    if (!sandbox || !isSameLiveProcess(sandbox.pid, sandbox.processIdentity)) return undefined;
    // `--wdns`: the directory is entered after the mount namespace. `--wd` opens it before, in
    // the host's mounts: relative paths then miss the pod's own (its /etc/resolv.conf, /proc).
    return [this.tools.nsenter, `--target=${sandbox.pid}`, '--net', '--mount', '--pid', '--uts', '--ipc', ...(cwd ? [`--wdns=${cwd}`] : []), '--'];
  }

  /**
   * A tmpfs at `path` in the pod's mount namespace, for an emptyDir of medium Memory (docs/adr/176),
   * unless one is there already: the pod's containers share it, a restarted container finds what
   * it held, and it is gone with the sandbox. `sizeBytes` caps it (the volume's sizeLimit).
   */
  async mountMemoryVolume(uid: string, path: string, options: { readonly sizeBytes?: number; readonly owner?: { uid: number; gid: number } }): Promise<void> {
    const sandbox = this.sandboxes.get(uid);
    if (!sandbox || !isSameLiveProcess(sandbox.pid, sandbox.processIdentity)) throw new Error('the pod has no sandbox');
    if (tmpfsMountedAt(readFileSync(`/proc/${sandbox.pid}/mounts`, 'utf8'), path)) return;
    const flags = [
      'mode=0770',
      ...(options.sizeBytes !== undefined ? [`size=${options.sizeBytes}`] : []),
      ...(options.owner ? [`uid=${options.owner.uid}`, `gid=${options.owner.gid}`] : []),
    ];
    await run(this.tools.nsenter, [`--target=${sandbox.pid}`, '--mount', '--', 'mount', '-t', 'tmpfs', '-o', flags.join(','), 'skiff-emptydir', path]);
  }

  hasSandbox(uid: string): boolean {
    return this.sandboxes.has(uid);
  }

  /** Kills the pod's sandbox (and with it every process left in its PID namespace) and deletes its network namespace. */
  async removeSandbox(uid: string): Promise<void> {
    const sandbox = this.sandboxes.get(uid);
    if (!sandbox) return;
    this.sandboxes.delete(uid);
    this.save();
    await this.destroy(sandbox);
  }

  private async destroy(sandbox: Sandbox): Promise<void> {
    if (isSameLiveProcess(sandbox.pid, sandbox.processIdentity)) killQuietly(sandbox.pid);
    await attempt(this.tools.ip, ['netns', 'del', sandbox.netns]);
    await attempt(this.tools.ip, ['link', 'del', sandbox.veth]);
    await attempt(this.tools.ip, ['neigh', 'del', sandbox.ip, 'dev', this.names.bridge]);
  }

  private save(): void {
    const temporary = `${this.statePath}.tmp`;
    mkdirSync(dirname(this.statePath), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, JSON.stringify({ sandboxes: [...this.sandboxes.values()] }), { mode: 0o600 });
    renameSync(temporary, this.statePath);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** The first child of `parent` (the sandbox's PID 1, which `unshare --fork` starts), by its parent PID in /proc. */
function childOf(parent: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
  // nsenter execs unshare in place, so the sandbox's PID 1 is a child of the PID spawn returned.
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parent) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/**
 * Removes everything a node's network left on the machine: its sandbox processes, namespaces,
 * bridge and nftables tables. For a cluster going away, and after an agent that was killed.
 */
export function tearDownPodNetwork(stateDir: string): void {
  const tools = namespaceTools();
  if ('missing' in tools || (process.getuid?.() ?? -1) !== 0) return;
  const names = podNetworkNames(stateDir);
  const statePath = join(stateDir, 'sandboxes.json');
  if (existsSync(statePath)) {
    const parsed = stateSchema.safeParse(JSON.parse(readFileSync(statePath, 'utf8')));
    if (parsed.success) {
      for (const sandbox of parsed.data.sandboxes) if (isSameLiveProcess(sandbox.pid, sandbox.processIdentity)) killQuietly(sandbox.pid);
    }
    rmSync(statePath, { force: true });
  }
  const quiet = (args: string[], file = tools.ip) => {
    try {
      execFileSync(file, args, { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // Not there.
    }
  };
  let namespaces: string[] = [];
  try {
    namespaces = readdirSync('/run/netns').filter((name) => name.startsWith(names.netnsPrefix));
  } catch {
    // No named namespaces at all.
  }
  for (const netns of namespaces) quiet(['netns', 'del', netns]);
  if (existsSync(`/sys/class/net/${names.bridge}`)) quiet(['link', 'del', names.bridge]);
  quiet(['delete', 'table', 'ip', names.table], tools.nft);
  quiet(['delete', 'table', 'ip', names.policyTable], tools.nft);
}
