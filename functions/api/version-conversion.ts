/**
 * Serving a type at one of its older versions (`ResourceType.otherVersions`): the request's
 * object is converted to the stored version and the answer back, around the ordinary verbs.
 * autoscaling/v1 HorizontalPodAutoscaler is the one such version (`kubectl autoscale` posts it,
 * as protobuf). Every verb is served at the old version: get, list, watch (each event's object
 * converted), create, update, delete, and json, merge and strategic patches, which apply to the
 * object as the old version shows it and are written back as an update conditional on the
 * version read (again from a fresh read when another writer came between, as kube-apiserver's
 * patcher does). Server-side apply at the old version is refused with 405: its field ownership
 * is kept at the stored version.
 */
import { type HorizontalPodAutoscaler, horizontalPodAutoscalerFromV1, horizontalPodAutoscalerToV1 } from '../../schemas/horizontal-pod-autoscaler.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { apiVersionOf, type ResourceType, types } from '../../schemas/registry.ts';
import { isApiError, MethodNotAllowedError } from '../core/errors.ts';
import type { ApiResponse, ReadRequest } from './http.ts';
import { applyPatch, parsePatchBody, patchTypeOf } from './patch/index.ts';
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

/** Attempts of a patch at the old version while other writers change the object in between. */
const maxPatchAttempts = 5;

export async function serveOtherVersion(
  route: ResourceRoute & { servedVersion: string },
  request: ReadRequest,
  serve: (route: ResourceRoute, request: ReadRequest) => Promise<ApiResponse>,
): Promise<ApiResponse> {
  const conversion = conversions.get(route.type.id)?.get(route.servedVersion);
  const method = request.method.toUpperCase();
  const patchType = method === 'PATCH' ? patchTypeOf(request.headers['content-type']) : undefined;
  if (!conversion || patchType === 'apply') {
    throw new MethodNotAllowedError(`${patchType === 'apply' ? 'server-side apply' : method.toLowerCase()} is served at ${apiVersionOf(route.type)} only`);
  }
  const { servedVersion: _old, ...storedRoute } = route;
  if (patchType !== undefined) {
    const patched = await patchAtOldVersion(storedRoute, request, conversion, patchType, serve);
    return downgradeResponse(route.type, route.servedVersion, conversion, patched);
  }
  let forwarded = request;
  if ((method === 'POST' || method === 'PUT') && route.subresource === undefined) {
    const object = decodeObjectBody(request.body, request.headers['content-type']) as Record<string, unknown>;
    const converted = conversion.up(object);
    forwarded = { ...request, body: Buffer.from(JSON.stringify(converted)), headers: { ...request.headers, 'content-type': 'application/json' } };
  }
  const response = await serve(storedRoute, forwarded);
  if (response.stream) return { ...response, stream: downgradeEvents(route.type, route.servedVersion, conversion, response.stream) };
  return downgradeResponse(route.type, route.servedVersion, conversion, response);
}

/**
 * A json, merge or strategic patch applied to the object as the old version shows it, written
 * back as an update at the stored version, conditional on the resourceVersion read. A conflict
 * reads again and reapplies, unless the patch itself named the resourceVersion (the client's
 * precondition, answered 409 as it would be by a patch at the stored version).
 */
async function patchAtOldVersion(
  storedRoute: ResourceRoute,
  request: ReadRequest,
  conversion: Conversion,
  patchType: 'json' | 'merge' | 'strategic',
  serve: (route: ResourceRoute, request: ReadRequest) => Promise<ApiResponse>,
): Promise<ApiResponse> {
  const patch = parsePatchBody(patchType, request.body);
  const json = { 'content-type': 'application/json', accept: 'application/json' };
  for (let attempt = 1; ; attempt++) {
    const read = await serve(storedRoute, {
      ...request,
      method: 'GET',
      query: new URLSearchParams(),
      headers: { ...request.headers, ...json },
      body: Buffer.alloc(0),
    });
    const current = conversion.down(JSON.parse(String(read.body)) as KubeObject) as unknown as KubeObject;
    const patched = applyPatch(storedRoute.type, current, patch, patchType);
    const preconditioned = patched.metadata.resourceVersion !== current.metadata.resourceVersion;
    const body = Buffer.from(JSON.stringify(conversion.up(patched as unknown as Record<string, unknown>)));
    try {
      return await serve(storedRoute, { ...request, method: 'PUT', headers: { ...request.headers, ...json }, body });
    } catch (error) {
      if (!isApiError(error, 409) || preconditioned || attempt >= maxPatchAttempts) throw error;
    }
  }
}

/** A watch's events with each object of the type as the old version shows it (bookmarks keep only their resourceVersion). */
async function* downgradeEvents(type: ResourceType, version: string, conversion: Conversion, events: AsyncIterable<string | Buffer>): AsyncIterable<string> {
  const oldApiVersion = type.group ? `${type.group}/${version}` : version;
  let partial = '';
  for await (const chunk of events) {
    const lines = (partial + String(chunk)).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as { type: string; object?: KubeObject };
      if (event.object?.kind === type.kind) {
        event.object = event.type === 'BOOKMARK' ? { ...event.object, apiVersion: oldApiVersion } : (conversion.down(event.object) as unknown as KubeObject);
      }
      yield `${JSON.stringify(event)}\n`;
    }
  }
  if (partial.trim() !== '') yield partial;
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
