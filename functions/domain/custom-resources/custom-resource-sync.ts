/**
 * How an API instance learns which custom resources exist (docs/adr/179). Every instance (a
 * Lambda instance is its own process) keeps the Established CRDs in the process-wide registry
 * and, before a request that may depend on them (discovery, OpenAPI, any group that is not a
 * built-in one), asks the store for the CRD type's current revision: one read of its revision
 * counter when nothing changed, a list of the CRDs when something did. So a CRD appears, changes
 * and goes on every instance with its next such request, with no restart and no wait.
 */
import { setCustomResourceDefinitions } from '../../../schemas/custom-resource-registry.ts';
import { types } from '../../../schemas/registry.ts';
import { listAll } from '../../store/list-all.ts';
import type { ObjectReader } from '../../store/store.ts';

export interface CustomResourceSync {
  /** Brings the registry up to the store's CRDs, if they changed since the last call. */
  (): Promise<void>;
  /** Forgets the revision seen last, so the next call lists the CRDs again. */
  invalidate(): void;
}

export function customResourceSync(store: ObjectReader): CustomResourceSync {
  let seen: string | undefined;
  let running: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    const revision = await store.currentRevision(types.customresourcedefinitions);
    if (revision === seen) return;
    const crds = await listAll(store, types.customresourcedefinitions);
    setCustomResourceDefinitions(crds);
    seen = revision;
  }

  const sync = (() => {
    // Concurrent requests share one refresh.
    running ??= refresh().finally(() => {
      running = undefined;
    });
    return running;
  }) as CustomResourceSync;
  sync.invalidate = () => {
    seen = undefined;
  };
  return sync;
}

const syncs = new WeakMap<ObjectReader, CustomResourceSync>();

/** The one sync of a store in this process, for controllers that need the custom kinds (the garbage collector). */
export function syncCustomResourcesOf(store: ObjectReader): Promise<void> {
  let sync = syncs.get(store);
  if (!sync) {
    sync = customResourceSync(store);
    syncs.set(store, sync);
  }
  return sync();
}
