/**
 * CustomResourceDefinitions: a delete marks the CRD and adds the
 * `customresourcecleanup.apiextensions.k8s.io` finalizer, as kube-apiserver's CRD storage does; the
 * CRD controller then deletes every object of its kind and removes the finalizer, which removes
 * the CRD. A second delete while it terminates changes nothing.
 */
import { CUSTOM_RESOURCE_CLEANUP_FINALIZER } from '../../../schemas/custom-resource-definition.ts';
import { types } from '../../../schemas/registry.ts';
import type { KindStrategy } from './kind-strategy.ts';

export const customResourceDefinitionStrategy: KindStrategy = {
  async delete(store, crd, options) {
    const { finalized: _finalized, gracePeriodSeconds: _grace, ...asked } = options;
    if (crd.metadata.deletionTimestamp) return store.delete(types.customresourcedefinitions, undefined, crd.metadata.name ?? '', asked);
    const finalizers = crd.metadata.finalizers ?? [];
    return store.delete(types.customresourcedefinitions, undefined, crd.metadata.name ?? '', {
      ...asked,
      addFinalizers: [...(asked.addFinalizers ?? []), ...(finalizers.includes(CUSTOM_RESOURCE_CLEANUP_FINALIZER) ? [] : [CUSTOM_RESOURCE_CLEANUP_FINALIZER])],
      preconditions: { uid: crd.metadata.uid, ...(asked.preconditions ?? {}) },
    });
  },
};
