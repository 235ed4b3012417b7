/**
 * kube-apiserver's LimitRanger and ResourceQuota admission plugins, as steps of the one admission
 * path for new objects of a namespace (ADR 163):
 * - LimitRanger gives each container of a new pod the `defaultRequest` and `default` of the
 *   namespace's Container limits it leaves unset, then refuses a container outside `min`/`max`.
 * - ResourceQuota refuses an object that would take the namespace's usage past a quota's `hard`
 *   limits, with Kubernetes' `exceeded quota: ...` message, and a pod that leaves a tracked
 *   compute resource unset (`failed quota: ...: must specify ...`). Usage is counted from the
 *   namespace's objects at admission (plus the earlier objects of the same batch).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';
import { type ApiError, ForbiddenError, isApiError } from '../../core/errors.ts';
import { parseMilliCpu, parseQuantity } from '../../core/resource-quantity.ts';
import { listAll } from '../../store/list-all.ts';
import type { ObjectReader } from '../../store/store.ts';
import { countsAgainstQuota, formatQuantity, hardAmount, missingResources, usageOf } from './resource-usage.ts';

interface LimitItem {
  readonly type?: string;
  readonly max?: Readonly<Record<string, string>>;
  readonly min?: Readonly<Record<string, string>>;
  readonly default?: Readonly<Record<string, string>>;
  readonly defaultRequest?: Readonly<Record<string, string>>;
}
interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}
interface Container {
  name?: string;
  resources?: Resources;
}

function forbidden(type: ResourceType, object: KubeObject, reason: string): ForbiddenError {
  const name = object.metadata.name ?? object.metadata.generateName ?? '';
  return new ForbiddenError(`${type.plural} "${name}" is forbidden: ${reason}`, { name, group: type.group, kind: type.plural });
}

function value(resource: string, quantity: string): number {
  return (resource === 'cpu' ? parseMilliCpu(quantity) : parseQuantity(quantity)) ?? 0;
}

/** LimitRanger for one pod: the pod with defaults set, or why it is refused. */
function limitPod(pod: KubeObject, items: readonly LimitItem[]): KubeObject | ApiError {
  const containerItems = items.filter((item) => item.type === 'Container');
  if (containerItems.length === 0) return pod;
  const spec = structuredClone(pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  const problems: string[] = [];
  for (const list of [spec.containers ?? [], spec.initContainers ?? []]) {
    for (const container of list) {
      const resources: Resources = { ...container.resources };
      for (const item of containerItems) {
        for (const [resource, quantity] of Object.entries(item.default ?? {})) {
          if (resources.limits?.[resource] === undefined) resources.limits = { ...resources.limits, [resource]: quantity };
        }
        for (const [resource, quantity] of Object.entries(item.defaultRequest ?? {})) {
          if (resources.requests?.[resource] === undefined) resources.requests = { ...resources.requests, [resource]: quantity };
        }
      }
      if (resources.requests || resources.limits) container.resources = resources;
      for (const item of containerItems) {
        for (const [resource, min] of Object.entries(item.min ?? {})) {
          const request = resources.requests?.[resource];
          if (request === undefined) problems.push(`minimum ${resource} usage per Container is ${min}.  No request is specified`);
          else if (value(resource, request) < value(resource, min))
            problems.push(`minimum ${resource} usage per Container is ${min}, but request is ${request}`);
        }
        for (const [resource, max] of Object.entries(item.max ?? {})) {
          const limit = resources.limits?.[resource];
          if (limit === undefined) problems.push(`maximum ${resource} usage per Container is ${max}.  No limit is specified`);
          else if (value(resource, limit) > value(resource, max)) problems.push(`maximum ${resource} usage per Container is ${max}, but limit is ${limit}`);
        }
      }
    }
  }
  if (problems.length > 0) return forbidden(types.pods, pod, problems.length === 1 ? (problems[0] ?? '') : `[${problems.join(', ')}]`);
  return { ...pod, spec } as KubeObject;
}

/** LimitRanger over new pods of one namespace (one read of its LimitRanges). */
export async function applyLimitRanges(store: ObjectReader, namespace: string, pods: readonly (KubeObject | ApiError)[]): Promise<(KubeObject | ApiError)[]> {
  const ranges = await listAll(store, types.limitranges, { namespace });
  if (ranges.length === 0) return [...pods];
  const items = ranges.flatMap((range) => ((range.spec as { limits?: LimitItem[] } | undefined)?.limits ?? []) as LimitItem[]);
  return pods.map((pod) => (isApiError(pod) ? pod : limitPod(pod, items)));
}

function pretty(entries: readonly [string, number][]): string {
  return entries.map(([name, amount]) => `${name}=${formatQuantity(name, amount)}`).join(',');
}

/**
 * ResourceQuota over new objects of one namespace: each object in turn is charged against every
 * quota of the namespace (one read of the quotas, one of the objects they count); an object that
 * would pass a hard limit is refused and charges nothing.
 */
export async function enforceQuotas(
  store: ObjectReader,
  type: ResourceType,
  namespace: string | undefined,
  objects: readonly (KubeObject | ApiError)[],
): Promise<(KubeObject | ApiError)[]> {
  if (!type.namespaced || !namespace || type.id === types.events.id) return [...objects];
  const quotas = await listAll(store, types.resourcequotas, { namespace });
  if (quotas.length === 0) return [...objects];
  const hards = quotas.map((quota) => ({
    name: quota.metadata.name ?? '',
    hard: ((quota.spec as { hard?: Record<string, string> } | undefined)?.hard ?? {}) as Record<string, string>,
  }));
  const tracked = new Set(hards.flatMap((q) => Object.keys(q.hard)));
  const probe = usageOf(type, { apiVersion: 'v1', kind: type.kind, metadata: {} }, tracked);
  if (probe.size === 0) return [...objects];
  const existing = (await listAll(store, type, { namespace })).filter(countsAgainstQuota);
  const used = new Map<string, number>();
  for (const object of existing) for (const [name, amount] of usageOf(type, object, tracked)) used.set(name, (used.get(name) ?? 0) + amount);
  return objects.map((object) => {
    if (isApiError(object)) return object;
    const requested = usageOf(type, object, tracked);
    for (const { name, hard } of hards) {
      const names = Object.keys(hard).filter((resource) => requested.has(resource));
      if (type.kind === 'Pod') {
        const missing = missingResources(object, names);
        if (missing.length > 0) return forbidden(type, object, `failed quota: ${name}: must specify ${missing.join('; ')}`);
      }
      const exceeded = names
        .filter((resource) => (used.get(resource) ?? 0) + (requested.get(resource) ?? 0) > hardAmount(resource, hard[resource] ?? '0'))
        .sort();
      if (exceeded.length > 0) {
        return forbidden(
          type,
          object,
          `exceeded quota: ${name}, requested: ${pretty(exceeded.map((r) => [r, requested.get(r) ?? 0]))}, used: ${pretty(exceeded.map((r) => [r, used.get(r) ?? 0]))}, limited: ${exceeded.map((r) => `${r}=${hard[r]}`).join(',')}`,
        );
      }
    }
    for (const [resource, amount] of requested) used.set(resource, (used.get(resource) ?? 0) + amount);
    return object;
  });
}
