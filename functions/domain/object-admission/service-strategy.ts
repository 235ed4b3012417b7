/**
 * Services: a ClusterIP and NodePorts are claimed around the write (records created before it,
 * freed when it fails; a dry run claims and frees at once) and freed when the Service is
 * removed (docs/adr/090-service-allocation-records.md). An update that changes the type drops
 * what the new type has no use for and the user left unchanged (`service-type-change.ts`).
 */
import { types } from '../../../schemas/registry.ts';
import { allocateService, releaseService, writeServiceWithAllocations } from '../services/service-allocation.ts';
import { dropTypeDependentFields } from '../services/service-type-change.ts';
import type { KindStrategy } from './kind-strategy.ts';

export const serviceStrategy: KindStrategy = {
  prepareForUpdate: (service, old) => dropTypeDependentFields(service, old),
  async aroundWrite({ store, dryRun, settings }, service, old, write) {
    const ranges = settings.serviceCidr ? { serviceCidr: settings.serviceCidr } : {};
    if (!dryRun) return writeServiceWithAllocations(store, service, old, write, ranges);
    const allocated = await allocateService(store, service, old, ranges);
    await releaseService(store, allocated, old);
    return allocated;
  },
  async delete(store, service, options) {
    const { finalized: _finalized, ...asked } = options;
    const result = await store.delete(types.services, service.metadata.namespace, service.metadata.name ?? '', asked);
    if (result.removed) await releaseService(store, result.object);
    return result;
  },
};
