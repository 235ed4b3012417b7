import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toTable, wantsTable } from '../../../../functions/api/printers/index.ts';
import type { KubeObject } from '../../../../schemas/meta.ts';
import { persistedTypes, type ResourceType, types } from '../../../../schemas/registry.ts';

const now = new Date('2026-01-10T12:00:00Z');
const created = '2026-01-10T11:57:00Z';

function object(type: ResourceType, name: string, fields: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
    kind: type.kind,
    metadata: { name, ...(type.namespaced ? { namespace: 'default' } : {}), creationTimestamp: created, resourceVersion: '7', uid: `uid-${name}`, ...metadata },
    ...fields,
  };
}

/** The columns kube-apiserver declares per kind: [name, priority]. */
const expectedColumns: Record<string, Array<[string, number]>> = {
  'core/pods': [
    ['Name', 0],
    ['Ready', 0],
    ['Status', 0],
    ['Restarts', 0],
    ['Age', 0],
    ['IP', 1],
    ['Node', 1],
    ['Nominated Node', 1],
    ['Readiness Gates', 1],
  ],
  'apps/deployments': [
    ['Name', 0],
    ['Ready', 0],
    ['Up-to-date', 0],
    ['Available', 0],
    ['Age', 0],
    ['Containers', 1],
    ['Images', 1],
    ['Selector', 1],
  ],
  'apps/replicasets': [
    ['Name', 0],
    ['Desired', 0],
    ['Current', 0],
    ['Ready', 0],
    ['Age', 0],
    ['Containers', 1],
    ['Images', 1],
    ['Selector', 1],
  ],
  'core/replicationcontrollers': [
    ['Name', 0],
    ['Desired', 0],
    ['Current', 0],
    ['Ready', 0],
    ['Age', 0],
    ['Containers', 1],
    ['Images', 1],
    ['Selector', 1],
  ],
  'apps/daemonsets': [
    ['Name', 0],
    ['Desired', 0],
    ['Current', 0],
    ['Ready', 0],
    ['Up-to-date', 0],
    ['Available', 0],
    ['Node Selector', 0],
    ['Age', 0],
    ['Containers', 1],
    ['Images', 1],
    ['Selector', 1],
  ],
  'apps/controllerrevisions': [
    ['Name', 0],
    ['Controller', 0],
    ['Revision', 0],
    ['Age', 0],
  ],
  'core/resourcequotas': [
    ['Name', 0],
    ['Age', 0],
    ['Request', 0],
    ['Limit', 0],
  ],
  'core/limitranges': [
    ['Name', 0],
    ['Created At', 0],
  ],
  'apps/statefulsets': [
    ['Name', 0],
    ['Ready', 0],
    ['Age', 0],
    ['Containers', 1],
    ['Images', 1],
  ],
  'core/persistentvolumes': [
    ['Name', 0],
    ['Capacity', 0],
    ['Access Modes', 0],
    ['Reclaim Policy', 0],
    ['Status', 0],
    ['Claim', 0],
    ['StorageClass', 0],
    ['VolumeAttributesClass', 0],
    ['Reason', 0],
    ['Age', 0],
    ['VolumeMode', 1],
  ],
  'core/persistentvolumeclaims': [
    ['Name', 0],
    ['Status', 0],
    ['Volume', 0],
    ['Capacity', 0],
    ['Access Modes', 0],
    ['StorageClass', 0],
    ['VolumeAttributesClass', 0],
    ['Age', 0],
    ['VolumeMode', 1],
  ],
  'storage.k8s.io/storageclasses': [
    ['Name', 0],
    ['Provisioner', 0],
    ['ReclaimPolicy', 0],
    ['VolumeBindingMode', 0],
    ['AllowVolumeExpansion', 0],
    ['Age', 0],
  ],
  'autoscaling/horizontalpodautoscalers': [
    ['Name', 0],
    ['Reference', 0],
    ['Targets', 0],
    ['MinPods', 0],
    ['MaxPods', 0],
    ['Replicas', 0],
    ['Age', 0],
  ],
  'batch/jobs': [
    ['Name', 0],
    ['Status', 0],
    ['Completions', 0],
    ['Duration', 0],
    ['Age', 0],
    ['Containers', 1],
    ['Images', 1],
    ['Selector', 1],
  ],
  'batch/cronjobs': [
    ['Name', 0],
    ['Schedule', 0],
    ['Timezone', 0],
    ['Suspend', 0],
    ['Active', 0],
    ['Last Schedule', 0],
    ['Age', 0],
    ['Containers', 1],
    ['Images', 1],
    ['Selector', 1],
  ],
  'core/services': [
    ['Name', 0],
    ['Type', 0],
    ['Cluster-IP', 0],
    ['External-IP', 0],
    ['Port(s)', 0],
    ['Age', 0],
    ['Selector', 1],
  ],
  'core/nodes': [
    ['Name', 0],
    ['Status', 0],
    ['Roles', 0],
    ['Age', 0],
    ['Version', 0],
    ['Internal-IP', 1],
    ['External-IP', 1],
    ['OS-Image', 1],
    ['Kernel-Version', 1],
    ['Container-Runtime', 1],
  ],
  'core/namespaces': [
    ['Name', 0],
    ['Status', 0],
    ['Age', 0],
  ],
  'core/configmaps': [
    ['Name', 0],
    ['Data', 0],
    ['Age', 0],
  ],
  'core/secrets': [
    ['Name', 0],
    ['Type', 0],
    ['Data', 0],
    ['Age', 0],
  ],
  'core/events': [
    ['Last Seen', 0],
    ['Type', 0],
    ['Reason', 0],
    ['Object', 0],
    ['Subobject', 1],
    ['Source', 1],
    ['Message', 0],
    ['First Seen', 1],
    ['Count', 1],
    ['Name', 1],
  ],
  'core/endpoints': [
    ['Name', 0],
    ['Endpoints', 0],
    ['Age', 0],
  ],
  'coordination.k8s.io/leases': [
    ['Name', 0],
    ['Holder', 0],
    ['Age', 0],
  ],
  'policy/poddisruptionbudgets': [
    ['Name', 0],
    ['Min Available', 0],
    ['Max Unavailable', 0],
    ['Allowed Disruptions', 0],
    ['Age', 0],
  ],
  'apiextensions.k8s.io/customresourcedefinitions': [
    ['Name', 0],
    ['Created At', 0],
  ],
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': [
    ['Name', 0],
    ['Webhooks', 0],
    ['Age', 0],
  ],
  'admissionregistration.k8s.io/validatingwebhookconfigurations': [
    ['Name', 0],
    ['Webhooks', 0],
    ['Age', 0],
  ],
  'scheduling.k8s.io/priorityclasses': [
    ['Name', 0],
    ['Value', 0],
    ['Global-Default', 0],
    ['Age', 0],
    ['PreemptionPolicy', 0],
  ],
  'networking.k8s.io/ingressclasses': [
    ['Name', 0],
    ['Controller', 0],
    ['Parameters', 0],
    ['Age', 0],
  ],
  'networking.k8s.io/networkpolicies': [
    ['Name', 0],
    ['Pod-Selector', 0],
    ['Age', 0],
  ],
  'networking.k8s.io/ingresses': [
    ['Name', 0],
    ['Class', 0],
    ['Hosts', 0],
    ['Address', 0],
    ['Ports', 0],
    ['Age', 0],
  ],
  'discovery.k8s.io/endpointslices': [
    ['Name', 0],
    ['AddressType', 0],
    ['Ports', 0],
    ['Endpoints', 0],
    ['Age', 0],
  ],
  'core/serviceaccounts': [
    ['Name', 0],
    ['Secrets', 0],
    ['Age', 0],
  ],
  'rbac.authorization.k8s.io/roles': [
    ['Name', 0],
    ['Created At', 0],
  ],
  'rbac.authorization.k8s.io/clusterroles': [
    ['Name', 0],
    ['Created At', 0],
  ],
  'rbac.authorization.k8s.io/rolebindings': [
    ['Name', 0],
    ['Role', 0],
    ['Age', 0],
    ['Users', 1],
    ['Groups', 1],
    ['ServiceAccounts', 1],
  ],
  'rbac.authorization.k8s.io/clusterrolebindings': [
    ['Name', 0],
    ['Role', 0],
    ['Age', 0],
    ['Users', 1],
    ['Groups', 1],
    ['ServiceAccounts', 1],
  ],
};

describe('table columns', () => {
  it('has a printer for every served kind that can be listed', () => {
    assert.deepEqual(persistedTypes.map((t) => t.id).sort(), Object.keys(expectedColumns).sort());
  });

  for (const type of persistedTypes) {
    it(`declares the kube-apiserver columns for ${type.plural}, wide ones at priority 1`, () => {
      const table = toTable(type, [], { now });
      assert.deepEqual(
        table.columnDefinitions.map((c) => [c.name, c.priority]),
        expectedColumns[type.id],
      );
      const nameColumns = table.columnDefinitions.filter((c) => c.format === 'name').map((c) => c.name);
      assert.deepEqual(nameColumns, ['Name']);
      for (const c of table.columnDefinitions) assert.ok(c.description.length > 0, `${c.name} has a description`);
    });

    it(`prints one cell per column for a bare ${type.kind}`, () => {
      const table = toTable(type, [object(type, 'x')], { now });
      assert.equal(table.rows[0]?.cells.length, table.columnDefinitions.length);
    });
  }
});

describe('table cells per kind', () => {
  const cases: Array<{ name: string; type: ResourceType; object: KubeObject; cells: unknown[] }> = [
    {
      name: 'a deployment with ready/desired, typed integers and template columns',
      type: types.deployments,
      object: object(types.deployments, 'web', {
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] },
          template: {
            spec: {
              containers: [
                { name: 'nginx', image: 'nginx:1.27' },
                { name: 'log', image: 'busybox' },
              ],
            },
          },
        },
        status: { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
      }),
      cells: ['web', '2/3', 3, 2, '3m', 'nginx,log', 'nginx:1.27,busybox', 'app=web,tier in (a,b)'],
    },
    {
      name: 'a new deployment with no status yet',
      type: types.deployments,
      object: object(types.deployments, 'new', {
        spec: { replicas: 1, selector: { matchLabels: { app: 'new' } }, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
      }),
      cells: ['new', '0/1', 0, 0, '3m', 'c', 'i', 'app=new'],
    },
    {
      name: 'a replica set',
      type: types.replicasets,
      object: object(types.replicasets, 'web-5d4f', {
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d4f' } },
          template: { spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
        },
        status: { replicas: 2, readyReplicas: 1 },
      }),
      cells: ['web-5d4f', 2, 2, 1, '3m', 'nginx', 'nginx', 'app=web,pod-template-hash=5d4f'],
    },
    {
      name: 'a NodePort service',
      type: types.services,
      object: object(types.services, 'web', {
        spec: {
          type: 'NodePort',
          clusterIP: '10.96.0.12',
          clusterIPs: ['10.96.0.12'],
          ports: [
            { port: 80, nodePort: 30942, protocol: 'TCP' },
            { port: 53, protocol: 'UDP' },
          ],
          selector: { app: 'web' },
        },
      }),
      cells: ['web', 'NodePort', '10.96.0.12', '<none>', '80:30942/TCP,53/UDP', '3m', 'app=web'],
    },
    {
      name: 'a LoadBalancer service still waiting for its address',
      type: types.services,
      object: object(types.services, 'lb', {
        spec: { type: 'LoadBalancer', clusterIP: '10.96.0.13', ports: [{ port: 80, nodePort: 31000, protocol: 'TCP' }] },
        status: { loadBalancer: {} },
      }),
      cells: ['lb', 'LoadBalancer', '10.96.0.13', '<pending>', '80:31000/TCP', '3m', '<none>'],
    },
    {
      name: 'a LoadBalancer service with its load balancer hostname',
      type: types.services,
      object: object(types.services, 'lb', {
        spec: {
          type: 'LoadBalancer',
          clusterIPs: ['10.96.0.13'],
          ports: [{ port: 80, nodePort: 31000, protocol: 'TCP' }],
          selector: { app: 'web', tier: 'front' },
        },
        status: { loadBalancer: { ingress: [{ hostname: 'k8s-default-lb-123.elb.eu-west-1.amazonaws.com' }] } },
      }),
      cells: ['lb', 'LoadBalancer', '10.96.0.13', 'k8s-default-lb-123.elb.eu-west-1.amazonaws.com', '80:31000/TCP', '3m', 'app=web,tier=front'],
    },
    {
      name: 'a ClusterIP service with external IPs and a headless one without ports',
      type: types.services,
      object: object(types.services, 'ext', { spec: { type: 'ClusterIP', clusterIP: 'None', externalIPs: ['1.2.3.4', '5.6.7.8'] } }),
      cells: ['ext', 'ClusterIP', 'None', '1.2.3.4,5.6.7.8', '<none>', '3m', '<none>'],
    },
    {
      name: 'an ExternalName service',
      type: types.services,
      object: object(types.services, 'db', { spec: { type: 'ExternalName', externalName: 'db.example.com' } }),
      cells: ['db', 'ExternalName', '<none>', 'db.example.com', '<none>', '3m', '<none>'],
    },
    {
      name: 'a ready control-plane node with its addresses and system info',
      type: types.nodes,
      object: object(
        types.nodes,
        'node-1',
        {
          status: {
            conditions: [
              { type: 'MemoryPressure', status: 'False' },
              { type: 'Ready', status: 'True' },
            ],
            addresses: [
              { type: 'Hostname', address: 'node-1' },
              { type: 'InternalIP', address: '10.0.1.5' },
            ],
            nodeInfo: { kubeletVersion: 'v1.32.0-skiff', osImage: 'Amazon Linux 2023', kernelVersion: '6.1.0', containerRuntimeVersion: 'ecs://1.80' },
          },
        },
        { labels: { 'node-role.kubernetes.io/worker': '', 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/hostname': 'node-1' } },
      ),
      cells: ['node-1', 'Ready', 'control-plane,worker', '3m', 'v1.32.0-skiff', '10.0.1.5', '<none>', 'Amazon Linux 2023', '6.1.0', 'ecs://1.80'],
    },
    {
      name: 'a cordoned node that stopped reporting',
      type: types.nodes,
      object: object(types.nodes, 'node-2', { spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }),
      cells: ['node-2', 'NotReady,SchedulingDisabled', '<none>', '3m', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'],
    },
    {
      name: 'a node without a Ready condition, with the legacy role label',
      type: types.nodes,
      object: object(types.nodes, 'node-3', {}, { labels: { 'kubernetes.io/role': 'edge' } }),
      cells: ['node-3', 'Unknown', 'edge', '3m', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'],
    },
    {
      name: 'a namespace',
      type: types.namespaces,
      object: object(types.namespaces, 'team-a', { status: { phase: 'Active' } }),
      cells: ['team-a', 'Active', '3m'],
    },
    {
      name: 'a config map counting data and binaryData keys',
      type: types.configmaps,
      object: object(types.configmaps, 'settings', { data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }),
      cells: ['settings', 3, '3m'],
    },
    {
      name: 'a secret',
      type: types.secrets,
      object: object(types.secrets, 'token', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }),
      cells: ['token', 'kubernetes.io/tls', 2, '3m'],
    },
    {
      name: 'a lease with a holder',
      type: types.leases,
      object: object(types.leases, 'node-1', { spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40 } }),
      cells: ['node-1', 'node-1', '3m'],
    },
    {
      name: 'an ingress with class, hosts, address and TLS',
      type: types.ingresses,
      object: object(types.ingresses, 'web', {
        spec: { ingressClassName: 'alb', rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }], tls: [{ hosts: ['a.example.com'] }] },
        status: { loadBalancer: { ingress: [{ hostname: 'alb-1.example.aws' }] } },
      }),
      cells: ['web', 'alb', 'a.example.com,b.example.com', 'alb-1.example.aws', '80, 443', '3m'],
    },
    {
      name: 'an ingress without class or hosts',
      type: types.ingresses,
      object: object(types.ingresses, 'any', { spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } } }),
      cells: ['any', '<none>', '*', '', '80', '3m'],
    },
    {
      name: 'an ingress with more than three hosts',
      type: types.ingresses,
      object: object(types.ingresses, 'many', { spec: { rules: [{ host: 'a' }, { host: 'b' }, { host: 'c' }, { host: 'd' }, { host: 'e' }] } }),
      cells: ['many', '<none>', 'a,b,c + 2 more...', '', '80', '3m'],
    },
    {
      name: 'endpoints capped at three addresses',
      type: types.endpoints,
      object: object(types.endpoints, 'web', {
        subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }], ports: [{ port: 80 }, { port: 443 }] }],
      }),
      cells: ['web', '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 5 more...', '3m'],
    },
    {
      name: 'endpoints of a headless service without ports, and IPv6',
      type: types.endpoints,
      object: object(types.endpoints, 'db', { subsets: [{ addresses: [{ ip: '10.0.0.9' }] }, { addresses: [{ ip: 'fd00::1' }], ports: [{ port: 5432 }] }] }),
      cells: ['db', '10.0.0.9,[fd00::1]:5432', '3m'],
    },
    {
      name: 'endpoints with no subsets',
      type: types.endpoints,
      object: object(types.endpoints, 'none'),
      cells: ['none', '<none>', '3m'],
    },
    {
      name: 'an endpoint slice',
      type: types.endpointslices,
      object: object(types.endpointslices, 'web-abc', {
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
        endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4'] }],
      }),
      cells: ['web-abc', 'IPv4', '80', '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...', '3m'],
    },
    {
      name: 'an empty endpoint slice',
      type: types.endpointslices,
      object: object(types.endpointslices, 'empty', { addressType: 'IPv4' }),
      cells: ['empty', 'IPv4', '<unset>', '<unset>', '3m'],
    },
    {
      name: 'a core event about a pod container',
      type: types.events,
      object: object(types.events, 'p1.17f', {
        type: 'Warning',
        reason: 'BackOff',
        message: 'Back-off restarting failed container\n',
        involvedObject: { kind: 'Pod', name: 'p1', namespace: 'default', fieldPath: 'spec.containers{app}' },
        source: { component: 'kubelet', host: 'node-1' },
        firstTimestamp: '2026-01-10T11:50:00Z',
        lastTimestamp: '2026-01-10T11:59:30Z',
        count: 6,
      }),
      cells: ['30s', 'Warning', 'BackOff', 'pod/p1', 'spec.containers{app}', 'kubelet, node-1', 'Back-off restarting failed container', '10m', 6, 'p1.17f'],
    },
    {
      name: 'an events.k8s.io style event with eventTime, reporting controller and no count',
      type: types.events,
      object: object(types.events, 'web.1', {
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        message: 'Scaled up replica set web-5d4f to 3',
        involvedObject: { kind: 'Deployment', name: 'web' },
        eventTime: '2026-01-10T11:58:00.000000Z',
        reportingComponent: 'deployment-controller',
      }),
      cells: ['2m', 'Normal', 'ScalingReplicaSet', 'deployment/web', '', 'deployment-controller', 'Scaled up replica set web-5d4f to 3', '2m', 1, 'web.1'],
    },
    {
      name: 'an event series',
      type: types.events,
      object: object(types.events, 'ser.1', {
        type: 'Normal',
        reason: 'Pulled',
        involvedObject: { kind: 'Pod', name: 'p2' },
        eventTime: '2026-01-10T11:00:00.000000Z',
        series: { count: 4, lastObservedTime: '2026-01-10T11:59:00.000000Z' },
      }),
      cells: ['60s', 'Normal', 'Pulled', 'pod/p2', '', '', '', '60m', 4, 'ser.1'],
    },
  ];
  for (const testCase of cases) {
    it(`prints ${testCase.name}`, () => {
      const table = toTable(testCase.type, [testCase.object], { now });
      assert.deepEqual(table.rows[0]?.cells, testCase.cells);
    });
  }
});

describe('toTable', () => {
  const pods = [object(types.pods, 'a', { status: { phase: 'Pending' } }, { labels: { app: 'x' } }), object(types.pods, 'b', { status: { phase: 'Pending' } })];

  it('embeds each object as PartialObjectMetadata with its full metadata', () => {
    const table = toTable(types.pods, pods, { now });
    assert.equal(table.kind, 'Table');
    assert.equal(table.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(table.rows[0]?.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pods[0]?.metadata });
    assert.equal(table.rows[1]?.object?.metadata.name, 'b');
  });

  it('carries the list metadata: resourceVersion, continue and remainingItemCount', () => {
    const table = toTable(types.pods, pods, { now, resourceVersion: '42', continue: 'token', remainingItemCount: 3 });
    assert.deepEqual(table.metadata, { resourceVersion: '42', continue: 'token', remainingItemCount: 3 });
  });

  it("uses a single object's revision when no list revision is given", () => {
    assert.deepEqual(toTable(types.pods, [pods[0]!], { now }).metadata, { resourceVersion: '7' });
    assert.deepEqual(toTable(types.pods, pods, { now }).metadata, {});
  });

  it('leaves out column definitions for watch events after the first', () => {
    const table = toTable(types.pods, [pods[0]!], { now, includeColumnDefinitions: false });
    assert.deepEqual(table.columnDefinitions, []);
    assert.equal(table.rows.length, 1);
  });

  it('honours includeObject=None and includeObject=Object', () => {
    assert.equal(toTable(types.pods, pods, { now, includeObject: 'None' }).rows[0]?.object, undefined);
    assert.deepEqual(toTable(types.pods, pods, { now, includeObject: 'Object' }).rows[0]?.object, { ...pods[0], apiVersion: 'v1', kind: 'Pod' });
  });

  it('does not modify the objects it prints', () => {
    const frozen = Object.freeze({ ...pods[0]!, metadata: Object.freeze({ ...pods[0]!.metadata }) });
    assert.doesNotThrow(() => toTable(types.pods, [frozen], { now }));
  });

  it('prints odd field shapes as empty values instead of failing', () => {
    const odd = object(types.deployments, 'odd', { spec: { replicas: 'three', template: 7, selector: [] }, status: null });
    assert.deepEqual(toTable(types.deployments, [odd], { now }).rows[0]?.cells, ['odd', '0/1', 0, 0, '3m', '', '', '']);
  });

  it('serialises to the JSON shape kubectl reads', () => {
    const json = JSON.parse(JSON.stringify(toTable(types.pods, [pods[0]!], { now, resourceVersion: '9' })));
    assert.deepEqual(Object.keys(json), ['kind', 'apiVersion', 'metadata', 'columnDefinitions', 'rows']);
    assert.deepEqual(Object.keys(json.columnDefinitions[0]).sort(), ['description', 'format', 'name', 'priority', 'type']);
  });
});

describe('wantsTable', () => {
  const cases: Array<[string | undefined, boolean]> = [
    ['application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json', true],
    ['application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json', true],
    ['application/json; as=Table; g=meta.k8s.io; v=v1', true],
    ['application/json', false],
    ['application/json, */*', false],
    ['application/vnd.kubernetes.protobuf,application/json', false],
    ['application/json,application/json;as=Table;v=v1;g=meta.k8s.io', false],
    ['application/json;as=Table;v=v2;g=meta.k8s.io', false],
    ['application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', false],
    [undefined, false],
    ['', false],
  ];
  for (const [accept, expected] of cases) {
    it(`${expected ? 'asks' : 'does not ask'} for a Table with Accept ${JSON.stringify(accept)}`, () => {
      assert.equal(wantsTable(accept), expected);
    });
  }
});
