/** ServiceAccount admission over the in-memory store: the account must exist, and pods get its token volume unless it is turned off. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ForbiddenError } from '../../../../functions/core/errors.ts';
import { admitPodServiceAccount } from '../../../../functions/domain/pods/service-account-admission.ts';
import { serviceAccountVolume } from '../../../../functions/domain/pods/service-account-volume.ts';
import { createMemoryStore } from '../../../../functions/store/memory-store.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { types } from '../../../../schemas/registry.ts';

const store = createMemoryStore();

before(async () => {
  await store.create(types.serviceaccounts, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'builder', namespace: 'team-a' },
    imagePullSecrets: [{ name: 'registry' }],
  });
  await store.create(types.serviceaccounts, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'quiet', namespace: 'team-a' },
    automountServiceAccountToken: false,
  });
});

function pod(spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'team-a' }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec } };
}
const fixed = () => 'abcde';
type Spec = { serviceAccountName?: string; volumes?: unknown[]; containers: { volumeMounts?: unknown[] }[]; imagePullSecrets?: unknown[] };

describe('ServiceAccount admission', () => {
  it("mounts the account's token, CA and namespace into every container", async () => {
    const spec = (await admitPodServiceAccount(pod({ serviceAccountName: 'builder' }), store, fixed)).spec as Spec;
    assert.deepEqual(spec.volumes, [serviceAccountVolume('kube-api-access-abcde')]);
    assert.deepEqual(spec.containers[0]?.volumeMounts, [
      { name: 'kube-api-access-abcde', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
    ]);
    assert.deepEqual(spec.imagePullSecrets, [{ name: 'registry' }]);
  });

  it('admits a pod of the default account before its controller made it', async () => {
    const spec = (await admitPodServiceAccount(pod(), store, fixed)).spec as Spec;
    assert.equal(spec.serviceAccountName, 'default');
    assert.equal(spec.volumes?.length, 1);
  });

  it("refuses a pod of a missing account with Kubernetes' message", async () => {
    await assert.rejects(
      admitPodServiceAccount(pod({ serviceAccountName: 'nobody' }), store),
      (error: unknown) =>
        error instanceof ForbiddenError &&
        error.message === 'pods "web" is forbidden: error looking up service account team-a/nobody: serviceaccount "nobody" not found',
    );
  });

  it("leaves a mirror pod as it is, and refuses one that names an account, a Secret or a token projection, with Kubernetes' messages", async () => {
    const mirror = (spec: Record<string, unknown> = {}): KubeObject => ({
      ...pod(spec),
      metadata: { name: 'static-web', namespace: 'team-a', annotations: { 'kubernetes.io/config.mirror': 'hash' } },
    });
    assert.deepEqual(await admitPodServiceAccount(mirror(), store, fixed), mirror());
    const refusals: [Record<string, unknown>, string][] = [
      [{ serviceAccountName: 'builder' }, 'a mirror pod may not reference service accounts'],
      [{ volumes: [{ name: 's', secret: { secretName: 'db' } }] }, 'a mirror pod may not reference secrets'],
      [{ imagePullSecrets: [{ name: 'registry' }] }, 'a mirror pod may not reference secrets'],
      [{ volumes: [serviceAccountVolume('kube-api-access-x')] }, 'a mirror pod may not use ServiceAccountToken volume projections'],
    ];
    for (const [spec, message] of refusals) {
      await assert.rejects(
        admitPodServiceAccount(mirror(spec), store),
        (error: unknown) => error instanceof ForbiddenError && error.message === `pods "static-web" is forbidden: ${message}`,
      );
    }
  });

  it('mounts nothing when the account or the pod turns automounting off, or a container mounts the path already', async () => {
    assert.equal(((await admitPodServiceAccount(pod({ serviceAccountName: 'quiet' }), store)).spec as Spec).volumes, undefined);
    assert.equal(
      ((await admitPodServiceAccount(pod({ serviceAccountName: 'builder', automountServiceAccountToken: false }), store)).spec as Spec).volumes,
      undefined,
    );
    const own = pod({
      volumes: [{ name: 'mine', emptyDir: {} }],
      containers: [{ name: 'c', image: 'nginx', volumeMounts: [{ name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }],
    });
    assert.equal(((await admitPodServiceAccount(own, store)).spec as Spec).volumes?.length, 1);
  });
});
