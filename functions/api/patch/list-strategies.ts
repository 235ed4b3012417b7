/**
 * How each list field of the served kinds merges, in one table.
 *
 * Source: the `patchStrategy` / `patchMergeKey` struct tags of the Kubernetes API types
 * (k8s.io/api core/v1, apps/v1 and k8s.io/apimachinery meta/v1 `ObjectMeta`) for the kinds in
 * `schemas/registry.ts`. A list with `patchStrategy:"merge"` and a `patchMergeKey` merges item by
 * item; a list of primitives with `patchStrategy:"merge"` merges as a set; every other list (for
 * example `tolerations`, `command`, Node `spec.taints`, EndpointSlice `endpoints`) is atomic and a
 * patch or an apply replaces it whole. Strategic merge patch and server-side apply read the same
 * table (see docs/adr/020-patch-engine-simplifications.md).
 *
 * Paths are field names from the object root; list items add no segment, so
 * `spec.containers.ports` is the `ports` list of any container.
 */

export type ListStrategy = { readonly type: 'map'; readonly key: string } | { readonly type: 'set' } | { readonly type: 'atomic' };

const atomic: ListStrategy = { type: 'atomic' };
const set: ListStrategy = { type: 'set' };
const byKey = (key: string): ListStrategy => ({ type: 'map', key });

/** ObjectMeta: `ownerReferences` by uid, `finalizers` as a set. */
function objectMetaLists(prefix: string): [string, ListStrategy][] {
  return [
    [`${prefix}ownerReferences`, byKey('uid')],
    [`${prefix}finalizers`, set],
  ];
}

/** Container, InitContainer and EphemeralContainer share these. */
function containerLists(prefix: string): [string, ListStrategy][] {
  return [
    [`${prefix}ports`, byKey('containerPort')],
    [`${prefix}env`, byKey('name')],
    [`${prefix}volumeMounts`, byKey('mountPath')],
    [`${prefix}volumeDevices`, byKey('devicePath')],
  ];
}

function podSpecLists(prefix: string): [string, ListStrategy][] {
  return [
    [`${prefix}containers`, byKey('name')],
    [`${prefix}initContainers`, byKey('name')],
    [`${prefix}ephemeralContainers`, byKey('name')],
    ...containerLists(`${prefix}containers.`),
    ...containerLists(`${prefix}initContainers.`),
    ...containerLists(`${prefix}ephemeralContainers.`),
    [`${prefix}volumes`, byKey('name')],
    [`${prefix}imagePullSecrets`, byKey('name')],
    [`${prefix}hostAliases`, byKey('ip')],
    [`${prefix}topologySpreadConstraints`, byKey('topologyKey')],
    [`${prefix}resourceClaims`, byKey('name')],
    [`${prefix}schedulingGates`, byKey('name')],
  ];
}

const conditionsByType = (prefix: string): [string, ListStrategy] => [`${prefix}conditions`, byKey('type')];

const podTemplateLists: [string, ListStrategy][] = [...objectMetaLists('spec.template.metadata.'), ...podSpecLists('spec.template.spec.')];

const byKind: Readonly<Record<string, ReadonlyMap<string, ListStrategy>>> = {
  Pod: new Map([...podSpecLists('spec.'), conditionsByType('status.'), ['status.podIPs', byKey('ip')], ['status.hostIPs', byKey('ip')]]),
  Deployment: new Map([...podTemplateLists, conditionsByType('status.')]),
  ReplicaSet: new Map([...podTemplateLists, conditionsByType('status.')]),
  DaemonSet: new Map([...podTemplateLists, conditionsByType('status.')]),
  StatefulSet: new Map([...podTemplateLists, conditionsByType('status.')]),
  Job: new Map([...podTemplateLists, conditionsByType('status.')]),
  CronJob: new Map([...objectMetaLists('spec.jobTemplate.spec.template.metadata.'), ...podSpecLists('spec.jobTemplate.spec.template.spec.')]),
  Service: new Map([['spec.ports', byKey('port')], conditionsByType('status.')]),
  Node: new Map([['spec.podCIDRs', set], conditionsByType('status.'), ['status.addresses', byKey('type')]]),
  Namespace: new Map([conditionsByType('status.')]),
};

const metadataLists: ReadonlyMap<string, ListStrategy> = new Map(objectMetaLists('metadata.'));

/** The strategy of the list at `fieldPath` (field names from the root) in an object of `kind`. */
export function listStrategyOf(kind: string, fieldPath: readonly string[]): ListStrategy {
  const key = fieldPath.join('.');
  return metadataLists.get(key) ?? byKind[kind]?.get(key) ?? atomic;
}
