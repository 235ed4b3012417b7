import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isApiError } from '../../../../functions/core/errors.ts';
import { ipAddressRecords, nodePortRecords } from '../../../../functions/domain/services/service-allocation.ts';
import { serviceTargetHealthType } from '../../../../functions/domain/services/target-health.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';
import { type MemoryCluster, memoryCluster } from '../../../support/memory-cluster.ts';

const notReady = (seconds: number) => ({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
const unreachable = (seconds: number) => ({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });

function podBody(name: string, spec: Record<string, unknown> = {}, namespace = 'apps'): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [{ name: 'web', image: 'nginx' }], ...spec } };
}

function serviceBody(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'apps' }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } };
}

const tolerationsOf = (pod: KubeObject) => (pod.spec as { tolerations?: unknown[] }).tolerations;
const nodeNameOf = (pod: KubeObject) => (pod.spec as { nodeName?: string }).nodeName;

let world: MemoryCluster;
beforeEach(async () => {
  world = await memoryCluster({ settings: { defaultTolerationSeconds: 120 } });
  await world.namespace('apps');
  world.resetCalls();
});
afterEach(() => world.close());

describe('admission of a pod (DefaultTolerationSeconds)', () => {
  const cases: { name: string; tolerations?: unknown[]; expected: unknown[] }[] = [
    { name: 'gives a pod without tolerations the not-ready and unreachable ones of the configured seconds', expected: [notReady(120), unreachable(120)] },
    {
      name: 'adds only the one a pod does not already tolerate',
      tolerations: [unreachable(10)],
      expected: [unreachable(10), notReady(120)],
    },
    {
      name: 'counts a toleration without an effect as covering NoExecute',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }],
      expected: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }, unreachable(120)],
    },
    { name: 'adds nothing to a pod that tolerates every taint', tolerations: [{ operator: 'Exists' }], expected: [{ operator: 'Exists' }] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { object } = world.admission.admitCreate(types.pods, podBody('p', c.tolerations ? { tolerations: c.tolerations } : {}));
      assert.deepEqual(tolerationsOf(object), c.expected);
    });
  }

  it('re-adds them on an update that leaves them out, so `kubectl replace -f pod.yaml` is not refused', async () => {
    const created = await world.admission.create(types.pods, podBody('p', { automountServiceAccountToken: false }));
    const replaced = world.admission.admitUpdate(
      types.pods,
      { ...podBody('p', { automountServiceAccountToken: false }), metadata: { ...created.metadata } },
      created,
    ).object;
    assert.deepEqual(tolerationsOf(replaced), [notReady(120), unreachable(120)]);
  });

  it('leaves them alone on a status update, as the plugin skips subresources', async () => {
    const bare = await world.raw.create(types.pods, podBody('bare'));
    const statusOnly = world.admission.admitUpdate(types.pods, { ...bare, status: { phase: 'Running' } }, bare, { subresource: 'status' }).object;
    assert.equal(tolerationsOf(statusOnly), undefined);
    assert.equal((statusOnly.status as { phase: string }).phase, 'Running');
  });

  it('refuses an invalid pod with 422 and every failing field', () => {
    assert.throws(
      () => world.admission.admitCreate(types.pods, podBody('p', { containers: [{ name: 'Bad_Name', image: '' }] })),
      (error: unknown) => isApiError(error, 422) && /containers\[0\]\.name/.test(error.message) && /containers\[0\]\.image/.test(error.message),
    );
  });
});

describe('admission that reads other objects, on create', () => {
  it("gives a new pod the readiness gate of a LoadBalancer Service that selects it, a whole batch for one read of the namespace's Services", async () => {
    await world.admission.create(types.services, serviceBody('front', { type: 'LoadBalancer', selector: { app: 'web' } }));
    world.resetCalls();
    const labelled = (name: string) => ({ ...podBody(name), metadata: { name, namespace: 'apps', labels: { app: 'web' } } });
    const { created } = await world.admission.createAll(types.pods, [labelled('a'), labelled('b'), podBody('unselected')]);
    const gates = (pod: KubeObject) => ((pod.spec as { readinessGates?: { conditionType: string }[] }).readinessGates ?? []).map((g) => g.conditionType);
    assert.deepEqual(
      created.map((pod) => [pod.metadata.name, gates(pod)]),
      [
        ['a', [serviceTargetHealthType('front')]],
        ['b', [serviceTargetHealthType('front')]],
        ['unselected', []],
      ],
    );
    // One read each for the whole batch: Services and Ingresses (readiness gates), the
    // PriorityClasses (for a default class), then the namespace's LimitRanges and ResourceQuotas
    // (LimitRanger and ResourceQuota admission).
    assert.equal(world.calls.list, 5, "the namespace's Services, Ingresses, the PriorityClasses, LimitRanges and ResourceQuotas, once each");
  });

  it('gives a new Ingress without a class the default IngressClass', async () => {
    await world.admission.create(types.ingressclasses, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'house', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'example.com/ingress' },
    });
    const ingress = await world.admission.create(types.ingresses, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web', namespace: 'apps' },
      spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
    });
    assert.equal((ingress.spec as { ingressClassName?: string }).ingressClassName, 'house');
  });
});

describe('ServiceAccount admission, on create', () => {
  type Mount = { name: string; mountPath: string; readOnly?: boolean };
  type Spec = {
    serviceAccountName?: string;
    volumes?: { name: string; projected?: { sources: Record<string, unknown>[] } }[];
    containers: { volumeMounts?: Mount[] }[];
    imagePullSecrets?: { name: string }[];
  };
  const specOf = (pod: KubeObject) => pod.spec as Spec;
  const account = (name: string, fields: Record<string, unknown> = {}) =>
    world.raw.create(types.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'apps' }, ...fields });

  it("names the namespace's default account and mounts its token, the cluster CA and the namespace from one projected volume", async () => {
    await account('default');
    const pod = await world.admission.create(types.pods, podBody('p'));
    const { serviceAccountName, volumes = [], containers } = specOf(pod);
    assert.equal(serviceAccountName, 'default');
    assert.equal(volumes.length, 1);
    assert.match(volumes[0]?.name ?? '', /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(
      (volumes[0]?.projected?.sources ?? []).map((source) => Object.keys(source)[0]),
      ['serviceAccountToken', 'configMap', 'downwardAPI'],
    );
    assert.deepEqual(containers[0]?.volumeMounts, [{ name: volumes[0]?.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
  });

  it("takes the account's image pull secrets and its choice not to automount", async () => {
    await account('builder', { automountServiceAccountToken: false, imagePullSecrets: [{ name: 'registry' }] });
    const pod = await world.admission.create(types.pods, podBody('p', { serviceAccountName: 'builder' }));
    assert.deepEqual([specOf(pod).volumes ?? [], specOf(pod).imagePullSecrets], [[], [{ name: 'registry' }]]);
  });

  it('refuses a pod naming an account that does not exist with 403, and writes nothing', async () => {
    await assert.rejects(
      world.admission.create(types.pods, podBody('p', { serviceAccountName: 'ghost' })),
      (error: unknown) =>
        isApiError(error, 403) && error.message === 'pods "p" is forbidden: error looking up service account apps/ghost: serviceaccount "ghost" not found',
    );
    assert.equal((await world.raw.list(types.pods, { namespace: 'apps' })).items.length, 0);
  });

  it('gives a batch the same, each pod its own volume, reading each account once, and refuses only the pods naming a missing one', async () => {
    await account('default');
    world.resetCalls();
    const { created, refused } = await world.admission.createAll(types.pods, [
      podBody('a'),
      podBody('b'),
      podBody('lost', { serviceAccountName: 'ghost' }),
      podBody('c'),
    ]);
    assert.deepEqual(
      created.map((pod) => [pod.metadata.name, specOf(pod).serviceAccountName, specOf(pod).volumes?.length]),
      [
        ['a', 'default', 1],
        ['b', 'default', 1],
        ['c', 'default', 1],
      ],
    );
    assert.equal(new Set(created.map((pod) => specOf(pod).volumes?.[0]?.name)).size, 3);
    assert.deepEqual(
      refused.map((r) => [r.object.metadata.name, r.error.code]),
      [['lost', 403]],
    );
    assert.equal(world.calls.get, 3, 'the namespace, then the accounts default and ghost, once each');
  });

  it('leaves a pod that mounts the token path itself as it is, but for the account name', async () => {
    const mount = { name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' };
    const pod = await world.admission.create(
      types.pods,
      podBody('p', { volumes: [{ name: 'mine', emptyDir: {} }], containers: [{ name: 'web', image: 'nginx', volumeMounts: [mount] }] }),
    );
    assert.deepEqual(
      [specOf(pod).serviceAccountName, specOf(pod).volumes?.map((v) => v.name), specOf(pod).containers[0]?.volumeMounts],
      ['default', ['mine'], [mount]],
    );
  });
});

describe('NamespaceLifecycle on create', () => {
  it('refuses an object in a namespace that does not exist with 404', async () => {
    await assert.rejects(
      world.admission.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'nowhere' } }),
      (e) => isApiError(e, 404),
    );
  });

  it('refuses an object in a namespace being terminated with 403 and the NamespaceTerminating cause', async () => {
    const namespace = await world.namespace('going');
    await world.admission.delete(types.namespaces, namespace);
    await assert.rejects(
      world.admission.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'going' } }),
      (e) =>
        isApiError(e, 403) &&
        e.message === 'configmaps is forbidden: unable to create new content in namespace going because it is being terminated' &&
        e.details?.causes?.[0]?.reason === 'NamespaceTerminating',
    );
  });

  it('reads the namespace of every create unless told to trust it for a while', async () => {
    const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'apps' } });
    await world.admission.create(types.configmaps, configMap('a'));
    await world.admission.create(types.configmaps, configMap('b'));
    assert.equal(world.calls.get, 2);

    const cached = await memoryCluster({ namespaceCacheMs: 60_000 });
    await cached.namespace('apps');
    cached.resetCalls();
    await cached.admission.create(types.configmaps, configMap('a'));
    await cached.admission.create(types.configmaps, configMap('b'));
    assert.equal(cached.calls.get, 1);
    cached.close();
  });

  it('never trusts a namespace it found being terminated', async () => {
    const cached = await memoryCluster({ namespaceCacheMs: 60_000 });
    const namespace = await cached.namespace('going');
    await cached.admission.delete(types.namespaces, namespace);
    cached.resetCalls();
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'going' } };
    await assert.rejects(cached.admission.create(types.configmaps, configMap), (e) => isApiError(e, 403));
    await assert.rejects(cached.admission.create(types.configmaps, configMap), (e) => isApiError(e, 403));
    assert.equal(cached.calls.get, 2);
    cached.close();
  });

  it('does not look for a namespace for cluster-scoped kinds', async () => {
    await world.admission.create(types.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } });
    assert.equal(world.calls.get, 0);
  });
});

describe('createAll', () => {
  it('creates what admission accepts in transactions of 25 after one namespace read, and returns what it refuses', async () => {
    const pods = Array.from({ length: 30 }, (_, i) => podBody(`p${i}`));
    const invalid = podBody('Not_Valid');
    const { created, refused } = await world.admission.createAll(types.pods, [...pods, invalid]);
    assert.equal(created.length, 30);
    assert.ok(created.every((pod) => tolerationsOf(pod)?.length === 2));
    assert.deepEqual(
      refused.map((r) => [r.object.metadata.name, r.error.code]),
      [['Not_Valid', 422]],
    );
    // One read of the namespace and one of the ServiceAccount they all name.
    assert.deepEqual([world.calls.get, world.calls.batch, world.calls.create], [2, 2, 0]);
  });

  it('refuses every object of a namespace being terminated and creates the rest', async () => {
    const namespace = await world.namespace('going');
    await world.admission.delete(types.namespaces, namespace);
    const { created, refused } = await world.admission.createAll(types.pods, [podBody('a', {}, 'going'), podBody('b', {}, 'apps')]);
    assert.deepEqual(
      created.map((p) => p.metadata.name),
      ['b'],
    );
    assert.deepEqual(
      refused.map((r) => [r.object.metadata.name, r.error.code]),
      [['a', 403]],
    );
  });
});

describe('update', () => {
  const replicaSet = (): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'apps' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    },
  });

  const cases: { name: string; change: (rs: KubeObject) => KubeObject; writes: number; replicas: number; statusReplicas?: number }[] = [
    { name: 'writes nothing when nothing changed', change: (rs) => rs, writes: 0, replicas: 1 },
    {
      name: 'writes a status change through the status subresource alone',
      change: (rs) => ({ ...rs, status: { replicas: 1 } }),
      writes: 1,
      replicas: 1,
      statusReplicas: 1,
    },
    {
      name: 'writes a spec change through the object alone',
      change: (rs) => ({ ...rs, spec: { ...(rs.spec as object), replicas: 3 } }),
      writes: 1,
      replicas: 3,
    },
    {
      name: 'writes a change of both as the object, then its status',
      change: (rs) => ({ ...rs, spec: { ...(rs.spec as object), replicas: 3 }, status: { replicas: 1 } }),
      writes: 2,
      replicas: 3,
      statusReplicas: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const stored = await world.admission.create(types.replicasets, replicaSet());
      world.resetCalls();
      const written = await world.admission.update(types.replicasets, c.change(stored), stored);
      assert.equal(world.calls.update, c.writes);
      assert.equal(world.calls.get, 0, 'no read of its own');
      const now = await world.raw.get(types.replicasets, 'apps', 'web');
      assert.equal(now.metadata.resourceVersion, written.metadata.resourceVersion);
      assert.equal((now.spec as { replicas: number }).replicas, c.replicas);
      // A ReplicaSet's status always counts its replicas, 0 until the controller does (as kube-apiserver sends it).
      assert.equal((now.status as { replicas?: number } | undefined)?.replicas, c.statusReplicas ?? 0);
    });
  }

  it('is a 409 when the object changed since it was read', async () => {
    const stored = await world.admission.create(types.replicasets, replicaSet());
    await world.raw.update(types.replicasets, { ...stored, metadata: { ...stored.metadata, labels: { moved: 'on' } } });
    await assert.rejects(world.admission.update(types.replicasets, { ...stored, status: { replicas: 1 } }, stored), (e) => isApiError(e, 409));
  });

  it('judges a status update on its status alone, as kube-apiserver does, not on a spec it keeps as stored', async () => {
    const legacy = replicaSet();
    const template = (legacy.spec as { template: { spec: object } }).template;
    const stored = await world.raw.create(types.replicasets, {
      ...legacy,
      spec: { ...(legacy.spec as object), template: { ...template, spec: { containers: [{ name: 'Web_1', image: 'nginx' }] } } },
    });
    const written = await world.admission.update(types.replicasets, { ...stored, status: { replicas: 0 } }, stored);
    assert.deepEqual(written.status, { replicas: 0 });
    await assert.rejects(
      world.admission.update(types.replicasets, { ...written, metadata: { ...written.metadata, labels: { a: 'b' } } }, written),
      (e) => isApiError(e, 422),
      'a change of the object itself is judged whole',
    );
  });

  it('refuses a status its schema does not accept', async () => {
    const stored = await world.admission.create(types.replicasets, replicaSet());
    await assert.rejects(world.admission.update(types.replicasets, { ...stored, status: { replicas: 'three' } }, stored), (e) => isApiError(e, 422));
  });
});

describe('bindAll', () => {
  it('binds as the binding subresource does: the node name and PodScheduled, conditional on the pod as read', async () => {
    const a = await world.admission.create(types.pods, podBody('a'));
    const b = await world.admission.create(types.pods, podBody('b'));
    const [boundA] = await world.admission.bindAll([{ pod: a, nodeName: 'n1' }], new Date('2026-01-01T00:00:00Z'));
    assert.equal(nodeNameOf(boundA as KubeObject), 'n1');
    const conditions = ((boundA as KubeObject).status as { conditions: { type: string; status: string; lastTransitionTime: string }[] }).conditions;
    assert.deepEqual(
      conditions.find((c) => c.type === 'PodScheduled'),
      {
        type: 'PodScheduled',
        status: 'True',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        lastProbeTime: null,
      },
    );

    await world.raw.update(types.pods, { ...b, metadata: { ...b.metadata, labels: { changed: 'yes' } } });
    await assert.rejects(world.admission.bindAll([{ pod: b, nodeName: 'n1' }], new Date()), (e) => isApiError(e, 409));
    assert.equal(nodeNameOf(await world.raw.get(types.pods, 'apps', 'b')), undefined);
  });
});

describe('delete', () => {
  it('refuses to delete default, kube-system and kube-public with 403, whoever asks, and lets other namespaces go', async () => {
    for (const name of ['default', 'kube-system', 'kube-public']) {
      await assert.rejects(
        world.admission.delete(types.namespaces, { name }),
        (error: unknown) => isApiError(error, 403) && error.message === `namespaces "${name}" is forbidden: this namespace may not be deleted`,
      );
      assert.throws(
        () => world.admission.admitDelete(types.namespaces, name),
        (error: unknown) => isApiError(error, 403),
      );
    }
    assert.equal((await world.raw.get(types.namespaces, undefined, 'default')).metadata.deletionTimestamp, undefined);
    const leases = await world.admission.delete(types.namespaces, { name: 'kube-node-lease' });
    assert.ok(leases.object.metadata.deletionTimestamp);
    world.admission.admitDelete(types.configmaps, 'default');
  });

  it('removes an unbound pod at once and only marks a bound one for its grace period', async () => {
    const unbound = await world.admission.create(types.pods, podBody('unbound'));
    const bound = await world.admission.create(types.pods, podBody('bound', { nodeName: 'n1', terminationGracePeriodSeconds: 7 }));
    assert.equal((await world.admission.delete(types.pods, unbound)).removed, true);
    const marked = await world.admission.delete(types.pods, bound);
    assert.equal(marked.removed, false);
    assert.equal(marked.object.metadata.deletionGracePeriodSeconds, 7);
  });

  it("lets the caller's grace period win over the pod's", async () => {
    const bound = await world.admission.create(types.pods, podBody('bound', { nodeName: 'n1' }));
    assert.equal((await world.admission.delete(types.pods, bound, { gracePeriodSeconds: 0 })).removed, true);
  });

  it('marks a namespace Terminating, leaves it so when deleted again, and removes it once finalized', async () => {
    const namespace = await world.namespace('going');
    const marked = await world.admission.delete(types.namespaces, namespace);
    assert.equal(marked.removed, false);
    const terminating = await world.raw.get(types.namespaces, undefined, 'going');
    assert.ok(terminating.metadata.deletionTimestamp);
    assert.equal((terminating.status as { phase: string }).phase, 'Terminating');
    assert.equal((await world.admission.delete(types.namespaces, terminating, { gracePeriodSeconds: 0 })).removed, false);
    assert.equal((await world.admission.delete(types.namespaces, terminating, { finalized: true })).removed, true);
    await assert.rejects(world.raw.get(types.namespaces, undefined, 'going'), (e) => isApiError(e, 404));
  });

  it('deletes a kind with nothing of its own by name without reading it first', async () => {
    await world.admission.create(types.configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'apps' } });
    world.resetCalls();
    assert.equal((await world.admission.delete(types.configmaps, { namespace: 'apps', name: 'c' })).removed, true);
    assert.deepEqual([world.calls.get, world.calls.delete], [0, 1]);
  });
});

describe('Service addresses around the write', () => {
  const recordNames = async () => ({
    ips: (await world.raw.list(ipAddressRecords)).items.map((r) => r.metadata.name),
    ports: (await world.raw.list(nodePortRecords)).items.map((r) => r.metadata.name),
  });

  it('claims a ClusterIP and a NodePort on create and frees both when the Service is removed', async () => {
    const service = await world.admission.create(types.services, serviceBody('web', { type: 'NodePort' }));
    const spec = service.spec as { clusterIP: string; ports: { nodePort: number }[] };
    assert.deepEqual(await recordNames(), { ips: [spec.clusterIP], ports: [String(spec.ports[0]?.nodePort)] });
    assert.equal((await world.admission.delete(types.services, service)).removed, true);
    assert.deepEqual(await recordNames(), { ips: [], ports: [] });
  });

  it('claims nothing for good on a dry run', async () => {
    const admitted = world.admission.admitCreate(types.services, serviceBody('web')).object;
    const wouldBe = await world.admission.writeCreate(types.services, admitted, { dryRun: true });
    assert.match((wouldBe.spec as { clusterIP: string }).clusterIP, /^10\./);
    assert.deepEqual(await recordNames(), { ips: [], ports: [] });
    await assert.rejects(world.raw.get(types.services, 'apps', 'web'), (e) => isApiError(e, 404));
  });

  it('costs an update that keeps the addresses no store call beyond the write', async () => {
    const service = await world.admission.create(types.services, serviceBody('web'));
    world.resetCalls();
    await world.admission.update(types.services, { ...service, metadata: { ...service.metadata, labels: { tier: 'front' } } }, service);
    assert.deepEqual([world.calls.get, world.calls.create, world.calls.delete, world.calls.update], [0, 0, 0, 1]);
  });

  it('frees what it claimed when the write fails', async () => {
    const service = await world.admission.create(types.services, serviceBody('web'));
    await world.raw.update(types.services, { ...service, metadata: { ...service.metadata, labels: { moved: 'on' } } });
    const retyped = { ...service, spec: { ...(service.spec as object), type: 'NodePort' } };
    await assert.rejects(world.admission.update(types.services, retyped, service), (e) => isApiError(e, 409));
    assert.deepEqual((await recordNames()).ports, []);
  });
});
