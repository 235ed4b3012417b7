/**
 * ClusterIP and NodePort allocation for Services, made safe under concurrency by the store:
 * every allocated IP and port is one record object (an `IPAddress` named by the IP, as
 * Kubernetes' own allocator keeps them, and a `ServiceNodePort` named by the port), created with
 * the store's create-if-absent. Two API calls racing for one value: exactly one create wins,
 * the other gets AlreadyExists and picks again (or reports 422 when the value was requested).
 * See docs/adr/090-service-allocation-records.md.
 *
 * The API calls `writeServiceWithAllocations` around its create/update of a Service, and
 * `releaseService` after deleting one.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';
import { AlreadyExistsError, InternalError, InvalidError, isApiError, type StatusCause } from '../../core/errors.ts';
import { addressAt } from '../../core/ipv4-range.ts';
import { listAll } from '../../store/list-all.ts';
import type { ObjectStore } from '../../store/store.ts';
import {
  applyAllocation,
  heldIp,
  heldNodePorts,
  nodePortRangeText,
  planServiceAllocation,
  type ResolvedRanges,
  resolveRanges,
  type ServiceAllocationOptions,
} from './service-allocation-plan.ts';
import { serviceSpecSchema } from './service-view.ts';

export type { ServiceAllocationOptions } from './service-allocation-plan.ts';

function internalType(group: string, kind: string, plural: string): ResourceType {
  return {
    id: `${group}/${plural}`,
    group,
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced: false,
    shortNames: [],
    categories: [],
    subresources: [],
    verbs: [],
    persisted: true,
    otherVersions: [],
  };
}

/** Allocation records of ClusterIPs (not served by the API; stored like any object). */
export const ipAddressRecords: ResourceType = internalType('networking.k8s.io', 'IPAddress', 'ipaddresses');
/** Allocation records of NodePorts (not served). */
export const nodePortRecords: ResourceType = internalType('skiff.io', 'ServiceNodePort', 'servicenodeports');

interface ParentRef {
  readonly namespace: string;
  readonly name: string;
}

function parentOf(service: KubeObject): ParentRef {
  return { namespace: service.metadata.namespace ?? 'default', name: service.metadata.name ?? '' };
}

function recordParent(record: KubeObject): ParentRef | undefined {
  const spec = record.spec as { parentRef?: { namespace?: unknown; name?: unknown } } | undefined;
  const ref = spec?.parentRef;
  return typeof ref?.namespace === 'string' && typeof ref.name === 'string' ? { namespace: ref.namespace, name: ref.name } : undefined;
}

function sameParent(a: ParentRef | undefined, b: ParentRef): boolean {
  return a !== undefined && a.namespace === b.namespace && a.name === b.name;
}

function ipRecord(ip: string, parent: ParentRef): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IPAddress',
    metadata: { name: ip, labels: { 'ipaddress.kubernetes.io/managed-by': 'ipallocator.k8s.io' } },
    spec: { parentRef: { group: '', resource: 'services', namespace: parent.namespace, name: parent.name } },
  };
}

function nodePortRecord(port: number, parent: ParentRef): KubeObject {
  return {
    apiVersion: 'skiff.io/v1',
    kind: 'ServiceNodePort',
    metadata: { name: String(port) },
    spec: { port, parentRef: { group: '', resource: 'services', namespace: parent.namespace, name: parent.name } },
  };
}

function invalid(service: KubeObject, causes: readonly StatusCause[]): InvalidError {
  return new InvalidError({ kind: 'Service', group: '', name: service.metadata.name ?? '' }, causes);
}

/** Records created by one allocation call, so a failure can undo exactly them. */
interface Claims {
  readonly ips: string[];
  readonly nodePorts: number[];
}

async function tryCreate(store: ObjectStore, type: ResourceType, record: KubeObject): Promise<boolean> {
  try {
    await store.create(type, record);
    return true;
  } catch (error) {
    if (error instanceof AlreadyExistsError || isApiError(error, 409)) return false;
    throw error;
  }
}

async function claimRandom(
  store: ObjectStore,
  type: ResourceType,
  candidates: { readonly count: number; readonly at: (index: number) => string },
  record: (name: string) => KubeObject,
  random: () => number,
  what: string,
): Promise<string> {
  // Random probes first: cheap while the range is sparse (the usual case).
  for (let attempt = 0; attempt < 8; attempt++) {
    const name = candidates.at(Math.floor(random() * candidates.count));
    if (await tryCreate(store, type, record(name))) return name;
  }
  // Crowded range: read what is taken and pick among the rest.
  for (let round = 0; round < 5; round++) {
    const taken = new Set((await listAll(store, type)).map((r) => r.metadata.name));
    const free: string[] = [];
    for (let i = 0; i < candidates.count; i++) {
      const name = candidates.at(i);
      if (!taken.has(name)) free.push(name);
    }
    if (free.length === 0) break;
    const name = free[Math.floor(random() * free.length)] as string;
    if (await tryCreate(store, type, record(name))) return name;
  }
  throw new InternalError(`failed to allocate a ${what}: range is full`);
}

/**
 * Allocates what `service` needs (given `old`, the stored version on update) and returns the
 * Service with `spec.clusterIP(s)` and `spec.ports[].nodePort` filled in. Throws InvalidError
 * (422) for a taken or out-of-range request; on any failure the records it created are removed.
 * Values `old` already holds are kept, not claimed again.
 */
export async function allocateService(
  store: ObjectStore,
  service: KubeObject,
  old: KubeObject | undefined,
  options: ServiceAllocationOptions = {},
): Promise<KubeObject> {
  const ranges = resolveRanges(options);
  const random = options.random ?? Math.random;
  const plan = planServiceAllocation(service, old, ranges);
  if (plan.causes.length > 0) throw invalid(service, plan.causes);
  const parent = parentOf(service);
  const claims: Claims = { ips: [], nodePorts: [] };
  try {
    const ip = await claimIp(store, plan.ip, parent, ranges, random, claims, service);
    const nodePorts: (number | undefined)[] = [];
    for (const [index, decision] of plan.ports.entries()) {
      nodePorts.push(await claimNodePort(store, decision, index, parent, ranges, random, claims, service, nodePorts));
    }
    return applyAllocation(service, ip, nodePorts);
  } catch (error) {
    await releaseRecords(store, claims, parent);
    throw error;
  }
}

async function claimIp(
  store: ObjectStore,
  decision: ReturnType<typeof planServiceAllocation>['ip'],
  parent: ParentRef,
  ranges: ResolvedRanges,
  random: () => number,
  claims: Claims,
  service: KubeObject,
): Promise<string | undefined> {
  switch (decision.kind) {
    case 'none':
      return undefined;
    case 'headless':
      return 'None';
    case 'keep':
      return decision.ip;
    case 'request': {
      if (!(await tryCreate(store, ipAddressRecords, ipRecord(decision.ip, parent)))) {
        throw invalid(service, [
          {
            field: 'spec.clusterIPs',
            message: `Invalid value: []string{"${decision.ip}"}: failed to allocate IP ${decision.ip}: provided IP is already allocated`,
          },
        ]);
      }
      claims.ips.push(decision.ip);
      return decision.ip;
    }
    case 'random': {
      // Offsets 0 and size-1 are the network and broadcast addresses; 1 is the `kubernetes` Service's.
      const count = ranges.ips.size - 3;
      const ip = await claimRandom(
        store,
        ipAddressRecords,
        { count, at: (i) => addressAt(ranges.ips, i + 2) },
        (name) => ipRecord(name, parent),
        random,
        'serviceIP',
      );
      claims.ips.push(ip);
      return ip;
    }
  }
}

async function claimNodePort(
  store: ObjectStore,
  decision: ReturnType<typeof planServiceAllocation>['ports'][number],
  index: number,
  parent: ParentRef,
  ranges: ResolvedRanges,
  random: () => number,
  claims: Claims,
  service: KubeObject,
  earlier: readonly (number | undefined)[],
): Promise<number | undefined> {
  switch (decision.kind) {
    case 'none':
      return undefined;
    case 'keep':
      return decision.nodePort;
    case 'request': {
      // One Service may use a port for TCP and UDP alike: a record it claimed a moment ago is its own.
      if (claims.nodePorts.includes(decision.nodePort) || earlier.includes(decision.nodePort)) return decision.nodePort;
      if (!(await tryCreate(store, nodePortRecords, nodePortRecord(decision.nodePort, parent)))) {
        throw invalid(service, [
          { field: `spec.ports[${index}].nodePort`, message: `Invalid value: ${decision.nodePort}: provided port is already allocated` },
        ]);
      }
      claims.nodePorts.push(decision.nodePort);
      return decision.nodePort;
    }
    case 'random': {
      const { min, max } = ranges.nodePorts;
      const name = await claimRandom(
        store,
        nodePortRecords,
        { count: max - min + 1, at: (i) => String(min + i) },
        (port) => nodePortRecord(Number(port), parent),
        random,
        `nodePort in ${nodePortRangeText(ranges.nodePorts)}`,
      );
      const port = Number(name);
      claims.nodePorts.push(port);
      return port;
    }
  }
}

async function releaseRecords(store: ObjectStore, claims: Claims, parent: ParentRef): Promise<void> {
  for (const ip of claims.ips) await releaseRecord(store, ipAddressRecords, ip, parent);
  for (const port of claims.nodePorts) await releaseRecord(store, nodePortRecords, String(port), parent);
}

/** Deletes one record if (and only if) it still belongs to `parent`. */
async function releaseRecord(store: ObjectStore, type: ResourceType, name: string, parent: ParentRef): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let record: KubeObject;
    try {
      record = await store.get(type, undefined, name);
    } catch (error) {
      if (isApiError(error, 404)) return;
      throw error;
    }
    if (!sameParent(recordParent(record), parent)) return;
    try {
      const resourceVersion = record.metadata.resourceVersion;
      await store.delete(type, undefined, name, resourceVersion ? { preconditions: { resourceVersion } } : {});
      return;
    } catch (error) {
      if (isApiError(error, 404)) return;
      if (!isApiError(error, 409)) throw error;
    }
  }
}

/**
 * Frees what `service` holds, except what `keep` holds too: after a delete,
 * `releaseService(store, deleted)`; after an update, `releaseService(store, old, updated)`;
 * after a failed write, `releaseService(store, attempted, old)`. Only records that name this
 * Service as their parent are removed.
 */
export async function releaseService(store: ObjectStore, service: KubeObject, keep?: KubeObject): Promise<void> {
  const spec = serviceSpecSchema.safeParse(service.spec ?? {});
  if (!spec.success) return;
  const keepSpec = keep ? serviceSpecSchema.safeParse(keep.spec ?? {}) : undefined;
  const keptIp = keepSpec?.success ? heldIp(keepSpec.data) : undefined;
  const keptPorts = new Set(keepSpec?.success ? heldNodePorts(keepSpec.data) : []);
  const ip = heldIp(spec.data);
  const claims: Claims = {
    ips: ip && ip !== keptIp ? [ip] : [],
    nodePorts: heldNodePorts(spec.data).filter((port) => !keptPorts.has(port)),
  };
  await releaseRecords(store, claims, parentOf(service));
}

/**
 * Allocation around one write of a Service: allocate, `write` the allocated Service, then free
 * what the old version held and the new one does not; if `write` fails, free what was
 * claimed for it and rethrow. Returns what `write` returned.
 */
export async function writeServiceWithAllocations(
  store: ObjectStore,
  service: KubeObject,
  old: KubeObject | undefined,
  write: (allocated: KubeObject) => Promise<KubeObject>,
  options: ServiceAllocationOptions = {},
): Promise<KubeObject> {
  const allocated = await allocateService(store, service, old, options);
  let written: KubeObject;
  try {
    written = await write(allocated);
  } catch (error) {
    await releaseService(store, allocated, old).catch(() => undefined);
    throw error;
  }
  if (old) await releaseService(store, old, written);
  return written;
}

/**
 * Frees every record that names `namespace/name` as its parent, for a Service that is gone
 * (deleted through a path that did not release, e.g. after a finalizer or a namespace cleanup).
 * Records younger than `minAgeSeconds` are left alone: they may belong to a Service of the same
 * name being created right now.
 */
export async function releaseAllocationsOf(store: ObjectStore, namespace: string, name: string, now: Date = new Date(), minAgeSeconds = 30): Promise<string[]> {
  const parent = { namespace, name };
  const released: string[] = [];
  for (const type of [ipAddressRecords, nodePortRecords]) {
    for (const record of await listAll(store, type)) {
      if (!sameParent(recordParent(record), parent)) continue;
      const created = Date.parse(record.metadata.creationTimestamp ?? '');
      if (!Number.isNaN(created) && now.getTime() - created < minAgeSeconds * 1000) continue;
      await releaseRecord(store, type, record.metadata.name ?? '', parent);
      released.push(`${type.kind}/${record.metadata.name}`);
    }
  }
  return released;
}

export interface RepairResult {
  /** Records removed because no Service holds their value. */
  readonly released: readonly string[];
  /** Records written back for values a Service holds without one. */
  readonly restored: readonly string[];
}

/**
 * The allocator's repair loop (Kubernetes runs one too): frees records no Service holds any
 * more — left behind by an API process that died between allocating and writing — and
 * re-creates missing records for values Services hold. Records younger than `minAgeSeconds`
 * are left alone: their write may still be in flight. Cheap enough for the periodic resync.
 */
export async function repairServiceAllocations(store: ObjectStore, services: ResourceType, now: Date = new Date(), minAgeSeconds = 120): Promise<RepairResult> {
  const held = new Map<string, ParentRef>();
  for (const service of await listAll(store, services)) {
    const spec = serviceSpecSchema.safeParse(service.spec ?? {});
    if (!spec.success || service.metadata.deletionTimestamp) continue;
    const parent = parentOf(service);
    const ip = heldIp(spec.data);
    if (ip) held.set(`ip/${ip}`, parent);
    for (const port of heldNodePorts(spec.data)) held.set(`port/${port}`, parent);
  }
  const released: string[] = [];
  const restored: string[] = [];
  for (const [type, prefix] of [
    [ipAddressRecords, 'ip'],
    [nodePortRecords, 'port'],
  ] as const) {
    const records = await listAll(store, type);
    const present = new Set(records.map((r) => `${prefix}/${r.metadata.name}`));
    for (const record of records) {
      const key = `${prefix}/${record.metadata.name}`;
      const parent = recordParent(record);
      const holder = held.get(key);
      const created = Date.parse(record.metadata.creationTimestamp ?? '');
      const oldEnough = Number.isNaN(created) || now.getTime() - created >= minAgeSeconds * 1000;
      if (parent && oldEnough && !sameParent(holder, parent)) {
        await releaseRecord(store, type, record.metadata.name ?? '', parent);
        released.push(key);
      }
    }
    for (const [key, parent] of held) {
      if (!key.startsWith(`${prefix}/`) || present.has(key)) continue;
      const name = key.slice(prefix.length + 1);
      const record = prefix === 'ip' ? ipRecord(name, parent) : nodePortRecord(Number(name), parent);
      if (await tryCreate(store, type, record)) restored.push(key);
    }
  }
  return { released, restored };
}
