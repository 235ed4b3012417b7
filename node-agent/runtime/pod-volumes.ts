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
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
 * emptyDir keeps its content across container restarts; ConfigMap and Secret files are written
 * afresh (into a new directory swapped in place, so a reader never sees half of them).
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
    const fresh = `${dir}.writing`;
    rmSync(fresh, { recursive: true, force: true });
    mkdirSync(fresh, { mode: 0o750 });
    own(fresh, owner);
    for (const file of source.files) {
      const target = inside(fresh, file.path, 'item path');
      mkdirSync(dirname(target), { recursive: true, mode: 0o750 });
      writeFileSync(target, file.content, { mode: file.mode & 0o777 });
      chmodSync(target, file.mode & 0o777);
      own(target, owner);
      for (let parent = dirname(target); parent !== fresh; parent = dirname(parent)) own(parent, owner);
    }
    rmSync(`${dir}.old`, { recursive: true, force: true });
    if (existsSync(dir)) renameSync(dir, `${dir}.old`);
    renameSync(fresh, dir);
    rmSync(`${dir}.old`, { recursive: true, force: true });
    paths.set(volume.name, dir);
  }
  // Only the volumes this container mounts are given: the others (another container's emptyDir)
  // stay as they are; the pod's whole directory goes with the pod.
  return paths;
}

/** Each mount of the container with the host path it stands for (a `subPath` inside its volume). */
export function resolveMounts(mounts: readonly VolumeMountSpec[], volumePaths: ReadonlyMap<string, string>): ResolvedMount[] {
  return mounts.map((mount) => {
    const root = volumePaths.get(mount.volume);
    if (root === undefined) throw new ContainerConfigError(`volume ${JSON.stringify(mount.volume)} of mount ${mount.mountPath} is not a volume of the pod`);
    return { mountPath: mount.mountPath, hostPath: mount.subPath ? inside(root, mount.subPath, 'subPath') : root, readOnly: mount.readOnly };
  });
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
