import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchRoute, mergeRoutes, pathPatterns, planIngressGroup, wildcardMatch } from '../../../../functions/domain/ingress/ingress-routes.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

function service(name: string, ports: unknown[], extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { selector: { app: name }, ports, ...extra } };
}

function pod(name: string, app: string, ip: string, extra: { terminating?: boolean; containersReady?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, labels: { app }, ...(extra.terminating ? { deletionTimestamp: '2026-01-01T00:00:30Z' } : {}) },
    spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: {
      phase: 'Running',
      podIP: ip,
      conditions: [
        { type: 'ContainersReady', status: extra.containersReady === false ? 'False' : 'True' },
        { type: 'Ready', status: 'False' },
      ],
    },
  };
}

function ingress(name: string, spec: Record<string, unknown>, created = '2026-01-01T00:00:00Z', annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'shop', creationTimestamp: created, ...(annotations ? { annotations } : {}) },
    spec: { ingressClassName: 'skiff', ...spec },
  };
}

const backend = (name: string, port: number | string) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
const path = (p: string, pathType: string, to: ReturnType<typeof backend>) => ({ path: p, pathType, backend: to });

describe('pathPatterns', () => {
  const table: [string, string | undefined, string[]][] = [
    ['Prefix', '/', ['/*']],
    ['Prefix', '/api', ['/api', '/api/*']],
    ['Prefix', '/api/', ['/api', '/api/*']],
    ['Exact', '/api', ['/api']],
    ['Exact', '/api/', ['/api/']],
    ['ImplementationSpecific', '/static/*.css', ['/static/*.css']],
    ['ImplementationSpecific', undefined, ['/*']],
  ];
  for (const [type, p, expected] of table)
    it(`turns ${type} ${p ?? '(none)'} into ${expected.join(' or ')}`, () => assert.deepEqual(pathPatterns(type, p), expected));
});

describe('wildcardMatch (ALB condition values)', () => {
  const table: [string, string, boolean, boolean][] = [
    ['/api/*', '/api/', false, true],
    ['/api/*', '/api', false, false],
    ['/*', '/', false, true],
    ['/a?c', '/abc', false, true],
    ['/a?c', '/ac', false, false],
    ['/API', '/api', false, false],
    ['*.example.com', 'www.example.com', true, true],
    ['*.example.com', 'a.b.example.com', true, true],
    ['*.example.com', 'example.com', true, false],
    ['Shop.Example.com', 'shop.example.COM', true, true],
  ];
  for (const [pattern, value, insensitive, expected] of table) {
    it(`${expected ? 'matches' : 'does not match'} ${value} against ${pattern}`, () => assert.equal(wildcardMatch(pattern, value, insensitive), expected));
  }
});

describe('planIngressGroup', () => {
  const services = [
    service('front', [{ name: 'http', port: 80, targetPort: 'http' }]),
    service('api', [{ port: 8080 }]),
    service('dns', [{ port: 53, protocol: 'UDP' }]),
  ];
  const pods = [
    pod('front-1', 'front', '10.0.0.1'),
    pod('front-2', 'front', '10.0.0.2', { terminating: true }),
    pod('api-1', 'api', '10.0.0.3', { containersReady: false }),
  ];

  it('orders routes as Kubernetes ranks them: exact hosts, wildcard hosts, no host; Exact paths, then longer prefixes', () => {
    const group = planIngressGroup({
      className: 'skiff',
      ingresses: [
        ingress('shop', {
          rules: [
            { http: { paths: [path('/', 'Prefix', backend('front', 80))] } },
            { host: '*.example.com', http: { paths: [path('/', 'Prefix', backend('front', 80))] } },
            {
              host: 'shop.example.com',
              http: {
                paths: [
                  path('/', 'Prefix', backend('front', 'http')),
                  path('/api', 'Prefix', backend('api', 8080)),
                  path('/api/login', 'Exact', backend('front', 80)),
                ],
              },
            },
          ],
        }),
      ],
      services,
      pods,
    });
    const routes = group.ingresses[0]?.routes ?? [];
    assert.deepEqual(
      routes.map((r) => `${r.host ?? '*'} ${r.paths.join('|')} -> ${r.backend}`),
      [
        'shop.example.com /api/login -> shop/front:80',
        'shop.example.com /api|/api/* -> shop/api:8080',
        'shop.example.com /* -> shop/front:80',
        '*.example.com /* -> shop/front:80',
        '* /* -> shop/front:80',
      ],
    );
    assert.equal(matchRoute(routes, 'shop.example.com:80', '/api/login')?.backend, 'shop/front:80');
    assert.equal(matchRoute(routes, 'shop.example.com', '/api/users')?.backend, 'shop/api:8080');
    assert.equal(matchRoute(routes, 'shop.example.com', '/apix')?.backend, 'shop/front:80');
    assert.equal(matchRoute(routes, 'other.example.com', '/api')?.host, '*.example.com');
    assert.equal(matchRoute(routes, 'elsewhere.org', '/x')?.host, undefined);
  });

  it('resolves backends to the pods whose containers are ready, with the pod port of the service port', () => {
    const group = planIngressGroup({ className: 'skiff', ingresses: [ingress('shop', { defaultBackend: backend('front', 80) })], services, pods });
    const front = group.backends.get('shop/front:80');
    assert.deepEqual(
      front?.pods.map((p) => [p.name, p.state, p.ports.get('http')]),
      [
        ['front-1', 'serving', 8080],
        ['front-2', 'terminating', 8080],
      ],
    );
    assert.equal(group.ingresses[0]?.defaultBackend, 'shop/front:80');
  });

  it('answers 503 for a backend that does not resolve and says why, keeping the other rules', () => {
    const group = planIngressGroup({
      className: 'skiff',
      ingresses: [
        ingress('shop', {
          defaultBackend: backend('nosuch', 80),
          rules: [
            {
              host: 'shop.example.com',
              http: {
                paths: [
                  path('/a', 'Prefix', backend('front', 81)),
                  path('/b', 'Prefix', backend('dns', 53)),
                  path('/c', 'Prefix', { resource: { kind: 'StorageBucket', name: 'x' } } as never),
                  path('/d*', 'Prefix', backend('front', 80)),
                  path('/e', 'Prefix', backend('api', 8080)),
                ],
              },
            },
          ],
        }),
      ],
      services,
      pods,
    });
    const model = group.ingresses[0];
    assert.deepEqual(
      model?.problems.map((p) => p.reason),
      ['BackendPortNotFound', 'UnsupportedProtocol', 'UnsupportedBackend', 'UnsupportedPath', 'BackendServiceNotFound'],
    );
    assert.match(model?.problems[0]?.message ?? '', /shop.example.com\/a: service "front" has no port 81/);
    assert.equal(model?.defaultBackend, null);
    assert.deepEqual(
      model?.routes.map((r) => [r.paths[0], r.backend]),
      [
        ['/a', undefined],
        ['/b', undefined],
        ['/c', undefined],
        ['/e', 'shop/api:8080'],
      ],
    );
  });

  it('merges the routes of Ingresses sharing a load balancer, the older Ingress first on a tie', () => {
    const group = planIngressGroup({
      className: 'skiff',
      ingresses: [
        ingress('newer', { rules: [{ host: 'a.example.com', http: { paths: [path('/', 'Prefix', backend('api', 8080))] } }] }, '2026-01-02T00:00:00Z'),
        ingress('older', { rules: [{ host: 'a.example.com', http: { paths: [path('/', 'Prefix', backend('front', 80))] } }] }, '2026-01-01T00:00:00Z'),
      ],
      services,
      pods,
    });
    assert.deepEqual(
      group.ingresses.map((i) => i.key),
      ['shop/older', 'shop/newer'],
    );
    assert.deepEqual(
      mergeRoutes(group.ingresses).map((r) => r.backend),
      ['shop/front:80', 'shop/api:8080'],
    );
  });

  it('reads the certificate and scheme annotations the AWS Load Balancer Controller defines', () => {
    const group = planIngressGroup({
      className: 'skiff',
      ingresses: [
        ingress('shop', { defaultBackend: backend('front', 80), tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }] }, undefined, {
          'alb.ingress.kubernetes.io/certificate-arn': 'arn:aws:acm:eu-west-1:1:certificate/a, arn:aws:acm:eu-west-1:1:certificate/b',
          'alb.ingress.kubernetes.io/scheme': 'internal',
        }),
      ],
      services,
      pods,
    });
    const model = group.ingresses[0];
    assert.deepEqual(model?.certificateArns, ['arn:aws:acm:eu-west-1:1:certificate/a', 'arn:aws:acm:eu-west-1:1:certificate/b']);
    assert.equal(model?.scheme, 'internal');
    assert.deepEqual(model?.tls, [{ hosts: ['a.example.com'], secretName: 'a-tls' }]);
  });
});
