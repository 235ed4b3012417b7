/** `coordination.k8s.io/v1` Lease: node heartbeats and leader election. */
import { z } from 'zod';
import { type FieldCause, nonNegative, positive } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, kindField, objectMetaSchema } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';

const microTime = z.string().meta({ id: 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime' });

export const leaseSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({
        holderIdentity: z.string().optional(),
        leaseDurationSeconds: int32.optional(),
        acquireTime: microTime.nullable().optional(),
        renewTime: microTime.nullable().optional(),
        leaseTransitions: int32.optional(),
        strategy: z.string().optional(),
        preferredHolder: z.string().optional(),
      })
      .meta({ id: 'io.k8s.api.coordination.v1.LeaseSpec', description: 'The holder and timing of a lease.' })
      .default(() => ({})),
  })
  .meta({ id: 'io.k8s.api.coordination.v1.Lease', description: 'A Lease records who holds a lock and until when: node heartbeats and leader election.' });
export type Lease = z.infer<typeof leaseSchema>;

function validateLease(lease: Lease): FieldCause[] {
  return [...positive('spec.leaseDurationSeconds', lease.spec.leaseDurationSeconds), ...nonNegative('spec.leaseTransitions', lease.spec.leaseTransitions)];
}

export const leaseRules: AnyKindRules = anyKind<Lease>({ schema: leaseSchema, nameRule: isDns1123Subdomain, validate: validateLease });
