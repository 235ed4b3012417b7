/**
 * NodeMetrics and PodMetrics (`metrics.k8s.io/v1beta1`) from what the nodes measured, as
 * metrics-server builds them from the kubelets' figures: CPU as the rate over the node's last
 * window in nanocores, memory as the working set in KiB, `timestamp` the measurement's time and
 * `window` how long the rate was measured over. A pod appears once every one of its running
 * containers has a rate (two measurements); before that it has no metrics, as with
 * metrics-server. The API serves these objects and the HorizontalPodAutoscaler reads them.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import type { NodeMetrics, PodMetrics } from '../../../schemas/resource-metrics.ts';
import type { NodeStatsSource, StatsSummary } from './node-stats.ts';

/** A node's stats, read at most once per request however many of its pods are asked about. */
export type NodeStatsReader = (nodeName: string) => Promise<StatsSummary | undefined>;

/**
 * Reads each node's figures once: `nodeOf` finds the Node object (its address and kubelet port),
 * `source` asks it. A node that cannot answer has no figures; it does not fail the others.
 */
export function nodeStatsReader(nodeOf: (name: string) => Promise<KubeObject | undefined>, source: NodeStatsSource): NodeStatsReader {
  const asked = new Map<string, Promise<StatsSummary | undefined>>();
  return (nodeName) => {
    let answer = asked.get(nodeName);
    if (!answer) {
      answer = nodeOf(nodeName)
        .then((node) => (node ? source(node) : undefined))
        .catch(() => undefined);
      asked.set(nodeName, answer);
    }
    return answer;
  };
}

function windowOf(summary: StatsSummary): string {
  return `${summary.windowSeconds ?? 0}s`;
}

const cpuQuantity = (nanoCores: number) => `${Math.max(0, Math.round(nanoCores))}n`;
const memoryQuantity = (bytes: number) => `${Math.max(0, Math.floor(bytes / 1024))}Ki`;

/** The pod's metrics from its node's summary; undefined while any of its containers has no rate. */
export function podMetricsOf(pod: KubeObject, summary: StatsSummary | undefined, now: Date): PodMetrics | undefined {
  const stats = summary?.pods.find((entry) => entry.podRef.uid === pod.metadata.uid);
  if (!summary || !stats || stats.containers.length === 0) return undefined;
  const containers: PodMetrics['containers'] = [];
  for (const container of stats.containers) {
    if (container.cpu.usageNanoCores === undefined) return undefined;
    containers.push({
      name: container.name,
      usage: { cpu: cpuQuantity(container.cpu.usageNanoCores), memory: memoryQuantity(container.memory.workingSetBytes) },
    });
  }
  return {
    kind: 'PodMetrics',
    apiVersion: 'metrics.k8s.io/v1beta1',
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      creationTimestamp: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      ...(pod.metadata.labels ? { labels: pod.metadata.labels } : {}),
    },
    timestamp: (stats.containers[0]?.cpu.time ?? summary.node.cpu.time).replace(/\.\d+Z$/, 'Z'),
    window: windowOf(summary),
    containers,
  };
}

/** The node's metrics from its summary; undefined before it has a rate. */
export function nodeMetricsOf(node: KubeObject, summary: StatsSummary | undefined, now: Date): NodeMetrics | undefined {
  if (!summary || summary.node.cpu.usageNanoCores === undefined) return undefined;
  return {
    kind: 'NodeMetrics',
    apiVersion: 'metrics.k8s.io/v1beta1',
    metadata: {
      name: node.metadata.name,
      creationTimestamp: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      ...(node.metadata.labels ? { labels: node.metadata.labels } : {}),
    },
    timestamp: summary.node.cpu.time.replace(/\.\d+Z$/, 'Z'),
    window: windowOf(summary),
    usage: { cpu: cpuQuantity(summary.node.cpu.usageNanoCores), memory: memoryQuantity(summary.node.memory.workingSetBytes) },
  };
}

/** Metrics of the pods that have them, asking each of their nodes once. */
export async function collectPodMetrics(pods: readonly KubeObject[], read: NodeStatsReader, now: Date): Promise<PodMetrics[]> {
  const results = await Promise.all(
    pods.map(async (pod) => {
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      if (!nodeName) return undefined;
      return podMetricsOf(pod, await read(nodeName), now);
    }),
  );
  return results.filter((metrics): metrics is PodMetrics => metrics !== undefined);
}
