/**
 * ServiceAccount admission, as Kubernetes' plugin of that name does it when a pod is created: the
 * account the pod names must exist (the `default` one may still be on its way: its controller
 * makes it as the namespace appears), and unless the pod or the account turns automounting off,
 * every container gets the account's token, the cluster CA and the namespace at
 * `/var/run/secrets/kubernetes.io/serviceaccount`, from one projected volume named
 * `kube-api-access-<random>`. It is a step of pod admission (`../object-admission/pod-strategy.ts`),
 * so pods created through the API and pods the controllers create get it alike.
 * Mirror pods (a node's own pods, annotated `kubernetes.io/config.mirror`) are left as they are,
 * but may not name an account, Secrets or a token projection: a node could otherwise make a pod
 * that lends it access (the node authorizer follows what its pods reference).
 */
import { randomInt } from 'node:crypto';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { ForbiddenError } from '../../core/errors.ts';
import { getIfExists } from '../../store/list-all.ts';
import type { ObjectReader } from '../../store/store.ts';
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
export function validateMirrorPod(pod: KubeObject): void {
  const spec = (pod.spec ?? {}) as PodSpecFields;
  if (spec.serviceAccountName) throw podForbidden(pod, 'a mirror pod may not reference service accounts');
  if (podReferences(pod).secrets.size > 0) throw podForbidden(pod, 'a mirror pod may not reference secrets');
  const projections = (spec.volumes ?? []).flatMap(
    (volume) => ((volume as { projected?: { sources?: { serviceAccountToken?: unknown }[] } }).projected?.sources ?? []) as { serviceAccountToken?: unknown }[],
  );
  if (projections.some((source) => source.serviceAccountToken)) throw podForbidden(pod, 'a mirror pod may not use ServiceAccountToken volume projections');
}

/** What admission does to a pod given its account as read (`undefined`: not found): the pod to write, or the 403. */
function withServiceAccount(pod: KubeObject, account: KubeObject | undefined, suffix: () => string): KubeObject | ForbiddenError {
  if (isMirrorPod(pod)) {
    try {
      validateMirrorPod(pod);
    } catch (error) {
      if (error instanceof ForbiddenError) return error;
      throw error;
    }
    return pod;
  }
  const spec = (pod.spec ?? {}) as PodSpecFields;
  const namespace = pod.metadata.namespace ?? '';
  const accountName = spec.serviceAccountName || 'default';
  if (!account && accountName !== 'default') {
    return podForbidden(pod, `error looking up service account ${namespace}/${accountName}: serviceaccount "${accountName}" not found`);
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

/**
 * Runs ServiceAccount admission on new pods of one namespace (a ReplicaSet's batch, or the one pod
 * of an API create); each account they name is read once. Returns, in order, the pod to write or
 * the 403 that refuses it.
 */
export async function admitPodsServiceAccounts(
  store: ObjectReader,
  namespace: string,
  pods: readonly KubeObject[],
  suffix: () => string = randomSuffix,
): Promise<(KubeObject | ForbiddenError)[]> {
  const accounts = new Map<string, Promise<KubeObject | undefined>>();
  const accountOf = (name: string) => {
    let account = accounts.get(name);
    if (!account) {
      account = getIfExists(store, types.serviceaccounts, namespace, name);
      accounts.set(name, account);
    }
    return account;
  };
  const admitted: (KubeObject | ForbiddenError)[] = [];
  for (const pod of pods) {
    const accountName = ((pod.spec ?? {}) as PodSpecFields).serviceAccountName || 'default';
    admitted.push(withServiceAccount(pod, isMirrorPod(pod) ? undefined : await accountOf(accountName), suffix));
  }
  return admitted;
}

/** Runs ServiceAccount admission on one pod about to be created; returns the pod to write or throws the 403. */
export async function admitPodServiceAccount(pod: KubeObject, store: ObjectReader, suffix: () => string = randomSuffix): Promise<KubeObject> {
  const [admitted] = await admitPodsServiceAccounts(store, pod.metadata.namespace ?? '', [pod], suffix);
  if (admitted === undefined) throw new Error('ServiceAccount admission returned no pod');
  if (admitted instanceof ForbiddenError) throw admitted;
  return admitted;
}
