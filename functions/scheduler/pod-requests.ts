/** What a pod asks of a node: resource requests and host ports. */
import type { KubeObject } from '../../schemas/meta.ts';
import { type StoredPod, storedPod } from '../../schemas/stored-objects.ts';
import { parseMilliCpu, parseQuantity } from '../core/resource-quantity.ts';

export interface Resources {
  readonly milliCpu: number;
  readonly memory: number;
  readonly pods: number;
}

type PodSpec = NonNullable<StoredPod['spec']>;
type Container = NonNullable<PodSpec['containers']>[number];

function specOf(pod: KubeObject): PodSpec {
  return storedPod(pod).spec ?? {};
}

/** A container's request, falling back to its limit as Kubernetes' defaulting does. */
function request(container: Container, name: 'cpu' | 'memory'): number {
  const value = container.resources?.requests?.[name] ?? container.resources?.limits?.[name];
  const parsed = name === 'cpu' ? parseMilliCpu(value) : parseQuantity(value);
  return parsed !== undefined && parsed > 0 ? parsed : 0;
}

/** Sum over containers, at least the largest init container (they run one at a time), plus overhead. */
export function podRequests(pod: KubeObject): Resources {
  const spec = specOf(pod);
  const sum = (name: 'cpu' | 'memory') => (spec.containers ?? []).reduce((total, c) => total + request(c, name), 0);
  const init = (name: 'cpu' | 'memory') => (spec.initContainers ?? []).reduce((max, c) => Math.max(max, request(c, name)), 0);
  const overheadCpu = parseMilliCpu(spec.overhead?.cpu) ?? 0;
  const overheadMemory = parseQuantity(spec.overhead?.memory) ?? 0;
  return {
    milliCpu: Math.max(sum('cpu'), init('cpu')) + overheadCpu,
    memory: Math.max(sum('memory'), init('memory')) + overheadMemory,
    pods: 1,
  };
}

/** Requests as scoring sees them: a pod that asks for nothing still uses something. */
export function nonZeroRequests(pod: KubeObject): Resources {
  const spec = specOf(pod);
  let milliCpu = 0;
  let memory = 0;
  for (const container of spec.containers ?? []) {
    milliCpu += request(container, 'cpu') || 100;
    memory += request(container, 'memory') || 200 * 2 ** 20;
  }
  return { milliCpu, memory, pods: 1 };
}

export function hostPorts(pod: KubeObject): string[] {
  const ports: string[] = [];
  for (const container of specOf(pod).containers ?? []) {
    for (const port of container.ports ?? []) {
      if (typeof port.hostPort === 'number' && port.hostPort > 0) ports.push(`${port.protocol ?? 'TCP'}/${port.hostPort}`);
    }
  }
  return ports;
}
