/**
 * The Kubernetes API server core: the request pipeline — authenticate (a chain of token
 * authenticators) → impersonation → authorize → admission (inside the verbs, just before a
 * write) → the verbs — and routing to discovery, OpenAPI and the resource verbs; every error
 * becomes a Kubernetes Status, and requests that change something or are refused are audited.
 * Hosts (Lambda, the local HTTPS server) call the `ApiHandler` this returns.
 */

import { RBAC_GROUP } from '../../schemas/rbac.ts';
import { isBuiltInGroup } from '../../schemas/registry.ts';
import { ApiError, BadRequestError, NotFoundError, UnauthorizedError } from '../core/errors.ts';
import { wantsPrettyOutput } from '../core/query-flags.ts';
import { sharedWebhookAdmission, type WebhookAdmission } from '../domain/admission-webhooks/webhook-admission.ts';
import type { ServiceAccountKeySource } from '../domain/authentication/service-account-tokens.ts';
import { bearerToken, chainAuthenticators, type TokenAuthenticator } from '../domain/authentication/token-authenticators.ts';
import { type AuthorizationAttributes, type Authorizer, forbiddenError } from '../domain/authorization/authorizer.ts';
import { impersonate, impersonationOf } from '../domain/authorization/impersonation.ts';
import { requestAttributes } from '../domain/authorization/request-attributes.ts';
import { ANONYMOUS, type UserInfo } from '../domain/authorization/user-info.ts';
import { customResourceSync } from '../domain/custom-resources/custom-resource-sync.ts';
import type { NodeStatsSource } from '../domain/metrics/node-stats.ts';
import { type AdmissionSettings, createAdmission } from '../domain/object-admission/admission.ts';
import type { PodStreamLocator } from '../domain/pods/pod-streams.ts';
import type { Log } from '../logging/log.ts';
import type { ObjectStore } from '../store/store.ts';
import { admissionWebhooksPlugin } from './admission/admission-webhooks.ts';
import { nodeRestrictionPlugin } from './admission/node-restriction.ts';
import { rbacEscalationPlugin } from './admission/rbac-escalation.ts';
import type { AdmissionPlugin } from './admission/request-admission.ts';
import { type AuditSink, auditEvent, isAudited } from './audit.ts';
import { apiGroup, apiResourceList, rootDiscovery } from './discovery.ts';
import { answerHealth, type HealthCheck } from './health-checks.ts';
import type { ApiHandler, ApiRequest, ApiResponse, ReadRequest } from './http.ts';
import { createListsAhead } from './lists-ahead.ts';
import { RequestMetrics } from './metrics.ts';
import { openApiGroupVersion, openApiIndex } from './openapi.ts';
import { OPENAPI_V2_PROTOBUF, openApiV2Document, openApiV2Protobuf, wantsOpenApiV2Protobuf } from './openapi-v2.ts';
import { readRequestBody } from './request-body.ts';
import { type PodLogSource, serveResource } from './resource-verbs.ts';
import { asYamlWhenPreferred, errorResponse, jsonResponse } from './responses.ts';
import { parseRoute } from './routes.ts';

export type { UserInfo } from '../domain/authorization/user-info.ts';

export interface ApiDependencies {
  readonly store: ObjectStore;
  /**
   * Bearer-token authenticators, asked in order; the first that knows the token names the user
   * (docs/adr/120). A request without a token is anonymous, allowed only on the public paths.
   */
  readonly authenticators: readonly TokenAuthenticator[];
  /** Decides every request after authentication and impersonation (RBAC, the node authorizer). */
  readonly authorizer: Authorizer;
  /** Admission plugins that depend on the user (NodeRestriction, ServiceAccount), run before each write. */
  readonly admission?: readonly AdmissionPlugin[];
  readonly now?: () => Date;
  readonly podLogs?: PodLogSource;
  /** Where exec, attach and port-forward upgrades go (the local host's node agents); none behind API Gateway. */
  readonly podStreams?: PodStreamLocator;
  /** Where `metrics.k8s.io` reads the nodes' figures (the kubelets' Summary API locally). */
  readonly nodeStats?: NodeStatsSource;
  /** Cluster settings of admission (the default tolerations' seconds): the controllers must get the same. */
  readonly admissionSettings?: Partial<AdmissionSettings>;
  /** The structured log: one entry per request, one more for a request that failed with a 5xx. */
  readonly log?: Log;
  /** What must work for the API to be ready: `/readyz` and `/healthz` fail while one fails (docs/adr/108). */
  readonly readiness?: readonly HealthCheck[];
  /** The audit log: requests that change something and requests refused (docs/adr/124). */
  readonly audit?: AuditSink;
  /** The admission webhooks (docs/adr/207); by default the one of this store, shared with the control loops of the process. */
  readonly webhooks?: WebhookAdmission;
  /** Signs ServiceAccount tokens (TokenRequest); the hosts keep the key (docs/adr/122). */
  readonly serviceAccountKeys?: ServiceAccountKeySource;
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

/**
 * Paths a request without a token may ask for, as `system:anonymous` in
 * `system:unauthenticated` (kube-apiserver's anonymous authentication limited to the health and
 * version endpoints); RBAC still decides (`system:public-info-viewer` allows them).
 */
function isAnonymousPath(path: string): boolean {
  return path === '/version' || /^\/(healthz|readyz|livez)(\/|$)/.test(path);
}

/** Segments decoded as the router decodes them; a malformed escape is the client's error. */
function decodedPath(path: string): string {
  try {
    return path
      .split('/')
      .map((segment) => decodeURIComponent(segment))
      .join('/');
  } catch {
    throw new BadRequestError(`the request path is not valid: malformed percent-encoding in ${JSON.stringify(path.slice(0, 200))}`);
  }
}

/**
 * Whether serving this path may depend on the CustomResourceDefinitions: discovery of named
 * groups, the OpenAPI documents, and every group that is not a built-in one (docs/adr/179).
 * Requests for built-in kinds never pay the check.
 */
function dependsOnCustomResources(path: string): boolean {
  if (path === '/apis' || path.startsWith('/openapi/')) return true;
  if (!path.startsWith('/apis/')) return false;
  const group = path.split('/')[2] ?? '';
  return !isBuiltInGroup(group);
}

const writeVerbs = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** What the pipeline learned about a request, for the audit log and metrics. */
interface RequestTrail {
  authenticated?: UserInfo;
  attributes?: AuthorizationAttributes;
  decision?: { verdict: 'allow' | 'forbid'; reason: string };
  resource: string;
}

/** `?pretty=true`: the JSON body indented by two spaces, as kube-apiserver's response writer does. */
function indented(response: ApiResponse): ApiResponse {
  if (typeof response.body !== 'string' || !response.headers['content-type']?.startsWith('application/json')) return response;
  return { ...response, body: `${JSON.stringify(JSON.parse(response.body), null, 2)}\n` };
}

export function createApi(dependencies: ApiDependencies): ApiHandler {
  const now = dependencies.now ?? (() => new Date());
  const metrics = new RequestMetrics();
  const authenticateToken = chainAuthenticators(dependencies.authenticators);
  const authorizer = dependencies.authorizer;
  const syncCustomResources = customResourceSync(dependencies.store);
  const webhooks = dependencies.webhooks ?? sharedWebhookAdmission(dependencies.store);
  // No namespace cache: every create reads its namespace, so a namespace just marked for deletion refuses at once.
  const admission = createAdmission({
    store: dependencies.store,
    ...(dependencies.admissionSettings ? { settings: dependencies.admissionSettings } : {}),
    webhooks,
  });
  const baseContext = {
    store: dependencies.store,
    now,
    admission,
    authorizer,
    authenticate: authenticateToken,
    ...(dependencies.serviceAccountKeys ? { serviceAccountKeys: dependencies.serviceAccountKeys } : {}),
    // Kubernetes' built-in plugins that depend on the request, always on; hosts add their own after
    // them. ServiceAccount admission needs no user: it is a step of the one admission path (pod-strategy.ts).
    // The admission webhooks come last, as kube-apiserver runs them after its built-in plugins.
    admissionPlugins: [
      nodeRestrictionPlugin,
      rbacEscalationPlugin(authorizer),
      ...(dependencies.admission ?? []),
      admissionWebhooksPlugin(webhooks, admission),
    ],
    ...(dependencies.podLogs ? { podLogs: dependencies.podLogs } : {}),
    ...(dependencies.podStreams ? { podStreams: dependencies.podStreams } : {}),
    ...(dependencies.nodeStats ? { nodeStats: dependencies.nodeStats } : {}),
    listsAhead: createListsAhead(),
  };

  /** The body is read here, after authentication and authorization, never before (docs/adr/125). */
  async function withBody(request: ApiRequest): Promise<ReadRequest> {
    const method = request.method.toUpperCase();
    const carriesBody = method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
    const body = carriesBody ? await readRequestBody(request.body, request.headers['content-length']) : Buffer.alloc(0);
    return { ...request, body };
  }

  async function authenticate(request: ApiRequest): Promise<UserInfo> {
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') {
      if (isAnonymousPath(request.path)) return ANONYMOUS;
      throw new UnauthorizedError();
    }
    const token = bearerToken(header);
    const user = token ? await authenticateToken(token) : undefined;
    if (!user) throw new UnauthorizedError();
    return user;
  }

  async function route(request: ApiRequest, trail: RequestTrail): Promise<ApiResponse> {
    // 1. authentication
    const authenticated = await authenticate(request);
    trail.authenticated = authenticated;
    const path = decodedPath(request.path);
    // 2. impersonation (itself authorized: the real user must be allowed to `impersonate`)
    const asked = impersonationOf(request.headers);
    const user = asked ? await impersonate(authorizer, authenticated, asked) : authenticated;
    // 3. authorization
    const attributes = requestAttributes(user, { method: request.method, path, query: request.query });
    trail.attributes = attributes;
    const decision = await authorizer.authorize(attributes);
    trail.decision = { verdict: decision.verdict === 'allow' ? 'allow' : 'forbid', reason: decision.reason };
    if (decision.verdict !== 'allow') throw forbiddenError(attributes, decision.reason);
    // 4. routing; admission runs inside the verbs, right before each write
    if (dependsOnCustomResources(path)) await syncCustomResources();
    const target = parseRoute(request.path);
    const accept = request.headers.accept;
    switch (target.kind) {
      case 'version':
        return jsonResponse(200, SERVER_VERSION);
      case 'healthz':
      case 'readyz':
        return answerHealth(target.kind, dependencies.readiness ?? [], request.query, target.check);
      case 'livez':
        // Alive is alive: a dead DynamoDB makes the API unready, not a process to restart.
        return answerHealth('livez', [], request.query, target.check);
      case 'metrics':
        return { status: 200, headers: { 'content-type': 'text/plain; version=0.0.4' }, body: metrics.render() };
      case 'openapi-v2':
        // kubectl 1.27 and 1.28 ask for protobuf only; anything else gets the same document as JSON.
        if (wantsOpenApiV2Protobuf(accept)) {
          return { status: 200, headers: { 'content-type': OPENAPI_V2_PROTOBUF }, body: Buffer.from(openApiV2Protobuf()) };
        }
        return jsonResponse(200, openApiV2Document());
      case 'openapi-v3-index':
        return jsonResponse(200, openApiIndex());
      case 'openapi-v3': {
        const document = openApiGroupVersion(target.groupVersionPath);
        if (!document) throw new NotFoundError({ resource: '', group: '', name: '' }, 'the server could not find the requested resource');
        return jsonResponse(200, document, { 'cache-control': 'public, immutable' });
      }
      case 'api-root':
      case 'apis-root': {
        const { contentType, body } = rootDiscovery(target.kind === 'api-root' ? 'api' : 'apis', accept);
        return jsonResponse(200, body, { 'content-type': contentType });
      }
      case 'api-group': {
        const group = apiGroup(target.group);
        if (!group) throw new NotFoundError({ resource: '', group: '', name: '' }, 'the server could not find the requested resource');
        return jsonResponse(200, group);
      }
      case 'api-resources': {
        const list = apiResourceList(target.group, target.version);
        if (!list) throw new NotFoundError({ resource: '', group: '', name: '' }, 'the server could not find the requested resource');
        return jsonResponse(200, list);
      }
      case 'resource': {
        trail.resource = target.subresource ? `${target.type.plural}/${target.subresource}` : target.type.plural;
        const response = await serveResource(target, await withBody(request), { ...baseContext, user });
        // RBAC objects written here count from this process's next request on.
        if (target.type.group === RBAC_GROUP && target.type.persisted && response.status < 300 && writeVerbs.has(attributes.verb)) authorizer.invalidate?.();
        return response;
      }
    }
  }

  function audit(request: ApiRequest, trail: RequestTrail, response: ApiResponse, error: unknown, received: Date): void {
    if (
      !dependencies.audit ||
      !isAudited(
        trail.attributes?.verb,
        response.status,
        trail.attributes?.subresource ? `${trail.attributes.resource}/${trail.attributes.subresource}` : undefined,
      )
    )
      return;
    const query = request.query.toString();
    const status = error instanceof ApiError ? { code: error.code, reason: error.reason, message: error.message } : { code: response.status };
    dependencies.audit(
      auditEvent({
        requestId: request.requestId,
        requestURI: query ? `${request.path}?${query}` : request.path,
        ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
        received,
        finished: now(),
        ...(trail.authenticated ? { authenticated: trail.authenticated } : {}),
        ...(trail.attributes ? { attributes: trail.attributes } : {}),
        method: request.method,
        status,
        ...(trail.decision ? { decision: trail.decision } : {}),
      }),
    );
  }

  return async (request) => {
    const started = performance.now();
    const received = now();
    const trail: RequestTrail = { resource: '' };
    let response: ApiResponse;
    let failure: unknown;
    try {
      response = await route(request, trail);
    } catch (error) {
      failure = error;
      response = errorResponse(error);
      if (response.status >= 500) {
        dependencies.log?.error('request failed', { requestId: request.requestId, error: error instanceof Error ? error.stack : String(error) });
      }
    }
    const seconds = (performance.now() - started) / 1000;
    metrics.record(request.method, trail.resource, response.status, seconds);
    dependencies.log?.info('request', {
      requestId: request.requestId,
      method: request.method,
      path: request.path,
      status: response.status,
      ms: Math.round(seconds * 1000),
    });
    audit(request, trail, response, failure, received);
    return asYamlWhenPreferred(request.headers.accept, wantsPrettyOutput(request.query) ? indented(response) : response);
  };
}
