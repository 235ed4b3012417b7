/**
 * The status subresource's split of an object, for the kinds that have one: a write of the
 * object keeps the stored status, a write of `/status` keeps everything but the status
 * (metadata too, as kube-apiserver's ResetObjectMetaForStatus does).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';

/** Types whose `status` is written only through the `/status` subresource. */
export function hasStatusSubresource(type: ResourceType): boolean {
  return type.subresources.includes('status');
}

/** The object an update of `old` writes: `incoming` with the part it may not change taken from `old`. */
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
