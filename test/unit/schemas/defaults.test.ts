import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from '../../../schemas/index.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';

function created(type: ResourceType, body: Record<string, unknown>): Record<string, any> {
  return admit(type, body, { operation: 'create' }).object as Record<string, any>;
}

const podSpec = { containers: [{ name: 'web', image: 'nginx:1.27' }] };
const template = { metadata: { labels: { app: 'web' } }, spec: podSpec };

describe('defaults applied on admission', () => {
  it('sets apiVersion and kind when the body leaves them out', () => {
    const ns = created(types.namespaces, { metadata: { name: 'team-a' } });
    assert.equal(ns.apiVersion, 'v1');
    assert.equal(ns.kind, 'Namespace');
    const deploy = created(types.deployments, { metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template } });
    assert.equal(deploy.apiVersion, 'apps/v1');
    assert.equal(deploy.kind, 'Deployment');
  });

  it('defaults a Deployment like apps/v1: 1 replica, RollingUpdate 25%/25%, history 10, deadline 600', () => {
    const deploy = created(types.deployments, { metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template } });
    assert.equal(deploy.spec.replicas, 1);
    assert.deepEqual(deploy.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    assert.equal(deploy.spec.revisionHistoryLimit, 10);
    assert.equal(deploy.spec.progressDeadlineSeconds, 600);
  });

  it('keeps a Recreate strategy without adding rollingUpdate', () => {
    const deploy = created(types.deployments, {
      metadata: { name: 'web' },
      spec: { strategy: { type: 'Recreate' }, selector: { matchLabels: { app: 'web' } }, template },
    });
    assert.deepEqual(deploy.spec.strategy, { type: 'Recreate' });
  });

  it('fills only the missing half of a partial rollingUpdate', () => {
    const deploy = created(types.deployments, {
      metadata: { name: 'web' },
      spec: { strategy: { rollingUpdate: { maxSurge: 2 } }, selector: { matchLabels: { app: 'web' } }, template },
    });
    assert.deepEqual(deploy.spec.strategy.rollingUpdate, { maxUnavailable: '25%', maxSurge: 2 });
  });

  it('keeps replicas 0 rather than defaulting it', () => {
    const deploy = created(types.deployments, { metadata: { name: 'web' }, spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template } });
    assert.equal(deploy.spec.replicas, 0);
  });

  it('defaults a ReplicaSet to 1 replica and defaults its pod template', () => {
    const rs = created(types.replicasets, { metadata: { name: 'web-1' }, spec: { selector: { matchLabels: { app: 'web' } }, template } });
    assert.equal(rs.spec.replicas, 1);
    assert.equal(rs.spec.template.spec.restartPolicy, 'Always');
    assert.equal(rs.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
  });

  it('defaults a PodSpec: restartPolicy, dnsPolicy, scheduler, grace period, securityContext, service links', () => {
    const pod = created(types.pods, { metadata: { name: 'p' }, spec: podSpec });
    assert.equal(pod.spec.restartPolicy, 'Always');
    assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(pod.spec.schedulerName, 'default-scheduler');
    assert.equal(pod.spec.terminationGracePeriodSeconds, 30);
    assert.deepEqual(pod.spec.securityContext, {});
    assert.equal(pod.spec.enableServiceLinks, true);
  });

  it('gives a Pod (not a template) priority 0, PreemptLowerPriority and the default service account', () => {
    const pod = created(types.pods, { metadata: { name: 'p' }, spec: podSpec });
    assert.equal(pod.spec.priority, 0);
    assert.equal(pod.spec.preemptionPolicy, 'PreemptLowerPriority');
    assert.equal(pod.spec.serviceAccountName, 'default');
    assert.equal(pod.spec.serviceAccount, 'default');
    // A mirror pod names no account: a node may not lend itself one (docs/adr/123).
    const mirror = created(types.pods, { metadata: { name: 'm', annotations: { 'kubernetes.io/config.mirror': 'hash' } }, spec: podSpec });
    assert.equal(mirror.spec.serviceAccountName, undefined);
    assert.equal(mirror.spec.serviceAccount, undefined);
    const deploy = created(types.deployments, { metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template } });
    assert.equal(deploy.spec.template.spec.priority, undefined);
  });

  it('defaults containers: termination message, resources, port protocol', () => {
    const pod = created(types.pods, { metadata: { name: 'p' }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] } });
    const container = pod.spec.containers[0];
    assert.equal(container.terminationMessagePath, '/dev/termination-log');
    assert.equal(container.terminationMessagePolicy, 'File');
    assert.deepEqual(container.resources, {});
    assert.deepEqual(container.ports, [{ containerPort: 80, protocol: 'TCP' }]);
  });

  const pullPolicies: [string, string][] = [
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['localhost:5000/app', 'Always'],
    ['localhost:5000/app:v2', 'IfNotPresent'],
    ['registry.example.com/team/app:latest', 'Always'],
    ['nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'IfNotPresent'],
  ];
  for (const [image, policy] of pullPolicies) {
    it(`defaults imagePullPolicy of ${image} to ${policy}`, () => {
      const pod = created(types.pods, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image }] } });
      assert.equal(pod.spec.containers[0].imagePullPolicy, policy);
    });
  }

  it('keeps an explicit imagePullPolicy', () => {
    const pod = created(types.pods, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx', imagePullPolicy: 'Never' }] } });
    assert.equal(pod.spec.containers[0].imagePullPolicy, 'Never');
  });

  it('defaults probes: timeout 1, period 10, success 1, failure 3, HTTP scheme and path /', () => {
    const pod = created(types.pods, {
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'c', image: 'nginx', livenessProbe: { httpGet: { port: 80 } }, readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 5 } },
        ],
      },
    });
    const [container] = pod.spec.containers;
    assert.deepEqual(container.livenessProbe, {
      httpGet: { path: '/', port: 80, scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.equal(container.readinessProbe.periodSeconds, 5);
    assert.equal(container.readinessProbe.failureThreshold, 3);
  });

  it('copies resource limits into missing requests', () => {
    const pod = created(types.pods, {
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'nginx', resources: { limits: { cpu: '500m', memory: 128 }, requests: { cpu: '100m' } } }] },
    });
    assert.deepEqual(pod.spec.containers[0].resources, { limits: { cpu: '500m', memory: '128' }, requests: { cpu: '100m', memory: '128' } });
  });

  it('defaults volumes: an empty source becomes emptyDir, config map and secret files get mode 0644', () => {
    const pod = created(types.pods, {
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'c', image: 'nginx' }],
        volumes: [{ name: 'scratch' }, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'creds', secret: { secretName: 'creds' } }],
      },
    });
    assert.deepEqual(pod.spec.volumes, [
      { name: 'scratch', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
      { name: 'creds', secret: { secretName: 'creds', defaultMode: 420 } },
    ]);
  });

  it('defaults a fieldRef apiVersion to v1', () => {
    const pod = created(types.pods, {
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'nginx', env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] }] },
    });
    assert.deepEqual(pod.spec.containers[0].env[0].valueFrom.fieldRef, { apiVersion: 'v1', fieldPath: 'spec.nodeName' });
  });

  it('defaults a Service: ClusterIP, sessionAffinity None, TCP, targetPort = port, single-stack IPv4, internal policy Cluster', () => {
    const svc = created(types.services, {
      metadata: { name: 'web' },
      spec: {
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80 },
          { port: 443, targetPort: 8443, name: 'https' },
        ],
      },
    });
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.equal(svc.spec.sessionAffinity, 'None');
    assert.deepEqual(svc.spec.ports, [
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 },
    ]);
    assert.equal(svc.spec.internalTrafficPolicy, 'Cluster');
    assert.deepEqual(svc.spec.ipFamilies, ['IPv4']);
    assert.equal(svc.spec.ipFamilyPolicy, 'SingleStack');
    assert.equal(svc.spec.externalTrafficPolicy, undefined);
  });

  it('defaults NodePort and LoadBalancer Services: externalTrafficPolicy Cluster, LB node ports allocated', () => {
    const nodePort = created(types.services, { metadata: { name: 'np' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } });
    assert.equal(nodePort.spec.externalTrafficPolicy, 'Cluster');
    const lb = created(types.services, { metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    assert.equal(lb.spec.externalTrafficPolicy, 'Cluster');
    assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
  });

  it('gives ClientIP affinity a 3 hour timeout', () => {
    const svc = created(types.services, { metadata: { name: 'web' }, spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] } });
    assert.deepEqual(svc.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  });

  it('leaves address defaults off ExternalName Services', () => {
    const svc = created(types.services, { metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } });
    assert.equal(svc.spec.ipFamilies, undefined);
    assert.equal(svc.spec.internalTrafficPolicy, undefined);
  });

  it('defaults a Namespace: kubernetes finalizer, phase Active, name label', () => {
    const ns = created(types.namespaces, { metadata: { name: 'team-a' }, spec: {}, status: {} });
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(ns.status, { phase: 'Active' });
    assert.equal(ns.metadata.labels['kubernetes.io/metadata.name'], 'team-a');
  });

  it('defaults a Secret type to Opaque', () => {
    const secret = created(types.secrets, { metadata: { name: 's' }, data: { a: 'YQ==' } });
    assert.equal(secret.type, 'Opaque');
  });

  it('defaults Node allocatable to capacity', () => {
    const node = created(types.nodes, { metadata: { name: 'n1' }, status: { capacity: { cpu: '2', pods: '110' } } });
    assert.deepEqual(node.status.allocatable, { cpu: '2', pods: '110' });
  });

  it('defaults Endpoints and EndpointSlice port protocols to TCP', () => {
    const ep = created(types.endpoints, { metadata: { name: 'web' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] });
    assert.equal(ep.subsets[0].ports[0].protocol, 'TCP');
    const slice = created(types.endpointslices, {
      metadata: { name: 'web-abc' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'] }],
      ports: [{ port: 80 }],
    });
    assert.deepEqual(slice.ports, [{ name: '', protocol: 'TCP', port: 80 }]);
  });

  it('treats JSON null as absent, as kubectl sends creationTimestamp: null', () => {
    const deploy = created(types.deployments, {
      metadata: { name: 'web', creationTimestamp: null },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { creationTimestamp: null, labels: { app: 'web' } }, spec: podSpec },
        strategy: {},
      },
      status: {},
    });
    assert.equal('creationTimestamp' in deploy.metadata, false);
  });

  it('drops metadata.namespace from cluster-scoped objects', () => {
    const node = created(types.nodes, { metadata: { name: 'n1', namespace: 'default' } });
    assert.equal('namespace' in node.metadata, false);
  });

  it('keeps server-set metadata and status as given', () => {
    const body = {
      metadata: {
        name: 'p',
        uid: 'u-1',
        resourceVersion: '7',
        generation: 2,
        creationTimestamp: '2026-01-01T00:00:00Z',
        managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
      },
      spec: podSpec,
      status: { phase: 'Running', podIP: '10.1.0.5' },
    };
    const pod = created(types.pods, body);
    assert.equal(pod.metadata.uid, 'u-1');
    assert.equal(pod.metadata.resourceVersion, '7');
    assert.equal(pod.metadata.managedFields[0].fieldsV1['f:spec'] !== undefined, true);
    assert.deepEqual(pod.status, { phase: 'Running', podIP: '10.1.0.5' });
  });

  it('does not modify the body it was given', () => {
    const body = { metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: structuredClone(template) } };
    const before = structuredClone(body);
    created(types.deployments, body);
    assert.deepEqual(body, before);
  });
});
