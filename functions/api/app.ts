/**
 * The Kubernetes API server core: authentication, then routing to discovery, OpenAPI and the
 * resource verbs; every error becomes a Kubernetes Status. Hosts (Lambda, the local HTTPS
 * server) call the `ApiHandler` this returns.
 */
import { NotFoundError, UnauthorizedError } from '../core/errors.ts';
import type { ObjectStore } from '../store/store.ts';
import { apiGroup, apiResourceList, rootDiscovery } from './discovery.ts';
import type { ApiHandler, ApiRequest, ApiResponse } from './http.ts';
import { RequestMetrics } from './metrics.ts';
import { openApiGroupVersion, openApiIndex } from './openapi.ts';
import { type PodLogSource, serveResource } from './resource-verbs.ts';
import { errorResponse, jsonResponse } from './responses.ts';
import { parseRoute, type Route } from './routes.ts';
import type { StrategyOptions } from './strategies.ts';
export interface UserInfo {
  readonly username: string;
  readonly groups: readonly string[];
}

export interface ApiDependencies {
  readonly store: ObjectStore;
  /** Resolves a bearer token to a user; undefined for an unknown token. */
  authenticate(token: string): Promise<UserInfo | undefined>;
  readonly now?: () => Date;
  readonly podLogs?: PodLogSource;
  readonly strategy?: Partial<StrategyOptions>;
  /** Structured log sink; one entry per request. */
  readonly log?: (entry: Record<string, unknown>) => void;
}

/** What `/version` reports: kubectl's dispatcher picks the 1.32 client from `minor`. */
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-skiff',
  gitCommit: 'skiff',
  gitTreeState: 'clean',
  buildDate: '2026-11-01T00:00:00Z',
  goVersion: 'n/a',
  compiler: 'skiff',
  platform: 'linux/amd64',
} as const;

/** Paths answered without a token, as Kubernetes' system:public-info-viewer allows. */
const PUBLIC_ROUTES = new Set<Route['kind']>(['version', 'healthz', 'readyz', 'livez']);

export function createApi(dependencies: ApiDependencies): ApiHandler {
  const now = dependencies.now ?? (() => new Date());
  const metrics = new RequestMetrics();
  const context = {
    store: dependencies.store,
    now,
    strategy: { defaultTolerationSeconds: 300, ...dependencies.strategy },
    ...(dependencies.podLogs ? { podLogs: dependencies.podLogs } : {}),
  };

  async function route(request: ApiRequest): Promise<{ response: ApiResponse; resource: string }> {
    const target = parseRoute(request.path);
    if (!PUBLIC_ROUTES.has(target.kind)) await authenticate(request);
    const accept = request.headers.accept;
    switch (target.kind) {
      case 'version':
        return { response: jsonResponse(200, SERVER_VERSION), resource: '' };
      case 'healthz':
      case 'readyz':
      case 'livez':
        return { response: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' }, resource: '' };
      case 'metrics':
        return { response: { status: 200, headers: { 'content-type': 'text/plain; version=0.0.4' }, body: metrics.render() }, resource: '' };
      case 'openapi-v2':
        throw new NotFoundError({ resource: '', group: '', name: '' }, 'the server could not find the requested resource');
      case 'openapi-v3-index':
        return { response: jsonResponse(200, openApiIndex()), resource: '' };
      case 'openapi-v3': {
        const document = openApiGroupVersion(target.groupVersionPath);
        if (!document) throw new NotFoundError({ resource: '', group: '', name: '' }, 'the server could not find the requested resource');
        return { response: jsonResponse(200, document, { 'cache-control': 'public, immutable' }), resource: '' };
      }
      case 'api-root':
      case 'apis-root': {
        const { contentType, body } = rootDiscovery(target.kind === 'api-root' ? 'api' : 'apis', accept);
        return { response: jsonResponse(200, body, { 'content-type': contentType }), resource: '' };
      }
      case 'api-group': {
        const group = apiGroup(target.group);
        if (!group) throw new NotFoundError({ resource: '', group: '', name: '' }, 'the server could not find the requested resource');
        return { response: jsonResponse(200, group), resource: '' };
      }
      case 'api-resources': {
        const list = apiResourceList(target.group, target.version);
        if (!list) throw new NotFoundError({ resource: '', group: '', name: '' }, 'the server could not find the requested resource');
        return { response: jsonResponse(200, list), resource: '' };
      }
      case 'resource':
        return {
          response: await serveResource(target, request, context),
          resource: target.subresource ? `${target.type.plural}/${target.subresource}` : target.type.plural,
        };
    }
  }

  async function authenticate(request: ApiRequest): Promise<UserInfo> {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const user = match ? await dependencies.authenticate(match[1]!) : undefined;
    if (!user) throw new UnauthorizedError();
    return user;
  }

  return async (request) => {
    const started = performance.now();
    let response: ApiResponse;
    let resource = '';
    try {
      ({ response, resource } = await route(request));
    } catch (error) {
      response = errorResponse(error);
      if (response.status >= 500) {
        dependencies.log?.({
          level: 'ERROR',
          message: 'request failed',
          requestId: request.requestId,
          error: error instanceof Error ? error.stack : String(error),
        });
      }
    }
    const seconds = (performance.now() - started) / 1000;
    metrics.record(request.method, resource, response.status, seconds);
    dependencies.log?.({
      level: 'INFO',
      message: 'request',
      requestId: request.requestId,
      method: request.method,
      path: request.path,
      status: response.status,
      ms: Math.round(seconds * 1000),
    });
    return response;
  };
}
