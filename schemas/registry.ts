/**
 * The resource types Skiff serves: one entry per kind, with what discovery, the router,
 * the store and the printers need to know about it. Per-kind behaviour (schema, defaults,
 * validation, printer columns) is looked up by `ResourceType.id`.
 */

import { customResourceTypeById, customResourceTypeOfKind, customResourceTypes, findCustomResourceType } from './custom-resource-registry.ts';
import type { GenerationRule, ResourceType, Subresource } from './resource-type.ts';

export type { GenerationRule, ResourceType, Subresource } from './resource-type.ts';

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

function type(
  group: string,
  version: string,
  kind: string,
  plural: string,
  options: {
    namespaced?: boolean;
    shortNames?: string[];
    categories?: string[];
    subresources?: Subresource[];
    verbs?: readonly string[];
    persisted?: boolean;
    otherVersions?: readonly string[];
    generation?: GenerationRule;
  } = {},
): ResourceType {
  return {
    id: `${group || 'core'}/${plural}`,
    group,
    version,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced: options.namespaced ?? true,
    shortNames: options.shortNames ?? [],
    categories: options.categories ?? [],
    subresources: options.subresources ?? [],
    verbs: options.verbs ?? allVerbs,
    persisted: options.persisted ?? true,
    otherVersions: options.otherVersions ?? [],
    ...(options.generation ? { generation: options.generation } : {}),
  };
}

/** A create-only review kind: asked, answered, never stored. */
function review(group: string, kind: string, plural: string, namespaced = false): ResourceType {
  return type(group, 'v1', kind, plural, { namespaced, verbs: ['create'], persisted: false });
}

// `generation` marks the kinds whose kube-apiserver 1.32 strategy keeps one (docs/adr/204): not
// pods (only from 1.33, KEP-5067), not HorizontalPodAutoscalers, Services, Nodes or claims.
export const resourceTypes: readonly ResourceType[] = [
  type('', 'v1', 'Namespace', 'namespaces', {
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['finalize', 'status'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  type('', 'v1', 'Node', 'nodes', { namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  type('', 'v1', 'Pod', 'pods', {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'binding', 'log', 'eviction', 'exec', 'attach', 'portforward', 'ephemeralcontainers'],
  }),
  type('', 'v1', 'Service', 'services', {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  type('', 'v1', 'ReplicationController', 'replicationcontrollers', {
    shortNames: ['rc'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: 'spec',
  }),
  type('', 'v1', 'Endpoints', 'endpoints', { shortNames: ['ep'] }),
  type('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  type('', 'v1', 'Secret', 'secrets'),
  type('', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  type('', 'v1', 'ResourceQuota', 'resourcequotas', { shortNames: ['quota'], subresources: ['status'] }),
  type('', 'v1', 'LimitRange', 'limitranges', { shortNames: ['limits'] }),
  type('', 'v1', 'PersistentVolume', 'persistentvolumes', { namespaced: false, shortNames: ['pv'], subresources: ['status'] }),
  type('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', { shortNames: ['pvc'], subresources: ['status'] }),
  type('apps', 'v1', 'Deployment', 'deployments', { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'], generation: 'spec' }),
  type('apps', 'v1', 'ReplicaSet', 'replicasets', { shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'], generation: 'spec' }),
  type('apps', 'v1', 'DaemonSet', 'daemonsets', { shortNames: ['ds'], categories: ['all'], subresources: ['status'], generation: 'spec' }),
  type('apps', 'v1', 'ControllerRevision', 'controllerrevisions'),
  type('apps', 'v1', 'StatefulSet', 'statefulsets', { shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'], generation: 'spec' }),
  type('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', { namespaced: false, shortNames: ['sc'] }),
  type('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    shortNames: ['hpa'],
    categories: ['all'],
    subresources: ['status'],
    otherVersions: ['v1'],
  }),
  type('batch', 'v1', 'Job', 'jobs', { categories: ['all'], subresources: ['status'], generation: 'spec' }),
  type('batch', 'v1', 'CronJob', 'cronjobs', { shortNames: ['cj'], categories: ['all'], subresources: ['status'], generation: 'spec' }),
  type('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  type('networking.k8s.io', 'v1', 'Ingress', 'ingresses', { shortNames: ['ing'], subresources: ['status'], generation: 'spec' }),
  type('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', { namespaced: false, generation: 'spec' }),
  type('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', { shortNames: ['netpol'], generation: 'spec' }),
  type('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', {
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    subresources: ['status'],
    generation: 'spec',
  }),
  type('scheduling.k8s.io', 'v1', 'PriorityClass', 'priorityclasses', { namespaced: false, shortNames: ['pc'] }),
  type('admissionregistration.k8s.io', 'v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', {
    namespaced: false,
    categories: ['api-extensions'],
    // Its strategy compares the webhooks, all there is beside the metadata.
    generation: 'content',
  }),
  type('admissionregistration.k8s.io', 'v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', {
    namespaced: false,
    categories: ['api-extensions'],
    // Its strategy compares the webhooks, all there is beside the metadata.
    generation: 'content',
  }),
  type('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', { generation: 'content-or-labels' }),
  type('', 'v1', 'ServiceAccount', 'serviceaccounts', { shortNames: ['sa'], subresources: ['token'] }),
  type('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', { shortNames: ['pdb'], subresources: ['status'], generation: 'spec' }),
  type('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', { namespaced: false }),
  type('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', { namespaced: false }),
  type('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  type('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  // What metrics-server's APIService adds: read-only usage, computed from the nodes' figures, never stored.
  type('metrics.k8s.io', 'v1beta1', 'NodeMetrics', 'nodes', { namespaced: false, verbs: ['get', 'list'], persisted: false }),
  type('metrics.k8s.io', 'v1beta1', 'PodMetrics', 'pods', { verbs: ['get', 'list'], persisted: false }),
  review('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews'),
  review('authentication.k8s.io', 'TokenReview', 'tokenreviews'),
  review('authorization.k8s.io', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true),
  review('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
  review('authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews'),
  review('authorization.k8s.io', 'SubjectAccessReview', 'subjectaccessreviews'),
];

/** The kinds the store holds: every served type but the review kinds. */
export const persistedTypes: readonly ResourceType[] = resourceTypes.filter((t) => t.persisted);

const byId = new Map(resourceTypes.map((t) => [t.id, t]));
const byKind = new Map(resourceTypes.map((t) => [`${apiVersionOf(t)}/${t.kind}`, t]));

export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** The type served at `/api(s)/<group>/<version>/.../<plural>`, if any (custom resources included). */
export function findType(group: string, version: string, plural: string): ResourceType | undefined {
  const t = byId.get(`${group || 'core'}/${plural}`);
  if (t) return t.version === version || t.otherVersions.includes(version) ? t : undefined;
  return findCustomResourceType(group, version, plural);
}

export function typeById(id: string): ResourceType {
  const t = byId.get(id) ?? customResourceTypeById(id);
  if (!t) throw new Error(`unknown resource type ${id}`);
  return t;
}

export function typeOfKind(apiVersion: string, kind: string): ResourceType | undefined {
  return byKind.get(`${apiVersion}/${kind}`) ?? customResourceTypeOfKind(apiVersion, kind);
}

/** Whether a group is one of the built-in kinds' (requests to other groups may name custom resources). */
export function isBuiltInGroup(group: string): boolean {
  return builtInGroups.has(group);
}

const builtInGroups = new Set(resourceTypes.map((t) => t.group));

/** Every type served now: the built-in kinds, then the custom resources of Established CRDs. */
export function servedTypes(): readonly ResourceType[] {
  const custom = customResourceTypes();
  return custom.length === 0 ? resourceTypes : [...resourceTypes, ...custom];
}

/** Well-known types by name, for code that works with one kind. */
export const types = {
  namespaces: typeById('core/namespaces'),
  nodes: typeById('core/nodes'),
  pods: typeById('core/pods'),
  services: typeById('core/services'),
  endpoints: typeById('core/endpoints'),
  replicationcontrollers: typeById('core/replicationcontrollers'),
  configmaps: typeById('core/configmaps'),
  secrets: typeById('core/secrets'),
  events: typeById('core/events'),
  deployments: typeById('apps/deployments'),
  replicasets: typeById('apps/replicasets'),
  resourcequotas: typeById('core/resourcequotas'),
  limitranges: typeById('core/limitranges'),
  persistentvolumes: typeById('core/persistentvolumes'),
  persistentvolumeclaims: typeById('core/persistentvolumeclaims'),
  storageclasses: typeById('storage.k8s.io/storageclasses'),
  statefulsets: typeById('apps/statefulsets'),
  daemonsets: typeById('apps/daemonsets'),
  controllerrevisions: typeById('apps/controllerrevisions'),
  horizontalpodautoscalers: typeById('autoscaling/horizontalpodautoscalers'),
  jobs: typeById('batch/jobs'),
  cronjobs: typeById('batch/cronjobs'),
  leases: typeById('coordination.k8s.io/leases'),
  ingresses: typeById('networking.k8s.io/ingresses'),
  ingressclasses: typeById('networking.k8s.io/ingressclasses'),
  networkpolicies: typeById('networking.k8s.io/networkpolicies'),
  priorityclasses: typeById('scheduling.k8s.io/priorityclasses'),
  mutatingwebhookconfigurations: typeById('admissionregistration.k8s.io/mutatingwebhookconfigurations'),
  validatingwebhookconfigurations: typeById('admissionregistration.k8s.io/validatingwebhookconfigurations'),
  customresourcedefinitions: typeById('apiextensions.k8s.io/customresourcedefinitions'),
  endpointslices: typeById('discovery.k8s.io/endpointslices'),
  serviceaccounts: typeById('core/serviceaccounts'),
  poddisruptionbudgets: typeById('policy/poddisruptionbudgets'),
  roles: typeById('rbac.authorization.k8s.io/roles'),
  rolebindings: typeById('rbac.authorization.k8s.io/rolebindings'),
  clusterroles: typeById('rbac.authorization.k8s.io/clusterroles'),
  clusterrolebindings: typeById('rbac.authorization.k8s.io/clusterrolebindings'),
  nodemetrics: typeById('metrics.k8s.io/nodes'),
  podmetrics: typeById('metrics.k8s.io/pods'),
  selfsubjectreviews: typeById('authentication.k8s.io/selfsubjectreviews'),
  tokenreviews: typeById('authentication.k8s.io/tokenreviews'),
  localsubjectaccessreviews: typeById('authorization.k8s.io/localsubjectaccessreviews'),
  selfsubjectaccessreviews: typeById('authorization.k8s.io/selfsubjectaccessreviews'),
  selfsubjectrulesreviews: typeById('authorization.k8s.io/selfsubjectrulesreviews'),
  subjectaccessreviews: typeById('authorization.k8s.io/subjectaccessreviews'),
} as const;
