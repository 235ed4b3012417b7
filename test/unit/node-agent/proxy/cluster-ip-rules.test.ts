import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterIpRuleset, defaultAffinitySeconds, routedServices } from '../../../../node-agent/proxy/cluster-ip-rules.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const service = (name: string, spec: Record<string, unknown>, namespace = 'default'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec,
});
const slice = (
  service: string,
  ports: { name?: string; port: number; protocol?: string }[],
  endpoints: { ip: string; ready?: boolean }[],
  namespace = 'default',
): KubeObject =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-x`, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports,
    endpoints: endpoints.map((endpoint) => ({ addresses: [endpoint.ip], conditions: { ready: endpoint.ready ?? true } })),
  }) as KubeObject;

describe('ClusterIP routing rules', () => {
  it('reads Services and their EndpointSlices: ready endpoints per port by name and protocol, headless and ExternalName left out', () => {
    const routed = routedServices(
      [
        service('web', {
          clusterIP: '10.96.1.1',
          ports: [
            { name: 'http', port: 80, protocol: 'TCP' },
            { name: 'dns', port: 53, protocol: 'UDP' },
          ],
        }),
        service('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        service('external', { type: 'ExternalName', externalName: 'example.com' }),
        service('sticky', { clusterIP: '10.96.1.2', ports: [{ port: 443 }], sessionAffinity: 'ClientIP' }),
      ],
      [
        slice(
          'web',
          [
            { name: 'http', port: 8080, protocol: 'TCP' },
            { name: 'dns', port: 5353, protocol: 'UDP' },
          ],
          [{ ip: '10.200.2.3' }, { ip: '10.200.1.2' }, { ip: '10.200.1.9', ready: false }],
        ),
        slice('sticky', [{ port: 8443 }], [{ ip: '10.200.1.4' }]),
        slice('web', [{ name: 'http', port: 8080 }], [{ ip: '10.200.9.9' }], 'other'),
      ],
    );
    assert.deepEqual(routed, [
      {
        key: 'default/web',
        clusterIP: '10.96.1.1',
        ports: [
          {
            protocol: 'TCP',
            port: 80,
            endpoints: [
              { ip: '10.200.1.2', port: 8080 },
              { ip: '10.200.2.3', port: 8080 },
            ],
          },
          {
            protocol: 'UDP',
            port: 53,
            endpoints: [
              { ip: '10.200.1.2', port: 5353 },
              { ip: '10.200.2.3', port: 5353 },
            ],
          },
        ],
      },
      {
        key: 'default/sticky',
        clusterIP: '10.96.1.2',
        ports: [{ protocol: 'TCP', port: 443, endpoints: [{ ip: '10.200.1.4', port: 8443 }] }],
        affinitySeconds: defaultAffinitySeconds,
      },
    ]);
  });

  it('writes one transaction that replaces the table: dispatch by ClusterIP and port, random choice, affinity sets, hairpin and loopback masquerade', () => {
    const script = clusterIpRuleset({ table: 'skiff_abc', bridge: 'skbabc' }, [
      {
        key: 'default/web',
        clusterIP: '10.96.1.1',
        ports: [
          {
            protocol: 'TCP',
            port: 80,
            endpoints: [
              { ip: '10.200.1.2', port: 8080 },
              { ip: '10.200.2.3', port: 8080 },
            ],
          },
        ],
      },
      { key: 'default/api', clusterIP: '10.96.0.1', ports: [{ protocol: 'TCP', port: 443, endpoints: [{ ip: '127.0.0.1', port: 6443 }] }] },
      {
        key: 'default/sticky',
        clusterIP: '10.96.1.2',
        ports: [{ protocol: 'TCP', port: 443, endpoints: [{ ip: '10.200.1.4', port: 8443 }] }],
        affinitySeconds: 30,
      },
      { key: 'default/empty', clusterIP: '10.96.1.3', ports: [{ protocol: 'TCP', port: 80, endpoints: [] }] },
    ]);
    const lines = script.split('\n').map((line) => line.trim());
    assert.deepEqual(lines.slice(0, 3), ['table ip skiff_abc', 'delete table ip skiff_abc', 'table ip skiff_abc {']);
    // Sorted by key: api (0), empty (1, no endpoints: no rule), sticky (2), web (3).
    const dispatch = lines.slice(lines.indexOf('chain services {') + 1, lines.indexOf('}', lines.indexOf('chain services {')));
    assert.deepEqual(dispatch, [
      'ip daddr 10.96.0.1 tcp dport 443 goto svc-0-0 comment "default/api:443/TCP"',
      'ip daddr 10.96.1.2 tcp dport 443 goto svc-2-0 comment "default/sticky:443/TCP"',
      'ip daddr 10.96.1.1 tcp dport 80 goto svc-3-0 comment "default/web:80/TCP"',
    ]);
    assert.ok(lines.includes('numgen random mod 2 vmap { 0 : goto svc-3-0-ep-0, 1 : goto svc-3-0-ep-1 }'));
    assert.ok(lines.includes('ip saddr 10.200.1.2 meta mark set meta mark | 0x00004000'));
    assert.ok(lines.includes('tcp dport 80 dnat to 10.200.2.3:8080'));
    assert.ok(lines.includes('tcp dport 443 dnat to 127.0.0.1:6443'));
    assert.ok(lines.includes('set svc-2-0-ep-0-clients {'));
    assert.ok(lines.includes('timeout 30s'));
    assert.ok(lines.includes('ip saddr @svc-2-0-ep-0-clients goto svc-2-0-ep-0'));
    assert.ok(lines.includes('update @svc-2-0-ep-0-clients { ip saddr }'));
    assert.ok(lines.includes('iifname "skbabc" jump services'));
    assert.ok(lines.includes('meta mark & 0x00004000 == 0x00004000 masquerade'));
    assert.equal(lines.filter((line) => line.includes('10.96.1.3')).length, 0);
  });
});
