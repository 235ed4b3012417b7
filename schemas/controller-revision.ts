/** `apps/v1` ControllerRevision: an immutable snapshot of a DaemonSet's or StatefulSet's template, for rollout history and undo. */
import { z } from 'zod';
import { type FieldCause, immutable, invalid } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int64, kindField, objectMetaSchema, opaqueObject } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { sameJson } from './structural-equality.ts';

export const controllerRevisionSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    data: opaqueObject.optional().describe('The state this revision records (a patch of the owner).'),
    revision: int64.default(0).describe('The revision number.'),
  })
  .meta({ id: 'io.k8s.api.apps.v1.ControllerRevision', description: 'An immutable snapshot of state data, for DaemonSet and StatefulSet rollouts.' });
export type ControllerRevision = z.infer<typeof controllerRevisionSchema>;

export const controllerRevisionRules: AnyKindRules = anyKind<ControllerRevision>({
  schema: controllerRevisionSchema,
  nameRule: isDns1123Subdomain,
  validate: (cr): FieldCause[] => (cr.revision < 0 ? [invalid('revision', cr.revision, 'must be greater than or equal to 0')] : []),
  validateUpdate: (cr, old) => (sameJson(cr.data, old.data) ? [] : [immutable('data', cr.data)]),
});
