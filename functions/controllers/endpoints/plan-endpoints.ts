/**
 * The Endpoints and EndpointSlice a Service with a selector should have, from the pods of its
 * namespace (pure). Ready pods go to `addresses`, the others to `notReadyAddresses` (all to
 * `addresses` with `publishNotReadyAddresses`); terminating pods are left out of Endpoints and
 * kept in the slice with `terminating: true`, as the Kubernetes controllers do.
 */
import type { KubeObject } from '../../../schemas/meta.ts';
import { controllerRefTo } from '../../controller-runtime/owner-references.ts';
import { stableHash } from '../../controller-runtime/stable-hash.ts';
import { type PodView, resolveTargetPort, type ServiceView, viewPod, viewService } from '../../domain/services/service-view.ts';

export { resolveTargetPort };

export const serviceNameLabel = 'kubernetes.io/service-name';
export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
export const managedByValue = 'endpointslice-controller.k8s.io';

export interface EndpointPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: string;
}

export interface EndpointAddress {
  readonly ip: string;
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly targetRef: { readonly kind: 'Pod'; readonly namespace: string; readonly name: string; readonly uid?: string };
}

export interface EndpointSubset {
  readonly addresses?: readonly EndpointAddress[];
  readonly notReadyAddresses?: readonly EndpointAddress[];
  readonly ports?: readonly EndpointPort[];
}

export interface EndpointsPlan {
  /** The Endpoints object to hold (name = the Service's), without server-set metadata. */
  readonly endpoints: KubeObject;
  /** The one EndpointSlice of the Service. */
  readonly slice: KubeObject;
}

/** True when the controller keeps endpoints for this Service. */
export function managesEndpoints(service: ServiceView): boolean {
  return service.selector !== undefined && service.type !== 'ExternalName';
}

export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

function eligible(pod: PodView): boolean {
  return pod.podIP !== undefined && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

/**
 * The pod's hostname when it is named under this Service (`spec.subdomain` is the Service's name,
 * in its namespace), as both Kubernetes endpoint controllers set it: the cluster DNS answers
 * `<hostname>.<service>.<namespace>.svc.<domain>` from it.
 */
function hostnameUnder(service: ServiceView, pod: PodView): string | undefined {
  return pod.hostname && pod.subdomain === service.name && pod.namespace === service.namespace ? pod.hostname : undefined;
}

function addressOf(pod: PodView, hostname: string | undefined): EndpointAddress {
  return {
    ip: pod.podIP ?? '',
    ...(hostname ? { hostname } : {}),
    ...(pod.nodeName ? { nodeName: pod.nodeName } : {}),
    targetRef: { kind: 'Pod', namespace: pod.namespace, name: pod.name, ...(pod.uid ? { uid: pod.uid } : {}) },
  };
}

function portsFor(service: ServiceView, pod: PodView): EndpointPort[] {
  const ports: EndpointPort[] = [];
  for (const port of service.ports) {
    const target = resolveTargetPort(port, pod);
    if (target === undefined) continue;
    ports.push({ ...(port.name ? { name: port.name } : {}), port: target, protocol: port.protocol ?? 'TCP' });
  }
  return ports;
}

const byIp = (a: EndpointAddress, b: EndpointAddress) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.targetRef.name < b.targetRef.name ? -1 : 1);

export function planEndpoints(serviceObject: KubeObject, podObjects: readonly KubeObject[]): EndpointsPlan {
  const service = viewService(serviceObject);
  const selector = service.selector ?? {};
  const pods = podObjects
    .map(viewPod)
    .filter((pod) => pod.namespace === service.namespace && selectorMatches(selector, pod.labels) && eligible(pod))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const publishAll = service.spec.publishNotReadyAddresses === true;

  const subsets = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    if (pod.terminating && !publishAll) continue;
    const ports = portsFor(service, pod);
    if (service.ports.length > 0 && ports.length === 0) continue;
    const key = JSON.stringify(ports);
    const subset = subsets.get(key) ?? { ports, ready: [], notReady: [] };
    (publishAll || pod.ready ? subset.ready : subset.notReady).push(addressOf(pod, hostnameUnder(service, pod)));
    subsets.set(key, subset);
  }
  const subsetList: EndpointSubset[] = [...subsets.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => ({
      ...(s.ready.length > 0 ? { addresses: [...s.ready].sort(byIp) } : {}),
      ...(s.notReady.length > 0 ? { notReadyAddresses: [...s.notReady].sort(byIp) } : {}),
      ...(s.ports.length > 0 ? { ports: s.ports } : {}),
    }));

  const headless = service.spec.clusterIP === 'None';
  const labels = { ...(serviceObject.metadata.labels ?? {}), ...(headless ? { 'service.kubernetes.io/headless': '' } : {}) };
  const endpoints: KubeObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: service.name, namespace: service.namespace, labels },
    ...(subsetList.length > 0 ? { subsets: subsetList } : {}),
  };
  return { endpoints, slice: planSlice(serviceObject, service, pods, labels) };
}

/** The slice's name: stable for one incarnation of the Service, new for a re-created one. */
export function sliceName(service: KubeObject): string {
  const name = service.metadata.name ?? '';
  return `${name.slice(0, 200)}-${stableHash(service.metadata.uid ?? name).slice(0, 5)}`;
}

function planSlice(serviceObject: KubeObject, service: ServiceView, pods: readonly PodView[], labels: Record<string, string>): KubeObject {
  const endpoints = pods.map((pod) => ({
    addresses: [pod.podIP ?? ''],
    conditions: { ready: pod.ready && !pod.terminating, serving: pod.ready, terminating: pod.terminating },
    ...(hostnameUnder(service, pod) ? { hostname: hostnameUnder(service, pod) } : {}),
    ...(pod.nodeName ? { nodeName: pod.nodeName } : {}),
    targetRef: { kind: 'Pod', namespace: pod.namespace, name: pod.name, ...(pod.uid ? { uid: pod.uid } : {}) },
  }));
  // One slice per Service: its ports are those of the first pod that resolves them all.
  const first = pods.find((pod) => portsFor(service, pod).length === service.ports.length) ?? pods[0];
  const ports = service.ports.map((port) => {
    const target = first ? resolveTargetPort(port, first) : undefined;
    return { name: port.name ?? '', protocol: port.protocol ?? 'TCP', ...(target !== undefined ? { port: target } : {}) };
  });
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(serviceObject),
      namespace: service.namespace,
      labels: { ...labels, [serviceNameLabel]: service.name, [managedByLabel]: managedByValue },
      ...(serviceObject.metadata.uid ? { ownerReferences: [controllerRefTo(serviceObject)] } : {}),
    },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}

/** The fields this controller owns on each kind; a write happens only when they differ. */
export function endpointsContent(object: KubeObject): unknown {
  return { labels: object.metadata.labels ?? {}, subsets: object.subsets ?? [] };
}

export function sliceContent(object: KubeObject): unknown {
  return {
    labels: object.metadata.labels ?? {},
    ownerReferences: object.metadata.ownerReferences ?? [],
    addressType: object.addressType,
    endpoints: object.endpoints ?? [],
    ports: object.ports ?? [],
  };
}
