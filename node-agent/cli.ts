/**
 * `skiff agent`: runs one node agent until SIGTERM/SIGINT.
 *
 *   skiff agent --kubeconfig FILE --name NAME [--runtime process|sim|ecs] [--cpu N] [--memory SIZE]
 *               [--pods N] [--address IP] [--pod-cidr CIDR] [--port N] [--state-dir DIR]
 *               [--data-dir DIR] [--images FILE] [--node-index N] [--keep-containers] [--exit-with-parent]
 *               [ecs: --subnets --security-groups --pod-log-group --task-execution-role --secret-prefix
 *                     [--task-role] [--ecs-cluster --container-instance] [--lifecycle-hook NAME]]
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { createLogger, logTo } from '../functions/logging/structured-log.ts';
import { startAgent } from './agent.ts';
import { createEcsNode, regionOfArn } from './ec2/ecs-node.ts';
import { instanceMetadata } from './ec2/instance-metadata.ts';
import { watchLifecycle } from './ec2/lifecycle-drain.ts';
import { loadKubeconfig } from './kubeconfig.ts';
import { podCidrForNodeIndex } from './pod-cidr.ts';
import { choosePodNetworkMode, namespacePodCidr } from './runtime/pod-network.ts';
import { credentialFolders } from './runtime/process-isolation.ts';
import { defaultPodsDir, killRecordedContainers } from './runtime/process-runtime.ts';

const usage = `usage: skiff agent --kubeconfig FILE --name NAME [options]
  --runtime process|sim|ecs  how containers run (default process; ecs: each pod an ECS task, on AWS)
  --cpu N                 node CPU capacity (default 4; ecs: what ECS registered)
  --memory SIZE           node memory capacity (default 8Gi; ecs: what ECS registered)
  --pods N                pods the node accepts (default 110; ecs: what the instance type's network interfaces allow)
  --address IP            the node's loopback InternalIP (default 127.0.0.1, or 127.0.1.<node-index>)
  --pod-cidr CIDR         the node's pod subnet (default from --node-index or the name; see ADR 080)
  --pod-network auto|namespaces|loopback
                          each pod in its own network namespace on the node's bridge (root only),
                          or host processes on loopback addresses (default auto: namespaces when
                          root with ip, unshare, nsenter and nft installed; see ADR 136)
  --cluster-dns IP        the nameserver of pods' resolv.conf in namespace mode (the kube-dns ClusterIP)
  --service-cidr CIDR     the cluster's service range (pods in namespace mode reach the API at its first address)
  --network-policy-kubeconfig FILE
                          credentials that may list and watch every pod, namespace and NetworkPolicy:
                          with them a node in namespace mode enforces NetworkPolicies (docs/adr/209)
  --port N                kubelet API port (default: a free port)
  --state-dir DIR         runtime state and logs (default <data-dir>/nodes/<name>)
  --data-dir DIR          (default $SKIFF_DATA_DIR or ./.skiff)
  --images FILE           user image table (default <data-dir>/images.json)
  --node-index N          this agent's number on the machine: picks distinct defaults
  --service-proxy on|off  serve Services' NodePorts (default on for process, off for sim)
  --keep-containers       leave containers running on exit, for the next agent to adopt
  --container-log-max-size SIZE   rotate a container's log at this size (default 10Mi)
  --container-log-max-files N     log files kept per container run, the current one included (default 5)
  --exit-with-parent      stop (with the containers) when stdin closes: the parent that holds
                          the other end of the pipe has gone, even if it was killed
  --metrics-resolution N  seconds between measurements of the containers' CPU and memory (default 10)
  --metrics-report N      seconds between reports of those figures over the watch channel, for an
                          API that cannot reach the kubelet API (default 60 for ecs, else 0: none)
  --kubelet-address IP    where the kubelet API listens (default --address; ecs: 127.0.0.1)
ecs runtime (on an ECS container instance):
  --subnets IDS           comma-separated subnets of the pods' network interfaces
  --security-groups IDS   comma-separated security groups of the pods' network interfaces
  --pod-log-group NAME    CloudWatch Logs group of the pods' output
  --task-execution-role ARN  role ECS uses to read the pods' Secrets and ConfigMaps
  --task-role ARN         role the pods' own AWS calls use (default: none)
  --secret-prefix PREFIX  Secrets Manager names of the pods' Secrets and ConfigMaps (skiff/<cluster>)
  --ecs-cluster NAME, --container-instance ARN  (default: what the ECS agent registered)
  --lifecycle-hook NAME   drain the node when its Auto Scaling group terminates it, then complete this hook`;

export class AgentUsageError extends Error {
  override name = 'AgentUsageError';
}

export interface EcsCliSettings {
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly logGroup: string;
  readonly executionRoleArn: string;
  readonly taskRoleArn?: string;
  readonly secretPrefix: string;
  readonly cluster?: string;
  readonly containerInstanceArn?: string;
}

export interface AgentCliSettings {
  readonly kubeconfig: string;
  readonly name: string;
  readonly runtime: 'process' | 'sim' | 'ecs';
  readonly cpu: string;
  readonly memory: string;
  readonly pods: number;
  readonly address: string;
  readonly podCidr?: string;
  readonly podNetwork: 'auto' | 'namespaces' | 'loopback';
  readonly clusterDns?: string;
  readonly serviceCidr?: string;
  readonly networkPolicyKubeconfig?: string;
  readonly port: number;
  readonly stateDir: string;
  /** The data dir and the user's credential folders: hidden from pods when the agent is not root. */
  readonly hiddenPaths: readonly string[];
  readonly imagesFile: string;
  readonly keepContainers: boolean;
  readonly serviceProxy: boolean;
  readonly exitWithParent: boolean;
  readonly containerLogMaxBytes: number;
  readonly containerLogMaxFiles: number;
  /** Seconds between usage measurements (the CPU rate is over this window). */
  readonly metricsResolutionSeconds: number;
  /** Seconds between reports of the figures over the watch channel (0: none). */
  readonly metricsReportSeconds: number;
  /** The CPU and memory flags were given (the ecs runtime otherwise reports what ECS registered). */
  readonly sizeGiven: { readonly cpu: boolean; readonly memory: boolean; readonly pods: boolean };
  readonly kubeletAddress?: string;
  readonly ecs?: EcsCliSettings;
  readonly lifecycleHook?: string;
}

/** `10Mi`, `512Ki`, `1Gi` or plain bytes, as the kubelet's containerLogMaxSize is written. */
function byteSize(flag: string, text: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(text);
  const units = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 } as const;
  const bytes = match ? Number(match[1]) * (match[2] ? units[match[2] as keyof typeof units] : 1) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1024)
    throw new AgentUsageError(`--${flag} must be a size such as 10Mi (at least 1Ki), got ${JSON.stringify(text)}`);
  return bytes;
}

/** Flags to settings, with the defaults documented in the usage text. Pure apart from env. */
export function parseAgentArgs(args: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentCliSettings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      kubeconfig: { type: 'string' },
      name: { type: 'string' },
      runtime: { type: 'string', default: 'process' },
      cpu: { type: 'string' },
      memory: { type: 'string' },
      pods: { type: 'string' },
      address: { type: 'string' },
      'pod-cidr': { type: 'string' },
      'pod-network': { type: 'string', default: 'auto' },
      'cluster-dns': { type: 'string' },
      'service-cidr': { type: 'string' },
      'network-policy-kubeconfig': { type: 'string' },
      port: { type: 'string', default: '0' },
      'state-dir': { type: 'string' },
      'data-dir': { type: 'string' },
      images: { type: 'string' },
      'node-index': { type: 'string' },
      'keep-containers': { type: 'boolean', default: false },
      'exit-with-parent': { type: 'boolean', default: false },
      'container-log-max-size': { type: 'string', default: '10Mi' },
      'container-log-max-files': { type: 'string', default: '5' },
      'service-proxy': { type: 'string' },
      'kubelet-address': { type: 'string' },
      'metrics-resolution': { type: 'string', default: '10' },
      'metrics-report': { type: 'string' },
      subnets: { type: 'string' },
      'security-groups': { type: 'string' },
      'pod-log-group': { type: 'string' },
      'task-execution-role': { type: 'string' },
      'task-role': { type: 'string' },
      'secret-prefix': { type: 'string' },
      'ecs-cluster': { type: 'string' },
      'container-instance': { type: 'string' },
      'lifecycle-hook': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new AgentUsageError(usage);
  if (!values.kubeconfig || !values.name) throw new AgentUsageError(`--kubeconfig and --name are required\n${usage}`);
  if (values.runtime !== 'process' && values.runtime !== 'sim' && values.runtime !== 'ecs')
    throw new AgentUsageError(`--runtime must be process, sim or ecs\n${usage}`);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(values.name)) throw new AgentUsageError(`--name must be a DNS subdomain: ${values.name}`);
  const proxyFlag = values['service-proxy'];
  if (proxyFlag !== undefined && proxyFlag !== 'on' && proxyFlag !== 'off') throw new AgentUsageError(`--service-proxy must be on or off\n${usage}`);
  const integer = (flag: string, text: string, min: number, max: number) => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new AgentUsageError(`--${flag} must be an integer from ${min} to ${max}`);
    return Number(text);
  };
  const cpu = values.cpu ?? '4';
  const memory = values.memory ?? '8Gi';
  if (!/^\d+(\.\d+)?m?$/.test(cpu)) throw new AgentUsageError(`--cpu must be a CPU quantity such as 4, 1.5 or 500m, got ${JSON.stringify(cpu)}`);
  if (!/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.test(memory)) {
    throw new AgentUsageError(`--memory must be a memory quantity such as 8Gi or 512Mi, got ${JSON.stringify(memory)}`);
  }
  const list = (text: string | undefined) =>
    (text ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  let ecs: EcsCliSettings | undefined;
  if (values.runtime === 'ecs') {
    const missing = (['subnets', 'security-groups', 'pod-log-group', 'task-execution-role', 'secret-prefix'] as const).filter((flag) => !values[flag]);
    if (missing.length > 0) throw new AgentUsageError(`--runtime ecs needs ${missing.map((flag) => `--${flag}`).join(', ')}\n${usage}`);
    if (Boolean(values['ecs-cluster']) !== Boolean(values['container-instance'])) {
      throw new AgentUsageError('--ecs-cluster and --container-instance go together (or neither: the ECS agent says)');
    }
    ecs = {
      subnets: list(values.subnets),
      securityGroups: list(values['security-groups']),
      logGroup: values['pod-log-group'] ?? '',
      executionRoleArn: values['task-execution-role'] ?? '',
      ...(values['task-role'] ? { taskRoleArn: values['task-role'] } : {}),
      secretPrefix: values['secret-prefix'] ?? '',
      ...(values['ecs-cluster'] ? { cluster: values['ecs-cluster'] } : {}),
      ...(values['container-instance'] ? { containerInstanceArn: values['container-instance'] } : {}),
    };
  }
  const pods = integer('pods', values.pods ?? '110', 1, 100_000);
  const port = integer('port', values.port, 0, 65_535);
  const nodeIndex = values['node-index'] === undefined ? undefined : integer('node-index', values['node-index'], 1, 255);
  const dataDir = resolve(values['data-dir'] ?? env.SKIFF_DATA_DIR ?? '.skiff');
  const address = values.address ?? (nodeIndex !== undefined && nodeIndex <= 254 ? `127.0.1.${nodeIndex}` : '127.0.0.1');
  const podNetwork = values['pod-network'];
  if (podNetwork !== 'auto' && podNetwork !== 'namespaces' && podNetwork !== 'loopback')
    throw new AgentUsageError(`--pod-network must be auto, namespaces or loopback\n${usage}`);
  const stateDir = resolve(values['state-dir'] ?? join(dataDir, 'nodes', values.name));
  // In namespace mode pods leave loopback: a node's /24 is one of 10.128.0.0/9 (ADR 136).
  const namespaced = values.runtime === 'process' && podNetwork !== 'loopback' && choosePodNetworkMode(podNetwork, '10.128.0.0/24').mode === 'namespaces';
  const podCidr =
    values['pod-cidr'] ??
    (nodeIndex !== undefined && nodeIndex <= 255 ? (namespaced ? namespacePodCidr(nodeIndex, stateDir) : podCidrForNodeIndex(nodeIndex, dataDir)) : undefined);
  return {
    kubeconfig: resolve(values.kubeconfig),
    name: values.name,
    runtime: values.runtime,
    cpu,
    memory,
    sizeGiven: { cpu: values.cpu !== undefined, memory: values.memory !== undefined, pods: values.pods !== undefined },
    pods,
    address,
    ...(podCidr ? { podCidr } : {}),
    podNetwork,
    ...(values['cluster-dns'] ? { clusterDns: values['cluster-dns'] } : {}),
    ...(values['service-cidr'] ? { serviceCidr: values['service-cidr'] } : {}),
    ...(values['network-policy-kubeconfig'] ? { networkPolicyKubeconfig: resolve(values['network-policy-kubeconfig']) } : {}),
    port,
    stateDir,
    imagesFile: resolve(values.images ?? join(dataDir, 'images.json')),
    hiddenPaths: [dataDir, ...credentialFolders.map((folder) => join(homedir(), folder))],
    keepContainers: values['keep-containers'],
    exitWithParent: values['exit-with-parent'],
    containerLogMaxBytes: byteSize('container-log-max-size', values['container-log-max-size']),
    containerLogMaxFiles: integer('container-log-max-files', values['container-log-max-files'], 2, 100),
    metricsResolutionSeconds: integer('metrics-resolution', values['metrics-resolution'], 1, 300),
    metricsReportSeconds: integer('metrics-report', values['metrics-report'] ?? (values.runtime === 'ecs' ? '60' : '0'), 0, 3600),
    serviceProxy: proxyFlag === undefined ? values.runtime !== 'sim' : proxyFlag === 'on',
    ...(values['kubelet-address'] || values.runtime === 'ecs' ? { kubeletAddress: values['kubelet-address'] ?? '127.0.0.1' } : {}),
    ...(ecs ? { ecs } : {}),
    ...(values['lifecycle-hook'] ? { lifecycleHook: values['lifecycle-hook'] } : {}),
  };
}

export async function runAgentCli(args: string[]): Promise<void> {
  let settings: AgentCliSettings;
  try {
    settings = parseAgentArgs(args);
  } catch (error) {
    if (error instanceof AgentUsageError) {
      console.error(error.message);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const log = logTo(createLogger(), { component: 'node-agent', node: settings.name });
  // The parent-death check: the host keeps the other end of our stdin and never writes to it.
  // The pipe closes when the host exits for any reason, SIGKILL included.
  const parentGone = new AbortController();
  if (settings.exitWithParent) {
    for (const event of ['end', 'close', 'error'] as const) process.stdin.on(event, () => parentGone.abort());
    process.stdin.resume();
  }
  const ecsNode = settings.ecs
    ? await createEcsNode({ nodeName: settings.name, ...settings.ecs, tokenSlotsDir: join(defaultPodsDir(settings.stateDir), 'token-slots'), log })
    : undefined;
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent({
      credentials: loadKubeconfig(settings.kubeconfig),
      nodeName: settings.name,
      ...(ecsNode ? { containerRuntime: ecsNode.runtime } : { runtime: settings.runtime === 'ecs' ? 'process' : settings.runtime }),
      cpu: ecsNode && !settings.sizeGiven.cpu ? ecsNode.cpu : settings.cpu,
      memory: ecsNode && !settings.sizeGiven.memory ? ecsNode.memory : settings.memory,
      pods: ecsNode?.pods !== undefined && !settings.sizeGiven.pods ? ecsNode.pods : settings.pods,
      address: settings.address,
      ...(settings.podCidr ? { podCidr: settings.podCidr } : {}),
      podNetwork: settings.podNetwork,
      ...(settings.clusterDns ? { clusterDns: settings.clusterDns } : {}),
      ...(settings.serviceCidr ? { serviceCidr: settings.serviceCidr } : {}),
      ...(settings.networkPolicyKubeconfig ? { networkPolicyCredentials: loadKubeconfig(settings.networkPolicyKubeconfig) } : {}),
      port: settings.port,
      stateDir: settings.stateDir,
      imagesFile: settings.imagesFile,
      hiddenPaths: settings.hiddenPaths,
      stopContainersOnStop: !settings.keepContainers,
      serviceProxy: settings.serviceProxy,
      ...(settings.kubeletAddress ? { kubeletAddress: settings.kubeletAddress } : {}),
      metricsResolutionSeconds: settings.metricsResolutionSeconds,
      metricsReportSeconds: settings.metricsReportSeconds,
      signal: parentGone.signal,
      containerLogMaxBytes: settings.containerLogMaxBytes,
      containerLogMaxFiles: settings.containerLogMaxFiles,
      log,
    });
  } catch (error) {
    if (!parentGone.signal.aborted) throw error;
    // The host went away while we were starting: nothing will manage what we found running.
    if (settings.runtime === 'process') killRecordedContainers(settings.stateDir);
    log.warn('the host went away while the agent was starting; its containers are stopped');
    process.stdin.destroy();
    return;
  }
  const lifecycle = settings.lifecycleHook
    ? watchLifecycle({
        metadata: instanceMetadata(),
        autoScaling: new AutoScalingClient({
          maxAttempts: 1,
          ...(process.env.AWS_REGION || !settings.ecs?.containerInstanceArn ? {} : { region: regionOfArn(settings.ecs.containerInstanceArn) }),
        }),
        hookName: settings.lifecycleHook,
        instanceId: settings.name,
        drain: () => agent.drain(),
        log,
      })
    : undefined;
  await new Promise<void>((resolvePromise) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`stopping: ${why}`);
      lifecycle?.stop();
      agent.stop().finally(() => {
        process.stdin.destroy();
        resolvePromise();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    if (parentGone.signal.aborted) stop('the host is gone');
    parentGone.signal.addEventListener('abort', () => stop('the host is gone'), { once: true });
  });
}
