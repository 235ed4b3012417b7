/**
 * `skiff kubeconfig --stack <name> [--region R] [--profile P] [--out FILE]`: a kubeconfig for a
 * deployed cluster, from its CloudFormation stack's outputs (DescribeStacks). The user signs in
 * with IAM through `skiff token` as a kubectl exec credential plugin (docs/adr/072); API Gateway
 * serves a public certificate, so no CA is written.
 */
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { stringify } from 'yaml';

export interface DeployedCluster {
  readonly stackName: string;
  readonly server: string;
  readonly clusterId: string;
  readonly region: string;
  /** The WebSocket URL node agents take their changes from, when the stack has one. */
  readonly watchChannel?: string;
}

export class StackError extends Error {
  override name = 'StackError';
}

/** The cluster a stack deployed, from its outputs. */
export async function deployedCluster(client: CloudFormationClient, stackName: string): Promise<DeployedCluster> {
  let stacks: Stack[] | undefined;
  try {
    ({ Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName })));
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationError')
      throw new StackError(`no stack named ${stackName} in this account and region (${String((error as Error).message)})`);
    throw error;
  }
  const stack = stacks?.[0];
  if (!stack) throw new StackError(`no stack named ${stackName} in this account and region`);
  if (!/_COMPLETE$/.test(stack.StackStatus ?? '') || /ROLLBACK|DELETE/.test(stack.StackStatus ?? '')) {
    throw new StackError(`stack ${stackName} is ${stack.StackStatus}: deploy it first (npx cdk deploy)`);
  }
  const outputs = new Map((stack.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const required = (key: string): string => {
    const value = outputs.get(key);
    if (!value) throw new StackError(`stack ${stackName} has no ${key} output: is it a Skiff stack?`);
    return value;
  };
  const watchChannel = outputs.get('WatchChannelUrl');
  return {
    stackName,
    server: required('ApiUrl'),
    clusterId: required('ClusterId'),
    region: required('Region'),
    ...(watchChannel ? { watchChannel } : {}),
  };
}

export interface KubeconfigOptions {
  /** How kubectl runs `skiff token`: the node binary and the CLI script. */
  readonly command: string;
  readonly commandArgs: readonly string[];
  /** An AWS profile for the token plugin; otherwise the caller's default credentials. */
  readonly profile?: string;
  /** PEM of a private CA that signed the server's certificate (a custom domain; tests). @default - the system's CAs */
  readonly caCertPem?: string;
}

/** The kubeconfig YAML of a deployed cluster, signing in through `skiff token`. */
export function renderAwsKubeconfig(cluster: DeployedCluster, options: KubeconfigOptions): string {
  const name = `skiff-${cluster.stackName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: cluster.server.replace(/\/+$/, ''),
          ...(options.caCertPem ? { 'certificate-authority-data': Buffer.from(options.caCertPem).toString('base64') } : {}),
          ...(cluster.watchChannel ? { extensions: [{ name: 'skiff.io/watch-channel', extension: { url: cluster.watchChannel } }] } : {}),
        },
      },
    ],
    users: [
      {
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: options.command,
            args: [...options.commandArgs, 'token', '--cluster-id', cluster.clusterId, '--region', cluster.region],
            ...(options.profile ? { env: [{ name: 'AWS_PROFILE', value: options.profile }] } : {}),
            interactiveMode: 'Never',
            provideClusterInfo: false,
          },
        },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export function cloudFormationClient(region?: string, profile?: string): CloudFormationClient {
  return new CloudFormationClient({ ...(region ? { region } : {}), ...(profile ? { profile } : {}) });
}
