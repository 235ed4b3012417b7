/**
 * Usage of the process runtime's containers from Linux /proc: a container is the process tree
 * under the process the runtime started (its shim, and in a pod's namespaces the nsenter and
 * everything below it: those are still host processes the agent can read). CPU is the tree's
 * user and system time plus what its finished children left to them (`cutime`, `cstime`), in
 * clock ticks; memory is the tree's resident set. The node's usage on one machine shared by
 * several local nodes is what that node runs: its containers and the agent itself.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { ContainerRecord } from '../runtime/runtime.ts';
import type { ContainerUsage, UsageSample, UsageSource } from './resource-usage.ts';

interface ProcessStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, clock ticks. */
  readonly ticks: number;
  /** Resident pages. */
  readonly residentPages: number;
}

function systemValue(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

let ticksPerSecond: number | undefined;
let pageBytes: number | undefined;

/** Every process's parent, CPU ticks and resident pages, from one pass over /proc. */
export function readProcessTable(procRoot = '/proc'): Map<number, ProcessStat> {
  const table = new Map<number, ProcessStat>();
  let entries: string[];
  try {
    entries = readdirSync(procRoot).filter((entry) => /^\d+$/.test(entry));
  } catch {
    return table;
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`${procRoot}/${entry}/stat`, 'utf8');
      // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ... rss (24th field)
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      table.set(Number(entry), { pid: Number(entry), ppid: Number(fields[1]), ticks, residentPages: Number(fields[21]) });
    } catch {
      // Ended while we looked.
    }
  }
  return table;
}

/** The process and all its descendants. */
export function processTree(table: ReadonlyMap<number, ProcessStat>, root: number): ProcessStat[] {
  const children = new Map<number, number[]>();
  for (const stat of table.values()) {
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat.pid);
    else children.set(stat.ppid, [stat.pid]);
  }
  const tree: ProcessStat[] = [];
  const pending = [root];
  const seen = new Set<number>();
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const stat = table.get(pid);
    if (!stat) continue;
    tree.push(stat);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export interface ProcUsageOptions {
  /** The runtime's containers (the running ones are measured). */
  readonly containers: () => readonly ContainerRecord[];
  /** @default '/proc' */
  readonly procRoot?: string;
  readonly now?: () => number;
}

export class ProcUsageSource implements UsageSource {
  constructor(private readonly options: ProcUsageOptions) {}

  async sample(): Promise<UsageSample> {
    ticksPerSecond ??= systemValue('CLK_TCK', 100);
    pageBytes ??= systemValue('PAGESIZE', 4096);
    const nanosPerTick = 1e9 / ticksPerSecond;
    const table = readProcessTable(this.options.procRoot);
    const timeMs = (this.options.now ?? Date.now)();
    const containers: ContainerUsage[] = [];
    for (const record of this.options.containers()) {
      if (record.exit || record.pid === undefined || record.creating) continue;
      const tree = processTree(table, record.pid);
      if (tree.length === 0) continue;
      containers.push({
        namespace: record.pod.namespace,
        pod: record.pod.name,
        uid: record.pod.uid,
        container: record.containerName,
        startTime: record.startedAt,
        cpuCoreNanoSeconds: tree.reduce((sum, stat) => sum + stat.ticks, 0) * nanosPerTick,
        memoryWorkingSetBytes: tree.reduce((sum, stat) => sum + stat.residentPages, 0) * pageBytes,
        timeMs,
      });
    }
    const agent = process.cpuUsage();
    return {
      node: {
        cpuCoreNanoSeconds: containers.reduce((sum, usage) => sum + usage.cpuCoreNanoSeconds, (agent.user + agent.system) * 1000),
        memoryWorkingSetBytes: containers.reduce((sum, usage) => sum + usage.memoryWorkingSetBytes, process.memoryUsage().rss),
        timeMs,
      },
      containers,
    };
  }
}

/**
 * The whole machine's usage (/proc/stat and /proc/meminfo): a node that is a machine of its
 * own (an EC2 instance) reports this, as the kubelet reports its root cgroup.
 */
export function machineUsage(procRoot = '/proc', now: () => number = Date.now): { cpuCoreNanoSeconds: number; memoryWorkingSetBytes: number; timeMs: number } {
  ticksPerSecond ??= systemValue('CLK_TCK', 100);
  const cpuLine =
    readFileSync(`${procRoot}/stat`, 'utf8')
      .split('\n')
      .find((line) => line.startsWith('cpu ')) ?? '';
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const values = cpuLine.trim().split(/\s+/).slice(1).map(Number);
  const busy = [0, 1, 2, 5, 6, 7].reduce((sum, index) => sum + (values[index] ?? 0), 0);
  const meminfo = readFileSync(`${procRoot}/meminfo`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0);
  return {
    cpuCoreNanoSeconds: (busy * 1e9) / ticksPerSecond,
    memoryWorkingSetBytes: (kib('MemTotal') - kib('MemAvailable')) * 1024,
    timeMs: now(),
  };
}
