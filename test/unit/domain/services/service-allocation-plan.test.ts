import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyAllocation,
  clusterDnsServiceIp,
  kubernetesServiceIp,
  planServiceAllocation,
  resolveRanges,
  serviceCidrProblem,
} from '../../../../functions/domain/services/service-allocation-plan.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const ranges = resolveRanges();

function service(spec: Record<string, unknown>, name = 'web'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec };
}

describe('planServiceAllocation', () => {
  const cases: {
    name: string;
    spec: Record<string, unknown>;
    old?: Record<string, unknown>;
    ip: unknown;
    ports?: unknown[];
    causes?: { field: string; message: RegExp }[];
  }[] = [
    { name: 'picks a random ClusterIP for a new ClusterIP Service', spec: { ports: [{ port: 80 }] }, ip: { kind: 'random' }, ports: [{ kind: 'none' }] },
    { name: 'accepts a requested IP inside the range', spec: { clusterIP: '10.96.3.4', ports: [{ port: 80 }] }, ip: { kind: 'request', ip: '10.96.3.4' } },
    { name: 'leaves a headless Service without an IP', spec: { clusterIP: 'None' }, ip: { kind: 'headless' } },
    { name: 'gives an ExternalName Service no IP', spec: { type: 'ExternalName', externalName: 'example.com' }, ip: { kind: 'none' } },
    {
      name: 'refuses a requested IP outside the range',
      spec: { clusterIP: '192.168.1.1' },
      ip: { kind: 'none' },
      causes: [{ field: 'spec.clusterIPs', message: /not in the valid range. The range of valid IPs is 10.96.0.0\/12/ }],
    },
    {
      name: 'refuses the network address of the range',
      spec: { clusterIP: '10.96.0.0' },
      ip: { kind: 'none' },
      causes: [{ field: 'spec.clusterIPs', message: /not in the valid range/ }],
    },
    {
      name: 'refuses a malformed IP',
      spec: { clusterIP: '10.96.300.1' },
      ip: { kind: 'none' },
      causes: [{ field: 'spec.clusterIPs', message: /not in the valid range/ }],
    },
    {
      name: 'keeps the old IP when an update leaves clusterIP empty',
      spec: { ports: [{ port: 80 }] },
      old: { clusterIP: '10.96.0.20', ports: [{ port: 80 }] },
      ip: { kind: 'keep', ip: '10.96.0.20' },
    },
    {
      name: 'refuses a changed ClusterIP on update',
      spec: { clusterIP: '10.96.0.21' },
      old: { clusterIP: '10.96.0.20' },
      ip: { kind: 'none' },
      causes: [{ field: 'spec.clusterIPs[0]', message: /may not change once set/ }],
    },
    {
      name: 'allocates a random NodePort for each port of a NodePort Service',
      spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 443 }] },
      ip: { kind: 'random' },
      ports: [{ kind: 'random' }, { kind: 'random' }],
    },
    {
      name: 'accepts a requested NodePort in range',
      spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] },
      ip: { kind: 'random' },
      ports: [{ kind: 'request', nodePort: 30080 }],
    },
    {
      name: 'refuses a NodePort outside 30000-32767 with the Kubernetes message',
      spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] },
      ip: { kind: 'random' },
      causes: [
        { field: 'spec.ports[0].nodePort', message: /^Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767$/ },
      ],
    },
    {
      name: 'refuses the same NodePort twice for one protocol',
      spec: {
        type: 'NodePort',
        ports: [
          { port: 80, nodePort: 30080 },
          { port: 81, nodePort: 30080 },
        ],
      },
      ip: { kind: 'random' },
      causes: [{ field: 'spec.ports[1].nodePort', message: /Duplicate value/ }],
    },
    {
      name: 'keeps NodePorts the old Service held on update',
      spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 81, nodePort: 30081 }] },
      old: {
        type: 'NodePort',
        clusterIP: '10.96.0.9',
        ports: [
          { port: 80, nodePort: 30080 },
          { port: 81, nodePort: 30081 },
        ],
      },
      ip: { kind: 'keep', ip: '10.96.0.9' },
      ports: [
        { kind: 'keep', nodePort: 30080 },
        { kind: 'keep', nodePort: 30081 },
      ],
    },
    {
      name: 'drops NodePorts when the type changes to ClusterIP',
      spec: { type: 'ClusterIP', ports: [{ port: 80, nodePort: 30080 }] },
      old: { type: 'NodePort', clusterIP: '10.96.0.9', ports: [{ port: 80, nodePort: 30080 }] },
      ip: { kind: 'keep', ip: '10.96.0.9' },
      ports: [{ kind: 'none' }],
    },
    {
      name: 'forbids a NodePort on a new ClusterIP Service',
      spec: { ports: [{ port: 80, nodePort: 30080 }] },
      ip: { kind: 'random' },
      causes: [{ field: 'spec.ports[0].nodePort', message: /Forbidden: may not be used when `type` is 'ClusterIP'/ }],
    },
    {
      name: 'forbids a headless NodePort Service',
      spec: { type: 'NodePort', clusterIP: 'None', ports: [{ port: 80 }] },
      ip: { kind: 'headless' },
      causes: [{ field: 'spec.clusterIP', message: /may not be set to 'None' for NodePort services/ }],
    },
    {
      name: 'gives a LoadBalancer Service NodePorts',
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
      ip: { kind: 'random' },
      ports: [{ kind: 'random' }],
    },
    {
      name: 'gives no NodePorts to a LoadBalancer that opts out',
      spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }] },
      ip: { kind: 'random' },
      ports: [{ kind: 'none' }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planServiceAllocation(service(c.spec), c.old ? service(c.old) : undefined, ranges);
      const expectedCauses = c.causes ?? [];
      assert.equal(plan.causes.length, expectedCauses.length, JSON.stringify(plan.causes));
      for (const [i, expected] of expectedCauses.entries()) {
        assert.equal(plan.causes[i]?.field, expected.field);
        assert.match(plan.causes[i]?.message ?? '', expected.message);
      }
      if (expectedCauses.length === 0 || c.ip) assert.deepEqual(plan.ip, c.ip);
      if (c.ports) assert.deepEqual(plan.ports, c.ports);
    });
  }
});

describe('applyAllocation', () => {
  it('writes clusterIP, clusterIPs, ip families and node ports into a new object', () => {
    const input = service({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] });
    const output = applyAllocation(input, '10.96.0.30', [30123]);
    assert.deepEqual(output.spec, {
      type: 'NodePort',
      clusterIP: '10.96.0.30',
      clusterIPs: ['10.96.0.30'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ port: 80, protocol: 'TCP', nodePort: 30123 }],
    });
    assert.deepEqual(input.spec, { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] }, 'input untouched');
  });

  it('removes clusterIP and node ports for an ExternalName Service', () => {
    const output = applyAllocation(
      service({ type: 'ExternalName', externalName: 'x.example', clusterIP: '10.96.0.5', ports: [{ port: 80, nodePort: 30001 }] }),
      undefined,
      [undefined],
    );
    assert.deepEqual(output.spec, { type: 'ExternalName', externalName: 'x.example', ports: [{ port: 80 }] });
  });
});

describe('a configured service range', () => {
  it('follows the range for requests, refusals and the kubernetes and kube-dns addresses', () => {
    const custom = resolveRanges({ serviceCidr: '172.20.0.0/16' });
    assert.deepEqual(planServiceAllocation(service({ clusterIP: '172.20.9.9' }), undefined, custom).ip, { kind: 'request', ip: '172.20.9.9' });
    const refused = planServiceAllocation(service({ clusterIP: '10.96.0.20' }), undefined, custom);
    assert.equal(refused.causes[0]?.field, 'spec.clusterIPs');
    assert.match(
      refused.causes[0]?.message ?? '',
      /the provided IP \(10\.96\.0\.20\) is not in the valid range\. The range of valid IPs is 172\.20\.0\.0\/16$/,
    );
    assert.equal(kubernetesServiceIp('172.20.0.0/16'), '172.20.0.1');
    assert.equal(clusterDnsServiceIp('172.20.0.0/16'), '172.20.0.10');
    // Host bits are dropped, as Go's net.ParseCIDR does.
    assert.equal(kubernetesServiceIp('192.168.7.77/28'), '192.168.7.65');
    assert.equal(clusterDnsServiceIp('192.168.7.77/28'), '192.168.7.74');
  });

  const problems: [string, RegExp | undefined][] = [
    ['10.96.0.0/12', undefined],
    ['172.20.0.0/16', undefined],
    ['192.168.7.0/28', undefined],
    ['10.0.0.0/11', /^specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12$/],
    ['10.0.0.0/8', /too large/],
    ['10.96.0.0/29', /at least 16 IP addresses/],
    ['10.96.0.1/32', /at least 16 IP addresses/],
    ['fd00:1234::/108', /IPv6 range: Skiff serves IPv4 service ranges only/],
    ['10.96.0.0', /is not a valid cidr/],
    ['10.960.0.0/12', /is not a valid cidr/],
    ['010.96.0.0/12', /is not a valid cidr/],
    ['10.96.0.0/33', /is not a valid cidr/],
  ];
  for (const [cidr, problem] of problems) {
    it(`${problem ? 'refuses' : 'takes'} ${cidr}`, () => {
      const found = serviceCidrProblem(cidr);
      if (problem) assert.match(found ?? '', problem);
      else assert.equal(found, undefined);
    });
  }
});
