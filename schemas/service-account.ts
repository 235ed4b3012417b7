/** `core/v1` ServiceAccount: an identity for pods, with its token requests (`serviceaccounts/token`). */
import { z } from 'zod';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, objectMetaSchema } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { objectReferenceSchema } from './object-reference.ts';

export const serviceAccountSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    secrets: z.array(objectReferenceSchema).optional(),
    imagePullSecrets: z.array(z.object({ name: z.string().optional() })).optional(),
    automountServiceAccountToken: z.boolean().optional(),
  })
  .meta({
    id: 'io.k8s.api.core.v1.ServiceAccount',
    description: 'An identity for processes in pods: tokens issued for it (TokenRequest) authenticate as system:serviceaccount:<namespace>:<name>.',
  });
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

export const serviceAccountRules: AnyKindRules = anyKind<ServiceAccount>({ schema: serviceAccountSchema, nameRule: isDns1123Subdomain });
