/**
 * The kubelet's part of ServiceAccount tokens: for each projected volume with a
 * `serviceAccountToken` source that a container mounts, the agent asks the API for a token bound
 * to the pod (TokenRequest, as the pod's node: the node authorizer and NodeRestriction allow
 * exactly that), writes it with the CA (`kube-root-ca.crt`) and the namespace into a directory
 * of the pod, and rewrites the token before it gets old (at 80% of its life, or after 24 hours,
 * as the kubelet does), so a long-running container always finds a valid one.
 *
 * The directory is `<pods-dir>/<uid>/volumes/kubernetes.io~projected/<volume>`, among the pod's
 * other volumes (ADR 084), outside the agent's state dir, which pods cannot read. Containers here
 * are host processes without a mount namespace of their own, so they cannot find it at the
 * volume's `mountPath`: the process runtime rewrites the mount path to it (ADR 084), and the
 * agent names it in the container's environment (ADR 122).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ProjectedSources } from '../functions/domain/pods/service-account-volume.ts';
import type { Log } from '../functions/logging/log.ts';
import type { KubeObject } from '../schemas/meta.ts';
import { types } from '../schemas/registry.ts';
import type { CancelTimer, Clock } from './clock.ts';
import { isNotFound, type KubeClient } from './kube-client.ts';

/** 24 hours: the kubelet refreshes a token at least this often. */
const MAX_TOKEN_AGE_MS = 24 * 3600 * 1000;

const volumeSchema = z.looseObject({
  name: z.string(),
  projected: z
    .looseObject({
      defaultMode: z.number().int().optional(),
      sources: z.array(z.looseObject({})).optional(),
    })
    .optional(),
});
const podSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string(), namespace: z.string().default('default'), uid: z.string() }),
  spec: z.looseObject({
    serviceAccountName: z.string().optional(),
    volumes: z.array(volumeSchema).default([]),
    containers: z.array(z.looseObject({ name: z.string(), volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })).default([]) })),
    initContainers: z
      .array(z.looseObject({ name: z.string(), volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })).default([]) }))
      .default([]),
    ephemeralContainers: z
      .array(z.looseObject({ name: z.string(), volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })).default([]) }))
      .default([]),
  }),
});

/** A token volume that could not be filled: the container cannot start yet (the kubelet's FailedMount). */
export class TokenVolumeError extends Error {
  override name = 'TokenVolumeError';
}

interface TokenFile {
  readonly path: string;
  readonly audience?: string;
  readonly expirationSeconds: number;
  issuedAtMs: number;
  expiresAtMs: number;
  refresh?: CancelTimer;
}

interface PodVolumes {
  readonly dirs: Map<string, string>;
  readonly tokens: TokenFile[];
}

export interface ServiceAccountVolumesOptions {
  readonly client: KubeClient;
  /** Where pods' own directories go (the process runtime's pods dir, `defaultPodsDir`). */
  readonly podsDir: string;
  /** The CA the agent itself trusts the API with, written when the namespace has no `kube-root-ca.crt`. */
  readonly caPem?: string;
  readonly clock: Clock;
  readonly log: Log;
}

export class ServiceAccountVolumes {
  private readonly pods = new Map<string, PodVolumes>();

  constructor(private readonly options: ServiceAccountVolumesOptions) {}

  private podDir(uid: string): string {
    return join(this.options.podsDir, uid);
  }

  /**
   * Fills (once) the token volumes `container` mounts and returns their directories by mount path;
   * empty when it mounts none. Throws TokenVolumeError when the API refuses or lacks a part.
   */
  async prepare(raw: KubeObject, containerName: string): Promise<ReadonlyMap<string, string>> {
    const parsed = podSchema.safeParse(raw);
    if (!parsed.success) return new Map();
    const pod = parsed.data;
    const container = [...pod.spec.containers, ...pod.spec.initContainers, ...pod.spec.ephemeralContainers].find((c) => c.name === containerName);
    const mounts = new Map<string, string>();
    for (const mount of container?.volumeMounts ?? []) {
      const volume = pod.spec.volumes.find((v) => v.name === mount.name);
      const sources = (volume?.projected?.sources ?? []) as ProjectedSources['sources'] & object;
      if (!volume?.projected || !sources.some((source) => source.serviceAccountToken)) continue;
      mounts.set(mount.mountPath, await this.fill(pod, volume.name, sources, volume.projected.defaultMode ?? 0o644));
    }
    return mounts;
  }

  private async fill(pod: z.infer<typeof podSchema>, volumeName: string, sources: NonNullable<ProjectedSources['sources']>, mode: number): Promise<string> {
    const uid = pod.metadata.uid;
    const entry = this.pods.get(uid) ?? { dirs: new Map<string, string>(), tokens: [] };
    this.pods.set(uid, entry);
    const existing = entry.dirs.get(volumeName);
    if (existing) return existing;
    const dir = join(this.podDir(uid), 'volumes', 'kubernetes.io~projected', volumeName);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const source of sources) {
      if (source.serviceAccountToken) {
        const token: TokenFile = {
          path: join(dir, source.serviceAccountToken.path ?? 'token'),
          ...(source.serviceAccountToken.audience ? { audience: source.serviceAccountToken.audience } : {}),
          expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3600,
          issuedAtMs: 0,
          expiresAtMs: 0,
        };
        await this.writeToken(pod, token, mode);
        entry.tokens.push(token);
        this.scheduleRefresh(pod, token, mode);
      } else if (source.configMap) {
        await this.writeConfigMap(pod.metadata.namespace, dir, source.configMap, mode);
      } else if (source.downwardAPI) {
        for (const item of source.downwardAPI.items ?? []) {
          if (item.fieldRef?.fieldPath === 'metadata.namespace') writeFile(join(dir, item.path), pod.metadata.namespace, mode);
          else if (item.fieldRef?.fieldPath === 'metadata.name') writeFile(join(dir, item.path), pod.metadata.name, mode);
        }
      }
    }
    entry.dirs.set(volumeName, dir);
    return dir;
  }

  private async writeToken(pod: z.infer<typeof podSchema>, token: TokenFile, mode: number): Promise<void> {
    const account = pod.spec.serviceAccountName || 'default';
    let response: KubeObject;
    try {
      response = await this.options.client.createSubresource(types.serviceaccounts, pod.metadata.namespace, account, 'token', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: {},
        spec: {
          audiences: token.audience ? [token.audience] : [],
          expirationSeconds: token.expirationSeconds,
          boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name, uid: pod.metadata.uid },
        },
      });
    } catch (error) {
      throw new TokenVolumeError(`failed to fetch token: ${error instanceof Error ? error.message : String(error)}`);
    }
    const status = (response.status ?? {}) as { token?: string; expirationTimestamp?: string };
    if (!status.token) throw new TokenVolumeError('failed to fetch token: the API returned no token');
    writeFile(token.path, status.token, mode);
    token.issuedAtMs = this.options.clock.now();
    token.expiresAtMs = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : token.issuedAtMs + token.expirationSeconds * 1000;
  }

  private scheduleRefresh(pod: z.infer<typeof podSchema>, token: TokenFile, mode: number): void {
    const lifetime = Math.max(0, token.expiresAtMs - token.issuedAtMs);
    const dueAt = token.issuedAtMs + Math.min(lifetime * 0.8, MAX_TOKEN_AGE_MS);
    token.refresh = this.options.clock.after(dueAt - this.options.clock.now(), () => {
      if (!this.pods.has(pod.metadata.uid)) return;
      this.writeToken(pod, token, mode)
        .catch((error: unknown) => {
          // Try again soon; the old token stays until it expires.
          token.issuedAtMs = this.options.clock.now() - lifetime * 0.8 + 10_000;
          this.options.log.warn('service account token refresh failed', { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, error: String(error) });
        })
        .finally(() => {
          if (this.pods.has(pod.metadata.uid)) this.scheduleRefresh(pod, token, mode);
        });
    });
  }

  private async writeConfigMap(
    namespace: string,
    dir: string,
    source: NonNullable<NonNullable<ProjectedSources['sources']>[number]['configMap']>,
    mode: number,
  ) {
    let data: Record<string, string> | undefined;
    try {
      data = ((await this.options.client.get(types.configmaps, namespace, source.name ?? '')).data ?? {}) as Record<string, string>;
    } catch (error) {
      if (!isNotFound(error)) throw new TokenVolumeError(`failed to read configmap "${source.name}": ${String(error)}`);
    }
    // The CA of a cluster that publishes none is the one the agent trusts the API with.
    if (!data && source.name === 'kube-root-ca.crt' && this.options.caPem) data = { 'ca.crt': this.options.caPem };
    if (!data) {
      if (source.optional) return;
      throw new TokenVolumeError(`configmap "${source.name}" not found`);
    }
    const items = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = data[item.key];
      if (value === undefined) {
        if (source.optional) continue;
        throw new TokenVolumeError(`configmap references non-existent config key: ${item.key}`);
      }
      writeFile(join(dir, item.path), value, mode);
    }
  }

  /** The pod is gone: stop refreshing and remove its volumes. */
  release(uid: string): void {
    const entry = this.pods.get(uid);
    this.pods.delete(uid);
    for (const token of entry?.tokens ?? []) token.refresh?.();
    rmSync(this.podDir(uid), { recursive: true, force: true });
  }

  close(): void {
    for (const entry of this.pods.values()) for (const token of entry.tokens) token.refresh?.();
    this.pods.clear();
  }
}

/** Replaces a file whole (a reader never sees half a token). */
function writeFile(path: string, content: string, mode: number): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode });
  renameSync(temporary, path);
}
