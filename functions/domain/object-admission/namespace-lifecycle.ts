/**
 * kube-apiserver's NamespaceLifecycle admission: an object cannot be created in a namespace that
 * does not exist (404) or is being terminated (403, cause `NamespaceTerminating`), and the
 * namespaces Kubernetes calls immortal (`default`, `kube-system`, `kube-public`) cannot be
 * deleted (403 `this namespace may not be deleted`).
 *
 * The API server reads the namespace on every create. Controllers may trust a namespace they
 * read a moment ago (`cacheMs`), as kube-apiserver trusts its informer's copy: a namespace
 * marked for deletion within that window can still receive an object, which the namespace
 * controller then removes with the rest. A namespace found missing or terminating is never cached.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';
import { BadRequestError, ForbiddenError } from '../../core/errors.ts';
import type { ObjectStore } from '../../store/store.ts';

/** The namespaces NamespaceLifecycle never lets go (kube-node-lease may go; it is made again). */
export const immortalNamespaces: readonly string[] = ['default', 'kube-system', 'kube-public'];

export interface NamespaceLifecycle {
  /** Throws unless objects of `type` may be created in `namespace` now. */
  checkCreate(type: ResourceType, namespace: string | undefined): Promise<void>;
}

/** Throws unless the object of `type` named `name` may be deleted (only immortal namespaces may not). */
export function checkDelete(type: ResourceType, name: string): void {
  if (type.id !== types.namespaces.id || !immortalNamespaces.includes(name)) return;
  throw new ForbiddenError(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, group: '', kind: 'namespaces' });
}

export function namespaceLifecycle(store: ObjectStore, options: { readonly cacheMs: number; readonly clock?: () => number }): NamespaceLifecycle {
  const clock = options.clock ?? Date.now;
  const seen = new Map<string, { readonly namespace: KubeObject; readonly at: number }>();

  async function read(name: string): Promise<KubeObject> {
    const cached = seen.get(name);
    if (cached && clock() - cached.at < options.cacheMs) return cached.namespace;
    const namespace = await store.get(types.namespaces, undefined, name);
    // Only a live namespace is trusted for a while: one being terminated may be recreated soon after.
    if (options.cacheMs > 0 && !namespace.metadata.deletionTimestamp) seen.set(name, { namespace, at: clock() });
    return namespace;
  }

  return {
    async checkCreate(type, name) {
      if (!type.namespaced) return;
      if (name === undefined || name === '') throw new BadRequestError('a namespace is required to create this object');
      const namespace = await read(name);
      if (!namespace.metadata.deletionTimestamp) return;
      throw new ForbiddenError(
        `${type.plural}${type.group ? `.${type.group}` : ''} is forbidden: unable to create new content in namespace ${name} because it is being terminated`,
        { causes: [{ reason: 'NamespaceTerminating', message: `namespace ${name} is being terminated`, field: 'metadata.namespace' }] },
      );
    },
  };
}
