/** The namespaces every Kubernetes cluster has from the start. */

import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { AlreadyExistsError } from '../../core/errors.ts';
import { createAdmission } from '../../domain/object-admission/admission.ts';
import type { ObjectStore } from '../../store/store.ts';

export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

export function namespaceObject(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** Creates the system namespaces that are missing; leaves existing ones alone. */
export async function ensureSystemNamespaces(store: ObjectStore): Promise<void> {
  const admission = createAdmission({ store });
  for (const name of systemNamespaces) {
    try {
      await admission.create(types.namespaces, namespaceObject(name));
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  }
}
