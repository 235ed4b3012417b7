/** `core/v1` ResourceQuota and LimitRange: per-namespace limits that admission enforces. */
import { z } from 'zod';
import { child, type FieldCause, index, invalid, notSupported } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, objectMetaSchema, quantity } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';

const coreV1 = 'io.k8s.api.core.v1';
const resourceList = z.record(z.string(), quantity);

export const resourceQuotaSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({ hard: resourceList.optional(), scopes: z.array(z.string()).optional(), scopeSelector: z.looseObject({}).optional() })
      .meta({ id: `${coreV1}.ResourceQuotaSpec` })
      .default(() => ({})),
    status: z
      .object({ hard: resourceList.optional(), used: resourceList.optional() })
      .meta({ id: `${coreV1}.ResourceQuotaStatus` })
      .optional(),
  })
  .meta({ id: `${coreV1}.ResourceQuota`, description: 'Aggregate limits on what a namespace may use.' });
export type ResourceQuota = z.infer<typeof resourceQuotaSchema>;

const isQuantity = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/;

function validateResourceList(list: Record<string, string> | undefined, field: string): FieldCause[] {
  return Object.entries(list ?? {}).flatMap(([name, value]) =>
    isQuantity.test(String(value))
      ? []
      : [invalid(`${field}[${name}]`, value, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")],
  );
}

export const resourceQuotaRules: AnyKindRules = anyKind<ResourceQuota>({
  schema: resourceQuotaSchema,
  nameRule: isDns1123Subdomain,
  validate: (quota) => validateResourceList(quota.spec.hard, 'spec.hard'),
});

const limitTypes = ['Pod', 'Container', 'PersistentVolumeClaim'] as const;

export const limitRangeItemSchema = z
  .object({
    type: z.string(),
    max: resourceList.optional(),
    min: resourceList.optional(),
    default: resourceList.optional(),
    defaultRequest: resourceList.optional(),
    maxLimitRequestRatio: resourceList.optional(),
  })
  .meta({ id: `${coreV1}.LimitRangeItem` });

export const limitRangeSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({ limits: z.array(limitRangeItemSchema).default([]) })
      .meta({ id: `${coreV1}.LimitRangeSpec` })
      .default(() => ({ limits: [] })),
  })
  .meta({ id: `${coreV1}.LimitRange`, description: 'Defaults and bounds of what each pod, container or claim of a namespace may ask for.' });
export type LimitRange = z.infer<typeof limitRangeSchema>;

export const limitRangeRules: AnyKindRules = anyKind<LimitRange>({
  schema: limitRangeSchema,
  nameRule: isDns1123Subdomain,
  // SetDefaults_LimitRangeItem: a Container limit without a default takes its max; a default request takes the default.
  defaults: (range) => ({
    ...range,
    spec: {
      limits: range.spec.limits.map((item) => {
        if (item.type !== 'Container') return item;
        const defaults = { ...item.max, ...item.default };
        const defaultRequest = { ...item.min, ...defaults, ...item.defaultRequest };
        return {
          ...item,
          ...(Object.keys(defaults).length > 0 ? { default: defaults } : {}),
          ...(Object.keys(defaultRequest).length > 0 ? { defaultRequest } : {}),
        };
      }),
    },
  }),
  validate: (range) =>
    range.spec.limits.flatMap((item, i) => {
      const at = index('spec.limits', i);
      const causes: FieldCause[] = [];
      if (!limitTypes.includes(item.type as (typeof limitTypes)[number])) causes.push(notSupported(child(at, 'type'), item.type, limitTypes));
      for (const key of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'] as const)
        causes.push(...validateResourceList(item[key], child(at, key)));
      return causes;
    }),
});
