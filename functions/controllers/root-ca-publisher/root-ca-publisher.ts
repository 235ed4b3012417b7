/**
 * The root CA publisher: every active namespace has a ConfigMap `kube-root-ca.crt` with the CA
 * that signed the API server's certificate (`ca.crt`), which the ServiceAccount volume of every
 * pod projects so in-cluster clients can verify the API (Kubernetes' root-ca-cert-publisher).
 * Only where the API has a CA of its own (locally); a deployed API behind a public certificate
 * has nothing to publish.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { AlreadyExistsError, ConflictError, ForbiddenError, NotFoundError } from '../../core/errors.ts';
import { getIfExists } from '../../store/list-all.ts';

export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';
const description = 'The CA bundle that verifies the API server from inside the cluster (the ServiceAccount volume of every pod holds it as ca.crt).';

export function rootCaPublisher(caPem: string): Controller {
  return {
    name: 'root-ca-cert-publisher',
    resyncTypes: [types.namespaces],
    keysFor(change: ObjectChange): ReconcileKey[] {
      if (change.typeId === types.namespaces.id && change.newObject) return [{ typeId: types.namespaces.id, name: change.name }];
      if (change.typeId === types.configmaps.id && change.name === ROOT_CA_CONFIG_MAP && change.namespace) {
        return [{ typeId: types.namespaces.id, name: change.namespace }];
      }
      return [];
    },
    async reconcile(key, ctx) {
      const namespace = await getIfExists(ctx.store, types.namespaces, undefined, key.name);
      if (!namespace || namespace.metadata.deletionTimestamp) return undefined;
      const existing = await getIfExists(ctx.store, types.configmaps, key.name, ROOT_CA_CONFIG_MAP);
      const data = { 'ca.crt': caPem };
      try {
        if (!existing) {
          const configMap: KubeObject = {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: ROOT_CA_CONFIG_MAP, namespace: key.name, annotations: { 'kubernetes.io/description': description } },
            data,
          };
          await ctx.admission.create(types.configmaps, configMap);
        } else if ((existing.data as Record<string, string> | undefined)?.['ca.crt'] !== caPem) {
          await ctx.admission.update(types.configmaps, { ...existing, data }, existing);
        }
      } catch (error) {
        // A concurrent writer or a namespace going away: the next change or resync looks again.
        if (
          !(error instanceof AlreadyExistsError) &&
          !(error instanceof ConflictError) &&
          !(error instanceof NotFoundError) &&
          !(error instanceof ForbiddenError)
        )
          throw error;
      }
      return undefined;
    },
  };
}
