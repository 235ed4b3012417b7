/**
 * What an object counts against a namespace's ResourceQuota, as kube-apiserver's quota evaluators
 * count it: object counts (`pods`, `services`, `count/deployments.apps`, ...) and, for pods, the
 * sums of their containers' requests and limits (`requests.cpu` alias `cpu`, `limits.memory`,
 * ...); for claims, `requests.storage`. CPU is counted in millicores, memory and storage in bytes.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';
import { parseMilliCpu, parseQuantity } from '../../core/resource-quantity.ts';

export type Usage = Map<string, number>;

interface Container {
  readonly name?: string;
  readonly resources?: { readonly requests?: Readonly<Record<string, string>>; readonly limits?: Readonly<Record<string, string>> };
}

/** The quota names an object of `type` counts towards as one object. */
export function countNames(type: ResourceType): string[] {
  const counted = type.group ? `count/${type.plural}.${type.group}` : `count/${type.plural}`;
  const legacy = ['pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims'];
  return !type.group && legacy.includes(type.plural) ? [type.plural, counted] : [counted];
}

/** A pod stops counting once it has finished (the quota evaluator's terminal pods). */
export function countsAgainstQuota(object: KubeObject): boolean {
  if (object.kind !== 'Pod') return true;
  const phase = (object.status as { phase?: string } | undefined)?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

function amount(resource: string, value: string | undefined): number {
  if (value === undefined) return 0;
  return (resource === 'cpu' ? parseMilliCpu(value) : parseQuantity(value)) ?? 0;
}

/** The containers a pod's resources are the sum of (init containers: their largest, as Kubernetes counts). */
function podResources(pod: KubeObject, side: 'requests' | 'limits', resource: string): number {
  const spec = (pod.spec ?? {}) as { containers?: readonly Container[]; initContainers?: readonly Container[] };
  const sum = (spec.containers ?? []).reduce((total, c) => total + amount(resource, c.resources?.[side]?.[resource]), 0);
  const init = (spec.initContainers ?? []).reduce((max, c) => Math.max(max, amount(resource, c.resources?.[side]?.[resource])), 0);
  return Math.max(sum, init);
}

/** What one object uses of each quota name in `names`. */
export function usageOf(type: ResourceType, object: KubeObject, names: Iterable<string>): Usage {
  const usage: Usage = new Map();
  const counts = new Set(countNames(type));
  for (const name of names) {
    if (counts.has(name)) usage.set(name, 1);
    else if (type.kind === 'Pod') {
      const match = /^(requests\.|limits\.)?(cpu|memory|ephemeral-storage)$/.exec(name);
      if (match) usage.set(name, podResources(object, match[1] === 'limits.' ? 'limits' : 'requests', match[2] ?? ''));
    } else if (type.kind === 'PersistentVolumeClaim' && name === 'requests.storage') {
      usage.set(name, amount('storage', (object.spec as { resources?: { requests?: Record<string, string> } } | undefined)?.resources?.requests?.storage));
    }
  }
  return usage;
}

/** The containers of a pod that leave a quota-tracked resource unset: `requests.cpu for: a,b`. */
export function missingResources(pod: KubeObject, names: Iterable<string>): string[] {
  const spec = (pod.spec ?? {}) as { containers?: readonly Container[] };
  const missing: string[] = [];
  for (const name of [...names].sort()) {
    const match = /^(requests\.|limits\.)?(cpu|memory)$/.exec(name);
    if (!match) continue;
    const side = match[1] === 'limits.' ? 'limits' : 'requests';
    const without = (spec.containers ?? []).filter((c) => c.resources?.[side]?.[match[2] ?? ''] === undefined).map((c) => c.name ?? '');
    if (without.length > 0) missing.push(`${name} for: ${without.join(',')}`);
  }
  return missing;
}

/** A quantity as Kubernetes prints it: millicores for CPU, the largest exact binary suffix for bytes. */
export function formatQuantity(name: string, value: number): string {
  if (/(^|\.)cpu$/.test(name)) return value % 1000 === 0 ? String(value / 1000) : `${value}m`;
  if (/(^|\.)(memory|storage|ephemeral-storage)$/.test(name)) {
    for (const [suffix, size] of [
      ['Ei', 2 ** 60],
      ['Pi', 2 ** 50],
      ['Ti', 2 ** 40],
      ['Gi', 2 ** 30],
      ['Mi', 2 ** 20],
      ['Ki', 2 ** 10],
    ] as const) {
      if (value !== 0 && value % size === 0) return `${value / size}${suffix}`;
    }
  }
  return String(value);
}

/** A quota's hard limit, in the unit `usageOf` counts. */
export function hardAmount(name: string, value: string): number {
  return (/(^|\.)cpu$/.test(name) ? parseMilliCpu(value) : parseQuantity(value)) ?? 0;
}
