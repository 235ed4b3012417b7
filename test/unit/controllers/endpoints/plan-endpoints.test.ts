import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planEndpoints, resolveTargetPort, sliceName } from '../../../../functions/controllers/endpoints/plan-endpoints.ts';
import { viewPod } from '../../../../functions/domain/services/service-view.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

function service(spec: Record<string, unknown>, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', uid: 'svc-uid', labels }, spec };
}

function pod(
  name: string,
  options: {
    ip?: string;
    ready?: boolean;
    labels?: Record<string, string>;
    node?: string;
    phase?: string;
    deleting?: boolean;
    ports?: { name?: string; containerPort: number }[];
    namespace?: string;
  } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      uid: `${name}-uid`,
      labels: options.labels ?? { app: 'web' },
      ...(options.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { nodeName: options.node ?? 'node-1', containers: [{ name: 'c', ports: options.ports ?? [] }] },
    status: {
      phase: options.phase ?? 'Running',
      ...(options.ip ? { podIP: options.ip } : {}),
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
    },
  };
}

const selectorSpec = { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] };

describe('planEndpoints', () => {
  it('lists ready pods matching the selector as addresses with the target port', () => {
    const plan = planEndpoints(service(selectorSpec), [pod('b', { ip: '127.1.0.3' }), pod('a', { ip: '127.1.0.2', node: 'node-2' })]);
    assert.deepEqual(plan.endpoints.subsets, [
      {
        addresses: [
          { ip: '127.1.0.2', nodeName: 'node-2', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'a-uid' } },
          { ip: '127.1.0.3', nodeName: 'node-1', targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'b-uid' } },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it("names the endpoint of a pod whose subdomain is the Service after the pod's hostname, and no other", () => {
    const named = (name: string, subdomain: string) => {
      const object = pod(name, { ip: name === 'web-0' ? '10.200.1.7' : '10.200.1.8' });
      return { ...object, spec: { ...(object.spec as object), hostname: name, subdomain } } as KubeObject;
    };
    const plan = planEndpoints(service({ ...selectorSpec, clusterIP: 'None' }), [named('web-0', 'web'), named('other-0', 'elsewhere')]);
    const endpoints = (plan.slice as unknown as { endpoints: { hostname?: string; targetRef: { name: string } }[] }).endpoints;
    assert.deepEqual(
      endpoints.map((e) => [e.targetRef.name, e.hostname]),
      [
        ['other-0', undefined],
        ['web-0', 'web-0'],
      ],
    );
    const addresses = (plan.endpoints.subsets as { addresses: { hostname?: string; ip: string }[] }[])[0]?.addresses ?? [];
    assert.deepEqual(
      addresses.map((a) => [a.ip, a.hostname]),
      [
        ['10.200.1.7', 'web-0'],
        ['10.200.1.8', undefined],
      ],
    );
  });

  it('puts pods that are not ready under notReadyAddresses', () => {
    const plan = planEndpoints(service(selectorSpec), [pod('a', { ip: '127.1.0.2', ready: false })]);
    const subsets = plan.endpoints.subsets as { addresses?: unknown[]; notReadyAddresses?: unknown[] }[];
    assert.equal(subsets[0]?.addresses, undefined);
    assert.equal(subsets[0]?.notReadyAddresses?.length, 1);
  });

  it('publishes not-ready pods as addresses when the Service asks for it', () => {
    const plan = planEndpoints(service({ ...selectorSpec, publishNotReadyAddresses: true }), [pod('a', { ip: '127.1.0.2', ready: false })]);
    const subsets = plan.endpoints.subsets as { addresses?: unknown[] }[];
    assert.equal(subsets[0]?.addresses?.length, 1);
  });

  const excluded: [string, KubeObject][] = [
    ['a pod without an IP', pod('a')],
    ['a pod with other labels', pod('a', { ip: '127.1.0.2', labels: { app: 'db' } })],
    ['a pod in another namespace', pod('a', { ip: '127.1.0.2', namespace: 'other' })],
    ['a succeeded pod', pod('a', { ip: '127.1.0.2', phase: 'Succeeded' })],
    ['a failed pod', pod('a', { ip: '127.1.0.2', phase: 'Failed' })],
    ['a terminating pod', pod('a', { ip: '127.1.0.2', deleting: true })],
  ];
  for (const [what, object] of excluded) {
    it(`leaves out ${what}`, () => {
      const plan = planEndpoints(service(selectorSpec), [object]);
      assert.equal(plan.endpoints.subsets, undefined);
    });
  }

  it('resolves a named target port per pod and groups pods by their ports', () => {
    const spec = { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'web' }] };
    const plan = planEndpoints(service(spec), [
      pod('a', { ip: '127.1.0.2', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('b', { ip: '127.1.0.3', ports: [{ name: 'web', containerPort: 9090 }] }),
      pod('c', { ip: '127.1.0.4', ports: [{ name: 'other', containerPort: 1 }] }),
    ]);
    const subsets = plan.endpoints.subsets as { addresses: { ip: string }[]; ports: { port: number }[] }[];
    assert.deepEqual(
      subsets.map((s) => [s.addresses.map((a) => a.ip), s.ports.map((p) => p.port)]),
      [
        [['127.1.0.2'], [8080]],
        [['127.1.0.3'], [9090]],
      ],
    );
  });

  it('copies the Service labels and marks headless Services', () => {
    const plan = planEndpoints(service({ ...selectorSpec, clusterIP: 'None' }, { team: 'a' }), []);
    assert.deepEqual(plan.endpoints.metadata.labels, { team: 'a', 'service.kubernetes.io/headless': '' });
  });

  it('builds one EndpointSlice owned by the Service with readiness conditions', () => {
    const plan = planEndpoints(service(selectorSpec), [
      pod('a', { ip: '127.1.0.2' }),
      pod('b', { ip: '127.1.0.3', ready: false }),
      pod('c', { ip: '127.1.0.4', deleting: true }),
    ]);
    const slice = plan.slice;
    assert.equal(slice.metadata.name, sliceName(service(selectorSpec)));
    assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'web');
    assert.equal(slice.metadata.ownerReferences?.[0]?.uid, 'svc-uid');
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(
      (slice.endpoints as { addresses: string[]; conditions: unknown }[]).map((e) => [e.addresses[0], e.conditions]),
      [
        ['127.1.0.2', { ready: true, serving: true, terminating: false }],
        ['127.1.0.3', { ready: false, serving: false, terminating: false }],
        ['127.1.0.4', { ready: false, serving: true, terminating: true }],
      ],
    );
  });
});

describe('resolveTargetPort', () => {
  const p = viewPod(pod('a', { ports: [{ name: 'web', containerPort: 8080 }] }));
  const cases: [string, Record<string, unknown>, number | undefined][] = [
    ['defaults to the service port', { port: 80 }, 80],
    ['uses a numeric target port', { port: 80, targetPort: 9000 }, 9000],
    ['uses a numeric string target port', { port: 80, targetPort: '9001' }, 9001],
    ['finds a named container port', { port: 80, targetPort: 'web' }, 8080],
    ['gives nothing for a missing named port', { port: 80, targetPort: 'nope' }, undefined],
  ];
  for (const [name, port, expected] of cases) {
    it(name, () => assert.equal(resolveTargetPort(port as { port: number }, p), expected));
  }
});
