/**
 * ServiceAccount admission, as Kubernetes' plugin of that name does it when a pod is created: the
 * account the pod names must exist (the `default` one may still be on its way: its controller
 * makes it as the namespace appears), and unless the pod or the account turns automounting off,
 * every container gets the account's token, the cluster CA and the namespace at
 * `/var/run/secrets/kubernetes.io/serviceaccount`, from one projected volume named
 * `kube-api-access-<random>`. The API and the controllers that create pods run it alike.
 * Mirror pods (a node's own pods, annotated `kubernetes.io/config.mirror`) are left as they are,
 * but may not name an account, Secrets or a token projection: a node could otherwise make a pod
 * that lends it access (the node authorizer follows what its pods reference).
 */
import { randomInt } from 'node:crypto';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { ForbiddenError } from '../../core/errors.ts';
import { getIfExists } from '../../store/list-all.ts';
import type { ObjectStore } from '../../store/store.ts';
import { podReferences } from '../authorization/node-authorizer.ts';
import { SERVICE_ACCOUNT_MOUNT_PATH, SERVICE_ACCOUNT_VOLUME_PREFIX, serviceAccountVolume } from './service-account-volume.ts';

/** The characters Kubernetes' random suffixes use: no vowels, no look-alikes. */
const suffixAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(length = 5): string {
  let suffix = '';
  for (let i = 0; i < length; i++) suffix += suffixAlphabet[randomInt(suffixAlphabet.length)];
  return suffix;
}

interface Mount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
}
interface ContainerFields {
  readonly volumeMounts?: readonly Mount[];
  readonly [field: string]: unknown;
}
interface PodSpecFields {
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly containers?: readonly ContainerFields[];
  readonly initContainers?: readonly ContainerFields[];
  readonly volumes?: readonly { readonly name: string }[];
  readonly imagePullSecrets?: readonly { readonly name?: string }[];
  readonly [field: string]: unknown;
}

const mountsServiceAccountPath = (container: ContainerFields) => (container.volumeMounts ?? []).some((mount) => mount.mountPath === SERVICE_ACCOUNT_MOUNT_PATH);

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export function isMirrorPod(pod: KubeObject | undefined): boolean {
  return pod?.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined;
}

function podForbidden(pod: KubeObject, message: string): ForbiddenError {
  const subject = pod.metadata.name ? `pods "${pod.metadata.name}" is forbidden` : 'pods is forbidden';
  return new ForbiddenError(`${subject}: ${message}`, { name: pod.metadata.name ?? '', group: '', kind: 'pods' });
}

/** What Kubernetes' ServiceAccount admission refuses in a mirror pod, which it otherwise leaves alone. */
function validateMirrorPod(pod: KubeObject): void {
  const spec = (pod.spec ?? {}) as PodSpecFields;
  if (spec.serviceAccountName) throw podForbidden(pod, 'a mirror pod may not reference service accounts');
  if (podReferences(pod).secrets.size > 0) throw podForbidden(pod, 'a mirror pod may not reference secrets');
  const projections = (spec.volumes ?? []).flatMap(
    (volume) => ((volume as { projected?: { sources?: { serviceAccountToken?: unknown }[] } }).projected?.sources ?? []) as { serviceAccountToken?: unknown }[],
  );
  if (projections.some((source) => source.serviceAccountToken)) throw podForbidden(pod, 'a mirror pod may not use ServiceAccountToken volume projections');
}

/** Runs ServiceAccount admission on a pod about to be created; returns the pod to write. */
export async function admitPodServiceAccount(pod: KubeObject, store: ObjectStore, suffix: () => string = randomSuffix): Promise<KubeObject> {
  if (isMirrorPod(pod)) {
    validateMirrorPod(pod);
    return pod;
  }
  const spec = (pod.spec ?? {}) as PodSpecFields;
  const namespace = pod.metadata.namespace ?? '';
  const accountName = spec.serviceAccountName || 'default';
  const account = await getIfExists(store, types.serviceaccounts, namespace, accountName);
  if (!account && accountName !== 'default') {
    throw podForbidden(pod, `error looking up service account ${namespace}/${accountName}: serviceaccount "${accountName}" not found`);
  }
  let next: PodSpecFields = { ...spec, serviceAccountName: accountName, serviceAccount: accountName };
  const accountPullSecrets = (account?.imagePullSecrets as { name?: string }[] | undefined) ?? [];
  if ((spec.imagePullSecrets ?? []).length === 0 && accountPullSecrets.length > 0) next = { ...next, imagePullSecrets: accountPullSecrets };

  const automount = spec.automountServiceAccountToken ?? (account?.automountServiceAccountToken as boolean | undefined) ?? true;
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  if (automount && !containers.some(mountsServiceAccountPath)) {
    const volumeName = `${SERVICE_ACCOUNT_VOLUME_PREFIX}${suffix()}`;
    const mount: Mount = { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
    const withMount = (container: ContainerFields): ContainerFields => ({ ...container, volumeMounts: [...(container.volumeMounts ?? []), mount] });
    next = {
      ...next,
      volumes: [...(spec.volumes ?? []), serviceAccountVolume(volumeName) as { name: string }],
      ...(spec.containers ? { containers: spec.containers.map(withMount) } : {}),
      ...(spec.initContainers ? { initContainers: spec.initContainers.map(withMount) } : {}),
    };
  }
  return { ...pod, spec: next };
}
