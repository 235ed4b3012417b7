/** `core/v1` Service: ports, selector, type, and the address fields the API allocates. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { child, duplicate, type FieldCause, forbidden, index, invalid, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, conditionSchema, int32, intOrString, kindField, mergedBy, objectMetaSchema, stringMap } from './meta.ts';
import { checkLabels, checkName, isDns1035Label, isDns1123Label, isDns1123Subdomain } from './name-rules.ts';
import { protocolSchema } from './pod-spec.ts';
import { validatePortNumberOrName } from './pod-spec-validation.ts';

const coreV1 = 'io.k8s.api.core.v1';

export const servicePortSchema = z
  .object({
    name: z.string().optional(),
    protocol: protocolSchema.default('TCP'),
    appProtocol: z.string().optional(),
    port: int32.describe('The port the Service exposes.'),
    targetPort: intOrString.optional().describe('Number or name of the port on the pods; defaults to port.'),
    nodePort: int32.optional().describe('The port on every node for NodePort and LoadBalancer Services; allocated when absent.'),
  })
  .meta({ id: `${coreV1}.ServicePort`, description: 'A port a Service exposes and the pod port it forwards to.' });

export const serviceTypes = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

export const serviceSpecSchema = z
  .object({
    ports: z
      .array(servicePortSchema)
      .meta({
        'x-kubernetes-patch-merge-key': 'port',
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['port', 'protocol'],
      })
      .optional(),
    selector: stringMap.optional().describe('Routes traffic to pods with these labels.'),
    clusterIP: z.string().optional().describe('The virtual IP of the Service; allocated when absent, None for a headless Service; immutable.'),
    clusterIPs: z.array(z.string()).optional(),
    type: z.enum(serviceTypes).default('ClusterIP').describe('How the Service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
    externalIPs: z.array(z.string()).optional(),
    sessionAffinity: z.enum(['None', 'ClientIP']).default('None'),
    loadBalancerIP: z.string().optional(),
    loadBalancerSourceRanges: z.array(z.string()).optional(),
    externalName: z.string().optional(),
    externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    healthCheckNodePort: int32.optional(),
    publishNotReadyAddresses: z.boolean().optional(),
    sessionAffinityConfig: z.object({ clientIP: z.object({ timeoutSeconds: int32.optional() }).optional() }).optional(),
    ipFamilies: z.array(z.enum(['IPv4', 'IPv6'])).optional(),
    ipFamilyPolicy: z.enum(['SingleStack', 'PreferDualStack', 'RequireDualStack']).optional(),
    allocateLoadBalancerNodePorts: z.boolean().optional(),
    loadBalancerClass: z.string().optional(),
    internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    trafficDistribution: z.string().optional(),
  })
  .meta({ id: `${coreV1}.ServiceSpec`, description: 'The desired behaviour of a Service.' });

export const loadBalancerIngressSchema = z
  .object({
    ip: z.string().optional(),
    hostname: z.string().optional(),
    ipMode: z.string().optional(),
    ports: z.array(z.object({ port: int32, protocol: protocolSchema, error: z.string().optional() })).optional(),
  })
  .meta({ id: `${coreV1}.LoadBalancerIngress` });

export const serviceSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: serviceSpecSchema.default(() => serviceSpecSchema.parse({})),
    status: z
      .object({
        loadBalancer: z.object({ ingress: z.array(loadBalancerIngressSchema).optional() }).prefault({}),
        conditions: mergedBy(conditionSchema, 'type').optional(),
      })
      .meta({ id: `${coreV1}.ServiceStatus`, description: 'The most recently observed state of a Service (its load balancer).' })
      // Always sent as kube-apiserver sends it: `{"loadBalancer": {}}` at least.
      .prefault({}),
  })
  .meta({ id: `${coreV1}.Service`, description: 'A Service gives a set of pods, chosen by a label selector, one stable address and port.' });
export type Service = z.infer<typeof serviceSchema>;
type ServiceSpec = Service['spec'];

/** Seconds a ClientIP session sticks when the client does not say: 3 hours. */
const defaultClientIpTimeoutSeconds = 10800;

function defaultService(service: Service, old?: Service): Service {
  const spec = service.spec;
  const external = spec.type === 'ExternalName';
  const exposed = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  // A replace that leaves out the allocated address keeps it, as the apiserver does.
  const keep = old && !external && old.spec.type !== 'ExternalName' && !spec.clusterIP && old.spec.clusterIP;
  const next: ServiceSpec = {
    ...spec,
    ...(keep ? { clusterIP: old.spec.clusterIP, ...(old.spec.clusterIPs ? { clusterIPs: old.spec.clusterIPs } : {}) } : {}),
    ...(spec.ports
      ? {
          ports: spec.ports.map((p) => ({ ...p, targetPort: p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '' ? p.port : p.targetPort })),
        }
      : {}),
    ...(exposed ? { externalTrafficPolicy: spec.externalTrafficPolicy ?? 'Cluster' } : {}),
    ...(spec.type === 'LoadBalancer' ? { allocateLoadBalancerNodePorts: spec.allocateLoadBalancerNodePorts ?? true } : {}),
    ...(!external
      ? {
          internalTrafficPolicy: spec.internalTrafficPolicy ?? 'Cluster',
          ipFamilies: spec.ipFamilies ?? ['IPv4'],
          ipFamilyPolicy: spec.ipFamilyPolicy ?? 'SingleStack',
        }
      : {}),
    ...(spec.sessionAffinity === 'ClientIP'
      ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultClientIpTimeoutSeconds } } }
      : {}),
  };
  return { ...service, spec: next, status: service.status ?? { loadBalancer: {} } };
}

function validateService(service: Service): FieldCause[] {
  const spec = service.spec;
  const causes: FieldCause[] = [];
  const ports = spec.ports ?? [];
  if (spec.type === 'ExternalName') {
    if (!spec.externalName) causes.push(required('spec.externalName'));
    else causes.push(...checkName('spec.externalName', spec.externalName.replace(/\.$/, ''), isDns1123Subdomain));
  } else if (ports.length === 0 && spec.clusterIP !== 'None') causes.push(required('spec.ports'));
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((port, i) => {
    const at = index('spec.ports', i);
    if (!port.name) {
      if (ports.length > 1) causes.push(required(child(at, 'name')));
    } else {
      causes.push(...checkName(child(at, 'name'), port.name, isDns1123Label));
      if (names.has(port.name)) causes.push(duplicate(child(at, 'name'), port.name));
      names.add(port.name);
    }
    if (port.port < 1 || port.port > 65535) causes.push(invalid(child(at, 'port'), port.port, 'must be between 1 and 65535, inclusive'));
    if (port.targetPort !== undefined) causes.push(...validatePortNumberOrName(child(at, 'targetPort'), port.targetPort));
    if (port.nodePort !== undefined && port.nodePort !== 0 && (spec.type === 'ClusterIP' || spec.type === 'ExternalName')) {
      causes.push(forbidden(child(at, 'nodePort'), `may not be used when \`type\` is '${spec.type}'`));
    }
    const key = `${port.port}/${port.protocol}`;
    if (keys.has(key)) causes.push(duplicate(at, { port: port.port, protocol: port.protocol }));
    keys.add(key);
  });
  if (spec.type !== 'ExternalName') causes.push(...checkLabels('spec.selector', spec.selector));
  if (spec.clusterIP && spec.clusterIP !== 'None' && !isIP(spec.clusterIP)) {
    causes.push(invalid('spec.clusterIP', spec.clusterIP, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  }
  (spec.externalIPs ?? []).forEach((ip, i) => {
    if (!isIP(ip)) causes.push(invalid(index('spec.externalIPs', i), ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  });
  if (spec.externalTrafficPolicy && spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') {
    causes.push(invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, "may only be set when `type` is 'NodePort' or 'LoadBalancer'"));
  }
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (timeout !== undefined && (timeout < 1 || timeout > 86400)) {
    causes.push(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 'must be greater than 0 and less than 86400'));
  }
  return causes;
}

function validateServiceUpdate(service: Service, old: Service): FieldCause[] {
  const oldIp = old.spec.clusterIP;
  const newIp = service.spec.clusterIP;
  if (!oldIp || newIp === oldIp || service.spec.type === 'ExternalName' || old.spec.type === 'ExternalName') return [];
  // kube-apiserver first carries a changed clusterIP into clusterIPs[0], then refuses that change in
  // its words for clusterIPs (validateUpgradeDowngradeClusterIPs), quoting the list as Go prints it.
  const ips = [newIp ?? '', ...(service.spec.clusterIPs ?? []).slice(1)];
  return [invalid('spec.clusterIPs[0]', undefined, 'may not change once set', `[]string{${ips.map((ip) => JSON.stringify(ip)).join(', ')}}`)];
}

export const serviceRules: AnyKindRules = anyKind<Service>({
  schema: serviceSchema,
  nameRule: isDns1035Label,
  defaultsFromStored: defaultService,
  validate: validateService,
  validateUpdate: validateServiceUpdate,
});
