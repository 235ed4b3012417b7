/**
 * API discovery, generated from the resource registry: what kubectl reads first to learn
 * which resources exist, their short names (`deploy`, `po`), the `all` category, their
 * verbs and subresources. Two shapes: the aggregated APIGroupDiscoveryList (one request for
 * everything, what kubectl 1.26+ asks for) and the legacy documents (`/api`, `/apis`,
 * `/api/v1`, `/apis/apps/v1`) that older clients and `kubectl api-resources` fall back to.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceType, type Subresource, servedTypes } from '../../schemas/registry.ts';
import { acceptsJson, parseAccept } from './printers/accept-header.ts';

export type AggregatedDiscoveryVersion = 'v2' | 'v2beta1';

export const AGGREGATED_DISCOVERY_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function aggregatedDiscoveryContentType(version: AggregatedDiscoveryVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

/**
 * Which aggregated discovery version the Accept header prefers, if it asks for one before a
 * plain JSON document. kubectl 1.32 sends v2, then v2beta1, then application/json.
 */
export function aggregatedDiscoveryVersion(accept: string | undefined): AggregatedDiscoveryVersion | undefined {
  for (const range of parseAccept(accept)) {
    const as = range.parameters.get('as');
    if (as === undefined) return undefined;
    const version = range.parameters.get('v');
    if (
      as === 'APIGroupDiscoveryList' &&
      acceptsJson(range) &&
      range.parameters.get('g') === 'apidiscovery.k8s.io' &&
      (version === 'v2' || version === 'v2beta1')
    ) {
      return version;
    }
  }
  return undefined;
}

/** The Accept header asks for aggregated discovery (v2, or v2beta1: see `aggregatedDiscoveryVersion`). */
export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  return aggregatedDiscoveryVersion(accept) !== undefined;
}

interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

interface SubresourceFacts {
  readonly responseKind: (type: ResourceType) => GroupVersionKind;
  readonly verbs: readonly string[];
}

const ownKind = (type: ResourceType): GroupVersionKind => ({ group: type.group, version: type.version, kind: type.kind });

/** What each subresource takes and returns, as kube-apiserver serves them. */
const subresourceFacts: Readonly<Record<Subresource, SubresourceFacts>> = {
  status: { responseKind: ownKind, verbs: ['get', 'patch', 'update'] },
  finalize: { responseKind: ownKind, verbs: ['update'] },
  scale: { responseKind: () => ({ group: 'autoscaling', version: 'v1', kind: 'Scale' }), verbs: ['get', 'patch', 'update'] },
  binding: { responseKind: () => ({ group: '', version: 'v1', kind: 'Binding' }), verbs: ['create'] },
  log: { responseKind: ownKind, verbs: ['get'] },
  eviction: { responseKind: () => ({ group: 'policy', version: 'v1', kind: 'Eviction' }), verbs: ['create'] },
  token: { responseKind: () => ({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }), verbs: ['create'] },
  exec: { responseKind: () => ({ group: '', version: 'v1', kind: 'PodExecOptions' }), verbs: ['create', 'get'] },
  attach: { responseKind: () => ({ group: '', version: 'v1', kind: 'PodAttachOptions' }), verbs: ['create', 'get'] },
  portforward: { responseKind: () => ({ group: '', version: 'v1', kind: 'PodPortForwardOptions' }), verbs: ['create', 'get'] },
  ephemeralcontainers: { responseKind: ownKind, verbs: ['get', 'patch', 'update'] },
};

/** Served groups in discovery order: the core group, then the others as the registry lists them. */
function servedGroups(): readonly string[] {
  return [...new Set(servedTypes().map((type) => type.group))];
}

/**
 * A group's versions, the preferred first: a built-in group lists its one version; a CRD's group
 * sorts its versions by Kubernetes' version priority (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others).
 */
function versionsOf(group: string): readonly string[] {
  const versions = [
    ...new Set(
      servedTypes()
        .filter((type) => type.group === group)
        .flatMap((type) => [type.version, ...type.otherVersions]),
    ),
  ];
  return versions.length > 1 ? versions.sort(compareVersionPriority) : versions;
}

function versionRank(version: string): [number, number, number] {
  const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version);
  if (!match) return [0, 0, 0];
  const stability = match[2] === undefined ? 3 : match[2] === 'beta' ? 2 : 1;
  return [stability, Number(match[1]), Number(match[3] ?? 0)];
}

function compareVersionPriority(a: string, b: string): number {
  const [ra, rb] = [versionRank(a), versionRank(b)];
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (rb[i] ?? 0) - (ra[i] ?? 0);
  return a.localeCompare(b);
}

/** The types served at group/version, each as that version shows it. */
function typesIn(group: string, version: string): readonly ResourceType[] {
  return servedTypes()
    .filter((type) => type.group === group && (type.version === version || type.otherVersions.includes(version)))
    .map((type) => (type.version === version ? type : { ...type, version, subresources: type.subresources.filter((name) => name !== 'scale') }));
}

function groupVersion(group: string, version: string): string {
  return apiVersionOf({ group, version });
}

function resourceDiscovery(type: ResourceType): object {
  return {
    resource: type.plural,
    responseKind: ownKind(type),
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: type.verbs,
    ...(type.shortNames.length > 0 ? { shortNames: type.shortNames } : {}),
    ...(type.categories.length > 0 ? { categories: type.categories } : {}),
    ...(type.subresources.length > 0
      ? {
          subresources: type.subresources.map((name) => ({
            subresource: name,
            responseKind: subresourceFacts[name].responseKind(type),
            verbs: subresourceFacts[name].verbs,
          })),
        }
      : {}),
  };
}

/** APIGroupDiscoveryList for `/api` (the core group) or `/apis` (every named group). */
export function aggregatedDiscovery(scope: 'api' | 'apis', version: AggregatedDiscoveryVersion = 'v2'): object {
  const groups = servedGroups().filter((group) => (scope === 'api' ? group === '' : group !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map((group) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: versionsOf(group).map((groupVersionName) => ({
        version: groupVersionName,
        resources: typesIn(group, groupVersionName).map(resourceDiscovery),
        freshness: 'Current',
      })),
    })),
  };
}

/**
 * GET /api (APIVersions). `serverAddress` fills `serverAddressByClientCIDRs` when the host
 * knows the address clients reach it on; kubectl does not read it.
 */
export function legacyApiVersions(serverAddress?: string): object {
  return {
    kind: 'APIVersions',
    versions: versionsOf(''),
    serverAddressByClientCIDRs: serverAddress ? [{ clientCIDR: '0.0.0.0/0', serverAddress }] : [],
  };
}

function groupDocument(group: string): object {
  const versions = versionsOf(group).map((version) => ({ groupVersion: groupVersion(group, version), version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** GET /apis (APIGroupList): every named group. */
export function legacyApiGroupList(): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: servedGroups()
      .filter((group) => group !== '')
      .map(groupDocument),
  };
}

/** GET /apis/<group> (APIGroup), or undefined when the group is not served. */
export function apiGroup(group: string): object | undefined {
  if (group === '' || !servedGroups().includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group) };
}

function subresourceEntry(type: ResourceType, name: Subresource): object {
  const kind = subresourceFacts[name].responseKind(type);
  const differs = kind.group !== type.group || kind.version !== type.version;
  return {
    name: `${type.plural}/${name}`,
    singularName: '',
    namespaced: type.namespaced,
    ...(differs ? { group: kind.group, version: kind.version } : {}),
    kind: kind.kind,
    verbs: subresourceFacts[name].verbs,
  };
}

/**
 * The `storageVersionHash` kube-apiserver puts on each stored resource of an APIResourceList:
 * base64 of the first 8 bytes of the SHA-256 of `<group>/<version>/<Kind>` of the version the
 * object is stored in (`/v1/Pod` for the core group): a built-in type is stored in the version
 * it serves, a custom resource in its CRD's storage version. Clients (the storage version
 * migrator, caches of discovery) compare it to notice a storage version change; kinds never
 * stored and subresources have none.
 */
export function storageVersionHash(type: Pick<ResourceType, 'group' | 'version' | 'kind'> & { readonly custom?: { readonly storageVersion: string } }): string {
  // A custom resource is stored in its CRD's storage version, whichever version is served.
  const version = type.custom?.storageVersion ?? type.version;
  const digest = createHash('sha256').update(`${type.group}/${version}/${type.kind}`).digest();
  return digest.subarray(0, 8).toString('base64');
}

/** GET /api/v1 or /apis/<group>/<version> (APIResourceList); undefined when not served. */
export function apiResourceList(group: string, version: string): object | undefined {
  const types = typesIn(group, version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(group, version),
    resources: types.flatMap((type) => [
      {
        name: type.plural,
        singularName: type.singular,
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: type.verbs,
        ...(type.shortNames.length > 0 ? { shortNames: type.shortNames } : {}),
        ...(type.categories.length > 0 ? { categories: type.categories } : {}),
        ...(type.persisted ? { storageVersionHash: storageVersionHash(type) } : {}),
      },
      ...type.subresources.map((name) => subresourceEntry(type, name)),
    ]),
  };
}

/**
 * The document for GET /api or /apis as the Accept header asks: aggregated discovery in the
 * version the client prefers (with its exact content type, which kubectl checks), else the
 * legacy APIVersions / APIGroupList as plain JSON.
 */
export function rootDiscovery(scope: 'api' | 'apis', accept: string | undefined): { readonly contentType: string; readonly body: object } {
  const version = aggregatedDiscoveryVersion(accept);
  if (version) return { contentType: aggregatedDiscoveryContentType(version), body: aggregatedDiscovery(scope, version) };
  return { contentType: 'application/json', body: scope === 'api' ? legacyApiVersions() : legacyApiGroupList() };
}
