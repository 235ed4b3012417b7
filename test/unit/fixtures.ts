/** Small object builders for the controller planners' tests. */
import { kubeTime } from '../../functions/core/kube-time.ts';
import type { KubeObject, OwnerReference } from '../../schemas/meta.ts';

export const now = new Date('2026-01-01T12:00:00Z');

export function secondsAgo(seconds: number): string {
  return kubeTime(now.getTime() - seconds * 1000);
}

export function ownerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function replicaSet(
  name: string,
  replicas: number,
  extra: { minReadySeconds?: number; status?: Record<string, unknown>; deleting?: boolean; generation?: number } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      generation: extra.generation ?? 1,
      ...(extra.deleting ? { deletionTimestamp: secondsAgo(1) } : {}),
    },
    spec: {
      replicas,
      minReadySeconds: extra.minReadySeconds ?? 0,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

export interface PodOptions {
  owner?: KubeObject;
  node?: string;
  ready?: boolean;
  readySecondsAgo?: number;
  createdSecondsAgo?: number;
  phase?: string;
  deleting?: boolean;
  restarts?: number;
  labels?: Record<string, string>;
  requests?: { cpu?: string; memory?: string };
  hostPort?: number;
  tolerations?: unknown[];
  nodeSelector?: Record<string, string>;
  affinity?: unknown;
}

export function pod(name: string, options: PodOptions = {}): KubeObject {
  const ready = options.ready ?? false;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: secondsAgo(options.createdSecondsAgo ?? 100),
      labels: options.labels ?? { app: 'web' },
      ...(options.owner ? { ownerReferences: [ownerRef(options.owner)] } : {}),
      ...(options.deleting ? { deletionTimestamp: secondsAgo(1) } : {}),
    },
    spec: {
      ...(options.node ? { nodeName: options.node } : {}),
      containers: [
        {
          name: 'web',
          image: 'nginx',
          ...(options.requests ? { resources: { requests: options.requests } } : {}),
          ...(options.hostPort ? { ports: [{ containerPort: 80, hostPort: options.hostPort }] } : {}),
        },
      ],
      ...(options.tolerations ? { tolerations: options.tolerations } : {}),
      ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
      ...(options.affinity ? { affinity: options.affinity } : {}),
    },
    status: {
      phase: options.phase ?? (options.node ? 'Running' : 'Pending'),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: secondsAgo(options.readySecondsAgo ?? 60) }],
      containerStatuses: [{ name: 'web', restartCount: options.restarts ?? 0 }],
    },
  };
}
