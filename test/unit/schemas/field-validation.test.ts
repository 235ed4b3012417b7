import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, toStatus } from '../../../functions/core/errors.ts';
import { admit, type FieldValidation } from '../../../schemas/index.ts';
import { types } from '../../../schemas/registry.ts';

const body = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', colour: 'blue' },
  spec: {
    foo: 1,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', imagePullPolicyy: 'Always' }] } },
  },
};
const unknown = ['metadata.colour', 'spec.foo', 'spec.template.spec.containers[0].imagePullPolicyy'];

function admitWith(fieldValidation: FieldValidation | undefined) {
  return admit(types.deployments, body, { operation: 'create', ...(fieldValidation ? { fieldValidation } : {}) });
}

describe('unknown fields and fieldValidation', () => {
  it('Strict refuses the request with 400 naming every unknown field', () => {
    assert.throws(
      () => admitWith('Strict'),
      (error: unknown) => {
        assert.ok(error instanceof BadRequestError);
        const status = toStatus(error);
        assert.equal(status.code, 400);
        assert.equal(status.reason, 'BadRequest');
        assert.equal(status.message, `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
        return true;
      },
    );
  });

  it('Warn drops unknown fields and returns one warning each', () => {
    const { object, warnings } = admitWith('Warn');
    assert.deepEqual(
      warnings,
      unknown.map((f) => `unknown field "${f}"`),
    );
    assert.equal('foo' in (object.spec as object), false);
    assert.equal('colour' in object.metadata, false);
  });

  it('Ignore drops unknown fields silently', () => {
    const { object, warnings } = admitWith('Ignore');
    assert.deepEqual(warnings, []);
    assert.equal('foo' in (object.spec as object), false);
  });

  it('defaults to Warn, as the apiserver does', () => {
    assert.equal(admitWith(undefined).warnings.length, unknown.length);
  });

  it('does not count server-set metadata or status as unknown', () => {
    const stored = {
      metadata: {
        name: 'web',
        uid: 'u',
        resourceVersion: '5',
        generation: 3,
        creationTimestamp: '2026-01-01T00:00:00Z',
        deletionTimestamp: '2026-01-02T00:00:00Z',
        deletionGracePeriodSeconds: 30,
        selfLink: '/x',
        finalizers: ['f.example.com/x'],
        managedFields: [
          {
            manager: 'kubectl',
            operation: 'Apply',
            apiVersion: 'apps/v1',
            time: '2026-01-01T00:00:00Z',
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:spec': { 'f:replicas': {} } },
          },
        ],
      },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
      },
      status: { observedGeneration: 3, replicas: 1, readyReplicas: 1, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }] },
    };
    const { object, warnings } = admit(types.deployments, stored, { operation: 'create', fieldValidation: 'Strict' });
    assert.deepEqual(warnings, []);
    assert.deepEqual(object.status, stored.status);
    assert.equal(object.metadata.deletionTimestamp, '2026-01-02T00:00:00Z');
  });

  it('keeps every field of the sub-objects it passes through unmodelled', () => {
    const pod = {
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'c', image: 'nginx', securityContext: { seccompProfile: { type: 'RuntimeDefault', localhostProfile: 'x' } } }],
        resourceClaims: [{ name: 'gpu', resourceClaimName: 'gpu-claim', extra: { kept: true } }],
      },
    };
    const { object, warnings } = admit(types.pods, pod, { operation: 'create', fieldValidation: 'Strict' });
    assert.deepEqual(warnings, []);
    const spec = object.spec as { resourceClaims: unknown[]; containers: { securityContext: { seccompProfile: unknown } }[] };
    assert.deepEqual(spec.resourceClaims[0], { name: 'gpu', resourceClaimName: 'gpu-claim', extra: { kept: true } });
    assert.deepEqual(spec.containers[0]?.securityContext.seccompProfile, { type: 'RuntimeDefault', localhostProfile: 'x' });
  });

  it('names unknown fields inside map values with the key in brackets', () => {
    const { warnings } = admit(
      types.pods,
      { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, bogus: true }] }] } },
      { operation: 'create' },
    );
    assert.deepEqual(warnings, ['unknown field "spec.containers[0].ports[0].bogus"']);
  });
});

describe('type metadata of the body', () => {
  it('refuses a body whose apiVersion names another group-version', () => {
    assert.throws(
      () => admit(types.deployments, { apiVersion: 'extensions/v1beta1', kind: 'Deployment', metadata: { name: 'x' } }, { operation: 'create' }),
      (error: unknown) => {
        assert.ok(error instanceof BadRequestError);
        assert.match(error.message, /extensions\/v1beta1.*apps\/v1/);
        return true;
      },
    );
  });

  it('refuses a body whose kind names another type', () => {
    assert.throws(() => admit(types.configmaps, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }, { operation: 'create' }), BadRequestError);
  });

  it('refuses a body that is not an object', () => {
    for (const bad of [null, 'x', 3, []]) assert.throws(() => admit(types.configmaps, bad, { operation: 'create' }), BadRequestError);
  });
});
