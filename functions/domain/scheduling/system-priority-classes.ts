/**
 * The PriorityClasses every Kubernetes cluster has from the start (`system-node-critical`,
 * `system-cluster-critical`): created by the hosts at start, as kube-apiserver's bootstrap does,
 * and left alone when they exist.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { systemPriorityClasses } from '../../../schemas/priority-class.ts';
import { types } from '../../../schemas/registry.ts';
import { AlreadyExistsError } from '../../core/errors.ts';
import type { ObjectStore } from '../../store/store.ts';
import { createAdmission } from '../object-admission/admission.ts';

export async function ensureSystemPriorityClasses(store: ObjectStore): Promise<void> {
  const admission = createAdmission({ store });
  for (const priorityClass of systemPriorityClasses) {
    try {
      await admission.create(types.priorityclasses, { ...priorityClass, apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass' } as KubeObject);
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  }
}
