/**
 * The port through which the API reads a container's output, as kube-apiserver asks the kubelet
 * (`GET pods/<name>/log`). Two adapters: the local host reads it from the node agent's kubelet
 * API (`functions/local/kubelet-client.ts`), the Lambda host from CloudWatch Logs, where ECS's
 * `awslogs` driver ships it (`functions/aws/cloudwatch-pod-logs.ts`, ADR 134).
 */
import type { KubeObject } from '../../../schemas/meta.ts';

export interface PodLogRequest {
  readonly pod: KubeObject;
  readonly node: KubeObject;
  readonly container: string;
  readonly follow: boolean;
  readonly previous: boolean;
  readonly tailLines?: number;
  /** Only output newer than this many seconds (`kubectl logs --since`). */
  readonly sinceSeconds?: number;
  /** Only output from this instant on (`--since-time`), milliseconds since the epoch. */
  readonly sinceTimeMs?: number;
  /** Stop after this many bytes (`--limit-bytes`). */
  readonly limitBytes?: number;
  readonly timestamps: boolean;
  readonly signal: AbortSignal;
  /** Reads the pod again (a follow ends when its container's run has ended). */
  readonly currentPod?: () => Promise<KubeObject | undefined>;
}

/** Reads container logs of the node that runs the pod (the kubelet's job in Kubernetes). */
export type PodLogSource = (request: PodLogRequest) => Promise<AsyncIterable<string | Buffer>>;
