/**
 * Namespaces: a delete only marks the namespace (`status.phase: Terminating` and a
 * deletionTimestamp); the namespace controller empties it and then finishes the deletion
 * (`finalized`). Deleting a namespace already being terminated changes nothing.
 */
import { types } from '../../../schemas/registry.ts';
import type { KindStrategy } from './kind-strategy.ts';

export const namespaceStrategy: KindStrategy = {
  async delete(store, namespace, options) {
    const name = namespace.metadata.name ?? '';
    const { finalized, ...asked } = options;
    if (namespace.metadata.deletionTimestamp) {
      if (!finalized) return { object: namespace, removed: false };
      return store.delete(types.namespaces, undefined, name, { ...asked, gracePeriodSeconds: 0 });
    }
    const terminating = await store.update(types.namespaces, { ...namespace, status: { ...(namespace.status as object), phase: 'Terminating' } });
    return store.delete(types.namespaces, undefined, name, { ...asked, mark: true, preconditions: { uid: terminating.metadata.uid } });
  },
};
