/**
 * Per-kind write rules of the API server, in one place: what a main-resource update may
 * change versus a `/status` update, and admission steps that need the store (service
 * address allocation, default tolerations). Defaults and validation live in `schemas/`.
 */

import type { KubeObject } from '../../schemas/meta.ts';
import { type ResourceType, types } from '../../schemas/registry.ts';
import { withDefaultIngressClass } from '../domain/ingress/default-ingress-class.ts';
import { withDefaultTolerations } from '../domain/pods/tolerations.ts';
import { addTargetHealthGates } from '../domain/services/readiness-gates.ts';
import { allocateService, releaseService, writeServiceWithAllocations } from '../domain/services/service-allocation.ts';
import type { ObjectStore } from '../store/store.ts';

export interface StrategyOptions {
  /** tolerationSeconds of the default not-ready/unreachable tolerations added to every pod. */
  readonly defaultTolerationSeconds: number;
}

/** Types whose `status` is written only through the `/status` subresource. */
export function hasStatusSubresource(type: ResourceType): boolean {
  return type.subresources.includes('status');
}

/**
 * A main-resource update keeps the stored status; a status update keeps everything but the
 * status (metadata too, as kube-apiserver's ResetObjectMetaForStatus does).
 */
export function mergeForUpdate(type: ResourceType, incoming: KubeObject, old: KubeObject, subresource?: 'status'): KubeObject {
  if (subresource === 'status') {
    return {
      ...old,
      metadata: { ...old.metadata, resourceVersion: incoming.metadata.resourceVersion ?? old.metadata.resourceVersion },
      status: incoming.status,
    };
  }
  if (hasStatusSubresource(type)) {
    const { status: _ignored, ...rest } = incoming;
    return old.status === undefined ? rest : { ...rest, status: old.status };
  }
  return incoming;
}

/**
 * Admission that needs the store or cluster settings, run after schema defaulting and
 * validation, around the write itself: a Service's ClusterIP and NodePorts are claimed before
 * `write` and freed again if it fails (or for a dry run); new pods get default tolerations and
 * the readiness gates of the load balancers that will route to them; a new Ingress without a
 * class gets the default IngressClass.
 */
export async function writeAdmitted(
  type: ResourceType,
  object: KubeObject,
  old: KubeObject | undefined,
  context: { readonly store: ObjectStore; readonly strategy: StrategyOptions; readonly dryRun: boolean },
  write: (object: KubeObject) => Promise<KubeObject>,
): Promise<KubeObject> {
  let prepared = object;
  if (type.id === types.pods.id && !old) {
    const tolerating = withDefaultTolerations(object, context.strategy.defaultTolerationSeconds);
    prepared = (await addTargetHealthGates(context.store, tolerating.metadata.namespace ?? 'default', [tolerating]))[0] ?? tolerating;
  }
  if (type.id === types.ingresses.id && !old) prepared = await withDefaultIngressClass(context.store, prepared);
  if (type.id === types.services.id) {
    if (!context.dryRun) return writeServiceWithAllocations(context.store, prepared, old, write);
    const allocated = await allocateService(context.store, prepared, old);
    await releaseService(context.store, allocated, old);
    return allocated;
  }
  return context.dryRun ? prepared : write(prepared);
}
