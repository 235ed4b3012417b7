import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../../../functions/core/errors.ts';
import { admit } from '../../../schemas/index.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';

/** A small seeded generator, so every run mutates the same way. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const oddValues: unknown[] = [null, 0, -1, 1.5, 70000, '', 'x', 'Bad_Name', '25%', true, [], [null], {}, { a: 1 }, [{}], '__proto__'];

/** Replaces one value somewhere in `value` (a JSON tree) with an odd one. */
function mutate(value: unknown, next: () => number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  if (Array.isArray(value) && value.length > 0 && next() < 0.8) {
    const i = Math.floor(next() * value.length);
    return value.map((item, j) => (j === i ? mutate(item, next) : item));
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && next() < 0.1) {
    // Keys that name Object.prototype members must be plain unknown fields, not lookups.
    return { ...value, [pick(['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf'])]: pick(oddValues) };
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && next() < 0.85) {
    const keys = Object.keys(value);
    const key = pick(keys);
    if (key !== undefined) return { ...value, [key]: mutate((value as Record<string, unknown>)[key], next) };
  }
  return pick(oddValues);
}

const bodies: [ResourceType, Record<string, unknown>][] = [
  [
    types.deployments,
    {
      metadata: { name: 'web', labels: { app: 'web' }, annotations: { a: 'b' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
        template: {
          metadata: { labels: { app: 'web', tier: 'a' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'nginx',
                ports: [{ containerPort: 80, name: 'http' }],
                env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'x' } } }],
                resources: { limits: { cpu: '1' } },
                livenessProbe: { httpGet: { port: 'http' } },
                volumeMounts: [{ name: 'v', mountPath: '/v' }],
              },
            ],
            volumes: [{ name: 'v', configMap: { name: 'c' } }],
            tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
          },
        },
      },
    },
  ],
  [
    types.services,
    {
      metadata: { name: 'web' },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort: 30080 }] },
    },
  ],
  [types.secrets, { metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' }, stringData: { 'tls.key': 'k' } }],
  [
    types.ingresses,
    {
      metadata: { name: 'i' },
      spec: {
        rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
      },
    },
  ],
  [
    types.nodes,
    {
      metadata: { name: 'n' },
      spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] },
      status: { capacity: { cpu: '2' }, conditions: [{ type: 'Ready', status: 'True' }] },
    },
  ],
];

describe('malformed bodies', () => {
  for (const [type, body] of bodies) {
    it(`answers 400 or 422 (never a crash) for 300 mutations of a ${type.kind}`, () => {
      const next = random(type.kind.length * 7919);
      for (let i = 0; i < 300; i++) {
        const mutated = mutate(body, next);
        try {
          admit(type, mutated, { operation: 'create', fieldValidation: 'Strict' });
        } catch (error) {
          assert.ok(isApiError(error, 400) || isApiError(error, 422), `mutation ${i} ${JSON.stringify(mutated)} threw ${String(error)}`);
        }
      }
    });
  }
});
