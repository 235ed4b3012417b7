import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerClusterQuery, type DnsService } from '../../../../functions/domain/services/cluster-dns-answers.ts';

const services: DnsService[] = [
  {
    namespace: 'default',
    name: 'backend',
    clusterIP: '10.96.4.4',
    ports: [
      { name: 'http', protocol: 'TCP', port: 80 },
      { protocol: 'TCP', port: 81 },
    ],
    endpoints: ['10.200.1.2'],
  },
  { namespace: 'default', name: 'db', clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }], endpoints: ['10.200.1.5', '10.200.2.6'] },
  { namespace: 'shop', name: 'ext', externalName: 'example.com', ports: [], endpoints: [] },
  {
    namespace: 'default',
    name: 'web',
    clusterIP: 'None',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    endpoints: ['10.200.1.7', '10.200.2.8'],
    hostnames: [
      { hostname: 'web-0', address: '10.200.1.7' },
      { hostname: 'web-1', address: '10.200.2.8' },
    ],
  },
  // A Service with a ClusterIP gives its pods no names, even with hostnames (CoreDNS answers headless ones only).
  {
    namespace: 'default',
    name: 'front',
    clusterIP: '10.96.5.5',
    ports: [],
    endpoints: ['10.200.1.9'],
    hostnames: [{ hostname: 'front-0', address: '10.200.1.9' }],
  },
];
const a = (name: string, data: string) => ({ type: 'A' as const, name, ttl: 5, data });

describe('cluster DNS answers', () => {
  const table: [string, string, ReturnType<typeof answerClusterQuery>][] = [
    ['backend.default.svc.cluster.local', 'A', { rcode: 'NOERROR', answers: [a('backend.default.svc.cluster.local', '10.96.4.4')] }],
    ['BACKEND.default.svc.cluster.local.', 'A', { rcode: 'NOERROR', answers: [a('backend.default.svc.cluster.local', '10.96.4.4')] }],
    ['backend.default.svc.cluster.local', 'AAAA', { rcode: 'NOERROR', answers: [] }],
    [
      'db.default.svc.cluster.local',
      'A',
      { rcode: 'NOERROR', answers: [a('db.default.svc.cluster.local', '10.200.1.5'), a('db.default.svc.cluster.local', '10.200.2.6')] },
    ],
    ['ext.shop.svc.cluster.local', 'A', { rcode: 'NOERROR', answers: [{ type: 'CNAME', name: 'ext.shop.svc.cluster.local', ttl: 5, data: 'example.com' }] }],
    [
      '_http._tcp.backend.default.svc.cluster.local',
      'SRV',
      {
        rcode: 'NOERROR',
        answers: [
          {
            type: 'SRV',
            name: '_http._tcp.backend.default.svc.cluster.local',
            ttl: 5,
            data: { priority: 0, weight: 100, port: 80, target: 'backend.default.svc.cluster.local' },
          },
        ],
      },
    ],
    ['_http._udp.backend.default.svc.cluster.local', 'SRV', { rcode: 'NXDOMAIN', answers: [] }],
    ['10-200-1-2.default.pod.cluster.local', 'A', { rcode: 'NOERROR', answers: [a('10-200-1-2.default.pod.cluster.local', '10.200.1.2')] }],
    ['not-an-ip.default.pod.cluster.local', 'A', { rcode: 'NXDOMAIN', answers: [] }],
    ['missing.default.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', answers: [] }],
    ['backend.other.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', answers: [] }],
    ['backend.default.svc.cluster.local.default.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', answers: [] }],
    ['default.svc.cluster.local', 'A', { rcode: 'NOERROR', answers: [] }],
    ['web-0.web.default.svc.cluster.local', 'A', { rcode: 'NOERROR', answers: [a('web-0.web.default.svc.cluster.local', '10.200.1.7')] }],
    ['WEB-1.web.default.svc.cluster.local.', 'A', { rcode: 'NOERROR', answers: [a('web-1.web.default.svc.cluster.local', '10.200.2.8')] }],
    ['web-0.web.default.svc.cluster.local', 'AAAA', { rcode: 'NOERROR', answers: [] }],
    ['web-2.web.default.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', answers: [] }],
    ['web-0.web.other.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', answers: [] }],
    ['front-0.front.default.svc.cluster.local', 'A', { rcode: 'NXDOMAIN', answers: [] }],
    ['example.com', 'A', { forward: true }],
    ['cluster.local.example.com', 'A', { forward: true }],
  ];
  for (const [name, type, expected] of table) {
    it(`${type} ${name}`, () => assert.deepEqual(answerClusterQuery(name, type, services), expected));
  }
});
