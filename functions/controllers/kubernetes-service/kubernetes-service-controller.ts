/**
 * The `kubernetes` Service of the `default` namespace, as kube-apiserver keeps it: the first
 * address of the service range, port 443 named `https` (protocol TCP) to the API server's port,
 * and, where the API server has an address pods can reach, the Endpoints and the EndpointSlice
 * named `kubernetes` pointing at it. In-cluster clients (and Kubernetes' own service tests) look
 * for it. The Service has no selector, so the endpoints controller leaves both alone; the
 * Endpoints carry `endpointslice.kubernetes.io/skip-mirror` as kube-apiserver's do.
 *
 * Deleted, changed or missing (the `default` namespace made again), it is made right on the next
 * change of any of them, or of the `default` namespace (every resync lists namespaces).
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';
import { sameJson } from '../../../schemas/structural-equality.ts';
import type { Controller, ControllerContext, ObjectChange, ReconcileKey } from '../../controller-runtime/controller.ts';
import { AlreadyExistsError, ConflictError, isApiError } from '../../core/errors.ts';
import { clusterDnsServiceIp, kubernetesServiceIp } from '../../domain/services/service-allocation-plan.ts';
import { getIfExists } from '../../store/list-all.ts';

export const KUBERNETES_SERVICE = 'kubernetes';
const namespace = 'default';

export interface ApiServerEndpoint {
  /** An address pods reach the API server at (locally the loopback address the API listens on). */
  readonly ip: string;
  readonly port: number;
}

export interface KubernetesServiceOptions {
  /** The service range (`--service-cluster-ip-range`): the Service takes its first address. */
  readonly serviceCidr?: string;
  /** Where the API server listens; without it (no address pods can reach) the Service has no endpoints. */
  readonly apiServer?: ApiServerEndpoint;
  /**
   * Where the cluster DNS server listens (UDP and TCP on one port): the `kube-dns` Service of
   * `kube-system` (the tenth address of the service range, ports 53 UDP and TCP, as kubeadm
   * makes it) is kept with endpoints there (docs/adr/139). Without it there is no kube-dns.
   */
  readonly clusterDns?: ApiServerEndpoint;
}

export const KUBE_DNS_SERVICE = 'kube-dns';
const dnsNamespace = 'kube-system';
const dnsKey: ReconcileKey = { typeId: types.services.id, namespace: dnsNamespace, name: KUBE_DNS_SERVICE };

/** The kube-dns Service's ClusterIP: the tenth address of the service range. */
export function clusterDnsIp(serviceCidr?: string): string {
  return clusterDnsServiceIp(serviceCidr);
}

export function desiredDnsObjects(options: KubernetesServiceOptions & { clusterDns: ApiServerEndpoint }): {
  service: KubeObject;
  endpoints: KubeObject;
  slice: KubeObject;
} {
  const ip = clusterDnsIp(options.serviceCidr);
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' };
  const ports = [
    { name: 'dns', port: options.clusterDns.port, protocol: 'UDP' },
    { name: 'dns-tcp', port: options.clusterDns.port, protocol: 'TCP' },
  ];
  return {
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: KUBE_DNS_SERVICE, namespace: dnsNamespace, labels },
      spec: {
        type: 'ClusterIP',
        clusterIP: ip,
        clusterIPs: [ip],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        sessionAffinity: 'None',
        internalTrafficPolicy: 'Cluster',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: options.clusterDns.port },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: options.clusterDns.port },
        ],
      },
    },
    endpoints: {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: KUBE_DNS_SERVICE, namespace: dnsNamespace, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets: [{ addresses: [{ ip: options.clusterDns.ip }], ports }],
    },
    slice: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: KUBE_DNS_SERVICE, namespace: dnsNamespace, labels: { 'kubernetes.io/service-name': KUBE_DNS_SERVICE } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [options.clusterDns.ip], conditions: { ready: true } }],
      ports,
    },
  };
}

const key: ReconcileKey = { typeId: types.services.id, namespace, name: KUBERNETES_SERVICE };
const watchedTypes = new Set([types.services.id, types.endpoints.id, types.endpointslices.id]);

export function desiredService(options: KubernetesServiceOptions): KubeObject {
  const ip = kubernetesServiceIp(options.serviceCidr);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: KUBERNETES_SERVICE, namespace, labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: ip,
      clusterIPs: [ip],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: options.apiServer?.port ?? 443 }],
    },
  };
}

export function desiredEndpoints(apiServer: ApiServerEndpoint): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: KUBERNETES_SERVICE, namespace, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: apiServer.ip }], ports: [{ name: 'https', port: apiServer.port, protocol: 'TCP' }] }],
  };
}

export function desiredEndpointSlice(apiServer: ApiServerEndpoint): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: KUBERNETES_SERVICE, namespace, labels: { 'kubernetes.io/service-name': KUBERNETES_SERVICE } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [apiServer.ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port: apiServer.port, protocol: 'TCP' }],
  };
}

/** Creates `desired`, or writes the fields `owned` over an existing one that differs in them. */
async function ensure(ctx: ControllerContext, type: ResourceType, desired: KubeObject, owned: readonly string[]): Promise<void> {
  const existing = await getIfExists(ctx.store, type, desired.metadata.namespace, desired.metadata.name ?? '');
  if (!existing) {
    await ctx.admission.create(type, desired);
    return;
  }
  const labels = { ...existing.metadata.labels, ...desired.metadata.labels };
  const next: KubeObject = { ...existing, metadata: { ...existing.metadata, labels } };
  for (const field of owned) (next as Record<string, unknown>)[field] = desired[field];
  if (!sameJson(next, existing)) await ctx.admission.update(type, next, existing);
}

function specPorts(service: KubeObject): KubeObject {
  // Only the ports are the controller's once the Service exists (its address never changes).
  const spec = (service.spec ?? {}) as Record<string, unknown>;
  return { ...service, spec: { ports: spec.ports } };
}

export function kubernetesServiceController(options: KubernetesServiceOptions = {}): Controller {
  const reconcileDns = async (ctx: ControllerContext) => {
    const clusterDns = options.clusterDns;
    if (!clusterDns) return undefined;
    const home = await getIfExists(ctx.store, types.namespaces, undefined, dnsNamespace);
    if (!home || home.metadata.deletionTimestamp) return undefined;
    const desired = desiredDnsObjects({ ...options, clusterDns });
    try {
      const existing = await getIfExists(ctx.store, types.services, dnsNamespace, KUBE_DNS_SERVICE);
      if (!existing) await ctx.admission.create(types.services, desired.service);
      else if (!sameJson(specPorts(existing).spec, specPorts(desired.service).spec)) {
        await ctx.admission.update(
          types.services,
          { ...existing, spec: { ...(existing.spec as object), ports: (desired.service.spec as { ports: unknown }).ports } },
          existing,
        );
      }
      await ensure(ctx, types.endpoints, desired.endpoints, ['subsets']);
      await ensure(ctx, types.endpointslices, desired.slice, ['addressType', 'endpoints', 'ports']);
    } catch (error) {
      if (error instanceof AlreadyExistsError || error instanceof ConflictError) return undefined;
      if (isApiError(error, 422)) {
        ctx.log.error('the kube-dns Service cannot be made', { error: error.message });
        return undefined;
      }
      throw error;
    }
    return undefined;
  };
  return {
    name: 'kubernetes-service-controller',
    resyncTypes: [types.namespaces],
    keysFor(change: ObjectChange): ReconcileKey[] {
      if (change.typeId === types.namespaces.id) {
        if (change.name === namespace) return [key];
        return change.name === dnsNamespace && options.clusterDns ? [dnsKey] : [];
      }
      if (!watchedTypes.has(change.typeId)) return [];
      if (change.namespace === namespace && change.name === KUBERNETES_SERVICE) return [key];
      return options.clusterDns && change.namespace === dnsNamespace && change.name === KUBE_DNS_SERVICE ? [dnsKey] : [];
    },
    async reconcile(reconcileKey, ctx) {
      if (reconcileKey.namespace === dnsNamespace) return reconcileDns(ctx);
      const home = await getIfExists(ctx.store, types.namespaces, undefined, namespace);
      if (!home || home.metadata.deletionTimestamp) return undefined;
      try {
        const service = desiredService(options);
        const existing = await getIfExists(ctx.store, types.services, namespace, KUBERNETES_SERVICE);
        if (!existing) await ctx.admission.create(types.services, service);
        else {
          const wanted = specPorts(service);
          if (!sameJson(specPorts(existing).spec, wanted.spec)) {
            await ctx.admission.update(types.services, { ...existing, spec: { ...(existing.spec as object), ...(wanted.spec as object) } }, existing);
          }
        }
        if (options.apiServer) {
          await ensure(ctx, types.endpoints, desiredEndpoints(options.apiServer), ['subsets']);
          await ensure(ctx, types.endpointslices, desiredEndpointSlice(options.apiServer), ['addressType', 'endpoints', 'ports']);
        }
      } catch (error) {
        // Another writer got there first: the change it made brings this key back.
        if (error instanceof AlreadyExistsError || error instanceof ConflictError) return undefined;
        if (isApiError(error, 422)) {
          ctx.log.error('the kubernetes Service cannot be made', { error: error.message });
          return undefined;
        }
        throw error;
      }
      return undefined;
    },
  };
}
