/**
 * Who a container's process runs as under the process runtime, and how it is started that way
 * (docs/adr/084). When the agent runs as root, every pod runs as a user of its own: the uid and
 * gid its securityContext names (never 0), or one derived from the pod's address, unique on the
 * machine; no supplementary groups but those the pod asks for; no capabilities but
 * CAP_NET_BIND_SERVICE (ports below 1024, as a container in its own network namespace could);
 * `no_new_privs`, so a setuid binary cannot give it more. `setpriv` (util-linux) makes the
 * change between fork and exec. When the agent is not root it cannot change users: pods run as
 * the agent's user, and a securityContext asking for another user is refused.
 *
 * An agent that is not root cannot hide its files from its pods by permissions (they are the same
 * user), so it hides them by mounts (docs/adr/085): each container starts in a user and mount
 * namespace of its own where the data dir, the agent's state and the user's credential folders
 * are empty tmpfs, and only what the pod is given (its own directories, hostPath volumes) is
 * bound back; the process then drops into a nested user namespace as the agent's own uid, with
 * no capabilities, so it cannot unmount what covers them.
 *
 * This module is the seam per-pod namespaces (issue 15) extend: `launchArgv` is where the argv
 * gains its wrappers.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { ipv4ToNumber } from '../../functions/core/ipv4-range.ts';
import { ContainerConfigError, type SecuritySpec } from './runtime.ts';

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups. */
  readonly groups: readonly number[];
  /** Capabilities the process keeps (lower case, without `cap_`), e.g. `net_bind_service`. */
  readonly capabilities: readonly string[];
}

/** The identity of the agent itself, and whether it may change users. */
export interface HostIdentity {
  readonly uid: number;
  readonly gid: number;
}

export function currentHost(): HostIdentity {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

/** First uid of the range pods get from their address: far above ordinary and system users. */
export const podUidBase = 1_000_000;

/**
 * A pod's own uid from its address: the address's low 22 bits (every pod address on a machine
 * is in 127.64.0.0/10, ADR 080), so no two pods running on one machine share a uid.
 */
export function podUid(podIP: string | undefined, podUidText = ''): number {
  const address = podIP ? ipv4ToNumber(podIP) : undefined;
  if (address !== undefined) return podUidBase + (address & 0x3f_ffff);
  // No address (a runtime used on its own): a uid from the pod's uid, in a range of its own.
  return podUidBase + 0x40_0000 + (Number.parseInt(createHash('sha256').update(podUidText).digest('hex').slice(0, 6), 16) & 0x3f_ffff);
}

const bindService = 'net_bind_service';

/**
 * Who the container runs as. Throws ContainerConfigError for what cannot be honoured: root
 * (runAsUser 0, or runAsNonRoot with runAsUser 0), another user when the agent is not root,
 * a privileged container, a capability other than NET_BIND_SERVICE.
 */
export function runAsFor(security: SecuritySpec | undefined, podIP: string | undefined, host: HostIdentity = currentHost(), podUidText = ''): RunAs {
  const spec: SecuritySpec = security ?? { supplementalGroups: [], addCapabilities: [], dropCapabilities: [] };
  if (spec.privileged) throw new ContainerConfigError('privileged containers are not supported by the process runtime: a pod is a process of this machine');
  const added = spec.addCapabilities.map((capability) => capability.toLowerCase().replace(/^cap_/, ''));
  const unsupported = added.filter((capability) => capability !== bindService);
  if (unsupported.length > 0) {
    throw new ContainerConfigError(`capabilities ${JSON.stringify(spec.addCapabilities)} cannot be added by the process runtime (only NET_BIND_SERVICE)`);
  }
  const dropped = new Set(spec.dropCapabilities.map((capability) => capability.toLowerCase().replace(/^cap_/, '')));
  const capabilities = dropped.has('all') || dropped.has(bindService) ? [] : [bindService];
  if (spec.runAsUser === 0) {
    throw new ContainerConfigError(
      spec.runAsNonRoot ? 'container has runAsNonRoot and image will run as root' : 'runAsUser 0: the process runtime never runs a pod as root',
    );
  }
  if (spec.runAsGroup === 0) throw new ContainerConfigError('runAsGroup 0: the process runtime never runs a pod in the root group');
  if (host.uid !== 0) {
    const other = (spec.runAsUser !== undefined && spec.runAsUser !== host.uid) || (spec.runAsGroup !== undefined && spec.runAsGroup !== host.gid);
    if (other || spec.supplementalGroups.length > 0 || spec.fsGroup !== undefined) {
      throw new ContainerConfigError(
        `runAsUser/runAsGroup/supplementalGroups/fsGroup cannot be honoured: the node agent does not run as root, so pods run as its own user (uid ${host.uid})`,
      );
    }
    return { uid: host.uid, gid: host.gid, groups: [], capabilities: [] };
  }
  const own = spec.runAsUser === undefined || spec.runAsGroup === undefined ? podUid(podIP, podUidText) : 0;
  const uid = spec.runAsUser ?? own;
  const gid = spec.runAsGroup ?? (spec.runAsUser !== undefined ? spec.runAsUser : own);
  const groups = [...new Set([...spec.supplementalGroups, ...(spec.fsGroup !== undefined ? [spec.fsGroup] : [])])].filter((group) => group !== 0);
  return { uid, gid, groups, capabilities };
}

const setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/**
 * The argv that starts `argv` as `runAs`: through setpriv when the agent is root, with
 * `no_new_privs` in every case setpriv is there. Throws ContainerConfigError when the agent is
 * root and setpriv is missing: a pod must never run as root for want of a tool.
 */
export function launchArgv(argv: readonly string[], runAs: RunAs, host: HostIdentity = currentHost(), view?: PodView): string[] {
  if (!setprivPath) {
    if (host.uid === 0) throw new ContainerConfigError('setpriv (util-linux) is needed to run pods as their own user; apt-get install util-linux');
    return [...argv];
  }
  if (host.uid !== 0) {
    const dropped = [setprivPath, '--no-new-privs', '--', ...argv];
    return view && view.hide.length > 0 && userNamespacesWork() ? hidingArgv(dropped, view, host) : dropped;
  }
  const caps = ['-all', ...runAs.capabilities.map((capability) => `+${capability}`)].join(',');
  return [
    setprivPath,
    '--reuid',
    String(runAs.uid),
    '--regid',
    String(runAs.gid),
    ...(runAs.groups.length > 0 ? ['--groups', runAs.groups.join(',')] : ['--clear-groups']),
    '--inh-caps',
    caps,
    '--ambient-caps',
    caps,
    '--bounding-set',
    caps,
    '--no-new-privs',
    '--',
    ...argv,
  ];
}

/** What a container of an agent that is not root must not see, and what it must see even so. */
export interface PodView {
  /** Folders covered by an empty tmpfs: the data dir, the agent's state, the user's credentials. */
  readonly hide: readonly string[];
  /** Folders bound back over the cover: the pod's own directories and hostPath volumes. */
  readonly keep: readonly string[];
}

/** Folders of a user's home that hold credentials (ssh, cloud and cluster sign-ins, keyrings). */
export const credentialFolders = ['.ssh', '.aws', '.kube', '.gnupg', '.docker', '.azure', '.config', '.local/share/keyrings'];

const unsharePath = ['/usr/bin/unshare', '/bin/unshare'].find((path) => existsSync(path));
let userNamespaces: boolean | undefined;

/** Whether this machine lets a process that is not root make user and mount namespaces (asked once). */
export function userNamespacesWork(): boolean {
  if (userNamespaces === undefined) {
    userNamespaces =
      unsharePath !== undefined && spawnSync(unsharePath, ['--user', '--map-root-user', '--mount', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
  }
  return userNamespaces;
}

/** Descriptors 3..9 hold the folders to bind back while they are covered (the shell reaches no higher). */
const maxKept = 7;

/**
 * The argv that starts `argv` in a view of the machine without `view.hide`. A script run as root
 * of the container's own user namespace opens every folder to keep, covers every folder to hide,
 * binds the kept ones back through their open descriptors (the only way to reach them once
 * covered), then starts `argv` as the agent's uid in a nested user namespace, where it has no
 * capability over these mounts.
 */
export function hidingArgv(argv: readonly string[], view: PodView, host: HostIdentity): string[] {
  const hide = outermost(view.hide.filter(isDirectory));
  const keep = outermost(view.keep.filter((path) => isDirectory(path) && hide.some((hidden) => within(hidden, path))));
  if (keep.length > maxKept) {
    throw new ContainerConfigError(`at most ${maxKept} hostPath volumes may lie under the folders hidden from pods (${hide.join(', ')})`);
  }
  const steps = [
    'set -e',
    'start=$PWD',
    ...keep.map((path, index) => `exec ${index + 3}<${quote(path)}`),
    ...hide.map((path) => `mount -t tmpfs -o mode=0755,size=64k skiff-hidden ${quote(path)}`),
    ...keep.flatMap((path, index) => [
      `mkdir -p ${quote(path)}`,
      `mount --no-canonicalize --bind /proc/self/fd/${index + 3} ${quote(path)}`,
      `exec ${index + 3}<&-`,
    ]),
    'cd "$start"',
    `exec ${quote(unsharePath ?? 'unshare')} --user --map-user=${host.uid} --map-group=${host.gid} -- "$@"`,
  ];
  return [unsharePath ?? 'unshare', '--user', '--map-root-user', '--mount', '--', '/bin/sh', '-c', steps.join('\n'), 'skiff-view', ...argv];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function within(parent: string, path: string): boolean {
  const rest = relative(parent, path);
  return rest === '' || (rest !== '..' && !rest.startsWith('../') && !isAbsolute(rest));
}

/** The folders given, absolute, without those inside another of them. */
function outermost(paths: readonly string[]): string[] {
  const absolute = [...new Set(paths.map((path) => resolve(path)))].sort();
  return absolute.filter((path) => !absolute.some((other) => other !== path && within(other, path)));
}

/** A word for /bin/sh: single-quoted, with single quotes closed and escaped. */
function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
