/** `core/v1` ConfigMap: keys, the 1 MiB limit, and `immutable: true`. */
import { z } from 'zod';
import { type FieldCause, forbidden, invalid, key, tooLong } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, objectMetaSchema, stringMap } from './meta.ts';
import { checkName, isConfigMapKey, isDns1123Subdomain } from './name-rules.ts';
import { sameJson } from './structural-equality.ts';

/** etcd's request limit bounds what one ConfigMap or Secret may hold. */
export const maxDataBytes = 1024 * 1024;

export const configMapSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    immutable: z.boolean().optional(),
    data: stringMap.optional(),
    binaryData: stringMap.optional(),
  })
  .meta({ id: 'io.k8s.api.core.v1.ConfigMap', description: 'A ConfigMap holds configuration data as key-value pairs for pods to consume.' });
export type ConfigMap = z.infer<typeof configMapSchema>;

/** Keys of `data` must be valid file names; values add up to at most 1 MiB. */
export function validateDataKeys(field: string, data: Readonly<Record<string, string>> | undefined): FieldCause[] {
  return Object.keys(data ?? {}).flatMap((k) => checkName(key(field, k), k, isConfigMapKey));
}

function validateConfigMap(cm: ConfigMap): FieldCause[] {
  const causes = [...validateDataKeys('data', cm.data), ...validateDataKeys('binaryData', cm.binaryData)];
  for (const k of Object.keys(cm.binaryData ?? {})) {
    if (cm.data && Object.hasOwn(cm.data, k)) causes.push(invalid(key('data', k), k, 'duplicate of key present in binaryData'));
  }
  const size = [...Object.entries(cm.data ?? {}), ...Object.entries(cm.binaryData ?? {})].reduce((sum, [k, v]) => sum + k.length + v.length, 0);
  if (size > maxDataBytes) causes.push(tooLong('data', maxDataBytes));
  return causes;
}

/** Once `immutable: true` is stored, neither the data nor the flag may change. */
export function validateImmutableData(
  object: { immutable?: boolean | undefined },
  old: { immutable?: boolean | undefined },
  fields: Readonly<Record<string, [unknown, unknown]>>,
): FieldCause[] {
  if (old.immutable !== true) return [];
  const causes: FieldCause[] = [];
  if (object.immutable !== true) causes.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const [field, [now, before]] of Object.entries(fields)) {
    if (!sameJson(now ?? {}, before ?? {})) causes.push(forbidden(field, 'field is immutable when `immutable` is set'));
  }
  return causes;
}

export const configMapRules: AnyKindRules = anyKind<ConfigMap>({
  schema: configMapSchema,
  nameRule: isDns1123Subdomain,
  validate: validateConfigMap,
  validateUpdate: (cm, old) => validateImmutableData(cm, old, { data: [cm.data, old.data], binaryData: [cm.binaryData, old.binaryData] }),
});
