/**
 * `metrics.k8s.io/v1beta1`, what metrics-server serves behind its APIService: NodeMetrics and
 * PodMetrics, get and list with a label selector, computed on each request from the nodes'
 * latest figures (`functions/domain/metrics/`). Without a source of figures the group answers
 * 503, as an APIService whose backend is missing does.
 */
import { types } from '../../schemas/registry.ts';
import { MethodNotAllowedError, NotFoundError, ServiceUnavailableError } from '../core/errors.ts';
import type { NodeStatsSource } from '../domain/metrics/node-stats.ts';
import { collectPodMetrics, nodeMetricsOf, nodeStatsReader } from '../domain/metrics/resource-metrics.ts';
import { listAll } from '../store/list-all.ts';
import type { ObjectReader } from '../store/store.ts';
import type { ApiResponse, ReadRequest } from './http.ts';
import { jsonResponse } from './responses.ts';
import type { ResourceRoute } from './routes.ts';

export interface MetricsContext {
  readonly store: ObjectReader;
  readonly now: () => Date;
  readonly nodeStats?: NodeStatsSource;
}

export async function serveResourceMetrics(route: ResourceRoute, request: ReadRequest, context: MetricsContext): Promise<ApiResponse> {
  if (request.method.toUpperCase() !== 'GET' || route.subresource) throw new MethodNotAllowedError();
  const source = context.nodeStats;
  if (!source) throw new ServiceUnavailableError('the server is currently unable to handle the request (no node figures are collected on this host)');
  const labelSelector = request.query.get('labelSelector') || undefined;
  const now = context.now();
  const read = nodeStatsReader((name) => context.store.get(types.nodes, undefined, name).catch(() => undefined), source);
  if (route.type.id === types.podmetrics.id) {
    const pods =
      route.name !== undefined
        ? [await context.store.get(types.pods, route.namespace, route.name).catch(() => undefined)].filter((pod) => pod !== undefined)
        : await listAll(context.store, types.pods, {
            ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
            ...(labelSelector ? { labelSelector } : {}),
          });
    const items = await collectPodMetrics(pods, read, now);
    if (route.name !== undefined) {
      const [item] = items;
      if (!item)
        throw new NotFoundError({ resource: 'pods', group: 'metrics.k8s.io', name: route.name }, `podmetrics.metrics.k8s.io "${route.name}" not found`);
      return jsonResponse(200, item);
    }
    return jsonResponse(200, { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items });
  }
  const nodes =
    route.name !== undefined
      ? [await context.store.get(types.nodes, undefined, route.name).catch(() => undefined)].filter((node) => node !== undefined)
      : await listAll(context.store, types.nodes, labelSelector ? { labelSelector } : {});
  const items = (await Promise.all(nodes.map(async (node) => nodeMetricsOf(node, await source(node).catch(() => undefined), now)))).filter(
    (item) => item !== undefined,
  );
  if (route.name !== undefined) {
    const [item] = items;
    if (!item)
      throw new NotFoundError({ resource: 'nodes', group: 'metrics.k8s.io', name: route.name }, `nodemetrics.metrics.k8s.io "${route.name}" not found`);
    return jsonResponse(200, item);
  }
  return jsonResponse(200, { kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items });
}
