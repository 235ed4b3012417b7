/** `core/v1` Event, as controllers and node agents record them and `kubectl describe` reads them. */
import { z } from 'zod';
import { type FieldCause, invalid, nonNegative } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, kindField, objectMetaSchema, time } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';
import { objectReferenceSchema } from './object-reference.ts';

export const eventSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    involvedObject: objectReferenceSchema.default(() => ({})),
    reason: z.string().optional(),
    message: z.string().optional(),
    source: z.object({ component: z.string().optional(), host: z.string().optional() }).meta({ id: 'io.k8s.api.core.v1.EventSource' }).optional(),
    firstTimestamp: time.nullable().optional(),
    lastTimestamp: time.nullable().optional(),
    count: int32.optional(),
    type: z.string().optional(),
    eventTime: z.string().nullable().optional(),
    series: z.object({ count: int32.optional(), lastObservedTime: z.string().optional() }).optional(),
    action: z.string().optional(),
    related: objectReferenceSchema.optional(),
    reportingComponent: z.string().optional(),
    reportingInstance: z.string().optional(),
  })
  .meta({ id: 'io.k8s.api.core.v1.Event', description: 'An Event reports something that happened to an object.' });
export type Event = z.infer<typeof eventSchema>;

function validateEvent(event: Event): FieldCause[] {
  const causes: FieldCause[] = [...nonNegative('count', event.count)];
  const namespace = event.metadata.namespace;
  const involved = event.involvedObject.namespace;
  // Events about namespaced objects live in that object's namespace.
  if (involved && namespace && involved !== namespace) causes.push(invalid('involvedObject.namespace', involved, 'does not match event.namespace'));
  if (event.type !== undefined && event.type !== '' && event.type !== 'Normal' && event.type !== 'Warning') {
    causes.push({
      field: 'type',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(event.type)}: supported values: "Normal", "Warning"`,
    });
  }
  return causes;
}

export const eventRules: AnyKindRules = anyKind<Event>({ schema: eventSchema, nameRule: isDns1123Subdomain, validate: validateEvent });
