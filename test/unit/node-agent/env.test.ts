import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateContainerConfigError,
  type EnvSources,
  expandReferences,
  isSensitiveOrigin,
  referencedConfigMaps,
  referencedSecrets,
  referencedVariables,
  resolveEnv,
  resolveEnvDetailed,
  secretValues,
} from '../../../node-agent/env.ts';
import { type PodView, parsePod } from '../../../node-agent/pod-view.ts';

function podWith(container: Record<string, unknown>): PodView {
  const parsed = parsePod({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', labels: { app: 'web' }, annotations: { note: 'hi' } },
    spec: { nodeName: 'node-a', serviceAccountName: 'robot', containers: [{ name: 'app', image: 'nginx', ...container }] },
  });
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.view;
}

const facts = { podIP: '127.64.1.2', hostIP: '127.0.1.1', nodeName: 'node-a' };
const sources: EnvSources = {
  configMaps: new Map([
    ['settings', { MODE: 'fast', 'not valid name': 'x', LEVEL: '3' }],
    ['missing', null],
  ]),
  secrets: new Map([['creds', { PASSWORD: 's3cret' }]]),
};

function envOf(container: Record<string, unknown>, base: Record<string, string> = {}): Record<string, string> {
  const pod = podWith(container);
  const first = pod.spec.containers[0];
  assert.ok(first);
  return resolveEnv(pod, first, sources, facts, base);
}

describe('resolveEnv', () => {
  it('sets plain values and lets later entries win', () => {
    assert.deepEqual(
      envOf({
        env: [
          { name: 'A', value: '1' },
          { name: 'A', value: '2' },
        ],
      }),
      { A: '2' },
    );
  });

  it('reads configMapKeyRef and secretKeyRef', () => {
    const env = envOf({
      env: [
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
      ],
    });
    assert.deepEqual(env, { MODE: 'fast', PASS: 's3cret' });
  });

  const fieldTable: [string, string][] = [
    ['metadata.name', 'web-1'],
    ['metadata.namespace', 'shop'],
    ['metadata.uid', 'u-1'],
    ["metadata.labels['app']", 'web'],
    ["metadata.annotations['note']", 'hi'],
    ['spec.nodeName', 'node-a'],
    ['spec.serviceAccountName', 'robot'],
    ['status.podIP', '127.64.1.2'],
    ['status.hostIP', '127.0.1.1'],
  ];
  for (const [fieldPath, expected] of fieldTable) {
    it(`reads fieldRef ${fieldPath}`, () => {
      assert.equal(envOf({ env: [{ name: 'V', valueFrom: { fieldRef: { fieldPath } } }] }).V, expected);
    });
  }

  it('imports envFrom with a prefix and skips keys that are not variable names', () => {
    const env = envOf({ envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' } }] });
    assert.deepEqual(env, { CFG_MODE: 'fast', CFG_LEVEL: '3', PASSWORD: 's3cret' });
  });

  it('lets env override envFrom and the agent base', () => {
    const env = envOf(
      {
        envFrom: [{ configMapRef: { name: 'settings' } }],
        env: [
          { name: 'MODE', value: 'slow' },
          { name: 'PORT', value: '9' },
        ],
      },
      { PORT: '80' },
    );
    assert.equal(env.MODE, 'slow');
    assert.equal(env.PORT, '9');
  });

  it('expands $(VAR) from earlier variables and leaves unknown references as written', () => {
    const env = envOf({
      env: [
        { name: 'A', value: 'x' },
        { name: 'B', value: '$(A)-$(NOPE)-$$(A)' },
      ],
    });
    assert.equal(env.B, 'x-$(NOPE)-$(A)');
  });

  const failures: [string, Record<string, unknown>, RegExp][] = [
    ['a missing ConfigMap', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k' } } }] }, /configmap "missing" not found/],
    [
      'a missing key',
      { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope' } } }] },
      /couldn't find key nope in configmap shop\/settings/,
    ],
    ['a missing envFrom Secret', { envFrom: [{ secretRef: { name: 'absent' } }] }, /secret "absent" not found/],
  ];
  for (const [what, container, message] of failures) {
    it(`fails with CreateContainerConfigError on ${what}`, () => {
      assert.throws(
        () => envOf(container),
        (error: unknown) => error instanceof CreateContainerConfigError && message.test(error.message),
      );
    });
  }

  it('skips optional references that do not resolve', () => {
    const env = envOf({
      env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k', optional: true } } }],
      envFrom: [{ secretRef: { name: 'absent', optional: true } }],
    });
    assert.deepEqual(env, {});
  });
});

describe('referenced objects', () => {
  it('lists each ConfigMap and Secret a container reads, once', () => {
    const pod = podWith({
      env: [
        { name: 'A', valueFrom: { configMapKeyRef: { name: 'one', key: 'a' } } },
        { name: 'B', valueFrom: { secretKeyRef: { name: 'two', key: 'b' } } },
      ],
      envFrom: [{ configMapRef: { name: 'one' } }, { secretRef: { name: 'three' } }],
    });
    const container = pod.spec.containers[0];
    assert.ok(container);
    assert.deepEqual(referencedConfigMaps(container), ['one']);
    assert.deepEqual(referencedSecrets(container).sort(), ['three', 'two']);
  });
});

describe('secretValues', () => {
  it('decodes base64 data', () => {
    assert.deepEqual(secretValues({ data: { user: Buffer.from('admin').toString('base64') } }), { user: 'admin' });
  });
});

describe('expandReferences', () => {
  it('keeps a lone trailing dollar', () => {
    assert.equal(expandReferences('cost: 5$', {}), 'cost: 5$');
  });
});

describe('resolveEnvDetailed', () => {
  function detailed(container: Record<string, unknown>, base: Record<string, string> = {}) {
    const pod = podWith(container);
    const first = pod.spec.containers[0];
    assert.ok(first);
    return resolveEnvDetailed(pod, first, sources, facts, base);
  }

  it('says where every value came from: the template, the pod, or one key of a Secret or ConfigMap', () => {
    const { env, origins } = detailed(
      {
        envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
        env: [
          { name: 'GREETING', value: 'hello' },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'WHO', value: 'pod $(POD)' },
        ],
      },
      { HOSTNAME: 'web-1' },
    );
    assert.equal(env.PASSWORD, 's3cret');
    assert.deepEqual(origins, {
      HOSTNAME: { kind: 'pod' },
      CFG_MODE: { kind: 'configMap', source: 'settings', key: 'MODE' },
      CFG_LEVEL: { kind: 'configMap', source: 'settings', key: 'LEVEL' },
      GREETING: { kind: 'template' },
      PASSWORD: { kind: 'secret', source: 'creds', key: 'PASSWORD' },
      POD: { kind: 'pod' },
      WHO: { kind: 'pod' },
    });
  });

  it('marks a value that expands a Secret value as derived from it', () => {
    const { env, origins } = detailed({
      env: [
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
        { name: 'URL', value: 'postgres://app:$(PASSWORD)@db' },
      ],
    });
    assert.equal(env.URL, 'postgres://app:s3cret@db');
    assert.deepEqual(origins.URL, { kind: 'derived', from: ['PASSWORD'] });
    assert.equal(isSensitiveOrigin(origins.URL), true);
    assert.equal(isSensitiveOrigin(origins.PASSWORD), true);
  });

  it('lets a later plain value replace a Secret value of the same name', () => {
    const { origins } = detailed({
      envFrom: [{ secretRef: { name: 'creds' } }],
      env: [{ name: 'PASSWORD', value: 'overridden' }],
    });
    assert.deepEqual(origins.PASSWORD, { kind: 'template' });
  });
});

describe('referencedVariables', () => {
  it('names the defined variables a text expands, skipping $$ escapes and unknown names', () => {
    assert.deepEqual(referencedVariables('$(A)-$(B)-$$(A)-$(NOPE)', { A: '1', B: '2' }), ['A', 'B']);
  });
});
