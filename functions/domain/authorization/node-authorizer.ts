/**
 * The node authorizer (Kubernetes' `Node` authorization mode, with 1.32's selector-aware rules):
 * an agent, authenticated as `system:node:<name>` in `system:nodes`, may read its own Node
 * object (and list and watch all Nodes, as kube-proxy may: docs/adr/170), the pods bound to it, and the Secrets, ConfigMaps and ServiceAccount tokens those pods
 * use; its own Lease; and whatever the kubelet's and kube-proxy's roles allow (`system:node`,
 * `system:node-proxier`: Services, Endpoints, EndpointSlices, Events...). What it may write is
 * narrowed to its own objects by NodeRestriction admission. Other users: no opinion.
 *
 * Kubernetes keeps a graph of pods and what they reference, fed by informers; here the pods bound
 * to the node are read from the store when a node asks for a Secret, ConfigMap or token (agents
 * ask when they start a container, not per request of every user).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { isApiError } from '../../core/errors.ts';
import { getIfExists, listAll } from '../../store/list-all.ts';
import type { ObjectStore } from '../../store/store.ts';
import { type AuthorizationAttributes, type Authorizer, allow, noOpinion, noRules } from './authorizer.ts';
import { nodeProxierRules, nodeRules } from './rbac/bootstrap-policy.ts';
import { ruleAllows } from './rbac/rule-matching.ts';
import { exactFieldValue } from './request-attributes.ts';
import { nodeNameOf } from './user-info.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

const kubeletRules = [...nodeRules, ...nodeProxierRules];

interface VolumeSource {
  readonly persistentVolumeClaim?: { readonly claimName?: string };
  readonly secret?: { readonly secretName?: string };
  readonly configMap?: { readonly name?: string };
  readonly projected?: { readonly sources?: readonly { readonly secret?: { readonly name?: string }; readonly configMap?: { readonly name?: string } }[] };
}
interface EnvSource {
  readonly valueFrom?: { readonly secretKeyRef?: { readonly name?: string }; readonly configMapKeyRef?: { readonly name?: string } };
}
interface EnvFromSource {
  readonly secretRef?: { readonly name?: string };
  readonly configMapRef?: { readonly name?: string };
}
interface ContainerRefs {
  readonly env?: readonly EnvSource[];
  readonly envFrom?: readonly EnvFromSource[];
}
interface PodRefs {
  readonly serviceAccountName?: string;
  readonly imagePullSecrets?: readonly { readonly name?: string }[];
  readonly volumes?: readonly VolumeSource[];
  readonly containers?: readonly ContainerRefs[];
  readonly initContainers?: readonly ContainerRefs[];
  readonly ephemeralContainers?: readonly ContainerRefs[];
}

export interface PodReferences {
  readonly secrets: ReadonlySet<string>;
  readonly configMaps: ReadonlySet<string>;
  /** Only when the pod names one: ServiceAccount admission names it for every pod but mirror pods. */
  readonly serviceAccount: string | undefined;
  readonly persistentVolumeClaims: ReadonlySet<string>;
}

/** What a pod uses that its node must be able to read: the edges of Kubernetes' node graph. */
export function podReferences(pod: KubeObject): PodReferences {
  const spec = (pod.spec ?? {}) as PodRefs;
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  const persistentVolumeClaims = new Set<string>();
  const add = (set: Set<string>, name: string | undefined) => {
    if (name) set.add(name);
  };
  for (const pull of spec.imagePullSecrets ?? []) add(secrets, pull.name);
  for (const volume of spec.volumes ?? []) {
    add(secrets, volume.secret?.secretName);
    add(configMaps, volume.configMap?.name);
    add(persistentVolumeClaims, volume.persistentVolumeClaim?.claimName);
    for (const source of volume.projected?.sources ?? []) {
      add(secrets, source.secret?.name);
      add(configMaps, source.configMap?.name);
    }
  }
  for (const container of [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const from of container.envFrom ?? []) {
      add(secrets, from.secretRef?.name);
      add(configMaps, from.configMapRef?.name);
    }
    for (const variable of container.env ?? []) {
      add(secrets, variable.valueFrom?.secretKeyRef?.name);
      add(configMaps, variable.valueFrom?.configMapKeyRef?.name);
    }
  }
  return { secrets, configMaps, serviceAccount: spec.serviceAccountName || undefined, persistentVolumeClaims };
}

function boundTo(pod: KubeObject, nodeName: string): boolean {
  return ((pod.spec ?? {}) as { nodeName?: string }).nodeName === nodeName;
}

const noRelationship = (nodeName: string) => noOpinion(`no relationship found between node '${nodeName}' and this object`);

export function nodeAuthorizer(store: ObjectStore): Authorizer {
  /** The pods of `namespace` bound to the node. */
  async function podsOn(nodeName: string, namespace: string): Promise<KubeObject[]> {
    return listAll(store, types.pods, { namespace, fieldSelector: `spec.nodeName=${nodeName}` });
  }

  async function readNamespacedObject(nodeName: string, attributes: AuthorizationAttributes, kind: 'secrets' | 'configMaps' | 'persistentVolumeClaims') {
    if (!['get', 'list', 'watch'].includes(attributes.verb)) return noOpinion('can only read resources of this type');
    if (attributes.subresource) return noOpinion('cannot read subresource');
    if (!attributes.namespace) return noOpinion('can only read namespaced object of this type');
    if (!attributes.name) return noOpinion('No Object name found');
    const related = (await podsOn(nodeName, attributes.namespace)).some((pod) => podReferences(pod)[kind].has(attributes.name));
    return related ? allow() : noRelationship(nodeName);
  }

  /** A volume bound to a claim a pod of the node uses (the graph's pod → claim → volume edge). */
  async function readPersistentVolume(nodeName: string, attributes: AuthorizationAttributes) {
    if (attributes.verb !== 'get') return noOpinion('can only get individual resources of this type');
    if (attributes.subresource) return noOpinion('cannot get subresource');
    if (!attributes.name) return noOpinion('No Object name found');
    const volume = await getIfExists(store, types.persistentvolumes, undefined, attributes.name);
    const claimRef = (volume?.spec as { claimRef?: { namespace?: string; name?: string } } | undefined)?.claimRef;
    if (!claimRef?.namespace || !claimRef.name) return noRelationship(nodeName);
    const related = (await podsOn(nodeName, claimRef.namespace)).some((pod) => podReferences(pod).persistentVolumeClaims.has(claimRef.name ?? ''));
    return related ? allow() : noRelationship(nodeName);
  }

  async function createToken(nodeName: string, attributes: AuthorizationAttributes) {
    if (attributes.verb !== 'create' || !attributes.name) return noOpinion('can only create tokens for individual service accounts');
    if (attributes.subresource !== 'token') return noOpinion('can only create token subresource of serviceaccount');
    const related = (await podsOn(nodeName, attributes.namespace)).some((pod) => podReferences(pod).serviceAccount === attributes.name);
    return related ? allow() : noRelationship(nodeName);
  }

  async function readPod(nodeName: string, attributes: AuthorizationAttributes) {
    if (attributes.verb === 'list' || attributes.verb === 'watch') {
      if (exactFieldValue(attributes.fieldSelector, 'spec.nodeName') === nodeName) return allow();
      if (!attributes.name) return noOpinion('can only list/watch pods with spec.nodeName field selector');
    }
    try {
      const pod = await store.get(types.pods, attributes.namespace || undefined, attributes.name);
      return boundTo(pod, nodeName) ? allow() : noRelationship(nodeName);
    } catch (error) {
      if (isApiError(error, 404)) return noRelationship(nodeName);
      throw error;
    }
  }

  function readNode(nodeName: string, attributes: AuthorizationAttributes) {
    // Compared by name, not through the pods, so an agent may read its Node before it exists.
    if (attributes.name === nodeName) return allow();
    // The agent is its node's kube-proxy too, whose role (system:node-proxier) lists and watches
    // Nodes: it reads there which revisions the other nodes' proxies have applied (docs/adr/170).
    // A read of another Node by name stays refused, as kube-apiserver refuses it to a kubelet.
    if (!attributes.name && (attributes.verb === 'list' || attributes.verb === 'watch')) return allow();
    if (!attributes.name) return noOpinion(`node '${nodeName}' cannot read all nodes, only its own Node object`);
    return noOpinion(`node '${nodeName}' cannot read '${attributes.name}', only its own Node object`);
  }

  function lease(nodeName: string, attributes: AuthorizationAttributes) {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(attributes.verb)) {
      return noOpinion('can only get, create, update, patch, or delete a node lease');
    }
    if (attributes.namespace !== NODE_LEASE_NAMESPACE) return noOpinion(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
    // On create the name is in the body: NodeRestriction checks it.
    if (attributes.verb !== 'create' && attributes.name !== nodeName) return noOpinion('can only access node lease with the same name as the requesting node');
    return allow();
  }

  const byRules = (attributes: AuthorizationAttributes) => (kubeletRules.some((rule) => ruleAllows(attributes, rule)) ? allow() : noOpinion());

  return {
    async authorize(attributes) {
      const nodeName = nodeNameOf(attributes.user);
      if (!nodeName || !attributes.resourceRequest) return noOpinion();
      const { apiGroup, resource, verb, subresource } = attributes;
      if (apiGroup === '') {
        switch (resource) {
          case 'secrets':
            return readNamespacedObject(nodeName, attributes, 'secrets');
          case 'configmaps':
            return readNamespacedObject(nodeName, attributes, 'configMaps');
          case 'serviceaccounts':
            return createToken(nodeName, attributes);
          case 'persistentvolumeclaims':
            return readNamespacedObject(nodeName, attributes, 'persistentVolumeClaims');
          case 'persistentvolumes':
            return readPersistentVolume(nodeName, attributes);
          case 'pods':
            if (!subresource && (verb === 'get' || verb === 'list' || verb === 'watch')) return readPod(nodeName, attributes);
            return byRules(attributes);
          case 'nodes':
            if (!subresource && (verb === 'get' || verb === 'list' || verb === 'watch')) return readNode(nodeName, attributes);
            // An agent deletes its own Node when its instance leaves the Auto Scaling group (ADR 133).
            if (!subresource && verb === 'delete')
              return attributes.name === nodeName ? allow() : noOpinion(`node '${nodeName}' can only delete its own Node object`);
            return byRules(attributes);
        }
      }
      if (apiGroup === 'coordination.k8s.io' && resource === 'leases') return lease(nodeName, attributes);
      return byRules(attributes);
    },
    async rulesFor(user) {
      // The node authorizer's grants depend on the graph and cannot be listed, as in Kubernetes.
      return nodeNameOf(user) ? { ...noRules, incomplete: true } : noRules;
    },
  };
}
