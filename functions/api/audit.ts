/**
 * The audit log: one JSON line per request that changes something and per request refused
 * (401, 403), shaped like a Kubernetes `audit.k8s.io/v1` Event at the `Metadata` level — who,
 * which verb, on what, and the response code. Request and response bodies are never in it, so
 * neither is Secret data.
 */
import type { AuthorizationAttributes } from '../domain/authorization/authorizer.ts';
import type { UserInfo } from '../domain/authorization/user-info.ts';

export interface AuditEvent {
  readonly kind: 'Event';
  readonly apiVersion: 'audit.k8s.io/v1';
  readonly level: 'Metadata';
  readonly auditID: string;
  readonly stage: 'ResponseComplete';
  readonly requestURI: string;
  readonly verb: string;
  readonly user: { readonly username?: string; readonly uid?: string; readonly groups?: readonly string[] };
  readonly impersonatedUser?: { readonly username: string; readonly groups: readonly string[] };
  readonly userAgent?: string;
  readonly objectRef?: {
    readonly resource: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
    readonly apiVersion?: string;
    readonly subresource?: string;
  };
  readonly responseStatus: { readonly code: number; readonly reason?: string; readonly message?: string };
  readonly requestReceivedTimestamp: string;
  readonly stageTimestamp: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type AuditSink = (event: AuditEvent) => void;

const changingVerbs = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Sessions into a pod: audited whatever their verb (kubectl's WebSocket upgrades are GETs). */
const sessionSubresources = new Set(['pods/exec', 'pods/attach', 'pods/portforward']);

/**
 * Audited: every request whose verb changes something, every session into a pod (exec, attach,
 * port-forward), and every request refused by authentication or authorization.
 */
export function isAudited(verb: string | undefined, code: number, resource?: string): boolean {
  if (resource !== undefined && sessionSubresources.has(resource)) return true;
  return code === 401 || code === 403 || (verb !== undefined && changingVerbs.has(verb));
}

export interface AuditFacts {
  readonly requestId: string;
  readonly requestURI: string;
  readonly userAgent?: string;
  readonly received: Date;
  readonly finished: Date;
  /** Who authenticated; undefined when authentication failed. */
  readonly authenticated?: UserInfo;
  /** What was asked, as the real or impersonated user; undefined when the request never got that far. */
  readonly attributes?: AuthorizationAttributes;
  /** The verb when attributes are unknown (a 401): the lower-case HTTP method. */
  readonly method: string;
  readonly status: { readonly code: number; readonly reason?: string; readonly message?: string };
  readonly decision?: { readonly verdict: 'allow' | 'forbid'; readonly reason: string };
}

function userOf(user: UserInfo | undefined): AuditEvent['user'] {
  if (!user) return {};
  return { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups };
}

export function auditEvent(facts: AuditFacts): AuditEvent {
  const attributes = facts.attributes;
  const impersonated = attributes && facts.authenticated && attributes.user.username !== facts.authenticated.username ? attributes.user : undefined;
  // Only authorization's own messages are kept: other messages may quote what was sent.
  const keepMessage = facts.status.code === 401 || facts.status.code === 403;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: facts.requestId,
    stage: 'ResponseComplete',
    requestURI: facts.requestURI,
    verb: attributes?.verb ?? facts.method.toLowerCase(),
    user: userOf(facts.authenticated),
    ...(impersonated ? { impersonatedUser: { username: impersonated.username, groups: impersonated.groups } } : {}),
    ...(facts.userAgent ? { userAgent: facts.userAgent } : {}),
    ...(attributes?.resourceRequest
      ? {
          objectRef: {
            resource: attributes.resource,
            ...(attributes.namespace ? { namespace: attributes.namespace } : {}),
            ...(attributes.name ? { name: attributes.name } : {}),
            apiGroup: attributes.apiGroup,
            apiVersion: attributes.apiVersion,
            ...(attributes.subresource ? { subresource: attributes.subresource } : {}),
          },
        }
      : {}),
    responseStatus: {
      code: facts.status.code,
      ...(facts.status.reason ? { reason: facts.status.reason } : {}),
      ...(keepMessage && facts.status.message ? { message: facts.status.message } : {}),
    },
    requestReceivedTimestamp: facts.received.toISOString(),
    stageTimestamp: facts.finished.toISOString(),
    ...(facts.decision
      ? {
          annotations: {
            'authorization.k8s.io/decision': facts.decision.verdict,
            'authorization.k8s.io/reason': facts.decision.reason,
          },
        }
      : {}),
  };
}
