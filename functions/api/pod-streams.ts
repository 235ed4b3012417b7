/**
 * `pods/exec`, `pods/attach` and `pods/portforward`: the request pipeline has authenticated and
 * authorized the upgrade (`get` for kubectl's WebSocket GET, `create` for its SPDY POST, as in
 * Kubernetes); here the pod and container are checked as kube-apiserver checks them, and the
 * answer names the node endpoint the host passes the upgrade on to (docs/adr/140).
 */
import { types } from '../../schemas/registry.ts';
import { BadRequestError, isApiError, MethodNotAllowedError, NotFoundError } from '../core/errors.ts';
import type { PodStreamKind, PodStreamLocator } from '../domain/pods/pod-streams.ts';
import type { ObjectReader } from '../store/store.ts';
import type { ApiResponse, ReadRequest } from './http.ts';
import type { ResourceRoute } from './routes.ts';

interface PodSpecNames {
  nodeName?: string;
  containers?: { name: string }[];
  initContainers?: { name: string }[];
  ephemeralContainers?: { name: string }[];
}

export async function servePodStream(
  route: ResourceRoute,
  request: ReadRequest,
  context: { readonly store: ObjectReader; readonly podStreams?: PodStreamLocator },
): Promise<ApiResponse> {
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST') throw new MethodNotAllowedError();
  const kind = route.subresource as PodStreamKind;
  const podName = route.name!;
  const pod = await context.store.get(types.pods, route.namespace, podName);
  const spec = (pod.spec ?? {}) as PodSpecNames;
  let container: string | undefined;
  if (kind !== 'portforward') {
    const containers = spec.containers ?? [];
    const all = [...containers, ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
    container = request.query.get('container') || (containers.length === 1 ? containers[0]!.name : undefined);
    if (!container) {
      throw new BadRequestError(`a container name must be specified for pod ${podName}, choose one of: [${containers.map((c) => c.name).join(' ')}]`);
    }
    if (!all.some((c) => c.name === container)) throw new BadRequestError(`container ${container} is not valid for pod ${podName}`);
    if (kind === 'exec' && request.query.getAll('command').length === 0) {
      throw new BadRequestError('you must specify at least one command for the container');
    }
  }
  if (!spec.nodeName) throw new BadRequestError(`pod ${podName} does not have a host assigned`);
  if (!context.podStreams) {
    throw new BadRequestError(
      `${kind === 'portforward' ? 'port forwarding' : kind} is not available on this server: its API endpoint cannot hold an upgraded connection (see docs/adr/140)`,
    );
  }
  const node = await context.store.get(types.nodes, undefined, spec.nodeName).catch((error: unknown) => {
    if (isApiError(error, 404)) throw new NotFoundError({ resource: 'nodes', group: '', name: spec.nodeName! });
    throw error;
  });
  const target = context.podStreams({ kind, pod, node, ...(container !== undefined ? { container } : {}), query: request.query });
  return { status: 101, headers: {}, upgrade: target };
}
