/**
 * The Node and Lease objects an agent writes, built from its settings. Pure, so the shape a
 * user sees in `kubectl get nodes -o yaml` is fixed by tests rather than by the I/O code.
 */
import os from 'node:os';
import { kubeMicroTime } from '../functions/core/kube-time.ts';
import type { KubeObject } from '../schemas/meta.ts';

export const kubeletVersion = 'v1.32.0-skiff';

export interface NodeSettings {
  readonly name: string;
  readonly address: string;
  readonly podCidr: string;
  readonly cpu: string;
  readonly memory: string;
  readonly pods: number;
  readonly kubeletPort: number;
  readonly containerRuntimeVersion: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** How the node's pods are networked (docs/adr/136): shown by `kubectl describe node`. */
  readonly podNetwork?: { readonly mode: 'namespaces' | 'loopback'; readonly reason: string };
}

/** The annotation that names a node's pod network mode. */
export const podNetworkAnnotation = 'skiff.io/pod-network';

export function nodeLabels(settings: NodeSettings): Record<string, string> {
  return {
    'kubernetes.io/hostname': settings.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArch(),
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': goArch(),
    ...settings.labels,
  };
}

/** Node's `GOARCH` names, which is what Kubernetes labels and nodeInfo use. */
function goArch(): string {
  const arch = os.arch();
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}

const conditionTexts = {
  Ready: ['True', 'KubeletReady', 'kubelet is posting ready status'],
  MemoryPressure: ['False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  DiskPressure: ['False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  PIDPressure: ['False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
} as const;

interface ExistingCondition {
  readonly type?: string;
  readonly status?: string;
  readonly lastTransitionTime?: string;
}

/** The status an agent reports; transition times are kept from `previous` when unchanged. */
export function nodeStatus(settings: NodeSettings, now: string, previous: readonly ExistingCondition[] = []): Record<string, unknown> {
  const before = new Map(previous.map((c) => [c.type, c]));
  const conditions: { type: string; status: string; reason: string; message: string; lastHeartbeatTime: string; lastTransitionTime: string }[] = (
    Object.keys(conditionTexts) as (keyof typeof conditionTexts)[]
  ).map((type) => {
    const [status, reason, message] = conditionTexts[type];
    const old = before.get(type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
    };
  });
  // The condition a network plugin sets (NetworkUnavailable): False, with the mode as its reason.
  if (settings.podNetwork) {
    const old = before.get('NetworkUnavailable');
    const reason = settings.podNetwork.mode === 'namespaces' ? 'PodNetworkNamespaces' : 'PodNetworkLoopback';
    conditions.unshift({
      type: 'NetworkUnavailable',
      status: 'False',
      reason,
      message: `pod network mode ${settings.podNetwork.mode}: ${settings.podNetwork.reason}`,
      lastHeartbeatTime: now,
      lastTransitionTime: old?.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : now,
    });
  }
  const resources = { cpu: settings.cpu, memory: settings.memory, pods: String(settings.pods), 'ephemeral-storage': '20Gi' };
  return {
    capacity: resources,
    allocatable: resources,
    conditions,
    addresses: [
      { type: 'InternalIP', address: settings.address },
      { type: 'Hostname', address: settings.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: settings.kubeletPort } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: os.release(),
      osImage: `${os.type()} ${os.release()}`,
      containerRuntimeVersion: settings.containerRuntimeVersion,
      kubeletVersion,
      kubeProxyVersion: kubeletVersion,
      operatingSystem: 'linux',
      architecture: goArch(),
    },
  };
}

export function buildNode(settings: NodeSettings, now: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: settings.name,
      labels: nodeLabels(settings),
      ...(settings.podNetwork ? { annotations: { [podNetworkAnnotation]: settings.podNetwork.mode } } : {}),
    },
    spec: { podCIDR: settings.podCidr, podCIDRs: [settings.podCidr] },
    status: nodeStatus(settings, now),
  };
}

export const nodeLeaseNamespace = 'kube-node-lease';

/**
 * How often an agent renews its Lease (docs/adr/074, 196): every 10 s over REST, as the kubelet
 * does (a quarter of the 40 s lease); over the heartbeat endpoint or the watch channel, where
 * every renewal is a billed Lambda invocation (and on the channel a WebSocket message), every
 * 20 s — twice per lease duration.
 */
export const leaseRenewSeconds = { rest: 10, channel: 20, heartbeat: 20 } as const;
export const leaseRenewSecondsOverChannel = leaseRenewSeconds.channel;

export function buildLease(nodeName: string, nodeUid: string | undefined, durationSeconds: number, now: Date): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: nodeLeaseNamespace,
      ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: kubeMicroTime(now) },
  };
}
