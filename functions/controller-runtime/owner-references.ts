/** Who owns what: the `ownerReferences` helpers every controller and the garbage collector share. */
import type { KubeObject, OwnerReference } from '../../schemas/meta.ts';

export function controllerRefOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

export function isControlledBy(object: KubeObject, owner: KubeObject): boolean {
  const ref = controllerRefOf(object);
  return ref !== undefined && owner.metadata.uid !== undefined && ref.uid === owner.metadata.uid;
}

/** The reference a controller puts on what it creates. */
export function controllerRefTo(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** `object` with `owner` as its controller, beside the references it had (an adoption). */
export function withControllerRefTo(object: KubeObject, owner: KubeObject): KubeObject {
  return { ...object, metadata: { ...object.metadata, ownerReferences: [...(object.metadata.ownerReferences ?? []), controllerRefTo(owner)] } };
}

/** `object` without its references to the owner `uid` (and without `ownerReferences` when none is left). */
export function withoutReferenceTo(object: KubeObject, uid: string): KubeObject {
  const refs = (object.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
  const { ownerReferences: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata: refs.length > 0 ? { ...metadata, ownerReferences: refs } : metadata };
}
