/**
 * The resource types CustomResourceDefinitions add, beside the built-in ones of `registry.ts`:
 * a process-wide view of the Established CRDs, replaced as a whole whenever the process learns
 * the CRDs changed (`functions/domain/custom-resources/custom-resource-sync.ts` checks the CRD
 * type's revision, docs/adr/179). `registry.ts` asks it for what its own table does not hold.
 */
import { customResourceTypesOf, parseCustomResourceDefinition } from './custom-resource-definition.ts';
import type { KubeObject } from './meta.ts';
import type { ResourceType } from './resource-type.ts';

interface CustomResourceView {
  readonly types: readonly ResourceType[];
  /** `<group>/<version>/<plural>` → type. */
  readonly byPath: ReadonlyMap<string, ResourceType>;
  /** Type id (`<group>/<plural>`) → the storage version's type (or the first served). */
  readonly byId: ReadonlyMap<string, ResourceType>;
  /** `<apiVersion>/<kind>` → type. */
  readonly byKind: ReadonlyMap<string, ResourceType>;
}

const empty: CustomResourceView = { types: [], byPath: new Map(), byId: new Map(), byKind: new Map() };
let view: CustomResourceView = empty;

/** Builds the view of these CRDs (as stored) without installing it. */
export function customResourceView(crds: readonly KubeObject[]): CustomResourceView {
  const types = crds
    .map(parseCustomResourceDefinition)
    .filter((crd) => crd !== undefined)
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    .flatMap(customResourceTypesOf);
  const byPath = new Map<string, ResourceType>();
  const byId = new Map<string, ResourceType>();
  const byKind = new Map<string, ResourceType>();
  for (const type of types) {
    byPath.set(`${type.group}/${type.version}/${type.plural}`, type);
    if (!byId.has(type.id) || type.custom?.storageVersion === type.version) byId.set(type.id, type);
    byKind.set(`${type.group}/${type.version}/${type.kind}`, type);
  }
  return { types, byPath, byId, byKind };
}

/** Installs the CRDs this process serves from now on (all of them: the list replaces the last). */
export function setCustomResourceDefinitions(crds: readonly KubeObject[]): void {
  view = crds.length === 0 ? empty : customResourceView(crds);
}

export function customResourceTypes(): readonly ResourceType[] {
  return view.types;
}

export function findCustomResourceType(group: string, version: string, plural: string): ResourceType | undefined {
  return view.byPath.get(`${group}/${version}/${plural}`);
}

export function customResourceTypeById(id: string): ResourceType | undefined {
  return view.byId.get(id);
}

export function customResourceTypeOfKind(apiVersion: string, kind: string): ResourceType | undefined {
  return view.byKind.get(`${apiVersion}/${kind}`);
}

/** One type per custom kind, its storage version's: what a controller lists all objects of the kind with. */
export function customResourceStorageTypes(): readonly ResourceType[] {
  return [...view.byId.values()];
}
