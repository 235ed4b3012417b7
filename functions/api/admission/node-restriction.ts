/**
 * NodeRestriction admission, as Kubernetes' plugin: what the node authorizer lets an agent write,
 * narrowed to its own objects — its own Node and Lease, the status of pods bound to it, deleting
 * and evicting those pods, mirror pods only, and ServiceAccount tokens only bound to its own
 * pods. Messages are Kubernetes' own.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { ForbiddenError, isApiError, qualifiedResource } from '../../core/errors.ts';
import { NODE_LEASE_NAMESPACE } from '../../domain/authorization/node-authorizer.ts';
import { nodeNameOf } from '../../domain/authorization/user-info.ts';
import type { ObjectStore } from '../../store/store.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './request-admission.ts';

const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

function forbidden(attributes: AdmissionAttributes, message: string): ForbiddenError {
  const resource = qualifiedResource({ resource: attributes.type.plural, group: attributes.type.group });
  const subject = attributes.name ? `${resource} "${attributes.name}" is forbidden` : `${resource} is forbidden`;
  return new ForbiddenError(`${subject}: ${message}`, { name: attributes.name, group: attributes.type.group, kind: attributes.type.plural });
}

const nodeOf = (pod: KubeObject | undefined) => ((pod?.spec ?? {}) as { nodeName?: string }).nodeName ?? '';

async function storedPod(store: ObjectStore, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return await store.get(types.pods, namespace, name);
  } catch (error) {
    if (isApiError(error, 404)) return undefined;
    throw error;
  }
}

async function admitPod(nodeName: string, attributes: AdmissionAttributes, store: ObjectStore): Promise<void> {
  const { operation, subresource } = attributes;
  if (subresource === 'eviction') {
    const pod = await storedPod(store, attributes.namespace, attributes.name);
    if (pod && nodeOf(pod) !== nodeName) throw forbidden(attributes, `node "${nodeName}" can only evict pods with spec.nodeName set to itself`);
    return;
  }
  if (subresource === 'status') {
    if (nodeOf(attributes.oldObject) !== nodeName) {
      throw forbidden(attributes, `node "${nodeName}" can only update pod status for pods with spec.nodeName set to itself`);
    }
    return;
  }
  if (subresource) throw forbidden(attributes, `node "${nodeName}" cannot modify pods/${subresource}`);
  switch (operation) {
    case 'CREATE': {
      const pod = attributes.object;
      if (!pod?.metadata.annotations?.[MIRROR_POD_ANNOTATION]) {
        throw forbidden(attributes, `pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${nodeName}" can only create mirror pods`);
      }
      if (nodeOf(pod) !== nodeName) throw forbidden(attributes, `node "${nodeName}" can only create pods with spec.nodeName set to itself`);
      return;
    }
    case 'DELETE':
      if (nodeOf(attributes.oldObject) !== nodeName) throw forbidden(attributes, `node "${nodeName}" can only delete pods with spec.nodeName set to itself`);
      return;
    case 'UPDATE':
      throw forbidden(attributes, `node "${nodeName}" can only update pod status`);
  }
}

async function admitToken(nodeName: string, attributes: AdmissionAttributes, store: ObjectStore): Promise<void> {
  const ref = ((attributes.object?.spec ?? {}) as { boundObjectRef?: { kind?: string; name?: string; uid?: string } }).boundObjectRef;
  if (ref?.kind !== 'Pod') throw forbidden(attributes, 'node requested token not bound to a pod');
  const pod = await storedPod(store, attributes.namespace, ref.name ?? '');
  if (!pod) throw forbidden(attributes, 'node requested token bound to a pod that does not exist');
  if (ref.uid && ref.uid !== pod.metadata.uid) throw forbidden(attributes, 'the UID in the bound object reference does not match the UID of the pod');
  if (nodeOf(pod) !== nodeName) throw forbidden(attributes, 'node requested token bound to a pod scheduled on a different node');
  if ((((pod.spec ?? {}) as { serviceAccountName?: string }).serviceAccountName || 'default') !== attributes.name) {
    throw forbidden(attributes, 'node requested token bound to a pod that does not use this service account');
  }
}

export const nodeRestrictionPlugin: AdmissionPlugin = {
  name: 'NodeRestriction',
  async validate(attributes, store) {
    const nodeName = nodeNameOf(attributes.user);
    if (!nodeName) return;
    const { type } = attributes;
    if (type.id === types.pods.id) return admitPod(nodeName, attributes, store);
    if (type.id === types.nodes.id) {
      if (attributes.name !== nodeName && (attributes.object?.metadata.name ?? attributes.name) !== nodeName) {
        throw forbidden(attributes, `node "${nodeName}" is not allowed to modify node "${attributes.name || attributes.object?.metadata.name}"`);
      }
      return;
    }
    if (type.id === types.leases.id && attributes.namespace === NODE_LEASE_NAMESPACE) {
      const name = attributes.object?.metadata.name ?? attributes.name;
      if (name !== nodeName) throw forbidden(attributes, 'can only access node lease with the same name as the requesting node');
      return;
    }
    if (type.id === types.serviceaccounts.id && attributes.subresource === 'token') return admitToken(nodeName, attributes, store);
  },
};
