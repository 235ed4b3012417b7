import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateContainerConfigError } from '../../../node-agent/env.ts';
import { parsePod } from '../../../node-agent/pod-view.ts';
import { type KeyedData, podUnitRefusal, type VolumeDataSource, volumesFor } from '../../../node-agent/volume-sources.ts';

const mountPath = '/var/run/secrets/kubernetes.io/serviceaccount';

function podWith(volumes: unknown[], mounts: string[]) {
  const parsed = parsePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-web', labels: { app: 'web', tier: 'front' } },
    spec: {
      nodeName: 'node-1',
      volumes,
      containers: [{ name: 'app', image: 'nginx', volumeMounts: mounts.map((name, i) => ({ name, mountPath: i === 0 ? mountPath : `/m${i}` })) }],
    },
  });
  if ('error' in parsed) throw new Error(parsed.error);
  const container = parsed.view.spec.containers[0];
  if (!container) throw new Error('no container');
  return { view: parsed.view, container };
}

const serviceAccountVolume = {
  name: 'kube-api-access-abcde',
  projected: {
    defaultMode: 0o644,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  },
};

function source(configMaps: Record<string, Record<string, string>>, token?: string): VolumeDataSource & { readonly asked: string[] } {
  const asked: string[] = [];
  const keyed = (record: Record<string, string> | undefined): KeyedData =>
    record ? new Map(Object.entries(record).map(([key, value]) => [key, Buffer.from(value)])) : null;
  return {
    asked,
    configMap: async (name) => keyed(configMaps[name]),
    secret: async () => null,
    ...(token
      ? {
          serviceAccountToken: async (audience: string | undefined, seconds: number) => {
            asked.push(`${audience ?? ''}:${seconds}`);
            return token;
          },
        }
      : {}),
  };
}

function filesOf(volume: { source: { kind: string; files?: readonly { path: string; content: Buffer; mode: number }[] } }) {
  return Object.fromEntries((volume.source.files ?? []).map((file) => [file.path, [file.content.toString(), file.mode.toString(8)]]));
}

describe('pod volumes as content for the runtime', () => {
  it("fills a ServiceAccount's projected volume: the token asked for, the CA from kube-root-ca.crt, the namespace", async () => {
    const { view, container } = podWith([serviceAccountVolume], ['kube-api-access-abcde']);
    const data = source({ 'kube-root-ca.crt': { 'ca.crt': 'PEM' } }, 'header.claims.signature');
    const [volume] = await volumesFor(view, container, data);
    assert.ok(volume);
    assert.deepEqual(filesOf(volume), { token: ['header.claims.signature', '644'], 'ca.crt': ['PEM', '644'], namespace: ['shop', '644'] });
    assert.deepEqual(data.asked, [':3607']);
  });

  it('writes the CA and namespace but no token when the agent cannot ask for one', async () => {
    const { view, container } = podWith([serviceAccountVolume], ['kube-api-access-abcde']);
    const [volume] = await volumesFor(view, container, source({ 'kube-root-ca.crt': { 'ca.crt': 'PEM' } }));
    assert.ok(volume);
    assert.deepEqual(Object.keys(filesOf(volume)).sort(), ['ca.crt', 'namespace']);
  });

  it('refuses to start a container whose projected ConfigMap is missing, as the kubelet does', async () => {
    const { view, container } = podWith([serviceAccountVolume], ['kube-api-access-abcde']);
    await assert.rejects(volumesFor(view, container, source({})), CreateContainerConfigError);
  });

  it('writes downwardAPI files of the pod\'s fields, maps as sorted key="value" lines, with their modes', async () => {
    const { view, container } = podWith(
      [
        {
          name: 'info',
          downwardAPI: {
            defaultMode: 0o600,
            items: [
              { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
              { path: 'name', fieldRef: { fieldPath: 'metadata.name' }, mode: 0o640 },
              { path: 'app', fieldRef: { fieldPath: "metadata.labels['app']" } },
            ],
          },
        },
      ],
      ['info'],
    );
    const [volume] = await volumesFor(view, container, source({}));
    assert.ok(volume);
    assert.deepEqual(filesOf(volume), { labels: ['app="web"\ntier="front"', '600'], name: ['web', '640'], app: ['web', '600'] });
  });

  it('resolves only the volumes the container mounts', async () => {
    const { view, container } = podWith([serviceAccountVolume, { name: 'scratch', emptyDir: {} }], ['scratch']);
    const volumes = await volumesFor(view, container, source({}));
    assert.deepEqual(
      volumes.map((volume) => [volume.name, volume.source.kind]),
      [['scratch', 'emptyDir']],
    );
  });
});

describe('what a pod-unit runtime does not do yet', () => {
  it('says so for init containers, volumes other than the ServiceAccount token, and another user', () => {
    const base = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' } };
    const view = (spec: Record<string, unknown>) => {
      const parsed = parsePod({ ...base, spec });
      if ('error' in parsed) throw new Error(parsed.error);
      return parsed.view;
    };
    const tokenMount = { name: 'kube-api-access-abcde', mountPath };
    assert.equal(podUnitRefusal(view({ volumes: [serviceAccountVolume], containers: [{ name: 'app', volumeMounts: [tokenMount] }] }), 'ecs'), undefined);
    assert.equal(
      podUnitRefusal(view({ initContainers: [{ name: 'setup' }], containers: [{ name: 'app' }] }), 'ecs'),
      'init containers are not run by the ecs runtime yet',
    );
    assert.equal(
      podUnitRefusal(
        view({ volumes: [{ name: 'data', emptyDir: {} }], containers: [{ name: 'app', volumeMounts: [tokenMount, { name: 'data', mountPath: '/d' }] }] }),
        'ecs',
      ),
      'volume "data" of container "app" cannot be mounted by the ecs runtime yet',
    );
    assert.match(
      podUnitRefusal(view({ securityContext: { runAsUser: 1000 }, containers: [{ name: 'app' }] }), 'ecs') ?? '',
      /securityContext of container "app"/,
    );
  });
});
