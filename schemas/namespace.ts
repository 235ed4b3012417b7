/** `core/v1` Namespace: the `kubernetes` finalizer, phase Active, and the automatic name label. */
import { z } from 'zod';
import { immutable } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, mergedBy, objectMetaSchema, time } from './meta.ts';
import { isDns1123Label } from './name-rules.ts';

const coreV1 = 'io.k8s.api.core.v1';

/** Set by the apiserver on every namespace so selectors can pick namespaces by name. */
export const namespaceNameLabel = 'kubernetes.io/metadata.name';

export const namespaceSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({ finalizers: z.array(z.string()).optional() })
      .meta({ id: `${coreV1}.NamespaceSpec`, description: 'The finalizers that must run before the namespace is removed.' })
      .default(() => ({})),
    status: z
      .object({
        phase: z.enum(['Active', 'Terminating']).default('Active'),
        conditions: mergedBy(
          z.object({
            type: z.string(),
            status: z.string(),
            lastTransitionTime: time.optional(),
            reason: z.string().optional(),
            message: z.string().optional(),
          }),
          'type',
        ).optional(),
      })
      .meta({ id: `${coreV1}.NamespaceStatus`, description: 'The phase of a namespace: Active or Terminating.' })
      .default(() => ({ phase: 'Active' as const })),
  })
  .meta({ id: `${coreV1}.Namespace`, description: 'A Namespace is a scope for names; deleting it deletes everything in it.' });
export type Namespace = z.infer<typeof namespaceSchema>;

/**
 * The `kubernetes` finalizer is added on create only (the namespace controller empties the namespace
 * before it goes); an update that drops it must not bring it back.
 */
function defaultNamespace(ns: Namespace, old?: Namespace): Namespace {
  const finalizers = ns.spec.finalizers ?? (old ? undefined : ['kubernetes']);
  return {
    ...ns,
    metadata: ns.metadata.name ? { ...ns.metadata, labels: { ...(ns.metadata.labels ?? {}), [namespaceNameLabel]: ns.metadata.name } } : ns.metadata,
    spec: { ...ns.spec, ...(finalizers ? { finalizers } : {}) },
  };
}

export const namespaceRules: AnyKindRules = anyKind<Namespace>({
  schema: namespaceSchema,
  nameRule: isDns1123Label,
  defaultsFromStored: defaultNamespace,
  validateUpdate: (ns, old) => (ns.metadata.name !== old.metadata.name ? [immutable('metadata.name', ns.metadata.name ?? '')] : []),
});
