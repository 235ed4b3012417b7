/**
 * The status subresource's split of an object, for the kinds that have one: a write of the
 * object keeps the stored status, a write of `/status` keeps everything but the status
 * (metadata too, as kube-apiserver's ResetObjectMetaForStatus does). A write of a pod's
 * `/ephemeralcontainers` keeps everything but `spec.ephemeralContainers`, as kube-apiserver's
 * strategy for it drops every other change.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';

/** The subresources whose update writes one part of the stored object and keeps the rest. */
export type PartialUpdateSubresource = 'status' | 'ephemeralcontainers';

/** Types whose `status` is written only through the `/status` subresource. */
export function hasStatusSubresource(type: ResourceType): boolean {
  return type.subresources.includes('status');
}

/** The object an update of `old` writes: `incoming` with the part it may not change taken from `old`. */
export function mergeForUpdate(type: ResourceType, incoming: KubeObject, old: KubeObject, subresource?: PartialUpdateSubresource): KubeObject {
  if (subresource === 'ephemeralcontainers') {
    const ephemeralContainers = (incoming.spec as { ephemeralContainers?: unknown } | undefined)?.ephemeralContainers;
    const { ephemeralContainers: _stored, ...spec } = (old.spec ?? {}) as Record<string, unknown>;
    return {
      ...old,
      metadata: { ...old.metadata, resourceVersion: incoming.metadata.resourceVersion ?? old.metadata.resourceVersion },
      spec: ephemeralContainers === undefined ? spec : { ...spec, ephemeralContainers },
    };
  }
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
