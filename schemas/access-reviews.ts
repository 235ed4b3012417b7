/**
 * The review kinds of `authorization.k8s.io/v1` (SubjectAccessReview, LocalSubjectAccessReview,
 * SelfSubjectAccessReview, SelfSubjectRulesReview) and `authentication.k8s.io/v1`
 * (SelfSubjectReview, TokenReview, and TokenRequest for `serviceaccounts/token`): objects a client
 * creates to ask a question; the server fills in `status` and stores nothing.
 */
import { z } from 'zod';
import { type FieldCause, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int64, kindField, objectMetaSchema, time } from './meta.ts';

const authorizationV1 = 'io.k8s.api.authorization.v1';
const authenticationV1 = 'io.k8s.api.authentication.v1';

const anyName = () => [];

const resourceAttributesSchema = z
  .object({
    namespace: z.string().optional(),
    verb: z.string().optional(),
    group: z.string().optional(),
    version: z.string().optional(),
    resource: z.string().optional(),
    subresource: z.string().optional(),
    name: z.string().optional(),
    fieldSelector: z.looseObject({}).optional(),
    labelSelector: z.looseObject({}).optional(),
  })
  .meta({ id: `${authorizationV1}.ResourceAttributes`, description: 'A resource request to check: verb, group, resource, subresource, namespace, name.' });
export type ResourceAttributes = z.infer<typeof resourceAttributesSchema>;

const nonResourceAttributesSchema = z
  .object({ path: z.string().optional(), verb: z.string().optional() })
  .meta({ id: `${authorizationV1}.NonResourceAttributes`, description: 'A non-resource request to check: a verb on a URL path.' });

const accessReviewStatusSchema = z
  .object({
    allowed: z.boolean().default(false),
    denied: z.boolean().optional(),
    reason: z.string().optional(),
    evaluationError: z.string().optional(),
  })
  .meta({ id: `${authorizationV1}.SubjectAccessReviewStatus` });

const extraSchema = z.record(z.string(), z.array(z.string()));

const subjectAccessReviewSpecSchema = z
  .object({
    resourceAttributes: resourceAttributesSchema.optional(),
    nonResourceAttributes: nonResourceAttributesSchema.optional(),
    user: z.string().optional(),
    groups: z.array(z.string()).optional(),
    extra: extraSchema.optional(),
    uid: z.string().optional(),
  })
  .meta({ id: `${authorizationV1}.SubjectAccessReviewSpec` });
export type SubjectAccessReviewSpec = z.infer<typeof subjectAccessReviewSpecSchema>;

const selfSubjectAccessReviewSpecSchema = z
  .object({ resourceAttributes: resourceAttributesSchema.optional(), nonResourceAttributes: nonResourceAttributesSchema.optional() })
  .meta({ id: `${authorizationV1}.SelfSubjectAccessReviewSpec` });

function exactlyOneAttributes(spec: { resourceAttributes?: unknown; nonResourceAttributes?: unknown }): FieldCause[] {
  if (spec.resourceAttributes === undefined && spec.nonResourceAttributes === undefined) {
    return [required('spec.resourceAttributes', 'exactly one of nonResourceAttributes or resourceAttributes must be specified')];
  }
  if (spec.resourceAttributes !== undefined && spec.nonResourceAttributes !== undefined) {
    return [
      {
        field: 'spec.nonResourceAttributes',
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "": cannot be specified in combination with resourceAttributes',
      },
    ];
  }
  return [];
}

export const subjectAccessReviewSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: subjectAccessReviewSpecSchema.default(() => ({})),
    status: accessReviewStatusSchema.optional(),
  })
  .meta({ id: `${authorizationV1}.SubjectAccessReview`, description: 'Asks whether a user or group may do something.' });
export type SubjectAccessReview = z.infer<typeof subjectAccessReviewSchema>;

export const localSubjectAccessReviewSchema = subjectAccessReviewSchema
  .clone()
  .meta({ id: `${authorizationV1}.LocalSubjectAccessReview`, description: 'Asks whether a user or group may do something in one namespace.' });

export const selfSubjectAccessReviewSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: selfSubjectAccessReviewSpecSchema.default(() => ({})),
    status: accessReviewStatusSchema.optional(),
  })
  .meta({ id: `${authorizationV1}.SelfSubjectAccessReview`, description: 'Asks whether the requesting user may do something (kubectl auth can-i).' });
export type SelfSubjectAccessReview = z.infer<typeof selfSubjectAccessReviewSchema>;

const resourceRuleSchema = z
  .object({
    verbs: z.array(z.string()),
    apiGroups: z.array(z.string()).optional(),
    resources: z.array(z.string()).optional(),
    resourceNames: z.array(z.string()).optional(),
  })
  .meta({ id: `${authorizationV1}.ResourceRule` });

const nonResourceRuleSchema = z
  .object({ verbs: z.array(z.string()), nonResourceURLs: z.array(z.string()).optional() })
  .meta({ id: `${authorizationV1}.NonResourceRule` });

export const selfSubjectRulesReviewSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({ namespace: z.string().optional() })
      .meta({ id: `${authorizationV1}.SelfSubjectRulesReviewSpec` })
      .default(() => ({})),
    status: z
      .object({
        resourceRules: z.array(resourceRuleSchema),
        nonResourceRules: z.array(nonResourceRuleSchema),
        incomplete: z.boolean(),
        evaluationError: z.string().optional(),
      })
      .meta({ id: `${authorizationV1}.SubjectRulesReviewStatus` })
      .optional(),
  })
  .meta({ id: `${authorizationV1}.SelfSubjectRulesReview`, description: 'Lists what the requesting user may do in a namespace (kubectl auth can-i --list).' });
export type SelfSubjectRulesReview = z.infer<typeof selfSubjectRulesReviewSchema>;

const userInfoSchema = z
  .object({
    username: z.string().optional(),
    uid: z.string().optional(),
    groups: z.array(z.string()).optional(),
    extra: extraSchema.optional(),
  })
  .meta({ id: `${authenticationV1}.UserInfo` });

export const selfSubjectReviewSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    status: z
      .object({ userInfo: userInfoSchema.optional() })
      .meta({ id: `${authenticationV1}.SelfSubjectReviewStatus` })
      .optional(),
  })
  .meta({ id: `${authenticationV1}.SelfSubjectReview`, description: 'Tells the requesting user who the server takes them to be (kubectl auth whoami).' });

export const tokenReviewSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({ token: z.string().optional(), audiences: z.array(z.string()).optional() })
      .meta({ id: `${authenticationV1}.TokenReviewSpec` })
      .default(() => ({})),
    status: z
      .object({
        authenticated: z.boolean().optional(),
        user: userInfoSchema.optional(),
        audiences: z.array(z.string()).optional(),
        error: z.string().optional(),
      })
      .meta({ id: `${authenticationV1}.TokenReviewStatus` })
      .optional(),
  })
  .meta({ id: `${authenticationV1}.TokenReview`, description: 'Asks which user a bearer token belongs to.' });
export type TokenReview = z.infer<typeof tokenReviewSchema>;

export const boundObjectReferenceSchema = z
  .object({ kind: z.string().optional(), apiVersion: z.string().optional(), name: z.string().optional(), uid: z.string().optional() })
  .meta({ id: `${authenticationV1}.BoundObjectReference` });

export const tokenRequestSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({
        audiences: z.array(z.string()).optional(),
        expirationSeconds: int64.optional(),
        boundObjectRef: boundObjectReferenceSchema.optional(),
      })
      .meta({ id: `${authenticationV1}.TokenRequestSpec` })
      .default(() => ({})),
    status: z
      .object({ token: z.string(), expirationTimestamp: time })
      .meta({ id: `${authenticationV1}.TokenRequestStatus` })
      .optional(),
  })
  .meta({ id: `${authenticationV1}.TokenRequest`, description: 'Requests a signed, expiring token for a ServiceAccount (kubectl create token).' });
export type TokenRequest = z.infer<typeof tokenRequestSchema>;

export const subjectAccessReviewRules: AnyKindRules = anyKind<SubjectAccessReview>({
  schema: subjectAccessReviewSchema,
  nameRule: anyName,
  validate: (review) => [
    ...exactlyOneAttributes(review.spec),
    ...(review.spec.user || (review.spec.groups ?? []).length > 0 ? [] : [required('spec.user', 'at least one of user or group must be specified')]),
  ],
});
export const localSubjectAccessReviewRules: AnyKindRules = anyKind<SubjectAccessReview>({
  schema: localSubjectAccessReviewSchema,
  nameRule: anyName,
  validate: (review) => [
    ...exactlyOneAttributes(review.spec),
    ...(review.spec.user || (review.spec.groups ?? []).length > 0 ? [] : [required('spec.user', 'at least one of user or group must be specified')]),
  ],
});
export const selfSubjectAccessReviewRules: AnyKindRules = anyKind<SelfSubjectAccessReview>({
  schema: selfSubjectAccessReviewSchema,
  nameRule: anyName,
  validate: (review) => exactlyOneAttributes(review.spec),
});
export const selfSubjectRulesReviewRules: AnyKindRules = anyKind<SelfSubjectRulesReview>({
  schema: selfSubjectRulesReviewSchema,
  nameRule: anyName,
  validate: (review) => (review.spec.namespace ? [] : [required('spec.namespace')]),
});
export const selfSubjectReviewRules: AnyKindRules = anyKind({ schema: selfSubjectReviewSchema, nameRule: anyName });
export const tokenReviewRules: AnyKindRules = anyKind<TokenReview>({
  schema: tokenReviewSchema,
  nameRule: anyName,
  validate: (review) => (review.spec.token ? [] : [required('spec.token')]),
});
export const tokenRequestRules: AnyKindRules = anyKind<TokenRequest>({ schema: tokenRequestSchema, nameRule: anyName });
