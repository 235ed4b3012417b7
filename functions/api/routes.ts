/**
 * Parses request paths of the Kubernetes API into what they address. Pure: no I/O.
 *
 *   /api/v1/namespaces/demo/pods/web/log     → resource pods, namespace demo, name web, subresource log
 *   /apis/apps/v1/deployments                → resource deployments across all namespaces
 *   /api/v1/namespaces/demo                  → the Namespace "demo" itself
 *   /api/v1/watch/namespaces/demo/pods/web   → a watch of pod web in demo (the deprecated path form)
 */
import { findType, type ResourceType, type Subresource } from '../../schemas/registry.ts';
import { BadRequestError, NotFoundError } from '../core/errors.ts';

export type Route =
  | { readonly kind: 'version' | 'metrics' | 'openapi-v2' }
  | { readonly kind: 'healthz' | 'readyz' | 'livez'; readonly check?: string }
  | { readonly kind: 'openapi-v3-index' }
  | { readonly kind: 'openapi-v3'; readonly groupVersionPath: string }
  | { readonly kind: 'api-root' | 'apis-root' }
  | { readonly kind: 'api-group'; readonly group: string }
  | { readonly kind: 'api-resources'; readonly group: string; readonly version: string }
  | ResourceRoute;

export interface ResourceRoute {
  readonly kind: 'resource';
  readonly type: ResourceType;
  /** The namespace in the path; undefined for cluster-scoped types and all-namespace lists. */
  readonly namespace?: string;
  /** Absent: the collection. */
  readonly name?: string;
  readonly subresource?: Subresource;
  /**
   * The request came by the deprecated watch path (`/api/v1/watch/...`, `/apis/<g>/<v>/watch/...`):
   * a watch whatever the query says, of the one object when the path names it.
   */
  readonly watchPath?: true;
  /** The version in the path when it is one of the type's other versions (served by conversion). */
  readonly servedVersion?: string;
}

function notFound(path: string): NotFoundError {
  return new NotFoundError({ resource: '', group: '', name: path }, 'the server could not find the requested resource');
}

export function parseRoute(path: string): Route {
  const trimmed = path.replace(/\/+$/, '') || '/';
  switch (trimmed) {
    case '/version':
      return { kind: 'version' };
    case '/healthz':
    case '/readyz':
    case '/livez':
    case '/metrics':
      return { kind: trimmed.slice(1) as 'healthz' | 'readyz' | 'livez' | 'metrics' };
    case '/openapi/v2':
      return { kind: 'openapi-v2' };
    case '/openapi/v3':
      return { kind: 'openapi-v3-index' };
    case '/api':
      return { kind: 'api-root' };
    case '/apis':
      return { kind: 'apis-root' };
  }
  if (trimmed.startsWith('/healthz/') || trimmed.startsWith('/readyz/') || trimmed.startsWith('/livez/')) {
    const [, kind, check] = trimmed.split('/');
    return { kind: kind as 'healthz' | 'readyz' | 'livez', ...(check ? { check } : {}) };
  }
  if (trimmed.startsWith('/openapi/v3/')) {
    return { kind: 'openapi-v3', groupVersionPath: trimmed.slice('/openapi/v3/'.length) };
  }
  const raw = trimmed.split('/').slice(1);
  // `/api/v1/namespaces//pods` names no namespace: it must not list them all.
  if (raw.some((segment) => segment === '')) throw notFound(path);
  const segments = raw.map((segment) => decodeSegment(segment));
  if (segments.some((segment) => segment === '')) throw notFound(path);
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api') {
    group = '';
    version = segments[1] ?? '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis') {
    group = segments[1] ?? '';
    if (segments.length === 2) return { kind: 'api-group', group };
    version = segments[2] ?? '';
    rest = segments.slice(3);
  } else {
    throw notFound(path);
  }
  if (rest.length === 0) return { kind: 'api-resources', group, version };
  if (rest[0] === 'watch') {
    // kube-apiserver serves watch/ paths only for collections and their objects, never subresources.
    const route = resourceRoute(path, group, version, rest.slice(1));
    if (route.subresource !== undefined || !route.type.verbs.includes('watch')) throw notFound(path);
    return { ...route, watchPath: true };
  }
  return resourceRoute(path, group, version, rest);
}

function resourceRoute(path: string, group: string, version: string, rest: string[]): ResourceRoute {
  let namespace: string | undefined;
  let remainder = rest;
  // `/namespaces/<ns>/<plural>...` addresses namespaced objects; `/namespaces/<name>[/status]`
  // addresses the Namespace itself.
  if (group === '' && rest[0] === 'namespaces' && rest.length >= 3 && !isNamespaceSubresource(rest[2])) {
    namespace = rest[1];
    remainder = rest.slice(2);
  } else if (group !== '' && rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    remainder = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = remainder;
  const type = plural ? findType(group, version, plural) : undefined;
  if (!type || extra.length > 0) throw notFound(path);
  if (namespace !== undefined && !type.namespaced) throw notFound(path);
  if (subresource !== undefined && !type.subresources.includes(subresource as Subresource)) throw notFound(path);
  return {
    kind: 'resource',
    type,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource: subresource as Subresource } : {}),
    ...(version !== type.version && type.otherVersions.includes(version) ? { servedVersion: version } : {}),
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError(`invalid URL escape in path segment ${JSON.stringify(segment)}`);
  }
}

function isNamespaceSubresource(segment: string | undefined): boolean {
  return segment === 'status' || segment === 'finalize';
}
