/**
 * The port through which the resource metrics API (`metrics.k8s.io`) reads what each node
 * measured, as metrics-server scrapes the kubelets: a node's figures in the kubelet Summary
 * API's shape (stats/v1alpha1), the part metrics consumers read. The local host asks each node
 * agent's kubelet API (`functions/local/kubelet-client.ts`); on AWS the agents send their figures
 * and the API reads the last ones kept (docs/adr/173).
 */
import { z } from 'zod';
import type { KubeObject } from '../../../schemas/meta.ts';

export interface CpuUsage {
  readonly time: string;
  /** The rate over the last measuring window; absent until the node measured twice. */
  readonly usageNanoCores?: number;
  readonly usageCoreNanoSeconds: number;
}

export interface MemoryUsage {
  readonly time: string;
  readonly workingSetBytes: number;
}

export interface ContainerStats {
  readonly name: string;
  readonly startTime?: string;
  readonly cpu: CpuUsage;
  readonly memory: MemoryUsage;
}

export interface StatsSummary {
  readonly node: { readonly nodeName: string; readonly cpu: CpuUsage; readonly memory: MemoryUsage };
  readonly pods: readonly {
    readonly podRef: { readonly name: string; readonly namespace: string; readonly uid: string };
    readonly containers: readonly ContainerStats[];
    readonly cpu: CpuUsage;
    readonly memory: MemoryUsage;
  }[];
  /** Seconds between the two measurements the rates come from (metrics-server's window). */
  readonly windowSeconds?: number;
}

/** The node's latest figures; undefined when it has none to give (not measured yet, unreachable). */
export type NodeStatsSource = (node: KubeObject) => Promise<StatsSummary | undefined>;

const cpuUsageSchema = z.object({ time: z.string(), usageNanoCores: z.number().optional(), usageCoreNanoSeconds: z.number() });
const memoryUsageSchema = z.object({ time: z.string(), workingSetBytes: z.number() });

/** A node's answer, parsed at the boundary: figures from a node are never cast. */
export const statsSummarySchema = z.object({
  node: z.object({ nodeName: z.string(), cpu: cpuUsageSchema, memory: memoryUsageSchema }),
  pods: z.array(
    z.object({
      podRef: z.object({ name: z.string(), namespace: z.string(), uid: z.string() }),
      containers: z.array(z.object({ name: z.string(), startTime: z.string().optional(), cpu: cpuUsageSchema, memory: memoryUsageSchema })),
      cpu: cpuUsageSchema,
      memory: memoryUsageSchema,
    }),
  ),
  windowSeconds: z.number().optional(),
});
