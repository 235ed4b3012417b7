/**
 * Requests to the API core as the HTTP hosts hand them over, for unit tests that drive
 * `createApi` without a server: an admin bearer token, a client's user agent, a JSON body.
 *
 *   const call = apiCaller(() => api);
 *   const created = responseJson(await call('/api/v1/namespaces/default/configmaps', { method: 'POST', body: cm }));
 */
import { type ApiDependencies, createApi } from '../../functions/api/app.ts';
import type { ApiHandler, ApiResponse } from '../../functions/api/http.ts';
import { superuserAuthorizer } from '../../functions/domain/authorization/authorizer.ts';

export interface ApiCall {
  readonly method?: string;
  /** An object is sent as JSON; a string as it is. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  readonly signal?: AbortSignal;
}

/** The API core as `apiCaller`'s admin token reaches it: that token is a superuser, nobody else is anyone. */
export function adminApi(dependencies: Omit<ApiDependencies, 'authenticators' | 'authorizer'>): ApiHandler {
  return createApi({
    authenticators: [async (token) => (token === 'admin-token' ? { username: 'admin', groups: ['system:masters'] } : undefined)],
    authorizer: superuserAuthorizer,
    ...dependencies,
  });
}

/** A caller of the API the thunk returns at each call (tests make a fresh API per test). */
export function apiCaller(api: () => ApiHandler, userAgent = 'kubectl/v1.32.0'): (path: string, options?: ApiCall) => Promise<ApiResponse> {
  return (path, options = {}) => {
    const url = new URL(path, 'https://server');
    const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    return api()({
      method: options.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: {
        authorization: 'Bearer admin-token',
        'user-agent': userAgent,
        ...(options.body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
        ...(options.accept ? { accept: options.accept } : {}),
      },
      body,
      signal: options.signal ?? new AbortController().signal,
      requestId: 'test',
    });
  };
}

export function responseJson(response: ApiResponse): any {
  return JSON.parse(String(response.body));
}
