/**
 * `skiff agent`: runs one node agent until SIGTERM/SIGINT.
 *
 *   skiff agent --kubeconfig FILE --name NAME [--runtime process|sim] [--cpu N] [--memory SIZE]
 *               [--pods N] [--address IP] [--pod-cidr CIDR] [--port N] [--state-dir DIR]
 *               [--data-dir DIR] [--images FILE] [--node-index N] [--keep-containers]
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type AgentLog, startAgent } from './agent.ts';
import { loadKubeconfig } from './kubeconfig.ts';
import { podCidrForNodeIndex } from './pod-cidr.ts';

const usage = `usage: skiff agent --kubeconfig FILE --name NAME [options]
  --runtime process|sim   how containers run (default process)
  --cpu N                 node CPU capacity (default 4)
  --memory SIZE           node memory capacity (default 8Gi)
  --pods N                pods the node accepts (default 110)
  --address IP            the node's loopback InternalIP (default 127.0.0.1, or 127.0.1.<node-index>)
  --pod-cidr CIDR         the node's pod subnet (default from --node-index or the name; see ADR 080)
  --port N                kubelet API port (default: a free port)
  --state-dir DIR         runtime state and logs (default <data-dir>/nodes/<name>)
  --data-dir DIR          (default $SKIFF_DATA_DIR or ./.skiff)
  --images FILE           user image table (default <data-dir>/images.json)
  --node-index N          this agent's number on the machine: picks distinct defaults
  --service-proxy on|off  serve Services' NodePorts (default on for process, off for sim)
  --keep-containers       leave containers running on exit, for the next agent to adopt`;

export class AgentUsageError extends Error {
  override name = 'AgentUsageError';
}

export interface AgentCliSettings {
  readonly kubeconfig: string;
  readonly name: string;
  readonly runtime: 'process' | 'sim';
  readonly cpu: string;
  readonly memory: string;
  readonly pods: number;
  readonly address: string;
  readonly podCidr?: string;
  readonly port: number;
  readonly stateDir: string;
  readonly imagesFile: string;
  readonly keepContainers: boolean;
  readonly serviceProxy: boolean;
}

/** Flags to settings, with the defaults documented in the usage text. Pure apart from env. */
export function parseAgentArgs(args: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentCliSettings {
  const { values } = parseArgs({
    args: [...args],
    options: {
      kubeconfig: { type: 'string' },
      name: { type: 'string' },
      runtime: { type: 'string', default: 'process' },
      cpu: { type: 'string', default: '4' },
      memory: { type: 'string', default: '8Gi' },
      pods: { type: 'string', default: '110' },
      address: { type: 'string' },
      'pod-cidr': { type: 'string' },
      port: { type: 'string', default: '0' },
      'state-dir': { type: 'string' },
      'data-dir': { type: 'string' },
      images: { type: 'string' },
      'node-index': { type: 'string' },
      'keep-containers': { type: 'boolean', default: false },
      'service-proxy': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new AgentUsageError(usage);
  if (!values.kubeconfig || !values.name) throw new AgentUsageError(`--kubeconfig and --name are required\n${usage}`);
  if (values.runtime !== 'process' && values.runtime !== 'sim') throw new AgentUsageError(`--runtime must be process or sim\n${usage}`);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(values.name)) throw new AgentUsageError(`--name must be a DNS subdomain: ${values.name}`);
  const proxyFlag = values['service-proxy'];
  if (proxyFlag !== undefined && proxyFlag !== 'on' && proxyFlag !== 'off') throw new AgentUsageError(`--service-proxy must be on or off\n${usage}`);
  const integer = (flag: string, text: string, min: number, max: number) => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new AgentUsageError(`--${flag} must be an integer from ${min} to ${max}`);
    return Number(text);
  };
  if (!/^\d+(\.\d+)?m?$/.test(values.cpu)) throw new AgentUsageError(`--cpu must be a CPU quantity such as 4, 1.5 or 500m, got ${JSON.stringify(values.cpu)}`);
  if (!/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.test(values.memory)) {
    throw new AgentUsageError(`--memory must be a memory quantity such as 8Gi or 512Mi, got ${JSON.stringify(values.memory)}`);
  }
  const pods = integer('pods', values.pods, 1, 100_000);
  const port = integer('port', values.port, 0, 65_535);
  const nodeIndex = values['node-index'] === undefined ? undefined : integer('node-index', values['node-index'], 1, 255);
  const dataDir = resolve(values['data-dir'] ?? env.SKIFF_DATA_DIR ?? '.skiff');
  const address = values.address ?? (nodeIndex !== undefined && nodeIndex <= 254 ? `127.0.1.${nodeIndex}` : '127.0.0.1');
  const podCidr = values['pod-cidr'] ?? (nodeIndex !== undefined && nodeIndex <= 255 ? podCidrForNodeIndex(nodeIndex, dataDir) : undefined);
  return {
    kubeconfig: resolve(values.kubeconfig),
    name: values.name,
    runtime: values.runtime,
    cpu: values.cpu,
    memory: values.memory,
    pods,
    address,
    ...(podCidr ? { podCidr } : {}),
    port,
    stateDir: resolve(values['state-dir'] ?? join(dataDir, 'nodes', values.name)),
    imagesFile: resolve(values.images ?? join(dataDir, 'images.json')),
    keepContainers: values['keep-containers'],
    serviceProxy: proxyFlag === undefined ? values.runtime === 'process' : proxyFlag === 'on',
  };
}

const jsonLog =
  (node: string): AgentLog =>
  (level, message, fields = {}) => {
    const line = JSON.stringify({ time: new Date().toISOString(), level, component: 'node-agent', node, msg: message, ...fields });
    if (level === 'error') console.error(line);
    else console.log(line);
  };

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
  const agent = await startAgent({
    credentials: loadKubeconfig(settings.kubeconfig),
    nodeName: settings.name,
    runtime: settings.runtime,
    cpu: settings.cpu,
    memory: settings.memory,
    pods: settings.pods,
    address: settings.address,
    ...(settings.podCidr ? { podCidr: settings.podCidr } : {}),
    port: settings.port,
    stateDir: settings.stateDir,
    imagesFile: settings.imagesFile,
    stopContainersOnStop: !settings.keepContainers,
    serviceProxy: settings.serviceProxy,
    log: jsonLog(settings.name),
  });
  await new Promise<void>((resolvePromise) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      agent.stop().finally(resolvePromise);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
