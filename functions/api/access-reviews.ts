/**
 * The review APIs: create-only kinds whose answer is in `status`, nothing stored.
 *
 * - SelfSubjectAccessReview (`kubectl auth can-i`), SubjectAccessReview and
 *   LocalSubjectAccessReview: would the authorizer allow this request, for me or for someone?
 * - SelfSubjectRulesReview (`kubectl auth can-i --list`): every rule I hold in a namespace.
 * - SelfSubjectReview (`kubectl auth whoami`): who the server takes me to be.
 * - TokenReview: whose is this token?
 */

import type { ResourceAttributes, SubjectAccessReview } from '../../schemas/access-reviews.ts';
import { admit } from '../../schemas/index.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import { type ResourceType, types } from '../../schemas/registry.ts';
import { BadRequestError, MethodNotAllowedError } from '../core/errors.ts';
import type { TokenAuthenticator } from '../domain/authentication/token-authenticators.ts';
import { type AuthorizationAttributes, type Authorizer, pathAttributes } from '../domain/authorization/authorizer.ts';
import type { UserInfo } from '../domain/authorization/user-info.ts';
import type { ApiResponse, ReadRequest } from './http.ts';
import { decodeObjectBody } from './request-body.ts';
import { jsonResponse } from './responses.ts';
import type { ResourceRoute } from './routes.ts';

export interface ReviewContext {
  readonly user: UserInfo;
  readonly authorizer: Authorizer;
  /** The API's own token authenticators, for TokenReview. */
  readonly authenticate?: TokenAuthenticator;
}

/** `ResourceAttributesFrom`: an empty version means every version. */
function resourceAttributesOf(user: UserInfo, attributes: ResourceAttributes): AuthorizationAttributes {
  return {
    user,
    verb: attributes.verb ?? '',
    resourceRequest: true,
    path: '',
    namespace: attributes.namespace ?? '',
    apiGroup: attributes.group ?? '',
    apiVersion: attributes.version || '*',
    resource: attributes.resource ?? '',
    subresource: attributes.subresource ?? '',
    name: attributes.name ?? '',
  };
}

function attributesOf(user: UserInfo, spec: Pick<SubjectAccessReview['spec'], 'resourceAttributes' | 'nonResourceAttributes'>): AuthorizationAttributes {
  if (spec.resourceAttributes) return resourceAttributesOf(user, spec.resourceAttributes);
  return pathAttributes(user, spec.nonResourceAttributes?.verb ?? '', spec.nonResourceAttributes?.path ?? '');
}

async function accessStatus(authorizer: Authorizer, attributes: AuthorizationAttributes) {
  const decision = await authorizer.authorize(attributes);
  return {
    allowed: decision.verdict === 'allow',
    ...(decision.verdict === 'deny' ? { denied: true } : {}),
    ...(decision.reason ? { reason: decision.reason } : {}),
  };
}

/** Extra values arrive as lists (JSON) or as `{items: [...]}` (protobuf's ExtraValue). */
function extraOf(extra: Readonly<Record<string, unknown>> | undefined): Record<string, string[]> | undefined {
  if (!extra) return undefined;
  const entries = Object.entries(extra).map(([key, value]) => {
    const items = Array.isArray(value) ? value : ((value as { items?: unknown } | null)?.items ?? []);
    return [key, (items as unknown[]).filter((item): item is string => typeof item === 'string')] as const;
  });
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function subjectOf(spec: SubjectAccessReview['spec']): UserInfo {
  const extra = extraOf(spec.extra as Record<string, unknown> | undefined);
  return { username: spec.user ?? '', groups: spec.groups ?? [], ...(spec.uid ? { uid: spec.uid } : {}), ...(extra ? { extra } : {}) };
}

function answer(type: ResourceType, review: KubeObject, status: unknown): ApiResponse {
  const { metadata, status: _asked, ...rest } = review;
  return jsonResponse(201, {
    ...rest,
    apiVersion: `${type.group}/${type.version}`,
    kind: type.kind,
    metadata: { ...metadata, creationTimestamp: null },
    status,
  });
}

export async function serveReview(route: ResourceRoute, request: ReadRequest, context: ReviewContext): Promise<ApiResponse> {
  if (request.method.toUpperCase() !== 'POST' || route.name !== undefined || route.subresource !== undefined) throw new MethodNotAllowedError();
  const body = decodeObjectBody(request.body, request.headers['content-type']);
  const { object: review } = admit(route.type, body, { operation: 'create', fieldValidation: 'Ignore' });
  const spec = (review.spec ?? {}) as SubjectAccessReview['spec'] & { namespace?: string; token?: string; audiences?: string[] };
  switch (route.type.id) {
    case types.selfsubjectaccessreviews.id:
      return answer(route.type, review, await accessStatus(context.authorizer, attributesOf(context.user, spec)));
    case types.subjectaccessreviews.id:
      return answer(route.type, review, await accessStatus(context.authorizer, attributesOf(subjectOf(spec), spec)));
    case types.localsubjectaccessreviews.id: {
      const namespace = route.namespace ?? '';
      const asked = spec.resourceAttributes?.namespace ?? '';
      if (spec.resourceAttributes && asked !== '' && asked !== namespace) {
        throw new BadRequestError(`spec.resourceAttributes.namespace must match namespace: ${asked} != ${namespace}`);
      }
      if (spec.nonResourceAttributes) throw new BadRequestError('disallowed on this kind of request: spec.nonResourceAttributes');
      const local = { ...spec, ...(spec.resourceAttributes ? { resourceAttributes: { ...spec.resourceAttributes, namespace } } : {}) };
      const withNamespace = { ...review, metadata: { ...review.metadata, namespace } };
      return answer(route.type, withNamespace, await accessStatus(context.authorizer, attributesOf(subjectOf(local), local)));
    }
    case types.selfsubjectrulesreviews.id: {
      const rules = await context.authorizer.rulesFor(context.user, spec.namespace ?? '');
      return answer(route.type, review, {
        resourceRules: rules.resourceRules,
        nonResourceRules: rules.nonResourceRules,
        incomplete: rules.incomplete,
        ...(rules.evaluationError ? { evaluationError: rules.evaluationError } : {}),
      });
    }
    case types.selfsubjectreviews.id: {
      const { username, uid, groups, extra } = context.user;
      return answer(route.type, review, { userInfo: { username, ...(uid ? { uid } : {}), groups, ...(extra ? { extra } : {}) } });
    }
    case types.tokenreviews.id: {
      const user = context.authenticate ? await context.authenticate(spec.token ?? '') : undefined;
      if (!user) return answer(route.type, review, { authenticated: false, user: {}, error: 'the token could not be authenticated' });
      const { username, uid, groups, extra } = user;
      // No audiences in the answer: the token is valid for the API server itself.
      return answer(route.type, review, { authenticated: true, user: { username, ...(uid ? { uid } : {}), groups, ...(extra ? { extra } : {}) } });
    }
    default:
      throw new MethodNotAllowedError();
  }
}
