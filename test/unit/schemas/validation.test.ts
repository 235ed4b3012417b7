import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidError, type StatusCause, toStatus } from '../../../functions/core/errors.ts';
import { admit } from '../../../schemas/index.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';

function causesOf(type: ResourceType, body: Record<string, unknown>): readonly StatusCause[] {
  try {
    admit(type, body, { operation: 'create' });
  } catch (error) {
    assert.ok(error instanceof InvalidError, `expected InvalidError, got ${String(error)}`);
    return error.details?.causes ?? [];
  }
  return [];
}

const container = { name: 'web', image: 'nginx' };
const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } };
const selector = { matchLabels: { app: 'web' } };

function deployment(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'web' }) {
  return { metadata, spec: { selector, template, ...spec } };
}

function pod(spec: Record<string, unknown>) {
  return { metadata: { name: 'p' }, spec: { containers: [container], ...spec } };
}

interface Case {
  readonly name: string;
  readonly type: ResourceType;
  readonly body: Record<string, unknown>;
  /** field, reason, and text the message contains. */
  readonly expect: readonly [string, string, string][];
}

const subdomainMessage = 'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters';

const cases: Case[] = [
  {
    name: 'a name that is not a DNS-1123 subdomain',
    type: types.configmaps,
    body: { metadata: { name: 'Bad_Name' } },
    expect: [['metadata.name', 'FieldValueInvalid', subdomainMessage]],
  },
  {
    name: 'a name longer than 253 characters',
    type: types.configmaps,
    body: { metadata: { name: 'a'.repeat(254) } },
    expect: [['metadata.name', 'FieldValueInvalid', 'Invalid value: "aaaa']],
  },
  {
    name: 'no name and no generateName',
    type: types.configmaps,
    body: { metadata: {} },
    expect: [['metadata.name', 'FieldValueRequired', 'Required value: name or generateName is required']],
  },
  {
    name: 'a namespace name with dots (labels only)',
    type: types.namespaces,
    body: { metadata: { name: 'team.a' } },
    expect: [['metadata.name', 'FieldValueInvalid', 'Invalid value: "team.a": a lowercase RFC 1123 label must consist of']],
  },
  {
    name: 'a Service name starting with a digit (DNS-1035)',
    type: types.services,
    body: { metadata: { name: '1web' }, spec: { ports: [{ port: 80 }] } },
    expect: [['metadata.name', 'FieldValueInvalid', 'Invalid value: "1web": a DNS-1035 label must consist of']],
  },
  {
    name: 'an invalid label key',
    type: types.configmaps,
    body: { metadata: { name: 'c', labels: { 'bad key': 'v' } } },
    expect: [['metadata.labels', 'FieldValueInvalid', 'Invalid value: "bad key": name part must consist of']],
  },
  {
    name: 'an invalid label value',
    type: types.configmaps,
    body: { metadata: { name: 'c', labels: { app: '-web' } } },
    expect: [['metadata.labels', 'FieldValueInvalid', 'Invalid value: "-web": a valid label must be an empty string or consist of']],
  },
  {
    name: 'a label value over 63 characters',
    type: types.configmaps,
    body: { metadata: { name: 'c', labels: { app: 'a'.repeat(64) } } },
    expect: [['metadata.labels', 'FieldValueInvalid', 'must be no more than 63 characters']],
  },
  {
    name: 'annotations over 256 KiB',
    type: types.configmaps,
    body: { metadata: { name: 'c', annotations: { big: 'x'.repeat(262145) } } },
    expect: [['metadata.annotations', 'FieldValueTooLong', 'Too long: must have at most 262144 bytes']],
  },
  {
    name: 'an invalid generateName prefix',
    type: types.pods,
    body: { metadata: { generateName: 'Web-' }, spec: { containers: [container] } },
    expect: [['metadata.generateName', 'FieldValueInvalid', 'Invalid value: "Web-"']],
  },
  {
    name: 'a Deployment without a selector',
    type: types.deployments,
    body: { metadata: { name: 'web' }, spec: { template } },
    expect: [['spec.selector', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'a Deployment whose selector does not match its template',
    type: types.deployments,
    body: deployment({ selector: { matchLabels: { app: 'other' } } }),
    expect: [
      ['spec.template.metadata.labels', 'FieldValueInvalid', 'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`'],
    ],
  },
  {
    name: 'a Deployment with an empty selector',
    type: types.deployments,
    body: deployment({ selector: {} }),
    expect: [['spec.selector', 'FieldValueInvalid', 'Invalid value: {}: empty selector is invalid for deployment']],
  },
  {
    name: 'negative replicas',
    type: types.deployments,
    body: deployment({ replicas: -1 }),
    expect: [['spec.replicas', 'FieldValueInvalid', 'Invalid value: -1: must be greater than or equal to 0']],
  },
  {
    name: 'a ReplicaSet with negative replicas',
    type: types.replicasets,
    body: deployment({ replicas: -2 }, { name: 'rs' }),
    expect: [['spec.replicas', 'FieldValueInvalid', 'Invalid value: -2: must be greater than or equal to 0']],
  },
  {
    name: 'a template without containers',
    type: types.deployments,
    body: deployment({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [] } } }),
    expect: [['spec.template.spec.containers', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'a container without image',
    type: types.deployments,
    body: deployment({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web' }] } } }),
    expect: [['spec.template.spec.containers[0].image', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'a container without name',
    type: types.pods,
    body: pod({ containers: [{ image: 'nginx' }] }),
    expect: [['spec.containers[0].name', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'a container name that is not a DNS label',
    type: types.pods,
    body: pod({ containers: [{ name: 'Web', image: 'nginx' }] }),
    expect: [['spec.containers[0].name', 'FieldValueInvalid', 'Invalid value: "Web": a lowercase RFC 1123 label']],
  },
  {
    name: 'duplicate container names',
    type: types.pods,
    body: pod({ containers: [container, container] }),
    expect: [['spec.containers[1].name', 'FieldValueDuplicate', 'Duplicate value: "web"']],
  },
  {
    name: 'an init container named like a container',
    type: types.pods,
    body: pod({ initContainers: [{ name: 'web', image: 'busybox' }] }),
    expect: [['spec.containers[0].name', 'FieldValueDuplicate', 'Duplicate value: "web"']],
  },
  {
    name: 'a container port out of range',
    type: types.pods,
    body: pod({ containers: [{ ...container, ports: [{ containerPort: 70000 }] }] }),
    expect: [['spec.containers[0].ports[0].containerPort', 'FieldValueInvalid', 'Invalid value: 70000: must be between 1 and 65535, inclusive']],
  },
  {
    name: 'a host port out of range',
    type: types.pods,
    body: pod({ containers: [{ ...container, ports: [{ containerPort: 80, hostPort: -1 }] }] }),
    expect: [['spec.containers[0].ports[0].hostPort', 'FieldValueInvalid', 'Invalid value: -1: must be between 1 and 65535, inclusive']],
  },
  {
    name: 'duplicate container port names',
    type: types.pods,
    body: pod({
      containers: [
        {
          ...container,
          ports: [
            { name: 'http', containerPort: 80 },
            { name: 'http', containerPort: 81 },
          ],
        },
      ],
    }),
    expect: [['spec.containers[0].ports[1].name', 'FieldValueDuplicate', 'Duplicate value: "http"']],
  },
  {
    name: 'an unsupported port protocol',
    type: types.pods,
    body: pod({ containers: [{ ...container, ports: [{ containerPort: 80, protocol: 'HTTP' }] }] }),
    expect: [['spec.containers[0].ports[0].protocol', 'FieldValueNotSupported', 'Unsupported value: "HTTP": supported values: "TCP", "UDP", "SCTP"']],
  },
  {
    name: 'an unsupported restartPolicy',
    type: types.pods,
    body: pod({ restartPolicy: 'Sometimes' }),
    expect: [['spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "Sometimes"']],
  },
  {
    name: 'a Deployment template with restartPolicy Never',
    type: types.deployments,
    body: deployment({ template: { ...template, spec: { containers: [container], restartPolicy: 'Never' } } }),
    expect: [['spec.template.spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "Never": supported values: "Always"']],
  },
  {
    name: 'a probe with a negative period',
    type: types.pods,
    body: pod({ containers: [{ ...container, readinessProbe: { httpGet: { port: 80 }, periodSeconds: -5 } }] }),
    expect: [['spec.containers[0].readinessProbe.periodSeconds', 'FieldValueInvalid', 'Invalid value: -5: must be greater than or equal to 0']],
  },
  {
    name: 'a liveness probe with successThreshold 2',
    type: types.pods,
    body: pod({ containers: [{ ...container, livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }] }),
    expect: [['spec.containers[0].livenessProbe.successThreshold', 'FieldValueInvalid', 'Invalid value: 2: must be 1']],
  },
  {
    name: 'a probe port out of range',
    type: types.pods,
    body: pod({ containers: [{ ...container, readinessProbe: { httpGet: { port: 0 } } }] }),
    expect: [['spec.containers[0].readinessProbe.httpGet.port', 'FieldValueInvalid', 'Invalid value: 0: must be between 1 and 65535, inclusive']],
  },
  {
    name: 'a probe without a handler',
    type: types.pods,
    body: pod({ containers: [{ ...container, livenessProbe: { periodSeconds: 5 } }] }),
    expect: [['spec.containers[0].livenessProbe', 'FieldValueRequired', 'Required value: must specify a handler type']],
  },
  {
    name: 'a volume mount of an undeclared volume',
    type: types.pods,
    body: pod({ containers: [{ ...container, volumeMounts: [{ name: 'data', mountPath: '/data' }] }] }),
    expect: [['spec.containers[0].volumeMounts[0].name', 'FieldValueNotFound', 'Not found: "data"']],
  },
  {
    name: 'duplicate volume names',
    type: types.pods,
    body: pod({
      volumes: [
        { name: 'v', emptyDir: {} },
        { name: 'v', emptyDir: {} },
      ],
    }),
    expect: [['spec.volumes[1].name', 'FieldValueDuplicate', 'Duplicate value: "v"']],
  },
  {
    name: 'an env var without a name',
    type: types.pods,
    body: pod({ containers: [{ ...container, env: [{ value: 'x' }] }] }),
    expect: [['spec.containers[0].env[0].name', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'a toleration with Exists and a value',
    type: types.pods,
    body: pod({ tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }),
    expect: [['spec.tolerations[0].operator', 'FieldValueInvalid', 'Invalid value: "v": value must be empty when `operator` is \'Exists\'']],
  },
  {
    name: 'an invalid nodeSelector label',
    type: types.pods,
    body: pod({ nodeSelector: { 'a b': 'c' } }),
    expect: [['spec.nodeSelector', 'FieldValueInvalid', 'Invalid value: "a b"']],
  },
  {
    name: 'a Recreate strategy with rollingUpdate',
    type: types.deployments,
    body: deployment({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }),
    expect: [['spec.strategy.rollingUpdate', 'FieldValueForbidden', "Forbidden: may not be specified when strategy `type` is 'Recreate'"]],
  },
  {
    name: 'maxSurge and maxUnavailable both 0',
    type: types.deployments,
    body: deployment({ strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }),
    expect: [['spec.strategy.rollingUpdate.maxUnavailable', 'FieldValueInvalid', 'Invalid value: 0: may not be 0 when `maxSurge` is 0']],
  },
  {
    name: 'maxUnavailable over 100%',
    type: types.deployments,
    body: deployment({ strategy: { rollingUpdate: { maxUnavailable: '150%' } } }),
    expect: [['spec.strategy.rollingUpdate.maxUnavailable', 'FieldValueInvalid', 'Invalid value: "150%": must not be greater than 100%']],
  },
  {
    name: 'a malformed percentage',
    type: types.deployments,
    body: deployment({ strategy: { rollingUpdate: { maxSurge: 'half' } } }),
    expect: [['spec.strategy.rollingUpdate.maxSurge', 'FieldValueInvalid', 'Invalid value: "half": a valid percent string must be a numeric string']],
  },
  {
    name: 'a progress deadline not above minReadySeconds',
    type: types.deployments,
    body: deployment({ minReadySeconds: 30, progressDeadlineSeconds: 30 }),
    expect: [['spec.progressDeadlineSeconds', 'FieldValueInvalid', 'Invalid value: 30: must be greater than minReadySeconds']],
  },
  {
    name: 'a selector expression In without values',
    type: types.deployments,
    body: deployment({ selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In' }] } }),
    expect: [['spec.selector.matchExpressions[0].values', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'a Service without ports',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' } } },
    expect: [['spec.ports', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'a Service port 0',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { ports: [{ port: 0 }] } },
    expect: [['spec.ports[0].port', 'FieldValueInvalid', 'Invalid value: 0: must be between 1 and 65535, inclusive']],
  },
  {
    name: 'a Service port above 65535',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { ports: [{ port: 65536 }] } },
    expect: [['spec.ports[0].port', 'FieldValueInvalid', 'Invalid value: 65536: must be between 1 and 65535, inclusive']],
  },
  {
    name: 'unnamed ports on a multi-port Service',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80 }, { port: 443, name: 'https' }] } },
    expect: [['spec.ports[0].name', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'duplicate Service port names',
    type: types.services,
    body: {
      metadata: { name: 'web' },
      spec: {
        ports: [
          { port: 80, name: 'web' },
          { port: 81, name: 'web' },
        ],
      },
    },
    expect: [['spec.ports[1].name', 'FieldValueDuplicate', 'Duplicate value: "web"']],
  },
  {
    name: 'a Service targetPort out of range',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80, targetPort: 0x10000 }] } },
    expect: [['spec.ports[0].targetPort', 'FieldValueInvalid', 'Invalid value: 65536: must be between 1 and 65535, inclusive']],
  },
  {
    name: 'an unsupported Service type',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { type: 'Public', ports: [{ port: 80 }] } },
    expect: [['spec.type', 'FieldValueNotSupported', 'Unsupported value: "Public": supported values: "ClusterIP", "NodePort", "LoadBalancer", "ExternalName"']],
  },
  {
    name: 'an invalid Service selector',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { selector: { app: 'a b' }, ports: [{ port: 80 }] } },
    expect: [['spec.selector', 'FieldValueInvalid', 'Invalid value: "a b"']],
  },
  {
    name: 'a nodePort on a ClusterIP Service',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { ports: [{ port: 80, nodePort: 30080 }] } },
    expect: [['spec.ports[0].nodePort', 'FieldValueForbidden', "Forbidden: may not be used when `type` is 'ClusterIP'"]],
  },
  {
    name: 'an ExternalName Service without externalName',
    type: types.services,
    body: { metadata: { name: 'ext' }, spec: { type: 'ExternalName' } },
    expect: [['spec.externalName', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'an invalid clusterIP',
    type: types.services,
    body: { metadata: { name: 'web' }, spec: { clusterIP: '10.0.0', ports: [{ port: 80 }] } },
    expect: [['spec.clusterIP', 'FieldValueInvalid', 'Invalid value: "10.0.0": must be a valid IP address']],
  },
  {
    name: 'an invalid ConfigMap key',
    type: types.configmaps,
    body: { metadata: { name: 'c' }, data: { 'a/b': 'x' } },
    expect: [['data[a/b]', 'FieldValueInvalid', 'Invalid value: "a/b": a valid config key must consist of']],
  },
  {
    name: 'a key in both data and binaryData',
    type: types.configmaps,
    body: { metadata: { name: 'c' }, data: { k: 'x' }, binaryData: { k: 'eA==' } },
    expect: [['data[k]', 'FieldValueInvalid', 'Invalid value: "k": duplicate of key present in binaryData']],
  },
  {
    name: 'a TLS Secret without a key',
    type: types.secrets,
    body: { metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' } },
    expect: [['data[tls.key]', 'FieldValueRequired', 'Required value']],
  },
  {
    name: 'Secret data that is not base64',
    type: types.secrets,
    body: { metadata: { name: 's' }, data: { k: 'not base64!' } },
    expect: [['data[k]', 'FieldValueInvalid', 'Invalid value: "<secret contents redacted>": must be base64-encoded']],
  },
  {
    name: 'a Node taint with an unsupported effect',
    type: types.nodes,
    body: { metadata: { name: 'n' }, spec: { taints: [{ key: 'k', effect: 'Sometimes' }] } },
    expect: [['spec.taints[0].effect', 'FieldValueNotSupported', 'Unsupported value: "Sometimes"']],
  },
  {
    name: 'duplicate Node taints',
    type: types.nodes,
    body: {
      metadata: { name: 'n' },
      spec: {
        taints: [
          { key: 'k', effect: 'NoSchedule' },
          { key: 'k', value: 'v', effect: 'NoSchedule' },
        ],
      },
    },
    expect: [['spec.taints[1]', 'FieldValueDuplicate', 'Duplicate value:']],
  },
  {
    name: 'a Lease with a zero duration',
    type: types.leases,
    body: { metadata: { name: 'l' }, spec: { leaseDurationSeconds: 0 } },
    expect: [['spec.leaseDurationSeconds', 'FieldValueInvalid', 'Invalid value: 0: must be greater than zero']],
  },
  {
    name: 'an Ingress path without pathType',
    type: types.ingresses,
    body: { metadata: { name: 'i' }, spec: { rules: [{ http: { paths: [{ path: '/', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } },
    expect: [['spec.rules[0].http.paths[0].pathType', 'FieldValueRequired', 'Required value: pathType must be specified']],
  },
  {
    name: 'an Ingress backend with both port name and number',
    type: types.ingresses,
    body: { metadata: { name: 'i' }, spec: { defaultBackend: { service: { name: 'web', port: { name: 'http', number: 80 } } } } },
    expect: [['spec.defaultBackend.service.port', 'FieldValueInvalid', 'cannot set both port name & port number']],
  },
  {
    name: 'an EndpointSlice address of the wrong family',
    type: types.endpointslices,
    body: { metadata: { name: 'e' }, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] },
    expect: [['endpoints[0].addresses[0]', 'FieldValueInvalid', 'Invalid value: "fd00::1": must be a valid IPv4 address']],
  },
  {
    name: 'a wrongly typed field',
    type: types.deployments,
    body: deployment({ replicas: 'three' }),
    expect: [['spec.replicas', 'FieldValueInvalid', 'Invalid value: "three": must be of type number']],
  },
  {
    name: 'a probe header whose name is not a token',
    type: types.pods,
    body: pod({ containers: [{ ...container, livenessProbe: { httpGet: { port: 80, httpHeaders: [{ name: 'bad name', value: 'x' }] } } }] }),
    expect: [
      [
        'spec.containers[0].livenessProbe.httpGet.httpHeaders[0].name',
        'FieldValueInvalid',
        'Invalid value: "bad name": a valid HTTP header must consist of alphanumeric characters or \'-\'',
      ],
    ],
  },
  {
    name: 'a probe header value with a line break',
    type: types.pods,
    body: pod({ containers: [{ ...container, readinessProbe: { httpGet: { port: 80, httpHeaders: [{ name: 'X-A', value: 'a\nInjected: 1' }] } } }] }),
    expect: [['spec.containers[0].readinessProbe.httpGet.httpHeaders[0].value', 'FieldValueInvalid', 'must not contain control characters']],
  },
  {
    name: 'a probe host with a space',
    type: types.pods,
    body: pod({ containers: [{ ...container, startupProbe: { httpGet: { port: 80, host: 'a b' } } }] }),
    expect: [['spec.containers[0].startupProbe.httpGet.host', 'FieldValueInvalid', 'Invalid value: "a b": must be an IP address or a DNS name']],
  },
  {
    name: 'a TCP probe host with a space',
    type: types.pods,
    body: pod({ containers: [{ ...container, livenessProbe: { tcpSocket: { port: 80, host: 'a b' } } }] }),
    expect: [['spec.containers[0].livenessProbe.tcpSocket.host', 'FieldValueInvalid', 'must be an IP address or a DNS name']],
  },
  {
    name: 'a probe path with a space',
    type: types.pods,
    body: pod({ containers: [{ ...container, livenessProbe: { httpGet: { port: 80, path: '/health check' } } }] }),
    expect: [['spec.containers[0].livenessProbe.httpGet.path', 'FieldValueInvalid', 'must not contain spaces']],
  },
];

describe('validation on admission', () => {
  for (const c of cases) {
    it(`rejects ${c.name} with 422 and a field cause`, () => {
      const causes = causesOf(c.type, c.body);
      for (const [field, reason, message] of c.expect) {
        const match = causes.find((cause) => cause.field === field && cause.reason === reason && cause.message.includes(message));
        assert.ok(match, `no cause ${field} ${reason} "${message}…" in ${JSON.stringify(causes, null, 1)}`);
      }
    });
  }

  it('reports every failing field at once, with kind, group and name in the Status', () => {
    try {
      admit(
        types.deployments,
        deployment({ replicas: -1, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web' }] } } }, { name: 'Bad_Name' }),
        { operation: 'create' },
      );
      assert.fail('expected InvalidError');
    } catch (error) {
      const status = toStatus(error);
      assert.equal(status.code, 422);
      assert.equal(status.reason, 'Invalid');
      assert.deepEqual(
        { kind: status.details?.kind, group: status.details?.group, name: status.details?.name },
        { kind: 'Deployment', group: 'apps', name: 'Bad_Name' },
      );
      assert.deepEqual(
        status.details?.causes?.map((c) => c.field),
        ['metadata.name', 'spec.replicas', 'spec.template.spec.containers[0].image'],
      );
      assert.match(status.message ?? '', /^Deployment\.apps "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name"/);
    }
  });

  it('accepts a generateName without a name', () => {
    const { object } = admit(types.pods, { metadata: { generateName: 'web-' }, spec: { containers: [container] } }, { operation: 'create' });
    assert.equal(object.metadata.generateName, 'web-');
  });

  it('accepts a complete real-world Deployment manifest', () => {
    const manifest = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'api',
        namespace: 'prod',
        labels: { app: 'api', 'app.kubernetes.io/part-of': 'shop' },
        annotations: { 'kubernetes.io/change-cause': 'v2' },
      },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }] },
        template: {
          metadata: { labels: { app: 'api', tier: 'backend' } },
          spec: {
            serviceAccountName: 'api',
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'api', effect: 'NoSchedule' }],
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'api' } } } },
                ],
              },
            },
            securityContext: { runAsNonRoot: true, fsGroup: 2000 },
            initContainers: [{ name: 'migrate', image: 'shop/api:2.0', command: ['./migrate'] }],
            containers: [
              {
                name: 'api',
                image: 'shop/api:2.0',
                args: ['--port=8080'],
                ports: [{ name: 'http', containerPort: 8080 }],
                env: [
                  { name: 'DB_HOST', valueFrom: { configMapKeyRef: { name: 'db', key: 'host' } } },
                  { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                ],
                envFrom: [{ configMapRef: { name: 'api-env' } }],
                resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 10 },
                readinessProbe: { grpc: { port: 9090 } },
                startupProbe: { tcpSocket: { port: 8080 }, failureThreshold: 30 },
                lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
                volumeMounts: [{ name: 'config', mountPath: '/etc/api', readOnly: true }],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'api-config', items: [{ key: 'app.yaml', path: 'app.yaml' }] } }],
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'api' } } },
            ],
          },
        },
      },
    };
    const { object, warnings } = admit(types.deployments, manifest, { operation: 'create', fieldValidation: 'Strict' });
    assert.deepEqual(warnings, []);
    assert.equal((object.spec as { replicas: number }).replicas, 3);
  });
});

describe('probe targets the agent can reach', () => {
  for (const host of ['127.0.0.1', 'db.example.com', 'Example.COM', '::1', 'fd00::10']) {
    it(`accepts host ${host}`, () => {
      assert.deepEqual(
        causesOf(
          types.pods,
          pod({ containers: [{ ...container, livenessProbe: { httpGet: { port: 80, host, httpHeaders: [{ name: 'X-Tab', value: 'a\tb' }] } } }] }),
        ),
        [],
      );
    });
  }
});

describe('what Skiff runs of a PodSpec', () => {
  const refused: [string, Record<string, unknown>, string, RegExp][] = [
    [
      'an nfs volume',
      { volumes: [{ name: 'data', nfs: { server: 'files', path: '/data' } }] },
      'spec.volumes[0].nfs',
      /nfs volumes are not supported by Skiff yet; supported: emptyDir, configMap, secret, downwardAPI, projected, persistentVolumeClaim and hostPath \(read-only\)/,
    ],
    [
      'a clusterTrustBundle projection',
      { volumes: [{ name: 'bundle', projected: { sources: [{ clusterTrustBundle: { name: 'ca', path: 'ca.pem' } }] } }] },
      'spec.volumes[0].projected.sources[0].clusterTrustBundle',
      /clusterTrustBundle projections are not supported by Skiff yet/,
    ],
    [
      'container resources in a downwardAPI file',
      { volumes: [{ name: 'info', downwardAPI: { items: [{ path: 'cpu', resourceFieldRef: { containerName: 'c', resource: 'limits.cpu' } }] } }] },
      'spec.volumes[0].downwardAPI.items[0].resourceFieldRef',
      /not supported by Skiff yet/,
    ],
    [
      'a hostPath mounted writable',
      { volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }], containers: [{ ...container, volumeMounts: [{ name: 'logs', mountPath: '/logs' }] }] },
      'spec.containers[0].volumeMounts[0].readOnly',
      /mounts hostPath volumes read-only/,
    ],
    [
      'a privileged container',
      { containers: [{ ...container, securityContext: { privileged: true } }] },
      'spec.containers[0].securityContext.privileged',
      /not supported/,
    ],
    [
      'a capability other than NET_BIND_SERVICE',
      { containers: [{ ...container, securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'SYS_ADMIN'] } } }] },
      'spec.containers[0].securityContext.capabilities.add[1]',
      /Unsupported value: "SYS_ADMIN": supported values: "NET_BIND_SERVICE"/,
    ],
    ['sysctls', { securityContext: { sysctls: [{ name: 'net.core.somaxconn', value: '1024' }] } }, 'spec.securityContext.sysctls', /sysctls are not supported/],
    [
      'a Localhost seccomp profile',
      { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } } },
      'spec.securityContext.seccompProfile.type',
      /Unsupported value: "Localhost"/,
    ],
    [
      'a sidecar init container',
      { initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }] },
      'spec.initContainers[0].restartPolicy',
      /sidecar init containers/,
    ],
    [
      'a probe on an init container',
      { initContainers: [{ name: 'setup', image: 'busybox', readinessProbe: { exec: { command: ['true'] } } }] },
      'spec.initContainers[0].readinessProbe',
      /may not be set for init containers/,
    ],
  ];
  for (const [what, spec, field, message] of refused) {
    it(`refuses ${what} at admission, naming the field`, () => {
      const causes = causesOf(types.pods, pod(spec));
      assert.ok(
        causes.some((cause) => cause.field === field && message.test(cause.message)),
        `no cause at ${field} matching ${message} in ${JSON.stringify(causes, null, 1)}`,
      );
    });
  }

  it('accepts the volumes, securityContext and init containers Skiff runs', () => {
    const causes = causesOf(
      types.pods,
      pod({
        securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        volumes: [
          { name: 'scratch', emptyDir: {} },
          { name: 'config', configMap: { name: 'app' } },
          { name: 'tls', secret: { secretName: 'tls', defaultMode: 0o400 } },
          { name: 'host', hostPath: { path: '/etc/ssl/certs' } },
          {
            name: 'kube-api-access-x1y2z',
            projected: {
              sources: [
                { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
                { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
              ],
            },
          },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
        ],
        initContainers: [{ name: 'setup', image: 'busybox', command: ['true'], volumeMounts: [{ name: 'scratch', mountPath: '/work' }] }],
        containers: [
          {
            ...container,
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } },
            volumeMounts: [
              { name: 'config', mountPath: '/etc/app', readOnly: true },
              { name: 'tls', mountPath: '/etc/tls' },
              { name: 'host', mountPath: '/certs', readOnly: true },
              { name: 'scratch', mountPath: '/work', subPath: 'out' },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(causes, []);
  });
});
