/**
 * Usage of ECS tasks from the task metadata endpoint version 4, which the ECS container agent
 * serves for every task (`${ECS_CONTAINER_METADATA_URI_V4}`): `/task` names the task's
 * containers by Docker id, `/task/stats` gives Docker's stats for each of them. CPU is
 * `cpu_stats.cpu_usage.total_usage` (cumulative nanoseconds), its rate the difference to
 * `precpu_stats` over `read` − `preread`; the working set is `memory_stats.usage` less the
 * inactive file cache (cgroup v1 `total_inactive_file`, v2 `inactive_file`), as cAdvisor counts it.
 */
import { execFile } from 'node:child_process';
import { z } from 'zod';
import type { ContainerRecord } from '../runtime/runtime.ts';
import { machineUsage } from './proc-usage.ts';
import type { ContainerUsage, NodeUsage, UsageSample, UsageSource } from './resource-usage.ts';

const cpuStats = z.object({ cpu_usage: z.object({ total_usage: z.number() }).partial().optional() }).passthrough();
const dockerStats = z
  .object({
    read: z.string().optional(),
    preread: z.string().optional(),
    cpu_stats: cpuStats.optional(),
    precpu_stats: cpuStats.optional(),
    memory_stats: z
      .object({ usage: z.number().optional(), stats: z.record(z.string(), z.number()).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();
/** `/task/stats`: Docker's stats by Docker id; a container not yet running may be `null`. */
export const taskStatsSchema = z.record(z.string(), dockerStats.nullable());
export const taskMetadataSchema = z
  .object({ Containers: z.array(z.object({ DockerId: z.string(), Name: z.string() }).passthrough()).default([]) })
  .passthrough();

export interface EcsStatsOptions {
  /** The runtime's containers (the running ones are measured). */
  readonly containers: () => readonly ContainerRecord[];
  /** The Docker id of a record's container, once ECS has started it. */
  readonly runtimeIdOf: (recordId: string) => string | undefined;
  /** The container's `ECS_CONTAINER_METADATA_URI_V4`. @default read from the container's environment with `docker inspect` */
  readonly metadataUriOf?: (runtimeId: string) => Promise<string | undefined>;
  /** The node's own usage. @default the machine's (/proc) */
  readonly nodeUsage?: () => NodeUsage;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

function dockerInspectMetadataUri(runtimeId: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('docker', ['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', runtimeId], { timeout: 5000 }, (error, stdout) => {
      if (error) return resolve(undefined);
      const line = stdout.split('\n').find((entry) => entry.startsWith('ECS_CONTAINER_METADATA_URI_V4='));
      resolve(line?.slice('ECS_CONTAINER_METADATA_URI_V4='.length));
    });
  });
}

/** The figures of one container's Docker stats. */
export function usageOfDockerStats(
  stats: z.infer<typeof dockerStats>,
): { cpuCoreNanoSeconds: number; cpuNanoCores?: number; memoryWorkingSetBytes: number } | undefined {
  const total = stats.cpu_stats?.cpu_usage?.total_usage;
  if (total === undefined) return undefined;
  const before = stats.precpu_stats?.cpu_usage?.total_usage;
  const span = stats.read && stats.preread ? Date.parse(stats.read) - Date.parse(stats.preread) : Number.NaN;
  // The first reading's `preread` is Docker's zero time: no rate from it.
  const cpuNanoCores = before !== undefined && before > 0 && span > 0 && total >= before ? Math.round(((total - before) * 1000) / span) : undefined;
  const memory = stats.memory_stats;
  const inactive = memory?.stats?.total_inactive_file ?? memory?.stats?.inactive_file ?? 0;
  const usage = memory?.usage ?? 0;
  return { cpuCoreNanoSeconds: total, ...(cpuNanoCores !== undefined ? { cpuNanoCores } : {}), memoryWorkingSetBytes: Math.max(0, usage - inactive) };
}

export class EcsTaskStatsSource implements UsageSource {
  private readonly uris = new Map<string, string>();

  constructor(private readonly options: EcsStatsOptions) {}

  async sample(): Promise<UsageSample> {
    const fetcher = this.options.fetch ?? fetch;
    const timeMs = (this.options.now ?? Date.now)();
    const byPod = new Map<string, ContainerRecord[]>();
    for (const record of this.options.containers()) {
      if (record.exit || record.creating) continue;
      const list = byPod.get(record.pod.uid);
      if (list) list.push(record);
      else byPod.set(record.pod.uid, [record]);
    }
    const containers: ContainerUsage[] = [];
    await Promise.all(
      [...byPod.values()].map(async (records) => {
        const uri = await this.uriOf(records);
        if (!uri) return;
        try {
          const [taskResponse, statsResponse] = await Promise.all([fetcher(`${uri}/task`), fetcher(`${uri}/task/stats`)]);
          if (!taskResponse.ok || !statsResponse.ok) return;
          const task = taskMetadataSchema.parse(await taskResponse.json());
          const stats = taskStatsSchema.parse(await statsResponse.json());
          for (const entry of task.Containers) {
            const record = records.find((candidate) => candidate.containerName === entry.Name);
            const dockerStats = stats[entry.DockerId];
            if (!record || !dockerStats) continue;
            const usage = usageOfDockerStats(dockerStats);
            if (!usage) continue;
            containers.push({
              namespace: record.pod.namespace,
              pod: record.pod.name,
              uid: record.pod.uid,
              container: record.containerName,
              startTime: record.startedAt,
              ...usage,
              timeMs: dockerStats.read ? Date.parse(dockerStats.read) : timeMs,
            });
          }
        } catch {
          // The task stopped meanwhile, or the endpoint answered nonsense: no figures this round.
        }
      }),
    );
    // Forget the endpoints of containers gone since.
    const live = new Set([...byPod.values()].flat().map((record) => this.options.runtimeIdOf(record.id)));
    for (const runtimeId of this.uris.keys()) if (!live.has(runtimeId)) this.uris.delete(runtimeId);
    return { node: (this.options.nodeUsage ?? (() => machineUsage()))(), containers };
  }

  /** The task's metadata endpoint, found through any of its running containers and kept. */
  private async uriOf(records: readonly ContainerRecord[]): Promise<string | undefined> {
    for (const record of records) {
      const runtimeId = this.options.runtimeIdOf(record.id);
      if (!runtimeId) continue;
      const known = this.uris.get(runtimeId);
      if (known) return known;
      const uri = await (this.options.metadataUriOf ?? dockerInspectMetadataUri)(runtimeId);
      if (uri) {
        this.uris.set(runtimeId, uri);
        return uri;
      }
    }
    return undefined;
  }
}
