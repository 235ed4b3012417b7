/**
 * The ResourceQuota controller: keeps each quota's `status.hard` and `status.used` in step with
 * the namespace's objects, so `kubectl describe quota` and `kubectl get quota` show real usage.
 * Keys come from quota changes and from changes of the objects quotas count (all quotas of the
 * namespace: the key with an empty name).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, resourceTypes, types } from '../../../schemas/registry.ts';
import { sameJson } from '../../../schemas/structural-equality.ts';
import type { Controller, ReconcileKey } from '../../controller-runtime/controller.ts';
import { countNames, countsAgainstQuota, formatQuantity, usageOf } from '../../domain/object-admission/resource-usage.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';

const component = 'resourcequota-controller';
const countedTypes = resourceTypes.filter((t) => t.namespaced && t.persisted && t.id !== types.events.id);

/** The types whose objects a quota name counts. */
function typesCounting(name: string): ResourceType[] {
  if (/^(requests\.|limits\.)?(cpu|memory|ephemeral-storage)$/.test(name)) return [types.pods];
  if (name === 'requests.storage') return [types.persistentvolumeclaims];
  return countedTypes.filter((t) => countNames(t).includes(name));
}

export const resourceQuotaController: Controller = {
  name: component,
  resyncTypes: [types.resourcequotas],
  resyncChangesOnly: true,
  keysFor(change): ReconcileKey[] {
    if (!change.namespace) return [];
    if (change.typeId === types.resourcequotas.id) return [{ typeId: types.resourcequotas.id, namespace: change.namespace, name: change.name }];
    if (change.typeId === types.events.id || change.typeId === types.leases.id) return [];
    // Usage changes when an object comes or goes, or a pod finishes; other updates change nothing counted.
    const phase = (object: KubeObject | undefined) => (object?.status as { phase?: string } | undefined)?.phase;
    const counted = !change.oldObject || !change.newObject || (change.typeId === types.pods.id && phase(change.oldObject) !== phase(change.newObject));
    return counted ? [{ typeId: types.resourcequotas.id, namespace: change.namespace, name: '' }] : [];
  },
  async reconcile(key, ctx) {
    const quotas =
      key.name === ''
        ? await listAll(ctx.store, types.resourcequotas, { namespace: key.namespace })
        : [await getIfExists(ctx.store, types.resourcequotas, key.namespace, key.name)].filter((q): q is KubeObject => q !== undefined);
    if (quotas.length === 0) return;
    const listed = new Map<string, KubeObject[]>();
    const objectsOf = async (type: ResourceType) => {
      const cached = listed.get(type.id);
      if (cached) return cached;
      const objects = (await listAll(ctx.store, type, { namespace: key.namespace })).filter(countsAgainstQuota);
      listed.set(type.id, objects);
      return objects;
    };
    for (const quota of quotas) {
      if (quota.metadata.deletionTimestamp) continue;
      const hard = ((quota.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {}) as Record<string, string>;
      const used: Record<string, string> = {};
      for (const name of Object.keys(hard)) {
        let total = 0;
        for (const type of typesCounting(name)) {
          for (const object of await objectsOf(type)) total += usageOf(type, object, [name]).get(name) ?? 0;
        }
        used[name] = formatQuantity(name, total);
      }
      const status = { hard: { ...hard }, used };
      if (!sameJson(quota.status, status)) await ctx.admission.update(types.resourcequotas, { ...quota, status }, quota);
    }
    return;
  },
};
