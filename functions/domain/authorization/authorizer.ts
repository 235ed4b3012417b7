/**
 * The authorization step of the request pipeline, as Kubernetes has it: the attributes of one
 * request (who, which verb, on what), authorizers that allow, deny or have no opinion, a union
 * of them asked in order, and Kubernetes' exact 403 message. Anything that serves the API —
 * the HTTP API, the agents' WebSocket channel — asks the same authorizer.
 */
import { ForbiddenError } from '../../core/errors.ts';
import { SYSTEM_MASTERS, type UserInfo } from './user-info.ts';

/** What a request asks to do, as Kubernetes' `authorizer.Attributes`. */
export interface AuthorizationAttributes {
  readonly user: UserInfo;
  /** get, list, watch, create, update, patch, delete, deletecollection, impersonate, bind, escalate, ...; for paths the lower-case HTTP method. */
  readonly verb: string;
  /** false for a path outside the resource API (`/version`, `/healthz`, `/openapi/v3`...). */
  readonly resourceRequest: boolean;
  /** The URL path, for non-resource requests. */
  readonly path: string;
  /** '' for cluster-scoped objects and requests across all namespaces. */
  readonly namespace: string;
  /** API group; '' for the core group. */
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
  /** '' when the request is not about one named object. */
  readonly name: string;
  /** The list or watch's field selector (authorization with selectors, Kubernetes 1.31+). */
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

export type Verdict = 'allow' | 'deny' | 'no-opinion';

export interface Decision {
  readonly verdict: Verdict;
  /** Why, when there is something to say (RBAC: the roles it could not find). */
  readonly reason: string;
}

export interface ResourceRule {
  readonly verbs: readonly string[];
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
}

export interface NonResourceRule {
  readonly verbs: readonly string[];
  readonly nonResourceURLs: readonly string[];
}

/** The rules a user has in one namespace: what SelfSubjectRulesReview reports. */
export interface UserRules {
  readonly resourceRules: readonly ResourceRule[];
  readonly nonResourceRules: readonly NonResourceRule[];
  /** True when an authorizer could not list what it allows (the node authorizer's graph). */
  readonly incomplete: boolean;
  readonly evaluationError?: string;
}

export interface Authorizer {
  authorize(attributes: AuthorizationAttributes): Promise<Decision>;
  /** Every rule this authorizer grants the user in `namespace` (cluster-wide rules included). */
  rulesFor(user: UserInfo, namespace: string): Promise<UserRules>;
  /** Policy this process just wrote must count from the next request on (RBAC's cache). */
  invalidate?(): void;
}

export const allow = (reason = ''): Decision => ({ verdict: 'allow', reason });
export const deny = (reason = ''): Decision => ({ verdict: 'deny', reason });
export const noOpinion = (reason = ''): Decision => ({ verdict: 'no-opinion', reason });

export const noRules: UserRules = { resourceRules: [], nonResourceRules: [], incomplete: false };

/** Members of `system:masters` may do anything, whatever the policy says (kube-apiserver's privileged group). */
export const superuserAuthorizer: Authorizer = {
  async authorize(attributes) {
    return attributes.user.groups.includes(SYSTEM_MASTERS) ? allow() : noOpinion();
  },
  async rulesFor(user) {
    if (!user.groups.includes(SYSTEM_MASTERS)) return noRules;
    return {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
      incomplete: false,
    };
  },
};

/**
 * Allows every authenticated request: kube-apiserver's `AlwaysAllow` mode, what Skiff did before
 * it had RBAC; for tests and benchmarks that measure something else.
 */
export const alwaysAllowAuthorizer: Authorizer = {
  async authorize() {
    return allow();
  },
  async rulesFor() {
    return superuserAuthorizer.rulesFor({ username: '', groups: [SYSTEM_MASTERS] }, '');
  },
};

/**
 * Asks each authorizer in turn: the first that allows or denies decides; when none has an
 * opinion the request is denied, with every reason given on the way.
 */
export function unionAuthorizer(authorizers: readonly Authorizer[]): Authorizer {
  return {
    async authorize(attributes) {
      const reasons: string[] = [];
      for (const authorizer of authorizers) {
        const decision = await authorizer.authorize(attributes);
        if (decision.verdict !== 'no-opinion') return decision;
        if (decision.reason) reasons.push(decision.reason);
      }
      return noOpinion(reasons.join(', '));
    },
    invalidate() {
      for (const authorizer of authorizers) authorizer.invalidate?.();
    },
    async rulesFor(user, namespace) {
      const all = await Promise.all(authorizers.map((authorizer) => authorizer.rulesFor(user, namespace)));
      const errors = all.map((rules) => rules.evaluationError).filter((error): error is string => Boolean(error));
      return {
        resourceRules: all.flatMap((rules) => rules.resourceRules),
        nonResourceRules: all.flatMap((rules) => rules.nonResourceRules),
        incomplete: all.some((rules) => rules.incomplete),
        ...(errors.length > 0 ? { evaluationError: errors.join(', ') } : {}),
      };
    },
  };
}

/**
 * The message kube-apiserver puts in a 403, word for word:
 * `User "alice" cannot list resource "pods" in API group "" in the namespace "team-b"`.
 */
export function forbiddenMessage(attributes: AuthorizationAttributes): string {
  const user = attributes.user.username;
  if (!attributes.resourceRequest) return `User "${user}" cannot ${attributes.verb} path "${attributes.path}"`;
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : 'at the cluster scope';
  return `User "${user}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.apiGroup}" ${scope}`;
}

/**
 * The 403 Status of a denied request, as kube-apiserver builds it (`apierrors.NewForbidden` over
 * the group and resource, the object's name, and the message with the authorizer's reason).
 */
export function forbiddenError(attributes: AuthorizationAttributes, reason = ''): ForbiddenError {
  const message = reason ? `${forbiddenMessage(attributes)}: ${reason}` : forbiddenMessage(attributes);
  const qualified = attributes.apiGroup ? `${attributes.resource}.${attributes.apiGroup}` : attributes.resource;
  const subject =
    !attributes.resourceRequest || qualified === ''
      ? 'forbidden'
      : attributes.name
        ? `${qualified} "${attributes.name}" is forbidden`
        : `${qualified} is forbidden`;
  // StatusDetails' fields are `omitempty` in Kubernetes' Go types: an empty one is not sent.
  const details = attributes.resourceRequest
    ? {
        ...(attributes.name ? { name: attributes.name } : {}),
        ...(attributes.apiGroup ? { group: attributes.apiGroup } : {}),
        ...(attributes.resource ? { kind: attributes.resource } : {}),
      }
    : {};
  return new ForbiddenError(`${subject}: ${message}`, details);
}

export interface AccessCheck {
  readonly allowed: boolean;
  /** The authorizer's reason (may be empty). */
  readonly reason: string;
  /** Kubernetes' 403 message for a denied request; undefined when allowed. */
  readonly message?: string;
}

/**
 * One question to the authorizer, for callers outside the HTTP pipeline (the agents' WebSocket
 * subscriptions): may this user do this? `no-opinion` counts as denied, as in kube-apiserver.
 */
export async function checkAccess(authorizer: Authorizer, attributes: AuthorizationAttributes): Promise<AccessCheck> {
  const decision = await authorizer.authorize(attributes);
  if (decision.verdict === 'allow') return { allowed: true, reason: decision.reason };
  return { allowed: false, reason: decision.reason, message: forbiddenError(attributes, decision.reason).message };
}

/** Throws Kubernetes' 403 unless the request is allowed. */
export async function requireAccess(authorizer: Authorizer, attributes: AuthorizationAttributes): Promise<void> {
  const decision = await authorizer.authorize(attributes);
  if (decision.verdict !== 'allow') throw forbiddenError(attributes, decision.reason);
}

/** Resource attributes with the defaults of a plain resource request. */
export function resourceAttributes(
  user: UserInfo,
  request: Partial<Omit<AuthorizationAttributes, 'user' | 'resourceRequest'>> & Pick<AuthorizationAttributes, 'verb' | 'resource'>,
): AuthorizationAttributes {
  return {
    user,
    resourceRequest: true,
    path: '',
    namespace: '',
    apiGroup: '',
    apiVersion: '',
    subresource: '',
    name: '',
    ...request,
  };
}

/** Non-resource attributes: a verb on a URL path. */
export function pathAttributes(user: UserInfo, verb: string, path: string): AuthorizationAttributes {
  return { user, verb, resourceRequest: false, path, namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '' };
}
