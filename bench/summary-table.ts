/** The short table `npm run bench` prints: each figure beside its anchor. */
import { figureAt } from './figures.ts';

function show(value: unknown, unit = ''): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'n/a';
  return `${Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100}${unit}`;
}

export function formatTable(results: unknown): string {
  const at = (path: string): unknown => figureAt(results, path);
  const rows: [string, string, string][] = [];
  for (const [op, label] of [
    ['create', 'create'],
    ['get', 'get'],
    ['update', 'update'],
    ['listSmall', `list ${show(at('apiLatency.listSmall.objects'))}`],
    ['listLarge', `list ${show(at('apiLatency.listLarge.objects'))}`],
  ] as const) {
    rows.push([
      `API ${label} p50 / p99`,
      `${show(at(`apiLatency.${op}.api.p50`), ' ms')} / ${show(at(`apiLatency.${op}.api.p99`), ' ms')} (DynamoDB ${show(at(`apiLatency.${op}.dynamoDb.p50`), ' ms')} / ${show(at(`apiLatency.${op}.dynamoDb.p99`), ' ms')}, x${show(at(`apiLatency.${op}.ratioP50`))})`,
      op.startsWith('list') ? 'p99 <= 5 s (namespaced list)' : 'p99 <= 1 s',
    ]);
  }
  rows.push(['watch delivery p50 / p99', `${show(at('apiLatency.watchDelivery.p50'), ' ms')} / ${show(at('apiLatency.watchDelivery.p99'), ' ms')}`, '']);
  const runs = (at('scheduling.runs') as { nodes: number; pods: number; bound: number; podsPerSecond: number; planPodsPerSecond: number }[] | undefined) ?? [];
  for (const run of runs) {
    rows.push([
      `scheduling, ${run.nodes} nodes`,
      `${show(run.podsPerSecond, ' pods/s')} (${run.bound}/${run.pods} bound; plan alone ${show(run.planPodsPerSecond, ' pods/s')})`,
      run.nodes >= 5000 ? '680-810 pods/s' : '',
    ]);
  }
  rows.push([
    `pod startup, ${show(at('podStartup.replicas'))} pods / ${show(at('podStartup.nodes'))} nodes`,
    `p50 ${show(at('podStartup.p50'), ' ms')}, p99 ${show(at('podStartup.p99'), ' ms')}, all Running in ${show(at('podStartup.rolloutSeconds'), ' s')}`,
    'p99 <= 5 s',
  ]);
  rows.push([
    'scale held (kubectl get pods in SLO)',
    `${show(at('scale.maxNodes'))} nodes / ${show(at('scale.maxPods'))} pods (stopped by ${String(at('scale.stoppedBy') ?? 'n/a')})`,
    'KWOK 1k / 100k; limit 5k / 150k',
  ]);
  for (const [key, label] of [
    ['idleControlPlane', 'idle control plane'],
    ['idleNode', 'one idle node'],
    ['steady100Nodes30Pods', '100 nodes x 30 pods'],
    ['rollout1000Pods', 'rollouts of 1,000 pods (30/month)'],
  ] as const) {
    rows.push([`cost: ${label}`, `$${show(at(`cost.scenarios.${key}.monthlyUsd.total`))}/month`, `EKS $${show(at('cost.eksMonthlyUsd'))}/month`]);
  }
  const writerRuns =
    (at('writers.runs') as
      | { processes: number; writesPerSecond: number; ceilingPutsPerSecond: number; ratio: number; retriesPerWrite: number }[]
      | undefined) ?? [];
  for (const run of writerRuns) {
    rows.push([
      `writers, ${run.processes} process(es), one type`,
      `${show(run.writesPerSecond, ' writes/s')} (ceiling ${show(run.ceilingPutsPerSecond, ' puts/s')}, ratio ${show(run.ratio)}; ${show(run.retriesPerWrite)} retries/write)`,
      run.processes >= 16 ? 'ratio >= 0.5' : '',
    ]);
  }
  rows.push([
    'write units: 1 KB update / Lease renewal',
    `${show(at('writers.update1KB.writeUnits'))} / ${show(at('writers.leaseRenewal.writeUnits'))} (DynamoDB Local reports ${show(at('writers.update1KB.reportedWriteUnits'))} / ${show(at('writers.leaseRenewal.reportedWriteUnits'))})`,
    '<= 4 / <= 2',
  ]);
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(['figure', 'measured', 'anchor']), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
