/**
 * Level-triggered means the stream's delivery faults do not matter: the same batch twice,
 * batches out of order, a handler that fails part-way, or no stream at all (resync only) each
 * end in the same state as a clean run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type Controller, keyToString } from '../../../functions/controller-runtime/controller.ts';
import { type ControllerRuntime, handleStreamEvent, resyncAll } from '../../../functions/controller-runtime/run-controllers.ts';
import { controllersWith } from '../../../functions/controllers/controllers.ts';
import { type StreamConsumer, startStreamPoller } from '../../../functions/local/stream-poller.ts';
import { memoryLog } from '../../../functions/logging/log.ts';
import { schedulerControllers } from '../../../functions/scheduler/scheduler-controller.ts';
import { parseStreamRecord } from '../../../functions/store/dynamodb-store.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { waitFor } from '../../support/wait.ts';
import { deploymentObject, modify, namespaceObject, nodeObject, startControlPlane, type TestControlPlane } from './control-plane.ts';

let plane: TestControlPlane;
let streams: DynamoDBStreamsClient;

type Wrap = (deliver: StreamConsumer) => StreamConsumer;

/** Warnings of the handlers, shown when a scenario does not converge. */
const recordingLog = memoryLog();
/** What went wrong, as the test reports it when the end state is wrong. */
const warnings = () =>
  recordingLog.entries.filter((entry) => entry.level === 'WARN' || entry.level === 'ERROR').map((entry) => `${entry.message} ${JSON.stringify(entry.fields)}`);

function runtimes(failEvery?: number): ControllerRuntime[] {
  let calls = 0;
  const justFailed = new Set<string>();
  // A handler that dies part-way: every n-th reconcile throws before doing anything (a key that
  // just failed gets through on its retry, as a restarted handler would).
  const flaky = (controller: Controller): Controller => ({
    ...controller,
    keysFor: (change) => controller.keysFor(change),
    async reconcile(key, ctx) {
      const id = keyToString(controller.name, key);
      calls++;
      if (failEvery && calls % failEvery === 0 && !justFailed.has(id)) {
        justFailed.add(id);
        throw new Error('handler died mid-batch');
      }
      justFailed.delete(id);
      return controller.reconcile(key, ctx);
    },
  });
  return [controllersWith({}), schedulerControllers].map((set) => ({ store: plane.store, controllers: set.map(flaky), log: recordingLog }));
}

async function scenario(namespace: string, drive: { wrap?: Wrap; failEvery?: number; resyncOnly?: boolean; resyncEveryMs?: number }) {
  await plane.store.create(types.namespaces, namespaceObject(namespace));
  const sets = runtimes(drive.failEvery);
  const consumers: StreamConsumer[] = sets.map((runtime) => {
    const deliver: StreamConsumer = (event) => handleStreamEvent<DynamoDBRecord>(event, { ...runtime, parseRecord: parseStreamRecord });
    return drive.wrap ? drive.wrap(deliver) : deliver;
  });
  const poller = drive.resyncOnly
    ? undefined
    : await startStreamPoller({
        dynamoDb: plane.db.client,
        streams,
        tableName: plane.db.tables.objects,
        consumers,
        pollIntervalMs: 50,
        maxAttempts: 20,
        log: recordingLog,
      });
  let lastResync = Date.now();
  const converge = async (probe: () => Promise<boolean>, what: string) =>
    waitFor(
      what,
      async () => {
        const resyncDue = drive.resyncEveryMs !== undefined && Date.now() - lastResync >= drive.resyncEveryMs;
        if (drive.resyncOnly || resyncDue) {
          lastResync = Date.now();
          for (const runtime of sets) await resyncAll(runtime);
        }
        return probe();
      },
      { timeoutMs: 90_000, intervalMs: drive.resyncOnly ? 20 : 100 },
    ).catch(async (error: unknown) => {
      // Say where it stopped: the state is what a reader needs to see.
      throw new Error(`${error instanceof Error ? error.message : String(error)}; state: ${JSON.stringify(await debugState(namespace))}`);
    });
  try {
    await plane.store.create(
      types.deployments,
      deploymentObject(namespace, 'web', { replicas: 3, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }),
    );
    await converge(() => rolledOut(namespace, 'nginx'), `${namespace}: first rollout`);
    await modify(plane.store, types.deployments, namespace, 'web', (d) => {
      const template = structuredClone((d.spec as { template: { spec: { containers: { image: string }[] } } }).template);
      template.spec.containers = template.spec.containers.map((c) => ({ ...c, image: 'httpd' }));
      return { ...d, spec: { ...(d.spec as object), template } };
    });
    await converge(() => rolledOut(namespace, 'httpd'), `${namespace}: second rollout`);
    return summary(namespace);
  } finally {
    await poller?.stop();
  }
}

async function rolledOut(namespace: string, image: string): Promise<boolean> {
  const d = await plane.store.get(types.deployments, namespace, 'web');
  const status = (d.status ?? {}) as Record<string, number>;
  const pods = (await plane.store.list(types.pods, { namespace })).items;
  const progressing = ((d.status as { conditions?: { type: string; reason: string }[] })?.conditions ?? []).find((c) => c.type === 'Progressing');
  return (
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    status.updatedReplicas === 3 &&
    status.replicas === 3 &&
    status.availableReplicas === 3 &&
    progressing?.reason === 'NewReplicaSetAvailable' &&
    pods.length === 3 &&
    pods.every((p) => (p.spec as { containers: { image: string }[] }).containers[0]?.image === image && isReady(p))
  );
}

async function debugState(namespace: string) {
  const d = await plane.store.get(types.deployments, namespace, 'web');
  const replicaSets = (await plane.store.list(types.replicasets, { namespace })).items;
  const pods = (await plane.store.list(types.pods, { namespace })).items;
  return {
    generation: d.metadata.generation,
    status: d.status,
    warnings: warnings()
      .filter((w) => !w.includes('handler died'))
      .slice(-10),
    replicaSets: replicaSets.map((rs) => ({ name: rs.metadata.name, spec: (rs.spec as { replicas: number }).replicas, status: rs.status })),
    pods: pods.map((p) => ({
      name: p.metadata.name,
      node: (p.spec as { nodeName?: string }).nodeName,
      ready: isReady(p),
      deleting: Boolean(p.metadata.deletionTimestamp),
    })),
  };
}

const isReady = (p: KubeObject) =>
  ((p.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The state a user sees, without names, uids and times that differ between runs. */
async function summary(namespace: string) {
  const d = await plane.store.get(types.deployments, namespace, 'web');
  const status = d.status as Record<string, unknown> & { conditions: { type: string; status: string; reason: string }[] };
  const replicaSets = (await plane.store.list(types.replicasets, { namespace })).items;
  const pods = (await plane.store.list(types.pods, { namespace })).items;
  return {
    revision: d.metadata.annotations?.['deployment.kubernetes.io/revision'],
    status: {
      replicas: status.replicas,
      updatedReplicas: status.updatedReplicas,
      readyReplicas: status.readyReplicas,
      availableReplicas: status.availableReplicas,
      unavailableReplicas: status.unavailableReplicas,
      conditions: status.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
    },
    replicaSets: replicaSets
      .map(
        (rs) =>
          `rev ${rs.metadata.annotations?.['deployment.kubernetes.io/revision']}: ${(rs.spec as { replicas: number }).replicas}/${(rs.status as { replicas?: number })?.replicas ?? 0}`,
      )
      .sort(),
    pods: pods
      .map(
        (p) =>
          `${(p.spec as { containers: { image: string }[] }).containers[0]?.image} ready=${isReady(p)} bound=${Boolean((p.spec as { nodeName?: string }).nodeName)}`,
      )
      .sort(),
    nodesUsed: new Set(pods.map((p) => (p.spec as { nodeName?: string }).nodeName)).size,
  };
}

const twice: Wrap = (deliver) => async (event) => {
  await deliver(event);
  return deliver(event);
};

/** Each batch arrives with its records reversed, and the previous batch arrives again after it. */
const reordered: Wrap = (deliver) => {
  let previous: DynamoDBStreamEvent | undefined;
  return async (event) => {
    const result = await deliver({ Records: [...event.Records].reverse() });
    if (previous) await deliver(previous);
    previous = event;
    return result;
  };
};

describe('stream delivery faults', { timeout: 600_000 }, () => {
  let clean: Awaited<ReturnType<typeof summary>>;

  before(async () => {
    plane = await startControlPlane();
    streams = new DynamoDBStreamsClient({
      endpoint: plane.db.endpoint,
      region: plane.db.client.config.region,
      credentials: plane.db.client.config.credentials,
    });
    const nodes = ['node-a', 'node-b', 'node-c'];
    for (const name of nodes) await plane.store.create(types.nodes, nodeObject(name));
    plane.startAgent({ nodes });
    clean = await scenario('clean', {});
  });
  after(async () => {
    streams?.destroy();
    await plane?.stop();
  });

  it('a clean run rolls out to 3 ready pods of the new image over all nodes', () => {
    assert.equal(clean.revision, '2');
    assert.deepEqual(clean.replicaSets, ['rev 1: 0/0', 'rev 2: 3/3']);
    assert.equal(clean.nodesUsed, 3);
  });

  it('ends in the same state when every batch is delivered twice', async () => {
    assert.deepEqual(await scenario('twice', { wrap: twice }), clean);
  });

  it('ends in the same state when batches arrive out of order', async () => {
    assert.deepEqual(await scenario('reordered', { wrap: reordered }), clean);
  });

  it('ends in the same state when the handler dies part-way through batches', async () => {
    // Records a dying handler keeps failing are retried, then given up (Lambda: to the failure
    // queue); the periodic resync — the local host's timer, EventBridge in AWS — repairs them.
    assert.deepEqual(await scenario('flaky', { failEvery: 3, resyncEveryMs: 5_000 }), clean);
  });

  it('ends in the same state from resyncs alone, with no stream at all', async () => {
    assert.deepEqual(await scenario('resync-only', { resyncOnly: true }), clean);
  });
});
