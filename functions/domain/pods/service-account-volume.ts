/**
 * The projected volume that carries a pod's ServiceAccount token, the cluster CA and the
 * namespace, as Kubernetes' ServiceAccount admission writes it and the kubelet fills it. Shared
 * by the admission that adds it and the agent that fills it.
 */

export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** What Kubernetes asks for: one hour and seven seconds, so refreshes are told apart from user requests. */
export const SERVICE_ACCOUNT_TOKEN_SECONDS = 3607;
export const SERVICE_ACCOUNT_VOLUME_PREFIX = 'kube-api-access-';
export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';

/** The projected volume of a pod's ServiceAccount token, CA and namespace. */
export function serviceAccountVolume(name: string): Record<string, unknown> {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: SERVICE_ACCOUNT_TOKEN_SECONDS, path: 'token' } },
        { configMap: { name: ROOT_CA_CONFIG_MAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

export interface ProjectedSources {
  readonly sources?: readonly {
    readonly serviceAccountToken?: { readonly audience?: string; readonly expirationSeconds?: number; readonly path?: string };
    readonly configMap?: { readonly name?: string; readonly items?: readonly { readonly key: string; readonly path: string }[]; readonly optional?: boolean };
    readonly downwardAPI?: { readonly items?: readonly { readonly path: string; readonly fieldRef?: { readonly fieldPath?: string } }[] };
  }[];
}
