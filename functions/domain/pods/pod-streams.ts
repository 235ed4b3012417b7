/**
 * The port through which the API opens `kubectl exec`, `attach` and `port-forward` sessions on
 * the node that runs the pod, as kube-apiserver passes their upgrades on to the kubelet. The
 * local host has an adapter (`functions/local/kubelet-client.ts`): the upgrade goes to the node
 * agent's kubelet API with the node's token. The Lambda host has none: API Gateway's REST API
 * cannot carry an upgraded connection (docs/adr/140).
 */
import type { KubeObject } from '../../../schemas/meta.ts';

export type PodStreamKind = 'exec' | 'attach' | 'portforward';

export interface PodStreamRequest {
  readonly kind: PodStreamKind;
  readonly pod: KubeObject;
  readonly node: KubeObject;
  /** exec and attach: the container (checked against the pod's spec). */
  readonly container?: string;
  /** The client's query, passed on (command, stdin, stdout, stderr, tty). */
  readonly query: URLSearchParams;
}

/** Where the host sends the upgraded connection, and the headers that authenticate it there. */
export interface PodStreamTarget {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type PodStreamLocator = (request: PodStreamRequest) => PodStreamTarget;
