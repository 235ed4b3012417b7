/**
 * A cluster's store for fast unit tests: the in-memory `ObjectStore` adapter with the system
 * namespaces, the one admission path over it, and a count of the store calls made, so a test
 * can say how many round trips a step costs.
 *
 *   const world = await memoryCluster();
 *   await world.admission.create(types.pods, pod);
 *   assert.equal(world.calls.get, 1);
 */
import type { ControllerContext } from '../../functions/controller-runtime/controller.ts';
import { type EventSpec, memoryEventRecorder } from '../../functions/controller-runtime/events.ts';
import { contextOf } from '../../functions/controller-runtime/run-controllers.ts';
import { ensureSystemNamespaces } from '../../functions/controllers/namespaces/system-namespaces.ts';
import { type Admission, type AdmissionSettings, createAdmission } from '../../functions/domain/object-admission/admission.ts';
import { createMemoryStore, type MemoryStore } from '../../functions/store/memory-store.ts';
import type { ObjectStore } from '../../functions/store/store.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';

type StoreMethod = keyof ObjectStore;

export interface MemoryCluster {
  /** The store as the code under test sees it: every call is counted. */
  readonly store: ObjectStore;
  /** The store underneath, for the test's own reads and writes (not counted). */
  readonly raw: MemoryStore;
  readonly admission: Admission;
  /** Calls made through `store` since the last `resetCalls()`, by method. */
  readonly calls: Record<StoreMethod, number>;
  resetCalls(): void;
  /** Creates an active namespace. */
  namespace(name: string): Promise<KubeObject>;
  /**
   * What a controller gets for one batch, as the hosts make it (its own admission over the
   * counted store), with events kept in memory and the clock pinned to `now` when given.
   */
  controllerContext(now?: () => Date): ControllerContext & { readonly recorded: EventSpec[] };
  close(): void;
}

const methods: readonly StoreMethod[] = ['get', 'list', 'create', 'update', 'delete', 'batch', 'watch', 'currentRevision'];

export async function memoryCluster(
  options: { readonly settings?: Partial<AdmissionSettings>; readonly namespaceCacheMs?: number; readonly now?: () => Date } = {},
): Promise<MemoryCluster> {
  const raw = createMemoryStore({ pollIntervalMs: 20, ...(options.now ? { now: options.now } : {}) });
  await ensureSystemNamespaces(raw);
  const calls = Object.fromEntries(methods.map((method) => [method, 0])) as Record<StoreMethod, number>;
  const store = new Proxy(raw, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || !methods.includes(property as StoreMethod)) return value;
      return (...args: unknown[]) => {
        calls[property as StoreMethod]++;
        return value.apply(target, args);
      };
    },
  }) as ObjectStore;
  const admission = createAdmission({
    store,
    ...(options.settings ? { settings: options.settings } : {}),
    ...(options.namespaceCacheMs !== undefined ? { namespaceCacheMs: options.namespaceCacheMs } : {}),
  });
  return {
    store,
    raw,
    admission,
    calls,
    resetCalls() {
      for (const method of methods) calls[method] = 0;
    },
    controllerContext(now) {
      const events = memoryEventRecorder();
      const context = contextOf({
        store,
        controllers: [],
        events,
        ...(now ? { now } : {}),
        ...(options.settings ? { admissionSettings: options.settings } : {}),
      });
      return { ...context, recorded: events.recorded };
    },
    namespace: (name) => raw.create(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } }),
    close: () => raw.close(),
  };
}
