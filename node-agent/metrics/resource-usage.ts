/**
 * Resource usage as the kubelet reports it: per container the cumulative CPU time and the memory
 * working set, and the same for the node. A source measures (the process runtime's /proc, ECS's
 * task stats); the tracker keeps the previous measurement of each container so it can give the
 * CPU rate (`usageNanoCores`) beside the cumulative figure, as the kubelet's Summary API does,
 * and the resource metrics endpoint's Prometheus text (`/metrics/resource`).
 */
import type { ContainerStats, StatsSummary } from '../../functions/domain/metrics/node-stats.ts';

export type { StatsSummary } from '../../functions/domain/metrics/node-stats.ts';

/** One container's figures at `timeMs`. */
export interface ContainerUsage {
  readonly namespace: string;
  readonly pod: string;
  readonly uid: string;
  readonly container: string;
  /** When the container started (ISO time), the Summary API's `startTime`. */
  readonly startTime?: string;
  /** Cumulative CPU time, nanoseconds of one core. */
  readonly cpuCoreNanoSeconds: number;
  /** A rate the source measured itself (ECS stats carry two readings); otherwise from the last sample. */
  readonly cpuNanoCores?: number;
  readonly memoryWorkingSetBytes: number;
  readonly timeMs: number;
}

export interface NodeUsage {
  readonly cpuCoreNanoSeconds: number;
  readonly memoryWorkingSetBytes: number;
  readonly timeMs: number;
}

export interface UsageSample {
  readonly node: NodeUsage;
  readonly containers: readonly ContainerUsage[];
}

/** Where usage comes from: the runtime's containers and the node they run on. */
export interface UsageSource {
  sample(): Promise<UsageSample>;
}

function rate(
  previous: { cpuCoreNanoSeconds: number; timeMs: number } | undefined,
  current: { cpuCoreNanoSeconds: number; timeMs: number },
): number | undefined {
  if (!previous || current.timeMs <= previous.timeMs) return undefined;
  const used = current.cpuCoreNanoSeconds - previous.cpuCoreNanoSeconds;
  // A counter that went back is a new run of the container (a restart): no rate from the two.
  if (used < 0) return undefined;
  return Math.round((used * 1000) / (current.timeMs - previous.timeMs));
}

const containerKey = (usage: ContainerUsage) => `${usage.uid}/${usage.container}`;

/**
 * Keeps the last two samples: the CPU rate of a container is the cumulative time it used between
 * them over the time between them (what cAdvisor and metrics-server compute). A container seen
 * once has no rate yet and is left out of the summary's rates until its second sample, as
 * metrics-server leaves out a pod it has only one scrape of.
 */
export class UsageTracker {
  private latest: UsageSample | undefined;
  private latestRates = new Map<string, number>();
  private latestNodeRate: number | undefined;
  private windowMs: number | undefined;

  constructor(private readonly nodeName: string) {}

  record(sample: UsageSample): void {
    const earlier = new Map((this.latest?.containers ?? []).map((usage) => [containerKey(usage), usage]));
    const rates = new Map<string, number>();
    for (const usage of sample.containers) {
      const measured = usage.cpuNanoCores ?? rate(earlier.get(containerKey(usage)), usage);
      if (measured !== undefined) rates.set(containerKey(usage), measured);
    }
    this.latestNodeRate = rate(this.latest?.node, sample.node);
    this.windowMs = this.latest ? sample.node.timeMs - this.latest.node.timeMs : undefined;
    this.latest = sample;
    this.latestRates = rates;
  }

  /** The Summary API document; undefined before the first sample. */
  summary(): StatsSummary | undefined {
    const sample = this.latest;
    if (!sample) return undefined;
    const iso = (ms: number) => new Date(ms).toISOString();
    const pods = new Map<string, { podRef: { name: string; namespace: string; uid: string }; containers: ContainerStats[] }>();
    for (const usage of sample.containers) {
      const rateOf = this.latestRates.get(containerKey(usage));
      let pod = pods.get(usage.uid);
      if (!pod) {
        pod = { podRef: { name: usage.pod, namespace: usage.namespace, uid: usage.uid }, containers: [] };
        pods.set(usage.uid, pod);
      }
      pod.containers.push({
        name: usage.container,
        ...(usage.startTime ? { startTime: usage.startTime } : {}),
        cpu: { time: iso(usage.timeMs), ...(rateOf !== undefined ? { usageNanoCores: rateOf } : {}), usageCoreNanoSeconds: usage.cpuCoreNanoSeconds },
        memory: { time: iso(usage.timeMs), workingSetBytes: usage.memoryWorkingSetBytes },
      });
    }
    return {
      ...(this.windowMs !== undefined && this.windowMs > 0 ? { windowSeconds: Math.round(this.windowMs / 100) / 10 } : {}),
      node: {
        nodeName: this.nodeName,
        cpu: {
          time: iso(sample.node.timeMs),
          ...(this.latestNodeRate !== undefined ? { usageNanoCores: this.latestNodeRate } : {}),
          usageCoreNanoSeconds: sample.node.cpuCoreNanoSeconds,
        },
        memory: { time: iso(sample.node.timeMs), workingSetBytes: sample.node.memoryWorkingSetBytes },
      },
      pods: [...pods.values()].map((pod) => {
        const time = pod.containers[0]?.cpu.time ?? iso(sample.node.timeMs);
        const rates = pod.containers.map((c) => c.cpu.usageNanoCores);
        const allRated = rates.every((value) => value !== undefined);
        return {
          ...pod,
          cpu: {
            time,
            ...(allRated ? { usageNanoCores: rates.reduce<number>((sum, value) => sum + (value ?? 0), 0) } : {}),
            usageCoreNanoSeconds: pod.containers.reduce((sum, c) => sum + c.cpu.usageCoreNanoSeconds, 0),
          },
          memory: { time, workingSetBytes: pod.containers.reduce((sum, c) => sum + c.memory.workingSetBytes, 0) },
        };
      }),
    };
  }

  /**
   * The kubelet's `/metrics/resource` text: cumulative CPU seconds and working set bytes per
   * container, pod and node, each with the time of its measurement in milliseconds.
   */
  prometheusText(): string {
    const sample = this.latest;
    const lines: string[] = [];
    const labelValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const help = (name: string, text: string, type: string) => lines.push(`# HELP ${name} ${text}`, `# TYPE ${name} ${type}`);
    help('container_cpu_usage_seconds_total', '[STABLE] Cumulative cpu time consumed by the container in core-seconds', 'counter');
    for (const usage of sample?.containers ?? []) {
      lines.push(
        `container_cpu_usage_seconds_total{container="${labelValue(usage.container)}",namespace="${labelValue(usage.namespace)}",pod="${labelValue(usage.pod)}"} ${usage.cpuCoreNanoSeconds / 1e9} ${usage.timeMs}`,
      );
    }
    help('container_memory_working_set_bytes', '[STABLE] Current working set of the container in bytes', 'gauge');
    for (const usage of sample?.containers ?? []) {
      lines.push(
        `container_memory_working_set_bytes{container="${labelValue(usage.container)}",namespace="${labelValue(usage.namespace)}",pod="${labelValue(usage.pod)}"} ${usage.memoryWorkingSetBytes} ${usage.timeMs}`,
      );
    }
    help('node_cpu_usage_seconds_total', '[STABLE] Cumulative cpu time consumed by the node in core-seconds', 'counter');
    if (sample) lines.push(`node_cpu_usage_seconds_total ${sample.node.cpuCoreNanoSeconds / 1e9} ${sample.node.timeMs}`);
    help('node_memory_working_set_bytes', '[STABLE] Current working set of the node in bytes', 'gauge');
    if (sample) lines.push(`node_memory_working_set_bytes ${sample.node.memoryWorkingSetBytes} ${sample.node.timeMs}`);
    return `${lines.join('\n')}\n`;
  }
}
