/**
 * The allocator's repair loop as a controller (Kubernetes runs the same loop in the apiserver):
 * after Service changes and on every resync it frees ClusterIP/NodePort records no Service holds
 * (an API call that died between allocating and writing, a dry run, a failed write) and restores
 * records for values Services hold. Every Service change maps to one key, so a batch or a resync
 * costs one pass: a list of the Services and of the records.
 */

import { types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { repairServiceAllocations } from '../../domain/services/service-allocation.ts';

const component = 'service-allocation-repair';
const onlyKey: ReconcileKey = { typeId: types.services.id, name: '*allocations*' };

export function serviceAllocationRepairController(options: { readonly minAgeSeconds?: number } = {}): Controller {
  return {
    name: component,
    resyncTypes: [types.services],
    keysFor(change: ObjectChange): ReconcileKey[] {
      return change.typeId === types.services.id ? [onlyKey] : [];
    },
    async reconcile(_key, ctx) {
      // The records are the allocator's own bookkeeping, written below admission (as kube-apiserver's repair loop writes storage).
      const result = await repairServiceAllocations(ctx.admission.store, types.services, ctx.now(), options.minAgeSeconds ?? 120);
      if (result.released.length > 0 || result.restored.length > 0) {
        ctx.log.info('service allocations repaired', { released: result.released, restored: result.restored });
      }
    },
  };
}
