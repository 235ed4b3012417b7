/**
 * Pod volumes under the process runtime (docs/adr/084): each volume is a directory of the pod's
 * own directory (`<pods-dir>/<pod uid>/volumes/<name>`), or a path of the host for hostPath.
 * A process cannot see a directory at another path without a mount namespace, so the
 * container's `mountPath`s are rewritten to where the volume is, in its command, args, env
 * values and working directory: `cat /etc/config/app.conf` reads
 * `<pod dir>/volumes/config/app.conf`. Each mount is also named in the environment
 * (`SKIFF_MOUNT_<n>=<mountPath>=<directory>`), for programs that build paths themselves.
 *
 * This is the seam the full volume set (issue 16: downwardAPI, projected, PVCs) and per-pod
 * mount namespaces (issue 15, which can bind the directories at their real mountPath) extend.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { ContainerConfigError, type PodVolume, type VolumeMountSpec } from './runtime.ts';

/** A mountPath and the host path the container finds its content at. */
export interface ResolvedMount {
  readonly mountPath: string;
  readonly hostPath: string;
  readonly readOnly: boolean;
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** Sets `owner` on a path when the agent may (root); otherwise the files stay the agent's, which is the pod's user anyway. */
function own(path: string, owner: Owner | undefined): void {
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/** `own` over a whole tree (a volume an earlier pod of another user wrote). */
function ownTree(path: string, owner: Owner | undefined): void {
  if (!owner) return;
  own(path, owner);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) ownTree(child, owner);
    else lchownSync(child, owner.uid, owner.gid);
  }
}

/** Rejects a relative path that would leave its directory (`../`, absolute). */
function inside(root: string, path: string, what: string): string {
  const target = resolve(root, path);
  const rel = relative(root, target);
  if (rel.startsWith('..') || rel === '' || normalize(path).startsWith('/')) {
    throw new ContainerConfigError(`${what} ${JSON.stringify(path)} must be a relative path inside the volume`);
  }
  return target;
}

/**
 * Makes every volume of the pod a directory under `volumesDir` (hostPath: the path itself).
 * emptyDir keeps its content across container restarts; ConfigMap, Secret, downwardAPI and
 * projected files are written as the kubelet's atomic writer writes them (`writeAtomically`).
 */
export function materializeVolumes(volumesDir: string, volumes: readonly PodVolume[], owner: Owner | undefined): Map<string, string> {
  // The pod's user owns its volumes; its group (fsGroup when the pod names one) may use them too,
  // so containers of one pod running as different users can share an emptyDir.
  mkdirSync(volumesDir, { recursive: true, mode: 0o750 });
  chmodSync(volumesDir, 0o750);
  own(volumesDir, owner);
  const paths = new Map<string, string>();
  for (const volume of volumes) {
    const source = volume.source;
    if (source.kind === 'hostPath' || source.kind === 'directory') {
      paths.set(volume.name, source.path);
      continue;
    }
    if (source.kind === 'persistent') {
      // The way down is traversable only; the volume is the pod user's while it runs, with what
      // earlier pods wrote (the kubelet hands a volume to a pod's fsGroup the same way).
      if (!existsSync(source.path)) mkdirSync(source.path, { recursive: true, mode: 0o711 });
      chmodSync(dirname(source.path), 0o711);
      chmodSync(source.path, 0o770);
      ownTree(source.path, owner);
      paths.set(volume.name, source.path);
      continue;
    }
    const dir = join(volumesDir, volume.name);
    if (source.kind === 'emptyDir') {
      if (!existsSync(dir)) {
        mkdirSync(dir, { mode: 0o770 });
        chmodSync(dir, 0o770);
        own(dir, owner);
      }
      paths.set(volume.name, dir);
      continue;
    }
    writeAtomically(dir, source.files, owner);
    paths.set(volume.name, dir);
  }
  // Only the volumes this container mounts are given: the others (another container's emptyDir)
  // stay as they are; the pod's whole directory goes with the pod.
  return paths;
}

/**
 * Each mount of the container with the host path it stands for (a `subPath` inside its volume).
 * `pinned`: a subPath of these volumes (files the agent rewrites when their object changes) is
 * copied into `pinned.dir` as it is now, so the container keeps what it started with, as a
 * subPath bind mount keeps it in Kubernetes.
 */
export function resolveMounts(
  mounts: readonly VolumeMountSpec[],
  volumePaths: ReadonlyMap<string, string>,
  pinned?: { readonly dir: string; readonly volumes: ReadonlySet<string>; readonly owner: Owner | undefined },
): ResolvedMount[] {
  return mounts.map((mount, index) => {
    const root = volumePaths.get(mount.volume);
    if (root === undefined) throw new ContainerConfigError(`volume ${JSON.stringify(mount.volume)} of mount ${mount.mountPath} is not a volume of the pod`);
    if (!mount.subPath) return { mountPath: mount.mountPath, hostPath: root, readOnly: mount.readOnly };
    const target = inside(root, mount.subPath, 'subPath');
    if (!pinned?.volumes.has(mount.volume) || !existsSync(target)) return { mountPath: mount.mountPath, hostPath: target, readOnly: mount.readOnly };
    const copy = join(pinned.dir, String(index + 1));
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(pinned.dir, { recursive: true, mode: 0o750 });
    own(pinned.dir, pinned.owner);
    cpSync(realpathSync(target), copy, { recursive: true, dereference: true });
    if (statSync(copy).isDirectory()) ownTree(copy, pinned.owner);
    else own(copy, pinned.owner);
    return { mountPath: mount.mountPath, hostPath: copy, readOnly: mount.readOnly };
  });
}

/** The name of the link to the current payload, as the kubelet's atomic writer names it. */
export const DATA_LINK = '..data';

type PayloadFile = { readonly path: string; readonly content: Buffer; readonly mode: number };

/** Whether the directory `dir` holds exactly these files, with these modes. */
function holds(dir: string, files: readonly PayloadFile[]): boolean {
  const found: string[] = [];
  const walk = (at: string, prefix: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(at, entry.name), `${prefix}${entry.name}/`);
      else found.push(`${prefix}${entry.name}`);
    }
  };
  walk(dir, '');
  if (found.length !== files.length) return false;
  return files.every((file) => {
    const path = join(dir, normalize(file.path));
    if (!existsSync(path)) return false;
    return (statSync(path).mode & 0o777) === (file.mode & 0o777) && readFileSync(path).equals(file.content);
  });
}

/** `..2026_11_28_16_55_01.<random>`: the kubelet's name for one payload's directory. */
function payloadDirName(): string {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}_${two(now.getUTCMonth() + 1)}_${two(now.getUTCDate())}_${two(now.getUTCHours())}_${two(now.getUTCMinutes())}_${two(now.getUTCSeconds())}`;
  return `..${stamp}.${randomBytes(5).toString('hex')}`;
}

/**
 * Writes a volume's files as the kubelet's atomic writer does: the payload goes into a fresh
 * timestamped directory, the `..data` link is swapped to it in one rename, and each top-level
 * name of the payload is a link `<name>` → `..data/<name>`; names no longer in the payload lose
 * their link, and the old payload goes. A reader that opens `<name>` sees the old files or the
 * new ones, never a mix. Nothing is written when the payload is what the volume already holds.
 * Returns whether anything changed.
 */
export function writeAtomically(dir: string, files: readonly PayloadFile[], owner: Owner | undefined): boolean {
  const dataLink = join(dir, DATA_LINK);
  let linked: string | undefined;
  if (existsSync(dir)) {
    try {
      linked = lstatSync(dataLink).isSymbolicLink() ? readlinkSync(dataLink) : undefined;
    } catch {
      linked = undefined;
    }
    // A directory of another layout (an agent before this one): written afresh.
    if (linked === undefined) rmSync(dir, { recursive: true, force: true });
  }
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    chmodSync(dir, 0o750);
    own(dir, owner);
  }
  if (linked !== undefined && existsSync(join(dir, linked)) && holds(join(dir, linked), files)) return false;
  const payload = payloadDirName();
  const fresh = join(dir, payload);
  mkdirSync(fresh, { mode: 0o750 });
  chmodSync(fresh, 0o750);
  own(fresh, owner);
  for (const file of files) {
    const target = inside(fresh, file.path, 'item path');
    mkdirSync(dirname(target), { recursive: true, mode: 0o750 });
    writeFileSync(target, file.content, { mode: file.mode & 0o777 });
    chmodSync(target, file.mode & 0o777);
    own(target, owner);
    for (let parent = dirname(target); parent !== fresh; parent = dirname(parent)) own(parent, owner);
  }
  const swap = join(dir, `${DATA_LINK}_tmp`);
  rmSync(swap, { force: true });
  symlinkSync(payload, swap);
  if (owner) lchownSync(swap, owner.uid, owner.gid);
  renameSync(swap, dataLink);
  const names = new Set(files.map((file) => normalize(file.path).split('/')[0] ?? ''));
  for (const name of names) {
    const link = join(dir, name);
    if (existsSync(link) || isLink(link)) continue;
    symlinkSync(join(DATA_LINK, name), link);
    if (owner) lchownSync(link, owner.uid, owner.gid);
  }
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..')) {
      if (entry !== DATA_LINK && entry !== payload) rmSync(join(dir, entry), { recursive: true, force: true });
      continue;
    }
    if (!names.has(entry)) {
      if (isLink(join(dir, entry))) unlinkSync(join(dir, entry));
      else rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
  return true;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Rewrites each mountPath in `text` to its host path: where the mountPath starts the text or
 * follows `=`, `:`, a quote, a comma, `(` or a space, and ends it or is followed by `/`, a
 * quote, `:`, `,`, a space, or what ends a shell word (`;`, `|`, `&`, `)`). Longer mountPaths first, so `/data/cache` wins over `/data`.
 */
export function rewriteMountPaths(text: string, mounts: readonly ResolvedMount[]): string {
  let result = text;
  for (const mount of [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length)) {
    const path = mount.mountPath.replace(/\/+$/, '') || '/';
    if (path === '/') continue;
    const pattern = new RegExp(`(^|[=:\\s"',(])${escapeRegExp(path)}(?=$|[/\\s"':,;|&)])`, 'g');
    result = result.replace(pattern, (_match, before: string) => `${before}${mount.hostPath}`);
  }
  return result;
}

/** `SKIFF_MOUNT_1=/etc/config=/…/volumes/config`, one per mount, in the container's order. */
export function mountVariables(mounts: readonly ResolvedMount[]): Record<string, string> {
  return Object.fromEntries(mounts.map((mount, index) => [`SKIFF_MOUNT_${index + 1}`, `${mount.mountPath}=${mount.hostPath}`]));
}
