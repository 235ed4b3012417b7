import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError, type StatusCause } from '../../../functions/core/errors.ts';
import { admit } from '../../../schemas/index.ts';
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';

function stored(type: ResourceType, body: Record<string, unknown>): KubeObject {
  const { object } = admit(type, body, { operation: 'create' });
  return { ...object, metadata: { ...object.metadata, uid: 'uid-1', resourceVersion: '10', creationTimestamp: '2026-01-01T00:00:00Z' } };
}

function updateCauses(type: ResourceType, old: KubeObject, next: Record<string, unknown>): readonly StatusCause[] {
  try {
    admit(type, next, { operation: 'update', old });
    return [];
  } catch (error) {
    assert.ok(error instanceof InvalidError, String(error));
    return error.details?.causes ?? [];
  }
}

function withSpec(object: KubeObject, spec: Record<string, unknown>): Record<string, unknown> {
  return { ...object, spec: { ...(object.spec as object), ...spec } };
}

const template = (labels: Record<string, string>, image = 'nginx:1.27') => ({ metadata: { labels }, spec: { containers: [{ name: 'web', image }] } });

describe('update rules against the stored object', () => {
  const deployment = stored(types.deployments, {
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
  });

  it('forbids changing a Deployment selector', () => {
    const causes = updateCauses(
      types.deployments,
      deployment,
      withSpec(deployment, { selector: { matchLabels: { app: 'web', v: '2' } }, template: template({ app: 'web', v: '2' }) }),
    );
    assert.deepEqual(
      causes.map((c) => [c.field, c.reason]),
      [['spec.selector', 'FieldValueInvalid']],
    );
    assert.match(causes[0]?.message ?? '', /field is immutable$/);
  });

  it('allows changing a Deployment template and replicas', () => {
    assert.deepEqual(
      updateCauses(types.deployments, deployment, withSpec(deployment, { replicas: 5, template: template({ app: 'web', extra: 'x' }, 'nginx:1.28') })),
      [],
    );
  });

  it('forbids changing a ReplicaSet selector', () => {
    const rs = stored(types.replicasets, {
      metadata: { name: 'web-1' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
    });
    const causes = updateCauses(types.replicasets, rs, withSpec(rs, { selector: { matchLabels: { app: 'api' } }, template: template({ app: 'api' }) }));
    assert.deepEqual(
      causes.map((c) => c.field),
      ['spec.selector'],
    );
  });

  describe('Pods', () => {
    const pod = stored(types.pods, {
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27' }], tolerations: [{ key: 'a', operator: 'Exists' }] },
    });

    const allowed: [string, Record<string, unknown>][] = [
      ['a container image', { containers: [{ name: 'web', image: 'nginx:1.28' }] }],
      ['activeDeadlineSeconds', { activeDeadlineSeconds: 60 }],
      [
        'an added toleration',
        {
          tolerations: [
            { key: 'a', operator: 'Exists' },
            { key: 'b', operator: 'Exists' },
          ],
        },
      ],
    ];
    for (const [what, change] of allowed) {
      it(`allows changing ${what}`, () => {
        const next = withSpec(pod, change);
        const spec = next.spec as { containers: { name: string; image: string }[] };
        // A client sends back the full stored container, changed in place.
        const storedContainer = (pod.spec as { containers: object[] }).containers[0];
        spec.containers = spec.containers.map((c) => ({ ...storedContainer, ...c }));
        assert.deepEqual(updateCauses(types.pods, pod, next), []);
      });
    }

    const forbidden: [string, Record<string, unknown>][] = [
      ['restartPolicy', { restartPolicy: 'Never' }],
      ['a removed toleration', { tolerations: [] }],
      ['a container command', { containers: [{ ...(pod.spec as { containers: object[] }).containers[0], command: ['sh'] }] }],
      ['an added container', { containers: [...(pod.spec as { containers: object[] }).containers, { name: 'side', image: 'busybox' }] }],
    ];
    for (const [what, change] of forbidden) {
      it(`forbids changing ${what}`, () => {
        const causes = updateCauses(types.pods, pod, withSpec(pod, change));
        assert.equal(causes.length, 1);
        assert.equal(causes[0]?.field, 'spec');
        assert.equal(causes[0]?.reason, 'FieldValueForbidden');
        assert.match(causes[0]?.message ?? '', /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/);
      });
    }

    it('lets a status update through unchanged spec', () => {
      assert.deepEqual(updateCauses(types.pods, pod, { ...pod, status: { phase: 'Running' } }), []);
    });
  });

  describe('Services', () => {
    const service = stored(types.services, { metadata: { name: 'web' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } });

    it('forbids changing clusterIP once set, in kube-apiserver’s words for clusterIPs[0]', () => {
      const causes = updateCauses(types.services, service, withSpec(service, { clusterIP: '10.96.0.11' }));
      assert.deepEqual(
        causes.map((c) => [c.field, c.reason, c.message]),
        [['spec.clusterIPs[0]', 'FieldValueInvalid', 'Invalid value: []string{"10.96.0.11"}: may not change once set']],
      );
    });

    it('keeps the allocated clusterIP when a replace leaves it out', () => {
      const { clusterIP: _ip, ...spec } = service.spec as Record<string, unknown>;
      const { object } = admit(types.services, { ...service, spec }, { operation: 'update', old: service });
      assert.equal((object.spec as { clusterIP: string }).clusterIP, '10.96.0.10');
    });
  });

  for (const [type, label] of [
    [types.configmaps, 'ConfigMap'],
    [types.secrets, 'Secret'],
  ] as const) {
    describe(`an immutable ${label}`, () => {
      const old = stored(type, { metadata: { name: 'c' }, immutable: true, data: { k: 'dg==' } });

      it('forbids changing its data', () => {
        const causes = updateCauses(type, old, { ...old, data: { k: 'dzI=' } });
        assert.deepEqual(
          causes.map((c) => [c.field, c.reason, c.message]),
          [['data', 'FieldValueForbidden', 'Forbidden: field is immutable when `immutable` is set']],
        );
      });

      it('forbids making it mutable again', () => {
        const causes = updateCauses(type, old, { ...old, immutable: false });
        assert.deepEqual(
          causes.map((c) => c.field),
          ['immutable'],
        );
      });

      it('allows changing its labels', () => {
        assert.deepEqual(updateCauses(type, old, { ...old, metadata: { ...old.metadata, labels: { a: 'b' } } }), []);
      });
    });
  }

  it('allows changing the data of a mutable ConfigMap', () => {
    const old = stored(types.configmaps, { metadata: { name: 'c' }, data: { k: 'v' } });
    assert.deepEqual(updateCauses(types.configmaps, old, { ...old, data: { k: 'v2' } }), []);
  });

  it('forbids changing a Secret type', () => {
    const old = stored(types.secrets, { metadata: { name: 's' }, data: { k: 'dg==' } });
    const causes = updateCauses(types.secrets, old, { ...old, type: 'example.com/other' });
    assert.deepEqual(
      causes.map((c) => c.field),
      ['type'],
    );
  });

  it('forbids renaming a Namespace', () => {
    const old = stored(types.namespaces, { metadata: { name: 'team-a' } });
    const causes = updateCauses(types.namespaces, old, { ...old, metadata: { ...old.metadata, name: 'team-b' } });
    assert.ok(causes.some((c) => c.field === 'metadata.name' && c.message.endsWith('field is immutable')));
  });

  it('forbids changing an EndpointSlice addressType', () => {
    const old = stored(types.endpointslices, { metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [] });
    const causes = updateCauses(types.endpointslices, old, { ...old, addressType: 'FQDN' });
    assert.deepEqual(
      causes.map((c) => c.field),
      ['addressType'],
    );
  });
});

describe('defaults on update', () => {
  it('does not bring back a Namespace finalizer an update removed', () => {
    const old = stored(types.namespaces, { metadata: { name: 'team-a' } });
    assert.deepEqual((old.spec as { finalizers: string[] }).finalizers, ['kubernetes']);
    const { object } = admit(types.namespaces, { ...old, spec: {} }, { operation: 'update', old });
    assert.deepEqual(object.spec, {});
  });
});
