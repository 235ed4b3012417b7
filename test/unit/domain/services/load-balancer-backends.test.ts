import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeForPort, serviceBackends } from '../../../../functions/domain/services/load-balancer-backends.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const service: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    type: 'LoadBalancer',
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'admin', port: 9000, targetPort: 9000 },
    ],
  },
};

function pod(
  name: string,
  created: string,
  options: { ip?: string; phase?: string; conditions?: unknown[]; deleting?: boolean; probe?: unknown; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      creationTimestamp: created,
      labels: options.labels ?? { app: 'web' },
      ...(options.deleting ? { deletionTimestamp: '2026-01-01T00:01:00Z' } : {}),
    },
    spec: {
      readinessGates: [{ conditionType: 'target-health.skiff.io/web' }],
      containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }], ...(options.probe ? { readinessProbe: options.probe } : {}) }],
    },
    status: { phase: options.phase ?? 'Running', ...(options.ip !== '' ? { podIP: options.ip ?? '10.0.0.1' } : {}), conditions: options.conditions ?? [] },
  };
}

describe('serviceBackends', () => {
  it('takes a pod whose containers are ready as serving before its gate makes it Ready', () => {
    const [backend] = serviceBackends(service, [
      pod('a', '2026-01-01T00:00:00Z', {
        conditions: [
          { type: 'ContainersReady', status: 'True' },
          { type: 'Ready', status: 'False' },
          { type: 'target-health.skiff.io/web', status: 'False', reason: 'Registering' },
        ],
      }),
    ]);
    assert.equal(backend?.state, 'serving');
    assert.deepEqual(
      [...(backend?.ports ?? [])],
      [
        ['http', 8080],
        ['admin', 9000],
      ],
    );
    assert.deepEqual(backend?.readinessGates, ['target-health.skiff.io/web']);
    assert.deepEqual(
      backend?.targetHealth.map((c) => c.reason),
      ['Registering'],
    );
  });

  it('tells serving, not ready and terminating pods apart, and leaves out the rest', () => {
    const backends = serviceBackends(service, [
      pod('ready', '2026-01-01T00:00:00Z', { conditions: [{ type: 'Ready', status: 'True' }] }),
      pod('starting', '2026-01-01T00:00:00Z', { conditions: [{ type: 'ContainersReady', status: 'False' }] }),
      pod('leaving', '2026-01-01T00:00:00Z', { deleting: true, conditions: [{ type: 'ContainersReady', status: 'True' }] }),
      pod('done', '2026-01-01T00:00:00Z', { phase: 'Succeeded' }),
      pod('no-ip', '2026-01-01T00:00:00Z', { ip: '' }),
      pod('other', '2026-01-01T00:00:00Z', { labels: { app: 'other' } }),
    ]);
    assert.deepEqual(
      backends.map((b) => [b.name, b.state]),
      [
        ['leaving', 'terminating'],
        ['ready', 'serving'],
        ['starting', 'notReady'],
      ],
    );
  });

  it('copies the readiness probe of the newest serving pod for the health check', () => {
    const old = { httpGet: { path: '/old', port: 'http' }, periodSeconds: 5 };
    const fresh = { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 7, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 4 };
    const ready = [{ type: 'ContainersReady', status: 'True' }];
    const backends = serviceBackends(service, [
      pod('old', '2026-01-01T00:00:00Z', { probe: old, conditions: ready }),
      pod('new', '2026-01-01T00:05:00Z', { probe: fresh, conditions: ready }),
      pod('newest-not-ready', '2026-01-01T00:09:00Z', { probe: { tcpSocket: { port: 8080 } } }),
    ]);
    assert.deepEqual(probeForPort(backends, 'http'), {
      kind: 'http',
      path: '/healthz',
      port: 8080,
      scheme: 'HTTP',
      periodSeconds: 7,
      timeoutSeconds: 3,
      successThreshold: 2,
      failureThreshold: 4,
    });
  });
});
