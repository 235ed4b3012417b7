/**
 * The control plane without the API server, for the controllers' integration tests: a real store
 * on DynamoDB Local, the real stream poller feeding the real handlers, and a stand-in for node
 * agents that does what an agent does through the store — reports bound pods Running and Ready and
 * finishes graceful deletions.
 */

import { ensureSystemNamespaces } from '../../../functions/controllers/namespaces/system-namespaces.ts';
import { ConflictError, NotFoundError } from '../../../functions/core/errors.ts';
import { kubeMicroTime, kubeTime } from '../../../functions/core/kube-time.ts';
import { type ControlLoops, type ControlLoopsOptions, startControlLoops } from '../../../functions/local/control-loops.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { type TestDynamoDb, useDynamoDb } from '../../support/dynamodb.ts';

export interface TestControlPlane {
  readonly db: TestDynamoDb;
  readonly store: DynamoDbStore;
  startLoops(options?: Partial<ControlLoopsOptions>): Promise<ControlLoops>;
  /**
   * Starts the agent stand-in: `ready` decides whether a bound pod is reported ready; the
   * `nodes` get their Lease renewed, so the node lifecycle controller sees them alive.
   */
  startAgent(options?: { ready?: (pod: KubeObject) => boolean; nodes?: readonly string[] }): { stop(): Promise<void> };
  stop(): Promise<void>;
}

export async function startControlPlane(): Promise<TestControlPlane> {
  const db = await useDynamoDb();
  const store = createDynamoDbStore({ client: db.client, tables: db.tables, pollIntervalMs: 100 });
  await ensureSystemNamespaces(store);
  const stoppers: (() => Promise<void>)[] = [];
  return {
    db,
    store,
    async startLoops(options = {}) {
      const loops = await startControlLoops({
        store,
        client: db.client,
        dynamoDbEndpoint: db.endpoint,
        tables: db.tables,
        resyncSeconds: 3600,
        pollIntervalMs: 50,
        ...options,
      });
      stoppers.push(() => loops.stop());
      return loops;
    },
    startAgent(options = {}) {
      const agent = startAgentStandIn(store, options.ready ?? (() => true), options.nodes ?? []);
      stoppers.push(() => agent.stop());
      return agent;
    },
    async stop() {
      for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
      store.close();
      await db.cleanup();
    },
  };
}

function startAgentStandIn(store: DynamoDbStore, ready: (pod: KubeObject) => boolean, nodes: readonly string[]): { stop(): Promise<void> } {
  const abort = new AbortController();
  const renew = async () => {
    const renewTime = kubeMicroTime(Date.now());
    for (const node of nodes) {
      const lease: KubeObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: node, namespace: 'kube-node-lease' },
        spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime },
      };
      await store
        .get(types.leases, 'kube-node-lease', node)
        .then(
          (current) => store.update(types.leases, { ...current, spec: lease.spec }),
          () => store.create(types.leases, lease),
        )
        .catch(() => undefined);
    }
  };
  void renew();
  const renewing = setInterval(() => void renew(), 5000);
  const act = async (pod: KubeObject) => {
    const nodeName = (pod.spec as { nodeName?: string }).nodeName;
    if (!nodeName) return;
    const name = pod.metadata.name ?? '';
    if (pod.metadata.deletionTimestamp) {
      await store.delete(types.pods, pod.metadata.namespace, name, { gracePeriodSeconds: 0 }).catch(() => undefined);
      return;
    }
    const status = (pod.status ?? {}) as { phase?: string; conditions?: { type: string; status: string }[] };
    const wantReady = ready(pod);
    const isReady = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    if (status.phase === 'Running' && isReady === wantReady) return;
    const time = kubeTime(Date.now());
    const conditions = [
      ...(status.conditions ?? []).filter((c) => c.type !== 'Ready' && c.type !== 'ContainersReady'),
      { type: 'Ready', status: wantReady ? 'True' : 'False', lastTransitionTime: time },
      { type: 'ContainersReady', status: wantReady ? 'True' : 'False', lastTransitionTime: time },
    ];
    try {
      // As the kubelet: the start time once, when the pod first runs.
      const startTime = (status as { startTime?: string }).startTime ?? time;
      await store.update(types.pods, { ...pod, status: { ...status, phase: 'Running', podIP: '10.0.0.1', startTime, conditions } });
    } catch (error) {
      // A newer version of the pod is on its way through the watch.
      if (!(error instanceof ConflictError) && !(error instanceof NotFoundError)) throw error;
    }
  };
  const done = (async () => {
    while (!abort.signal.aborted) {
      try {
        for await (const event of store.watch(types.pods, { signal: abort.signal })) {
          if (event.type === 'ADDED' || event.type === 'MODIFIED') await act(event.object);
        }
      } catch {
        // A watch that expired starts over from a fresh list.
      }
    }
  })();
  return {
    async stop() {
      clearInterval(renewing);
      abort.abort();
      await done;
    },
  };
}

export function nodeObject(name: string, options: { cpu?: string; taints?: unknown[] } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: options.taints ? { taints: options.taints } : {},
    status: {
      capacity: { cpu: options.cpu ?? '2', memory: '4Gi', pods: '110' },
      allocatable: { cpu: options.cpu ?? '2', memory: '4Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
    },
  };
}

export function deploymentObject(
  namespace: string,
  name: string,
  options: { replicas?: number; image?: string; cpu?: string; strategy?: unknown; tolerations?: unknown[] } = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      strategy: options.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'nginx', image: options.image ?? 'nginx', ...(options.cpu ? { resources: { requests: { cpu: options.cpu } } } : {}) }],
          terminationGracePeriodSeconds: 30,
          ...(options.tolerations ? { tolerations: options.tolerations } : {}),
        },
      },
    },
    status: {},
  };
}

export function namespaceObject(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

/** Applies `change` to the stored object, retrying on conflicts as kubectl's patches do. */
export async function modify(
  store: DynamoDbStore,
  type: (typeof types)[keyof typeof types],
  namespace: string | undefined,
  name: string,
  change: (object: KubeObject) => KubeObject,
): Promise<KubeObject> {
  for (;;) {
    const current = await store.get(type, namespace, name);
    try {
      return await store.update(type, change(current));
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}
