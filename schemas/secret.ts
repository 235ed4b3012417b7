/** `core/v1` Secret: `stringData` folded into base64 `data`, type Opaque, per-type required keys. */
import { z } from 'zod';
import { maxDataBytes, validateDataKeys, validateImmutableData } from './config-map.ts';
import { type FieldCause, immutable, invalid, key, required, tooLong } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, objectMetaSchema, stringMap } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';

export const secretSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    immutable: z.boolean().optional(),
    data: stringMap.optional(),
    stringData: stringMap.optional(),
    type: z.string().default('Opaque'),
  })
  .meta({
    id: 'io.k8s.api.core.v1.Secret',
    description: 'A Secret holds sensitive data (base64 in `data`; `stringData` is written in plain text and folded into `data`).',
  });
export type Secret = z.infer<typeof secretSchema>;

/** Keys each well-known secret type must carry in `data`. */
const requiredKeys: ReadonlyMap<string, readonly string[]> = new Map([
  ['kubernetes.io/tls', ['tls.crt', 'tls.key']],
  ['kubernetes.io/dockerconfigjson', ['.dockerconfigjson']],
  ['kubernetes.io/dockercfg', ['.dockercfg']],
  ['kubernetes.io/ssh-auth', ['ssh-privatekey']],
]);

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** stringData is write-only: the apiserver merges it into `data` (it wins) and never stores it. */
function foldStringData(secret: Secret): Secret {
  const { stringData, ...rest } = secret;
  if (!stringData) return rest;
  const encoded = Object.fromEntries(Object.entries(stringData).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
  return { ...rest, data: { ...(secret.data ?? {}), ...encoded } };
}

function validateSecret(secret: Secret): FieldCause[] {
  const data = secret.data ?? {};
  const causes = validateDataKeys('data', data);
  for (const [k, v] of Object.entries(data)) {
    if (!base64.test(v)) causes.push(invalid(key('data', k), '<secret contents redacted>', 'must be base64-encoded'));
  }
  for (const needed of requiredKeys.get(secret.type) ?? []) {
    if (!Object.hasOwn(data, needed)) causes.push(required(key('data', needed)));
  }
  if (secret.type === 'kubernetes.io/basic-auth' && !Object.hasOwn(data, 'username') && !Object.hasOwn(data, 'password')) {
    causes.push(required(key('data', 'username[password]'), 'either username or password is required'));
  }
  if (secret.type === 'kubernetes.io/service-account-token' && !secret.metadata.annotations?.['kubernetes.io/service-account.name']) {
    causes.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
  }
  const size = Object.entries(data).reduce((sum, [k, v]) => sum + k.length + Math.floor((v.length * 3) / 4), 0);
  if (size > maxDataBytes) causes.push(tooLong('data', maxDataBytes));
  return causes;
}

export const secretRules: AnyKindRules = anyKind<Secret>({
  schema: secretSchema,
  nameRule: isDns1123Subdomain,
  defaults: foldStringData,
  validate: validateSecret,
  validateUpdate: (secret, old) => [
    ...(secret.type !== old.type ? [immutable('type', secret.type)] : []),
    ...validateImmutableData(secret, old, { data: [secret.data, old.data] }),
  ],
});
