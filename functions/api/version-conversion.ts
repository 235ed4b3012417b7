/**
 * Serving a type at one of its older versions (`ResourceType.otherVersions`): the request's
 * object is converted to the stored version and the answer back, around the ordinary verbs.
 * autoscaling/v1 HorizontalPodAutoscaler is the one such version (`kubectl autoscale` posts it,
 * as protobuf). Get, list, create, update and delete are served; watch and patch at the old
 * version are refused with 405: clients use the preferred version for those.
 */
import { type HorizontalPodAutoscaler, horizontalPodAutoscalerFromV1, horizontalPodAutoscalerToV1 } from '../../schemas/horizontal-pod-autoscaler.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { apiVersionOf, type ResourceType, types } from '../../schemas/registry.ts';
import { MethodNotAllowedError } from '../core/errors.ts';
import { queryFlag } from '../core/query-flags.ts';
import type { ApiResponse, ReadRequest } from './http.ts';
import { decodeObjectBody } from './request-body.ts';
import type { ResourceRoute } from './routes.ts';

interface Conversion {
  /** The object at the old version, as the stored version. */
  readonly up: (object: Record<string, unknown>) => Record<string, unknown>;
  /** The stored object as the old version shows it. */
  readonly down: (object: KubeObject) => Record<string, unknown>;
}

const conversions: ReadonlyMap<string, ReadonlyMap<string, Conversion>> = new Map([
  [
    types.horizontalpodautoscalers.id,
    new Map([
      ['v1', { up: horizontalPodAutoscalerFromV1, down: (object: KubeObject) => horizontalPodAutoscalerToV1(object as unknown as HorizontalPodAutoscaler) }],
    ]),
  ],
]);

export async function serveOtherVersion(
  route: ResourceRoute & { servedVersion: string },
  request: ReadRequest,
  serve: (route: ResourceRoute, request: ReadRequest) => Promise<ApiResponse>,
): Promise<ApiResponse> {
  const conversion = conversions.get(route.type.id)?.get(route.servedVersion);
  const method = request.method.toUpperCase();
  if (!conversion || method === 'PATCH' || (method === 'GET' && (queryFlag(request.query, 'watch') || route.watchPath))) {
    throw new MethodNotAllowedError(`${method === 'GET' ? 'watch' : method.toLowerCase()} is served at ${apiVersionOf(route.type)} only`);
  }
  const { servedVersion: _old, ...storedRoute } = route;
  let forwarded = request;
  if ((method === 'POST' || method === 'PUT') && route.subresource === undefined) {
    const object = decodeObjectBody(request.body, request.headers['content-type']) as Record<string, unknown>;
    const converted = conversion.up(object);
    forwarded = { ...request, body: Buffer.from(JSON.stringify(converted)), headers: { ...request.headers, 'content-type': 'application/json' } };
  }
  const response = await serve(storedRoute, forwarded);
  return downgradeResponse(route.type, route.servedVersion, conversion, response);
}

function downgradeResponse(type: ResourceType, version: string, conversion: Conversion, response: ApiResponse): ApiResponse {
  if (response.body === undefined || !String(response.headers['content-type'] ?? '').startsWith('application/json')) return response;
  const body = JSON.parse(response.body.toString()) as { kind?: string; apiVersion?: string; items?: KubeObject[] };
  const oldApiVersion = type.group ? `${type.group}/${version}` : version;
  let converted: unknown = body;
  if (body.kind === type.kind) converted = conversion.down(body as KubeObject);
  else if (body.kind === type.listKind) converted = { ...body, apiVersion: oldApiVersion, items: (body.items ?? []).map((item) => conversion.down(item)) };
  else return response;
  return { ...response, body: JSON.stringify(converted) };
}
