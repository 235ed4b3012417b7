/**
 * The node heartbeat endpoint (docs/adr/196): the two writes a node makes on a clock — the renewal
 * of its Lease in `kube-node-lease` and its Node's status — served apart from the rest of the API,
 * so that on AWS they reach a small Lambda behind a function URL (one invocation each) instead of
 * a WebSocket message or an API Gateway REST request. Whoever hosts it (the Lambda entry, which
 * takes the caller from the function URL's IAM authentication; the local host, from the node's
 * bearer token) names the user; this core lets through only
 *
 *   PUT /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/<node>
 *   PUT /api/v1/nodes/<node>/status
 *
 * from the node `<node>` itself, and serves them with the API core: the same authorization (the
 * node authorizer), admission (NodeRestriction), validation, optimistic concurrency (a stale
 * resourceVersion is a 409) and store write as the same request through the API, so a renewal
 * reaches every Lease watch as a REST update would.
 */
import { randomBytes } from 'node:crypto';
import { ForbiddenError, MethodNotAllowedError, NotFoundError, UnauthorizedError } from '../core/errors.ts';
import type { Authorizer } from '../domain/authorization/authorizer.ts';
import { nodeNameOf, type UserInfo } from '../domain/authorization/user-info.ts';
import type { Log } from '../logging/log.ts';
import type { ObjectStore } from '../store/store.ts';
import { createApi } from './app.ts';
import type { ApiHandler, ApiRequest, ApiResponse } from './http.ts';
import { errorResponse } from './responses.ts';

/** Where the local host serves the endpoint, beside the API on the same port. */
export const localHeartbeatPathPrefix = '/skiff-heartbeat';

export interface HeartbeatDependencies {
  readonly store: ObjectStore;
  /** The cluster's authorizer, as the API asks it. */
  readonly authorizer: Authorizer;
  readonly now?: () => Date;
  /** Only failures are logged: a line per renewal would cost more than the renewal. */
  readonly log?: Log;
}

/** A request of a user the host has already authenticated (undefined: nobody it knows: 401). */
export type HeartbeatHandler = (request: ApiRequest, user: UserInfo | undefined) => Promise<ApiResponse>;

const leasePath = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/kube-node-lease\/leases\/([^/]+)$/;
const nodeStatusPath = /^\/api\/v1\/nodes\/([^/]+)\/status$/;

/** The node a heartbeat path names, or undefined for any other path. */
export function heartbeatTarget(path: string): { readonly kind: 'lease' | 'nodeStatus'; readonly nodeName: string } | undefined {
  const lease = leasePath.exec(path);
  const status = lease ? undefined : nodeStatusPath.exec(path);
  const raw = lease?.[1] ?? status?.[1];
  if (raw === undefined) return undefined;
  let nodeName: string;
  try {
    nodeName = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return { kind: lease ? 'lease' : 'nodeStatus', nodeName };
}

/** Headers the endpoint never passes on: the host's user is the only identity a request carries. */
function withoutIdentityHeaders(headers: ApiRequest['headers']): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'authorization' && !name.startsWith('impersonate-')));
}

export function createHeartbeatEndpoint(deps: HeartbeatDependencies): HeartbeatHandler {
  /** Users of the requests in flight, by a token made for the one request and forgotten after it. */
  const inFlight = new Map<string, UserInfo>();
  const api: ApiHandler = createApi({
    store: deps.store,
    authenticators: [async (token) => inFlight.get(token)],
    authorizer: deps.authorizer,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.log ? { log: failuresOnly(deps.log) } : {}),
  });
  return async (request, user) => {
    try {
      if (!user) throw new UnauthorizedError();
      const target = heartbeatTarget(request.path);
      if (!target) {
        throw new NotFoundError(
          { resource: '', group: '', name: request.path },
          `the node heartbeat endpoint serves only a node's Lease renewal and its Node status, not ${request.path.slice(0, 200)}`,
        );
      }
      if (request.method.toUpperCase() !== 'PUT') throw new MethodNotAllowedError(`the node heartbeat endpoint takes only PUT, not ${request.method}`);
      const sender = nodeNameOf(user);
      if (sender === undefined) throw new ForbiddenError(`User "${user.username}" is not a node: the heartbeat endpoint is for nodes`);
      if (sender !== target.nodeName) {
        throw new ForbiddenError(
          target.kind === 'lease'
            ? `node "${sender}" is not allowed to renew the Lease of node "${target.nodeName}"`
            : `node "${sender}" is not allowed to modify node "${target.nodeName}"`,
        );
      }
      const token = randomBytes(24).toString('base64url');
      inFlight.set(token, user);
      try {
        return await api({ ...request, headers: { ...withoutIdentityHeaders(request.headers), authorization: `Bearer ${token}` } });
      } finally {
        inFlight.delete(token);
      }
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/** The log with its info and debug entries dropped. */
function failuresOnly(log: Log): Log {
  return {
    debug: () => {},
    info: () => {},
    warn: (message, fields) => log.warn(message, fields),
    error: (message, fields) => log.error(message, fields),
    child: (fields) => failuresOnly(log.child(fields)),
  };
}
