/** What a Service keeps when its type changes (kube-apiserver's dropTypeDependentFields), as a table. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropTypeDependentFields } from '../../../../functions/domain/services/service-type-change.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';

const service = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec });
const nodePortService = {
  type: 'NodePort',
  clusterIP: '10.96.3.4',
  clusterIPs: ['10.96.3.4'],
  ipFamilies: ['IPv4'],
  ipFamilyPolicy: 'SingleStack',
  externalTrafficPolicy: 'Cluster',
  ports: [{ port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 31000 }],
};
const loadBalancer = { ...nodePortService, type: 'LoadBalancer', allocateLoadBalancerNodePorts: true, loadBalancerClass: 'example.com/lb' };

const cases: { name: string; old: Record<string, unknown>; next: Record<string, unknown>; expected: Record<string, unknown> }[] = [
  {
    name: 'NodePort to ClusterIP drops the node ports and the external traffic policy, keeps the address',
    old: nodePortService,
    next: { ...nodePortService, type: 'ClusterIP' },
    expected: {
      type: 'ClusterIP',
      clusterIP: '10.96.3.4',
      clusterIPs: ['10.96.3.4'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }],
    },
  },
  {
    name: 'LoadBalancer to ClusterIP also drops allocateLoadBalancerNodePorts and the class',
    old: loadBalancer,
    next: { ...loadBalancer, type: 'ClusterIP' },
    expected: {
      type: 'ClusterIP',
      clusterIP: '10.96.3.4',
      clusterIPs: ['10.96.3.4'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }],
    },
  },
  {
    name: 'NodePort to ExternalName drops the addresses and their families too',
    old: nodePortService,
    next: { ...nodePortService, type: 'ExternalName', externalName: 'example.com' },
    expected: { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] },
  },
  {
    name: 'keeps a node port the user changed along with the type, for validation to refuse',
    old: nodePortService,
    next: { ...nodePortService, type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 32000 }] },
    expected: {
      type: 'ClusterIP',
      clusterIP: '10.96.3.4',
      clusterIPs: ['10.96.3.4'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 32000 }],
    },
  },
  {
    name: 'changes nothing when the type stays',
    old: nodePortService,
    next: { ...nodePortService, selector: { app: 'web' } },
    expected: { ...nodePortService, selector: { app: 'web' } },
  },
];

describe('dropTypeDependentFields', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(dropTypeDependentFields(service(c.next), service(c.old)).spec, c.expected);
    });
  }
});
