/**
 * The Endpoints (and EndpointSlice) controller. A Service change names that Service; a pod
 * change names its whole namespace (which Services select a pod is only known after reading
 * them), so one batch of pod changes in a namespace costs one pass over its Services.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import type { Controller, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { canonicalJson } from '../../controller-runtime/stable-hash.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { Admission } from '../../domain/object-admission/admission.ts';
import { releaseAllocationsOf } from '../../domain/services/service-allocation.ts';
import { viewPod, viewService } from '../../domain/services/service-view.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import type { ObjectReader } from '../../store/store.ts';
import { endpointsContent, managedByLabel, managedByValue, managesEndpoints, planEndpoints, serviceNameLabel, sliceContent } from './plan-endpoints.ts';

const component = 'endpoints-controller';

/** What of a pod the endpoints depend on; other changes (heartbeats, container states) are skipped. */
function podFingerprint(pod: KubeObject | undefined): string {
  if (!pod) return '';
  try {
    const view = viewPod(pod);
    return canonicalJson([view.labels, view.podIP, view.nodeName, view.phase, view.ready, view.terminating, view.containerPorts]);
  } catch {
    return canonicalJson(pod);
  }
}

export const endpointsController: Controller = {
  name: component,
  resyncTypes: [types.services],
  keysFor(change: ObjectChange): ReconcileKey[] {
    if (change.typeId === types.services.id) return [{ typeId: types.services.id, namespace: change.namespace, name: change.name }];
    if (change.typeId !== types.pods.id || !change.namespace) return [];
    if (change.oldObject && change.newObject && podFingerprint(change.oldObject) === podFingerprint(change.newObject)) return [];
    return [{ typeId: types.namespaces.id, name: change.namespace }];
  },
  async reconcile(key, ctx) {
    if (key.typeId === types.namespaces.id) {
      const services = await listAll(ctx.store, types.services, { namespace: key.name });
      const managed = services.filter((s) => managesEndpoints(viewService(s)) && !s.metadata.deletionTimestamp);
      if (managed.length === 0) return;
      const pods = await listAll(ctx.store, types.pods, { namespace: key.name });
      for (const service of managed) await syncService(ctx, service, pods);
      return;
    }
    await reconcileService(ctx, key.namespace ?? 'default', key.name, ctx.now());
  },
};

/** What the endpoints controller works with: reads from the store, writes through admission. */
export interface EndpointsWriter {
  readonly store: ObjectReader;
  readonly admission: Admission;
}

/** Brings one Service's Endpoints and EndpointSlice in step with its pods (or removes them). */
export async function reconcileService(ctx: EndpointsWriter, namespace: string, name: string, now: Date = new Date()): Promise<void> {
  const service = await getIfExists(ctx.store, types.services, namespace, name);
  if (!service) {
    await deleteIfExists(ctx, types.endpoints, { namespace, name });
    await syncSlices(ctx, namespace, name, undefined);
    // A Service removed by a finalizer's controller did not free its ClusterIP and NodePorts on
    // a delete path: whoever notices it is gone does (the records are the allocator's own).
    await releaseAllocationsOf(ctx.admission.store, namespace, name, now);
    return;
  }
  if (!managesEndpoints(viewService(service))) {
    // Endpoints of a Service without a selector are the user's; only our slices go.
    await syncSlices(ctx, namespace, name, undefined);
    return;
  }
  const pods = await listAll(ctx.store, types.pods, { namespace });
  await syncService(ctx, service, pods);
}

async function syncService(ctx: EndpointsWriter, service: KubeObject, pods: readonly KubeObject[]): Promise<void> {
  const plan = planEndpoints(service, pods);
  const namespace = plan.endpoints.metadata.namespace;
  const name = plan.endpoints.metadata.name ?? '';
  const existing = await getIfExists(ctx.store, types.endpoints, namespace, name);
  if (!existing) {
    await ctx.admission.create(types.endpoints, plan.endpoints);
  } else if (canonicalJson(endpointsContent(existing)) !== canonicalJson(endpointsContent(plan.endpoints))) {
    const { subsets: _old, ...rest } = existing;
    const next = {
      ...rest,
      metadata: { ...existing.metadata, labels: plan.endpoints.metadata.labels ?? {} },
      ...(plan.endpoints.subsets ? { subsets: plan.endpoints.subsets } : {}),
    };
    await ctx.admission.update(types.endpoints, next, existing);
  }
  await syncSlices(ctx, namespace ?? 'default', name, plan.slice);
}

async function syncSlices(ctx: EndpointsWriter, namespace: string, serviceName: string, desired: KubeObject | undefined): Promise<void> {
  const slices = await listAll(ctx.store, types.endpointslices, { namespace, labelSelector: `${serviceNameLabel}=${serviceName}` });
  const ours = slices.filter((s) => s.metadata.labels?.[managedByLabel] === managedByValue);
  for (const slice of ours) {
    if (desired && slice.metadata.name === desired.metadata.name) continue;
    await deleteIfExists(ctx, types.endpointslices, slice);
  }
  if (!desired) return;
  const current = ours.find((s) => s.metadata.name === desired.metadata.name);
  if (!current) {
    await ctx.admission.create(types.endpointslices, desired);
  } else if (canonicalJson(sliceContent(current)) !== canonicalJson(sliceContent(desired))) {
    await ctx.admission.update(types.endpointslices, { ...current, ...desired, metadata: { ...current.metadata, ...desired.metadata } }, current);
  }
}

async function deleteIfExists(ctx: EndpointsWriter, type: typeof types.endpoints, target: Parameters<Admission['delete']>[1]): Promise<void> {
  try {
    await ctx.admission.delete(type, target);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}
