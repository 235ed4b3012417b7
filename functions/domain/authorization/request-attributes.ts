/**
 * What an HTTP request asks to do, read from its method, path and query exactly as
 * kube-apiserver's RequestInfoFactory reads them, before anything knows whether the resource
 * exists (so a user who may not list a resource gets 403, not a hint that it is missing).
 *
 *   GET    /api/v1/namespaces/demo/pods                → list pods in demo
 *   GET    /api/v1/namespaces/demo/pods?watch=true     → watch pods in demo
 *   GET    /api/v1/pods?fieldSelector=metadata.name=x  → list pods, name x
 *   DELETE /apis/apps/v1/namespaces/demo/deployments   → deletecollection deployments.apps in demo
 *   GET    /api/v1/namespaces/demo                     → get namespaces "demo" in the namespace demo
 *   GET    /healthz                                    → get path /healthz (a non-resource request)
 */
import { queryFlag } from '../../core/query-flags.ts';
import type { AuthorizationAttributes } from './authorizer.ts';
import type { UserInfo } from './user-info.ts';

/** Segments after the namespace name that address the Namespace itself, not a resource in it. */
const namespaceSubresources = new Set(['status', 'finalize']);
/** `/api/v1/watch/...` and `/api/v1/proxy/...`: the verb is in the path. */
const specialVerbs = new Set(['proxy', 'watch']);

function methodVerb(method: string): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

/** Splits a selector on commas that are not escaped with a backslash. */
function selectorTerms(text: string): string[] {
  const terms: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && i + 1 < text.length) {
      current += char + text[i + 1];
      i++;
    } else if (char === ',') {
      terms.push(current);
      current = '';
    } else current += char;
  }
  terms.push(current);
  return terms;
}

/**
 * The value a field selector requires `field` to equal (`field=v` or `field==v`), or undefined
 * when it does not pin the field to one value (absent, `!=`, or two different values).
 */
export function exactFieldValue(selector: string | undefined, field: string): string | undefined {
  if (!selector) return undefined;
  let found: string | undefined;
  for (const term of selectorTerms(selector)) {
    const match = /^\s*([^=!\s]+)\s*(==|=)\s*(.*?)\s*$/.exec(term);
    if (!match || match[1] !== field) continue;
    const value = (match[3] ?? '').replace(/\\(.)/g, '$1');
    if (found !== undefined && found !== value) return undefined;
    found = value;
  }
  return found;
}

/** A name kube-apiserver accepts as one path segment (what `metadata.name=` may set the request's name to). */
function isValidPathSegmentName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

export interface HttpRequestFacts {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
}

/** The authorization attributes of one HTTP request by `user`. */
export function requestAttributes(user: UserInfo, request: HttpRequestFacts): AuthorizationAttributes {
  const method = request.method.toUpperCase();
  const nonResource: AuthorizationAttributes = {
    user,
    verb: method.toLowerCase(),
    resourceRequest: false,
    path: request.path,
    namespace: '',
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    name: '',
  };
  let parts = request.path.split('/').filter((part) => part !== '');
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource;
  let apiGroup = '';
  if (parts[0] === 'apis') {
    if (parts.length < 4) return nonResource;
    apiGroup = parts[1] ?? '';
    parts = parts.slice(2);
  } else parts = parts.slice(1);
  const apiVersion = parts[0] ?? '';
  parts = parts.slice(1);

  let verb: string;
  let verbInPath = false;
  if (specialVerbs.has(parts[0] ?? '') && parts.length >= 2) {
    verb = parts[0] ?? '';
    verbInPath = true;
    parts = parts.slice(1);
  } else verb = methodVerb(method);

  let namespace = '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1] ?? '';
    if (parts.length > 2 && !namespaceSubresources.has(parts[2] ?? '')) parts = parts.slice(2);
  }
  const resource = parts[0] ?? '';
  let name = parts[1] ?? '';
  // A proxy's path goes on past the name; only for other verbs is the third segment a subresource.
  const subresource = parts.length >= 3 && verb !== 'proxy' ? (parts[2] ?? '') : '';

  const fieldSelector = request.query.get('fieldSelector') ?? undefined;
  const labelSelector = request.query.get('labelSelector') ?? undefined;
  if (name === '' && verb === 'get' && !verbInPath) {
    verb = queryFlag(request.query, 'watch') ? 'watch' : 'list';
    // A list pinned to one name is about that object: `resourceNames` rules apply to it.
    const pinned = exactFieldValue(fieldSelector, 'metadata.name');
    if (pinned !== undefined && isValidPathSegmentName(pinned)) name = pinned;
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  return {
    user,
    verb,
    resourceRequest: true,
    path: request.path,
    namespace,
    apiGroup,
    apiVersion,
    resource,
    subresource,
    name,
    ...(fieldSelector ? { fieldSelector } : {}),
    ...(labelSelector ? { labelSelector } : {}),
  };
}
