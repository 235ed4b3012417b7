/**
 * The whole loop against DynamoDB Local: the real store, the real stream poller and the real
 * controllers and scheduler, with an agent stand-in reporting pods ready and finishing graceful
 * deletions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../../schemas/meta.ts';
import { types } from '../../../schemas/registry.ts';
import { waitFor } from '../../support/wait.ts';
import { deploymentObject, modify, namespaceObject, nodeObject, startControlPlane, type TestControlPlane } from './control-plane.ts';

let plane: TestControlPlane;

const podsIn = async (namespace: string) => (await plane.store.list(types.pods, { namespace })).items;
const activePods = (pods: KubeObject[]) => pods.filter((p) => !p.metadata.deletionTimestamp);
const isReady = (p: KubeObject) =>
  ((p.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const nodeOf = (p: KubeObject) => (p.spec as { nodeName?: string }).nodeName;
const imageOf = (p: KubeObject) => (p.spec as { containers: { image: string }[] }).containers[0]?.image;

async function rolledOut(namespace: string, name: string, replicas: number, image?: string) {
  return waitFor(`deployment ${namespace}/${name} rolled out`, async () => {
    const d = await plane.store.get(types.deployments, namespace, name);
    const status = (d.status ?? {}) as Record<string, number>;
    const pods = activePods(await podsIn(namespace));
    const done =
      (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
      status.updatedReplicas === replicas &&
      status.replicas === replicas &&
      status.availableReplicas === replicas &&
      pods.length === replicas &&
      pods.every((p) => isReady(p) && (!image || imageOf(p) === image));
    return done ? d : undefined;
  });
}

async function createNamespace(name: string) {
  await plane.store.create(types.namespaces, namespaceObject(name));
}

describe('controllers and scheduler over DynamoDB Streams', { timeout: 240_000 }, () => {
  before(async () => {
    plane = await startControlPlane();
    const nodes = ['node-a', 'node-b', 'node-c'];
    for (const name of nodes) await plane.store.create(types.nodes, nodeObject(name));
    plane.startAgent({ nodes });
    await plane.startLoops();
  });
  after(async () => {
    await plane?.stop();
  });

  it('scales a deployment to 3 pods bound across the nodes and replaces a deleted pod', async () => {
    await createNamespace('scale');
    await plane.store.create(types.deployments, deploymentObject('scale', 'test1'));
    await rolledOut('scale', 'test1', 1);
    await modify(plane.store, types.deployments, 'scale', 'test1', (d) => ({ ...d, spec: { ...(d.spec as object), replicas: 3 } }));
    await rolledOut('scale', 'test1', 3);
    const pods = activePods(await podsIn('scale'));
    assert.deepEqual(new Set(pods.map(nodeOf)), new Set(['node-a', 'node-b', 'node-c']));
    for (const pod of pods) {
      assert.match(pod.metadata.name ?? '', /^test1-[a-z0-9]+-[a-z0-9]+$/);
      assert.equal(pod.metadata.ownerReferences?.[0]?.kind, 'ReplicaSet');
    }

    const victim = pods[0];
    assert.ok(victim);
    await plane.store.delete(types.pods, 'scale', victim.metadata.name ?? '', { gracePeriodSeconds: 0 });
    await waitFor('a replacement pod', async () => {
      const now = activePods(await podsIn('scale'));
      return now.length === 3 && now.every(isReady) && !now.some((p) => p.metadata.name === victim.metadata.name);
    });
  });

  it('rolls out a new image within maxSurge and maxUnavailable, keeps history and rolls back', async () => {
    await createNamespace('rolling');
    const replicas = 4;
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
    await plane.store.create(types.deployments, deploymentObject('rolling', 'web', { replicas, strategy, image: 'nginx' }));
    await rolledOut('rolling', 'web', replicas, 'nginx');

    // Watch every pod change and check the bounds at each one.
    const abort = new AbortController();
    const violations: string[] = [];
    const seen = new Map<string, KubeObject>();
    const start = await plane.store.currentRevision(types.pods);
    const watching = (async () => {
      try {
        for await (const event of plane.store.watch(types.pods, { namespace: 'rolling', resourceVersion: start, signal: abort.signal })) {
          if (event.type === 'DELETED') seen.delete(event.object.metadata.name ?? '');
          else seen.set(event.object.metadata.name ?? '', event.object);
          const active = [...seen.values()].filter((p) => !p.metadata.deletionTimestamp);
          if (active.length > replicas + 1) violations.push(`${active.length} pods at revision ${event.object.metadata.resourceVersion}`);
          const ready = active.filter(isReady).length;
          if (seen.size >= replicas && ready < replicas - 1) violations.push(`${ready} ready at revision ${event.object.metadata.resourceVersion}`);
        }
      } catch {
        // aborted
      }
    })();
    for (const pod of await podsIn('rolling')) seen.set(pod.metadata.name ?? '', pod);

    await modify(plane.store, types.deployments, 'rolling', 'web', (d) => {
      const spec = d.spec as { template: { spec: { containers: { image: string }[] } } };
      const template = structuredClone(spec.template);
      template.spec.containers[0] = { ...template.spec.containers[0], image: 'httpd' } as never;
      return { ...d, metadata: { ...d.metadata, annotations: { 'kubernetes.io/change-cause': 'to httpd' } }, spec: { ...(d.spec as object), template } };
    });
    await rolledOut('rolling', 'web', replicas, 'httpd');
    abort.abort();
    await watching;
    assert.deepEqual(violations, []);

    const replicaSets = (await plane.store.list(types.replicasets, { namespace: 'rolling' })).items;
    assert.equal(replicaSets.length, 2);
    const revisions = replicaSets.map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision']).sort();
    assert.deepEqual(revisions, ['1', '2']);
    const second = replicaSets.find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '2');
    assert.equal(second?.metadata.annotations?.['kubernetes.io/change-cause'], 'to httpd');
    const deployment = await plane.store.get(types.deployments, 'rolling', 'web');
    const progressing = (deployment.status as { conditions: { type: string; reason: string }[] }).conditions.find((c) => c.type === 'Progressing');
    assert.equal(progressing?.reason, 'NewReplicaSetAvailable');

    // Undo: the template goes back to revision 1's, which becomes revision 3.
    const first = replicaSets.find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1');
    assert.ok(first);
    await modify(plane.store, types.deployments, 'rolling', 'web', (d) => {
      const template = structuredClone((first.spec as { template: { metadata: { labels: Record<string, string> } } }).template);
      delete template.metadata.labels['pod-template-hash'];
      return { ...d, spec: { ...(d.spec as object), template } };
    });
    await rolledOut('rolling', 'web', replicas, 'nginx');
    const revived = await plane.store.get(types.replicasets, 'rolling', first.metadata.name ?? '');
    assert.equal(revived.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
  });

  for (const policy of ['Background', 'Foreground', 'Orphan'] as const) {
    it(`deletes a deployment with propagationPolicy ${policy}`, async () => {
      const ns = `delete-${policy.toLowerCase()}`;
      await createNamespace(ns);
      await plane.store.create(types.deployments, deploymentObject(ns, 'web', { replicas: 2 }));
      await rolledOut(ns, 'web', 2);
      const finalizers = policy === 'Foreground' ? ['foregroundDeletion'] : policy === 'Orphan' ? ['orphan'] : [];
      const result = await plane.store.delete(types.deployments, ns, 'web', finalizers.length ? { addFinalizers: finalizers } : {});
      if (policy !== 'Background') assert.equal(result.removed, false);
      await waitFor('the deployment to be gone', async () => !(await plane.store.list(types.deployments, { namespace: ns })).items.length);
      if (policy === 'Orphan') {
        const replicaSets = (await plane.store.list(types.replicasets, { namespace: ns })).items;
        assert.equal(replicaSets.length, 1);
        assert.equal(replicaSets[0]?.metadata.ownerReferences, undefined);
        assert.equal(activePods(await podsIn(ns)).length, 2);
      } else {
        if (policy === 'Foreground') {
          // The owner only went once its dependents had.
          assert.equal((await plane.store.list(types.replicasets, { namespace: ns })).items.length, 0);
        }
        await waitFor('replica sets and pods to be gone', async () => {
          const rs = (await plane.store.list(types.replicasets, { namespace: ns })).items;
          return rs.length === 0 && (await podsIn(ns)).length === 0;
        });
      }
    });
  }

  it('empties and removes a namespace marked for deletion', async () => {
    await createNamespace('doomed');
    await plane.store.create(types.deployments, deploymentObject('doomed', 'web', { replicas: 2 }));
    await plane.store.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'doomed' }, data: { a: '1' } });
    await rolledOut('doomed', 'web', 2);
    // What the API does on DELETE of a namespace.
    await modify(plane.store, types.namespaces, undefined, 'doomed', (ns) => ({ ...ns, status: { phase: 'Terminating' } }));
    await plane.store.delete(types.namespaces, undefined, 'doomed', { mark: true });
    await waitFor('the namespace to be gone', async () => {
      const left = await plane.store.list(types.namespaces, { fieldSelector: 'metadata.name=doomed' });
      return left.items.length === 0;
    });
    for (const type of [types.pods, types.replicasets, types.deployments, types.configmaps]) {
      assert.equal((await plane.store.list(type, { namespace: 'doomed' })).items.length, 0, type.id);
    }
  });

  it('keeps new pods off tainted nodes unless they tolerate the taint', async () => {
    await createNamespace('taints');
    await createNamespace('tolerant');
    const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
    for (const node of ['node-a', 'node-b'])
      await modify(plane.store, types.nodes, undefined, node, (n) => ({ ...n, spec: { ...(n.spec as object), taints: [taint] } }));
    try {
      await plane.store.create(types.deployments, deploymentObject('taints', 'plain', { replicas: 3 }));
      await rolledOut('taints', 'plain', 3);
      assert.deepEqual(new Set(activePods(await podsIn('taints')).map(nodeOf)), new Set(['node-c']));

      const tolerations = [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }];
      await plane.store.create(types.deployments, deploymentObject('tolerant', 'web', { replicas: 3, tolerations }));
      await rolledOut('tolerant', 'web', 3);
      // node-c is the busiest now, so spreading and least-allocation send them to the tainted nodes.
      assert.ok(
        activePods(await podsIn('tolerant')).some((p) => nodeOf(p) !== 'node-c'),
        'a tolerating pod may use a tainted node',
      );
    } finally {
      for (const node of ['node-a', 'node-b']) await modify(plane.store, types.nodes, undefined, node, (n) => ({ ...n, spec: {} }));
    }
  });

  it('leaves a pod that fits nowhere Pending with the reason and a FailedScheduling event', async () => {
    await createNamespace('big');
    await plane.store.create(types.deployments, deploymentObject('big', 'huge', { replicas: 1, cpu: '16' }));
    const pending = await waitFor('an unschedulable pod', async () => {
      const [pod] = await podsIn('big');
      const condition = ((pod?.status as { conditions?: { type: string; status: string; reason?: string; message?: string }[] })?.conditions ?? []).find(
        (c) => c.type === 'PodScheduled',
      );
      return condition?.status === 'False' ? { pod, condition } : undefined;
    });
    assert.equal(pending.condition.reason, 'Unschedulable');
    assert.equal(pending.condition.message, '0/3 nodes are available: 3 Insufficient cpu.');
    assert.equal(nodeOf(pending.pod as KubeObject), undefined);
    const events = await waitFor('a FailedScheduling event', async () => {
      const items = (await plane.store.list(types.events, { namespace: 'big' })).items.filter((e) => e.reason === 'FailedScheduling');
      return items.length ? items : undefined;
    });
    assert.equal(events[0]?.message, '0/3 nodes are available: 3 Insufficient cpu.');
    assert.equal((events[0]?.involvedObject as { name: string } | undefined)?.name, pending.pod?.metadata.name);
    assert.equal(events[0]?.type, 'Warning');
    assert.deepEqual(events[0]?.source, { component: 'default-scheduler' });
  });
});
