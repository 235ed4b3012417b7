/**
 * The CustomResourceDefinition controller, kube-apiserver's naming, establishing and finalizing
 * controllers in one: a new or changed CRD gets its accepted names and the `NamesAccepted` and
 * `Established` conditions (the API serves the kind from then on); a deleted CRD (marked, with
 * the `customresourcecleanup.apiextensions.k8s.io` finalizer) has every object of its kind
 * deleted, then loses the finalizer, which removes it. Keys come from CRD changes and from
 * custom resources leaving, so the last object's removal finishes the CRD.
 */
import {
  CUSTOM_RESOURCE_CLEANUP_FINALIZER,
  type CustomResourceDefinition,
  parseCustomResourceDefinition,
  storageTypeOf,
} from '../../../schemas/custom-resource-definition.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { isBuiltInGroup, types } from '../../../schemas/registry.ts';
import { sameJson } from '../../../schemas/structural-equality.ts';
import type { Controller, ControllerContext, ReconcileResult } from '../../controller-runtime/controller.ts';
import { isApiError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import { conditionsOf, planCrdStatus, withCondition } from './plan-crd-status.ts';

const crdType = types.customresourcedefinitions;
/** How soon a CRD whose objects are still held by their finalizers is looked at again. */
const cleanupRetrySeconds = 2;

function crdKey(name: string) {
  return { typeId: crdType.id, name };
}

async function cleanUp(object: KubeObject, crd: CustomResourceDefinition, ctx: ControllerContext): Promise<ReconcileResult | undefined> {
  if (!(object.metadata.finalizers ?? []).includes(CUSTOM_RESOURCE_CLEANUP_FINALIZER)) return undefined;
  const type = storageTypeOf(crd);
  const items = type ? await listAll(ctx.store, type) : [];
  let current = object;
  const time = ctx
    .now()
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  const terminating = withCondition(conditionsOf(crd), {
    type: 'Terminating',
    status: 'True',
    lastTransitionTime: time,
    reason: items.length > 0 ? 'InstanceDeletionInProgress' : 'InstanceDeletionCompleted',
    message: items.length > 0 ? 'CustomResource deletion is in progress' : 'removed all instances',
  });
  if (!sameJson(terminating, crd.status?.conditions ?? [])) {
    current = await ctx.admission.update(crdType, { ...object, status: { ...(object.status as object), conditions: terminating } }, object);
  }
  if (type && items.length > 0) {
    let remaining = 0;
    for (const item of items) {
      try {
        const result = await ctx.admission.delete(type, item);
        if (!result.removed) remaining++;
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
      }
    }
    if (remaining > 0) {
      ctx.log.info('custom resources still finalizing', { crd: crd.metadata.name, remaining });
      return { requeueAfterSeconds: cleanupRetrySeconds };
    }
  }
  const finalizers = (current.metadata.finalizers ?? []).filter((finalizer) => finalizer !== CUSTOM_RESOURCE_CLEANUP_FINALIZER);
  await ctx.admission.update(crdType, { ...current, metadata: { ...current.metadata, finalizers } }, current);
  return undefined;
}

export const customResourceDefinitionController: Controller = {
  name: 'customresourcedefinition-controller',
  resyncTypes: [crdType],
  keysFor(change) {
    if (change.typeId === crdType.id) return [crdKey(change.name)];
    // A custom resource gone: its CRD may be waiting for its last object (`<group>/<plural>` names `<plural>.<group>`).
    const [group, plural] = change.typeId.split('/');
    if (!change.newObject && group && plural && !isBuiltInGroup(group)) return [crdKey(`${plural}.${group}`)];
    return [];
  },
  async reconcile(key, ctx) {
    const object = await getIfExists(ctx.store, crdType, undefined, key.name);
    const crd = object && parseCustomResourceDefinition(object);
    if (!object || !crd) return undefined;
    if (crd.metadata.deletionTimestamp) return cleanUp(object, crd, ctx);
    const all = (await listAll(ctx.store, crdType)).map(parseCustomResourceDefinition).filter((other) => other !== undefined);
    const status = planCrdStatus(crd, all, ctx.now());
    if (sameJson(status, object.status)) return undefined;
    await ctx.admission.update(crdType, { ...object, status }, object);
    return undefined;
  },
};
