/**
 * NodeRestriction admission, as Kubernetes' plugin: what the node authorizer lets an agent write,
 * narrowed to its own objects — its own Node (not its taints, nor the labels admins steer
 * workloads with) and Lease, the status of pods bound to it (not their labels), deleting and
 * evicting those pods, mirror pods only (owned by its Node, referencing no account, Secret,
 * ConfigMap or claim: the node authorizer follows what a node's pods reference), and
 * ServiceAccount tokens only bound to its own pods. Messages are Kubernetes' own.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { ForbiddenError, isApiError, qualifiedResource } from '../../core/errors.ts';
import { NODE_LEASE_NAMESPACE, podReferences } from '../../domain/authorization/node-authorizer.ts';
import { nodeNameOf } from '../../domain/authorization/user-info.ts';
import { isMirrorPod, MIRROR_POD_ANNOTATION } from '../../domain/pods/service-account-admission.ts';
import type { ObjectStore } from '../../store/store.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './request-admission.ts';

interface OwnerReference {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

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

/** A node may create only mirror pods of its own, controlled by its Node, that lend it nothing to read. */
/** The labels a kubelet may set on its own Node, and the namespaces it may use (Kubernetes' list). */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];
const NODE_RESTRICTION_NAMESPACE = 'node-restriction.kubernetes.io';

const labelNamespace = (key: string) => (key.includes('/') ? key.slice(0, key.indexOf('/')) : '');
const inNamespace = (namespace: string, suffix: string) => namespace === suffix || namespace.endsWith(`.${suffix}`);

/**
 * Labels a node may not add, change or remove on its own Node: `node-restriction.kubernetes.io/`
 * ones (set by admins to steer workloads to nodes they trust), and `kubernetes.io`/`k8s.io` ones
 * other than the kubelet's. Sorted, as Kubernetes lists them.
 */
function forbiddenLabelChanges(labels: Record<string, string>, old: Record<string, string>): string[] {
  const changed = [...new Set([...Object.keys(labels), ...Object.keys(old)])].filter((key) => labels[key] !== old[key]);
  return changed
    .filter((key) => {
      const namespace = labelNamespace(key);
      if (inNamespace(namespace, NODE_RESTRICTION_NAMESPACE)) return true;
      const kubernetes = inNamespace(namespace, 'kubernetes.io') || inNamespace(namespace, 'k8s.io');
      const kubelet = KUBELET_LABELS.has(key) || KUBELET_LABEL_NAMESPACES.some((allowed) => inNamespace(namespace, allowed));
      return kubernetes && !kubelet;
    })
    .sort();
}

function admitOwnNode(nodeName: string, attributes: AdmissionAttributes): void {
  const labels = (node: KubeObject | undefined) => (node?.metadata.labels ?? {}) as Record<string, string>;
  if (attributes.operation === 'CREATE') {
    const forbiddenLabels = forbiddenLabelChanges(labels(attributes.object), {});
    if (forbiddenLabels.length > 0) throw forbidden(attributes, `node "${nodeName}" is not allowed to set the following labels: ${forbiddenLabels.join(', ')}`);
  }
  if (attributes.operation !== 'UPDATE') return;
  // Its taints keep pods away: a node that could drop them would draw workloads to itself.
  const taints = (node: KubeObject | undefined) => ((node?.spec ?? {}) as { taints?: unknown[] }).taints ?? [];
  if (!attributes.subresource && !isDeepStrictEqual(taints(attributes.oldObject), taints(attributes.object))) {
    throw forbidden(attributes, `node "${nodeName}" is not allowed to modify taints`);
  }
  const forbiddenLabels = forbiddenLabelChanges(labels(attributes.object), labels(attributes.oldObject));
  if (forbiddenLabels.length > 0) throw forbidden(attributes, `is not allowed to modify labels: ${forbiddenLabels.join(', ')}`);
}

async function admitMirrorPod(nodeName: string, attributes: AdmissionAttributes, store: ObjectStore): Promise<void> {
  const pod = attributes.object;
  if (!pod || !isMirrorPod(pod)) {
    throw forbidden(attributes, `pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${nodeName}" can only create mirror pods`);
  }
  if (nodeOf(pod) !== nodeName) throw forbidden(attributes, `node "${nodeName}" can only create pods with spec.nodeName set to itself`);
  const owners = (pod.metadata.ownerReferences ?? []) as readonly OwnerReference[];
  if (owners.length > 1) throw forbidden(attributes, `node "${nodeName}" can only create pods with a single owner reference set to itself`);
  const owner = owners[0];
  if (owner?.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== nodeName) {
    throw forbidden(attributes, `node "${nodeName}" can only create pods with an owner reference set to itself`);
  }
  if (owner.controller !== true) throw forbidden(attributes, `node "${nodeName}" can only create pods with a controller owner reference set to itself`);
  if (owner.blockOwnerDeletion === true) throw forbidden(attributes, `node "${nodeName}" must not set blockOwnerDeletion on an owner reference`);
  const node = await store.get(types.nodes, undefined, nodeName);
  if (owner.uid !== node.metadata.uid) throw forbidden(attributes, `node ${nodeName} UID mismatch: expected ${owner.uid} got ${node.metadata.uid}`);
  const references = podReferences(pod);
  if (references.serviceAccount) throw forbidden(attributes, `node "${nodeName}" can not create pods that reference a service account`);
  if (references.secrets.size > 0) throw forbidden(attributes, `node "${nodeName}" can not create pods that reference secrets`);
  if (references.configMaps.size > 0) throw forbidden(attributes, `node "${nodeName}" can not create pods that reference configmaps`);
  if (references.persistentVolumeClaims.size > 0) throw forbidden(attributes, `node "${nodeName}" can not create pods that reference persistentvolumeclaims`);
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
    if (!isDeepStrictEqual(attributes.oldObject?.metadata.labels ?? {}, attributes.object?.metadata.labels ?? {})) {
      throw forbidden(attributes, `node "${nodeName}" cannot update labels through pod status`);
    }
    return;
  }
  if (subresource) throw forbidden(attributes, `node "${nodeName}" cannot modify pods/${subresource}`);
  switch (operation) {
    case 'CREATE':
      return admitMirrorPod(nodeName, attributes, store);
    case 'DELETE':
      if (nodeOf(attributes.oldObject) !== nodeName) throw forbidden(attributes, `node "${nodeName}" can only delete pods with spec.nodeName set to itself`);
      return;
    case 'UPDATE':
      throw forbidden(attributes, `node "${nodeName}" can only update pod status`);
  }
}

async function admitToken(nodeName: string, attributes: AdmissionAttributes, store: ObjectStore): Promise<void> {
  const ref = ((attributes.object?.spec ?? {}) as { boundObjectRef?: { apiVersion?: string; kind?: string; name?: string; uid?: string } }).boundObjectRef;
  if (ref?.kind !== 'Pod' || ref.apiVersion !== 'v1' || !ref.name) throw forbidden(attributes, 'node requested token not bound to a pod');
  if (!ref.uid) throw forbidden(attributes, 'node requested token with a pod binding without a uid');
  const pod = await storedPod(store, attributes.namespace, ref.name);
  if (!pod) throw forbidden(attributes, 'node requested token bound to a pod that does not exist');
  if (ref.uid !== pod.metadata.uid) {
    throw forbidden(
      attributes,
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  }
  if (nodeOf(pod) !== nodeName) throw forbidden(attributes, 'node requested token bound to a pod scheduled on a different node');
  // Kubernetes ties the account to the pod in the node authorizer's graph; here, at the request.
  if (((pod.spec ?? {}) as { serviceAccountName?: string }).serviceAccountName !== attributes.name) {
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
      return admitOwnNode(nodeName, attributes);
    }
    if (type.id === types.leases.id && attributes.namespace === NODE_LEASE_NAMESPACE) {
      const name = attributes.object?.metadata.name ?? attributes.name;
      if (name !== nodeName) throw forbidden(attributes, 'can only access node lease with the same name as the requesting node');
      return;
    }
    if (type.id === types.serviceaccounts.id && attributes.subresource === 'token') return admitToken(nodeName, attributes, store);
  },
};
