/**
 * The `skiff` command line.
 *
 *   skiff up [--port 6443] [--data-dir .skiff] [--nodes 2] [--node-grace-seconds 40] [--eviction-seconds 300] [--service-cidr 10.96.0.0/12] [--load-balancer-range 127.0.200.0/24]
 *   skiff agent --kubeconfig FILE --name NAME [--runtime process|sim] [--cpu N --memory SIZE --pods N]
 *   skiff kubeconfig --stack NAME [--region R] [--profile P] [--out FILE]
 *   skiff token --cluster-id ID --region R [--profile P]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serviceCidrProblem } from '../functions/domain/services/service-allocation-plan.ts';
import { startLocalCluster } from '../functions/local/host.ts';
import { createLogger, logTo } from '../functions/logging/structured-log.ts';

const usage = `Usage:
  skiff up [--port 6443] [--data-dir .skiff] [--nodes 2] [--node-grace-seconds 40] [--eviction-seconds 300] [--service-cidr 10.96.0.0/12] [--load-balancer-range 127.0.200.0/24] [--verbose]
  skiff agent --kubeconfig FILE --name NAME [--runtime process|sim] [--cpu N] [--memory SIZE] [--pods N]
  skiff kubeconfig --stack NAME [--region R] [--profile P] [--out FILE]   a kubeconfig for a deployed cluster
  skiff token --cluster-id ID --region R [--profile P]                    kubectl's exec credential plugin (IAM sign-in)`;

function integerFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    console.error(`skiff: --${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return parsed;
}

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      nodes: { type: 'string' },
      'node-grace-seconds': { type: 'string' },
      'eviction-seconds': { type: 'string' },
      'load-balancer-range': { type: 'string' },
      'service-cidr': { type: 'string' },
      verbose: { type: 'boolean' },
    },
  });
  const serviceCidr = values['service-cidr'];
  const problem = serviceCidr === undefined ? undefined : serviceCidrProblem(serviceCidr);
  if (problem) {
    console.error(`skiff: --service-cidr ${serviceCidr}: ${problem}`);
    process.exit(2);
  }
  const started = Date.now();
  const step = (message: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);
  const cluster = await startLocalCluster({
    dataDir: values['data-dir'] ?? '.skiff',
    port: integerFlag(values.port, 'port', 6443),
    nodes: integerFlag(values.nodes, 'nodes', 2),
    ...(values['node-grace-seconds'] !== undefined ? { nodeGraceSeconds: integerFlag(values['node-grace-seconds'], 'node-grace-seconds', 40) } : {}),
    ...(values['eviction-seconds'] !== undefined ? { evictionSeconds: integerFlag(values['eviction-seconds'], 'eviction-seconds', 300) } : {}),
    ...(values['load-balancer-range'] !== undefined ? { loadBalancerRange: values['load-balancer-range'] } : {}),
    ...(serviceCidr !== undefined ? { serviceCidr } : {}),
    onProgress: step,
    // A cluster runs for hours: its DynamoDB Local's JVM gets the optimizing compiler (docs/adr/192).
    dynamoDbJit: 'throughput',
    // The same JSON lines as the Lambdas write, on stderr so they stay apart from the progress display.
    ...(values.verbose ? { log: logTo(createLogger({ write: (line) => process.stderr.write(`${line}\n`) })) } : {}),
  });
  step('ready');
  process.stdout.write(`
Skiff is up: the Kubernetes API at ${cluster.server}${cluster.nodeNames.length ? ` with nodes ${cluster.nodeNames.join(', ')}` : ''}.

Point kubectl at it:

  export KUBECONFIG=${cluster.kubeconfigPath}
  kubectl get nodes
  kubectl create deployment web --image=nginx

Node agent logs: ${join(cluster.kubeconfigPath, '..', 'nodes')}/<node>/agent.log
Press Ctrl-C to stop; state is kept in the data dir for the next start.
`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    step(`${signal}: stopping`);
    await cluster.stop();
    step('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

async function kubeconfig(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { stack: { type: 'string' }, region: { type: 'string' }, profile: { type: 'string' }, out: { type: 'string' } },
  });
  if (!values.stack) {
    console.error(`skiff kubeconfig: --stack is required\n${usage}`);
    process.exit(2);
  }
  const { cloudFormationClient, deployedCluster, renderAwsKubeconfig } = await import('./aws-kubeconfig.ts');
  const client = cloudFormationClient(values.region, values.profile);
  try {
    const cluster = await deployedCluster(client, values.stack);
    const out = resolve(values.out ?? join('.skiff', `aws-${values.stack}.kubeconfig`));
    const script = join(dirname(fileURLToPath(import.meta.url)), 'skiff.js');
    await mkdir(dirname(out), { recursive: true });
    await writeFile(
      out,
      renderAwsKubeconfig(cluster, { command: process.execPath, commandArgs: [script], ...(values.profile ? { profile: values.profile } : {}) }),
      {
        mode: 0o600,
      },
    );
    process.stdout.write(
      `Wrote ${out} for ${cluster.server} (cluster id ${cluster.clusterId}, ${cluster.region}).\n\n  export KUBECONFIG=${out}\n  kubectl get namespaces\n`,
    );
  } finally {
    client.destroy();
  }
}

async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'cluster-id': { type: 'string' }, region: { type: 'string' }, profile: { type: 'string' } } });
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!values['cluster-id'] || !region) {
    console.error(`skiff token: --cluster-id and --region are required\n${usage}`);
    process.exit(2);
  }
  const { awsToken, defaultCredentials, execCredential } = await import('./aws-token.ts');
  const signed = await awsToken({ clusterId: values['cluster-id'], region, credentials: defaultCredentials(values.profile) });
  process.stdout.write(`${JSON.stringify(execCredential(signed))}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // `skiff agent --help` prints the agent's own, fuller usage (node-agent/cli.ts).
  if (command !== 'agent' && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(usage);
    return;
  }
  switch (command) {
    case 'up':
      return up(rest);
    case 'kubeconfig':
      return kubeconfig(rest);
    case 'token':
      return token(rest);
    case 'agent': {
      const { runAgentCli } = await import('../node-agent/index.ts');
      return runAgentCli(rest);
    }
    case undefined:
    case '--help':
    case 'help':
      console.log(usage);
      return;
    default:
      console.error(`skiff: unknown command ${JSON.stringify(command)}\n${usage}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // parseArgs refuses an unknown or malformed flag: a usage error, not a failure of the command.
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS_')) {
    console.error(`skiff: ${error.message}\n${usage}`);
    process.exit(2);
  }
  console.error(`skiff: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
