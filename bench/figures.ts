/**
 * The figures issue 5 names: `npm run bench` fails when its results lack one, so the quick run
 * in CI keeps every figure alive. Values are never compared with a threshold here.
 */

export const requiredFigures: readonly string[] = [
  ...['create', 'get', 'update', 'listSmall', 'listLarge'].flatMap((op) => [
    `apiLatency.${op}.api.p50`,
    `apiLatency.${op}.api.p99`,
    `apiLatency.${op}.dynamoDb.p50`,
    `apiLatency.${op}.dynamoDb.p99`,
    `apiLatency.${op}.ratioP50`,
  ]),
  'apiLatency.listSmall.objects',
  'apiLatency.listLarge.objects',
  'apiLatency.watchDelivery.p50',
  'apiLatency.watchDelivery.p99',
  'scheduling.pendingPods',
  'scheduling.runs.0.nodes',
  'scheduling.runs.0.podsPerSecond',
  'scheduling.runs.1.podsPerSecond',
  'scheduling.runs.2.podsPerSecond',
  'podStartup.replicas',
  'podStartup.nodes',
  'podStartup.p50',
  'podStartup.p99',
  'scale.maxNodes',
  'scale.maxPods',
  'scale.steps.0.kubectlGetPodsSeconds',
  'scale.steps.0.kubectlGetPodsAllNamespacesSeconds',
  ...['idleControlPlane', 'idleNode', 'steady100Nodes30Pods', 'rollout1000Pods'].flatMap((scenario) => [
    `cost.scenarios.${scenario}.units.dynamoDbReadUnits`,
    `cost.scenarios.${scenario}.units.dynamoDbWriteUnits`,
    `cost.scenarios.${scenario}.units.lambdaInvocations`,
    `cost.scenarios.${scenario}.units.lambdaGbSeconds`,
    `cost.scenarios.${scenario}.units.apiGatewayRequests`,
    `cost.scenarios.${scenario}.units.webSocketMessages`,
    `cost.scenarios.${scenario}.units.webSocketConnectionMinutes`,
    `cost.scenarios.${scenario}.units.stsCalls`,
    `cost.scenarios.${scenario}.monthlyUsd.total`,
  ]),
  'cost.eksMonthlyUsd',
  'cost.prices.date',
  'writers.runs.0.writesPerSecond',
  'writers.runs.0.ceilingPutsPerSecond',
  'writers.runs.0.ratio',
  'writers.runs.0.retriesPerWrite',
  'writers.runs.1.ratio',
  'writers.update1KB.writeUnits',
  'writers.update1KB.reportedWriteUnits',
  'writers.leaseRenewal.writeUnits',
  'writers.leaseRenewal.reportedWriteUnits',
];

/** The value at a dotted path (array indexes as numbers). */
export function figureAt(results: unknown, path: string): unknown {
  let value: unknown = results;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Paths of required figures that are missing or not a finite number (a string for dates). */
export function missingFigures(results: unknown, required: readonly string[] = requiredFigures): string[] {
  return required.filter((path) => {
    const value = figureAt(results, path);
    return typeof value === 'string' ? value === '' : typeof value !== 'number' || !Number.isFinite(value);
  });
}
