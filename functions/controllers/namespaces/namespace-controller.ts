/**
 * Namespace lifecycle: a namespace the API marked for deletion (phase Terminating) is emptied —
 * every object in it deleted the way its kind is deleted — and removed once nothing is left.
 * Keys come from namespace changes and from objects leaving a namespace, so the last object's
 * removal finishes the namespace.
 */

import { parseCustomResourceDefinition, storageTypeOf } from '../../../schemas/custom-resource-definition.ts';
import { persistedTypes, type ResourceType, types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { NotFoundError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { type NamespaceContent, planNamespaceCleanup } from './plan-namespace-cleanup.ts';

const component = 'namespace-controller';
const namespacedTypes = persistedTypes.filter((t) => t.namespaced);

const ignoreNotFound = (error: unknown) => {
  if (!(error instanceof NotFoundError)) throw error;
};

export const namespaceController: Controller = {
  name: component,
  resyncTypes: [types.namespaces],
  keysFor(change: ObjectChange): ReconcileKey[] {
    if (change.typeId === types.namespaces.id) {
      return change.newObject?.metadata.deletionTimestamp ? [{ typeId: types.namespaces.id, name: change.name }] : [];
    }
    if (change.namespace && !change.newObject && change.typeId !== types.events.id) return [{ typeId: types.namespaces.id, name: change.namespace }];
    return [];
  },
  async reconcile(key, ctx) {
    const namespace = await getIfExists(ctx.store, types.namespaces, undefined, key.name);
    if (!namespace?.metadata.deletionTimestamp) return undefined;
    // Custom resources too: the namespaced kinds of every CRD (its storage version's type).
    const customTypes = (await listAll(ctx.store, types.customresourcedefinitions))
      .map(parseCustomResourceDefinition)
      .map((crd) => (crd ? storageTypeOf(crd) : undefined))
      .filter((type) => type?.namespaced === true) as ResourceType[];
    const lists = await Promise.all(
      [...namespacedTypes, ...customTypes].map(async (type) => ({ type, items: await listAll(ctx.store, type, { namespace: key.name }) })),
    );
    const content: NamespaceContent[] = lists.flatMap(({ type, items }) => items.map((object) => ({ type, object })));
    const plan = planNamespaceCleanup(namespace, content);

    let stillThere = plan.waitingFor;
    for (const { type, object, options } of plan.delete) {
      const result = await ctx.admission.delete(type, object, options).catch(ignoreNotFound);
      if (result && !result.removed) stillThere++;
    }
    if (!plan.removeNamespace) {
      // Pods finishing their grace period and finalizers still to run: their removal keys us
      // again; the requeue covers objects whose controllers recreate them meanwhile.
      return { requeueAfterSeconds: stillThere > 0 ? 5 : 1 };
    }
    for (const { type, object } of content.filter((c) => c.type.id === types.events.id)) {
      await ctx.admission.delete(type, object, { gracePeriodSeconds: 0 }).catch(() => undefined);
    }
    // The namespace is empty: its deletion, started by the API, is finished here.
    await ctx.admission.delete(types.namespaces, namespace, { finalized: true }).catch(ignoreNotFound);
    ctx.log.info('namespace removed', { namespace: key.name });
    return undefined;
  },
};
