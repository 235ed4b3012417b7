/**
 * A pod's volumes as content for the runtime: emptyDir and hostPath as they are, ConfigMaps and
 * Secrets read from the API and turned into files (all keys, or the `items` asked for, with
 * their modes), and each container's mounts and securityContext in the runtime's terms. The
 * volume types here are the ones admission lets through (schemas/pod-spec.ts); the full set
 * comes with issue 16 at this seam.
 */
import { parseQuantity } from '../functions/core/resource-quantity.ts';
import { SERVICE_ACCOUNT_VOLUME_PREFIX } from '../functions/domain/pods/service-account-volume.ts';
import { CreateContainerConfigError, fieldValue } from './env.ts';
import type { Container, DownwardItem, PodView, Volume } from './pod-view.ts';
import type { PodVolume, SecuritySpec, VolumeMountSpec } from './runtime/runtime.ts';

/** A ConfigMap's or Secret's keys and their bytes; null when the object does not exist. */
export type KeyedData = ReadonlyMap<string, Buffer> | null;

export interface VolumeDataSource {
  configMap(name: string): Promise<KeyedData>;
  secret(name: string): Promise<KeyedData>;
  /**
   * A token of the pod's ServiceAccount for a `serviceAccountToken` projection (TokenRequest bound
   * to the pod). Absent: the agent cannot ask for tokens, and the projection's token file is left
   * out (the rest of the volume, CA and namespace, is still written).
   */
  serviceAccountToken?(audience: string | undefined, expirationSeconds: number): Promise<string>;
  /**
   * The directory of the PersistentVolume a claim is bound to, or an error message (the kubelet's
   * wording) when the claim is missing, unbound, or its volume is not one this node can mount.
   */
  claimedDirectory?(claimName: string): Promise<{ readonly path: string } | { readonly error: string }>;
}

type FileEntry = { readonly path: string; readonly content: Buffer; readonly mode: number };

function files(
  volume: string,
  kind: 'configmap' | 'secret',
  name: string,
  data: KeyedData,
  source: { readonly items?: readonly { key: string; path: string; mode?: number }[] | undefined; readonly defaultMode: number; readonly optional: boolean },
): PodVolume {
  if (!data) {
    if (source.optional) return { name: volume, source: { kind: 'files', files: [] } };
    throw new CreateContainerConfigError(`MountVolume.SetUp failed for volume "${volume}" : ${kind} "${name}" not found`);
  }
  const items = source.items ?? [...data.keys()].map((key) => ({ key, path: key }));
  return {
    name: volume,
    source: {
      kind: 'files',
      files: items.flatMap((item) => {
        const content = data.get(item.key);
        if (content === undefined) {
          if (source.optional) return [];
          throw new CreateContainerConfigError(`MountVolume.SetUp failed for volume "${volume}" : configmap references non-existent config key: ${item.key}`);
        }
        return [{ path: item.path, content, mode: 'mode' in item && item.mode !== undefined ? item.mode : source.defaultMode }];
      }),
    },
  };
}

/** downwardAPI files: the pod's own fields, as the kubelet writes them (maps as `key="value"` lines). */
function downwardFiles(pod: PodView, items: readonly DownwardItem[], defaultMode: number): FileEntry[] {
  return items.flatMap((item) => {
    if (!item.fieldRef) return [];
    const value = fieldValue(pod, item.fieldRef.fieldPath, { podIP: '', hostIP: '', nodeName: pod.spec.nodeName ?? '' });
    return [{ path: item.path, content: Buffer.from(value), mode: item.mode ?? defaultMode }];
  });
}

/** A projected volume: its sources' files in one directory, in the order of the sources. */
async function projectedVolume(pod: PodView, volume: Volume & { projected: NonNullable<Volume['projected']> }, data: VolumeDataSource): Promise<PodVolume> {
  const mode = volume.projected.defaultMode;
  const entries: FileEntry[] = [];
  for (const source of volume.projected.sources) {
    if (source.configMap) {
      const part = files(volume.name, 'configmap', source.configMap.name, await data.configMap(source.configMap.name), {
        ...source.configMap,
        defaultMode: mode,
      });
      if (part.source.kind === 'files') entries.push(...part.source.files);
    } else if (source.secret) {
      const part = files(volume.name, 'secret', source.secret.name, await data.secret(source.secret.name), { ...source.secret, defaultMode: mode });
      if (part.source.kind === 'files') entries.push(...part.source.files);
    } else if (source.downwardAPI) {
      entries.push(...downwardFiles(pod, source.downwardAPI.items, mode));
    } else if (source.serviceAccountToken && data.serviceAccountToken) {
      const token = await data.serviceAccountToken(source.serviceAccountToken.audience, source.serviceAccountToken.expirationSeconds);
      entries.push({ path: source.serviceAccountToken.path, content: Buffer.from(token), mode });
    }
  }
  return { name: volume.name, source: { kind: 'files', files: entries } };
}

async function podVolume(pod: PodView, volume: Volume, data: VolumeDataSource): Promise<PodVolume> {
  if (volume.projected) return projectedVolume(pod, { ...volume, projected: volume.projected }, data);
  if (volume.downwardAPI)
    return { name: volume.name, source: { kind: 'files', files: downwardFiles(pod, volume.downwardAPI.items, volume.downwardAPI.defaultMode) } };
  if (volume.configMap) return files(volume.name, 'configmap', volume.configMap.name, await data.configMap(volume.configMap.name), volume.configMap);
  if (volume.secret) return files(volume.name, 'secret', volume.secret.secretName, await data.secret(volume.secret.secretName), volume.secret);
  if (volume.hostPath) return { name: volume.name, source: { kind: 'hostPath', path: volume.hostPath.path } };
  if (volume.persistentVolumeClaim) {
    const claim = volume.persistentVolumeClaim.claimName;
    const found = data.claimedDirectory ? await data.claimedDirectory(claim) : { error: 'this node mounts no persistent volumes' };
    if ('error' in found) throw new CreateContainerConfigError(`MountVolume.SetUp failed for volume "${volume.name}" : ${found.error}`);
    return { name: volume.name, source: { kind: 'persistent', path: found.path } };
  }
  // emptyDir, and a volume with no source, which the API defaults to emptyDir.
  if (volume.emptyDir?.medium === 'Memory') {
    const size = volume.emptyDir.sizeLimit !== undefined ? parseQuantity(volume.emptyDir.sizeLimit) : undefined;
    return {
      name: volume.name,
      source: { kind: 'emptyDir', medium: 'Memory', ...(size !== undefined && size > 0 ? { sizeLimitBytes: Math.ceil(size) } : {}) },
    };
  }
  return { name: volume.name, source: { kind: 'emptyDir' } };
}

/**
 * The pod's volumes a container mounts, resolved (only those: a container needs no others).
 * `kept`: directories the agent already fills and keeps fresh (ServiceAccount token volumes,
 * node-agent/service-account-volume.ts), by mount path; those volumes are these directories.
 */
export async function volumesFor(
  pod: PodView,
  container: Container,
  data: VolumeDataSource,
  kept: ReadonlyMap<string, string> = new Map(),
): Promise<PodVolume[]> {
  const keptByVolume = new Map(container.volumeMounts.flatMap((mount) => (kept.has(mount.mountPath) ? [[mount.name, kept.get(mount.mountPath) ?? '']] : [])));
  const mounted = new Set(container.volumeMounts.map((mount) => mount.name));
  return Promise.all(
    pod.spec.volumes
      .filter((volume) => mounted.has(volume.name))
      .map((volume) => {
        const dir = keptByVolume.get(volume.name);
        return dir ? { name: volume.name, source: { kind: 'directory' as const, path: dir } } : podVolume(pod, volume, data);
      }),
  );
}

/**
 * The pod's file volumes (configMap, secret, downwardAPI, projected) among `names`, resolved
 * afresh for the runtime to rewrite when they changed. Projected volumes with a token are the
 * ServiceAccount volumes' own (node-agent/service-account-volume.ts); a volume whose object
 * cannot be read now keeps what it has (the kubelet keeps the last content too).
 */
export async function refreshableVolumes(pod: PodView, names: ReadonlySet<string>, data: VolumeDataSource): Promise<PodVolume[]> {
  const wanted = pod.spec.volumes.filter(
    (volume) =>
      names.has(volume.name) &&
      (volume.configMap || volume.secret || volume.downwardAPI || (volume.projected && !volume.projected.sources.some((source) => source.serviceAccountToken))),
  );
  const resolved = await Promise.all(wanted.map((volume) => podVolume(pod, volume, { configMap: data.configMap, secret: data.secret }).catch(() => undefined)));
  return resolved.filter((volume): volume is PodVolume => volume !== undefined);
}

export function mountsOf(container: Container): VolumeMountSpec[] {
  return container.volumeMounts.map((mount) => ({
    volume: mount.name,
    mountPath: mount.mountPath,
    ...(mount.subPath ? { subPath: mount.subPath } : {}),
    readOnly: mount.readOnly,
  }));
}

/** The pod's securityContext under the container's, as the kubelet merges them. */
export function securityOf(pod: PodView, container: Container): SecuritySpec {
  const podContext = pod.spec.securityContext;
  const own = container.securityContext;
  const runAsUser = own?.runAsUser ?? podContext.runAsUser;
  const runAsGroup = own?.runAsGroup ?? podContext.runAsGroup;
  const runAsNonRoot = own?.runAsNonRoot ?? podContext.runAsNonRoot;
  return {
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    ...(runAsNonRoot !== undefined ? { runAsNonRoot } : {}),
    supplementalGroups: podContext.supplementalGroups,
    ...(podContext.fsGroup !== undefined ? { fsGroup: podContext.fsGroup } : {}),
    ...(own?.privileged !== undefined ? { privileged: own.privileged } : {}),
    addCapabilities: own?.capabilities?.add ?? [],
    dropCapabilities: own?.capabilities?.drop ?? [],
  };
}

/**
 * What a runtime that runs the pod as one unit (ECS) does not do yet, said as the reason the pod
 * waits: init containers, volumes other than the ServiceAccount token's (ADR 122), another user
 * or added capabilities. Undefined when it can run the pod as specified.
 */
export function podUnitRefusal(pod: PodView, runtime: string): string | undefined {
  if (pod.spec.initContainers.length > 0) return `init containers are not run by the ${runtime} runtime yet`;
  for (const container of pod.spec.containers) {
    const mount = container.volumeMounts.find((m) => !m.name.startsWith(SERVICE_ACCOUNT_VOLUME_PREFIX));
    if (mount) return `volume "${mount.name}" of container "${container.name}" cannot be mounted by the ${runtime} runtime yet`;
    const security = securityOf(pod, container);
    if (security.runAsUser !== undefined || security.runAsGroup !== undefined || security.addCapabilities.length > 0 || security.privileged) {
      return `the securityContext of container "${container.name}" (user, group or capabilities) is not applied by the ${runtime} runtime yet`;
    }
  }
  return undefined;
}
