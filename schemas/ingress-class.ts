/** `networking.k8s.io/v1` IngressClass: which controller serves the Ingresses naming it. */
import { z } from 'zod';
import { type FieldCause, immutable, invalid, required, tooLong } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, kindField, objectMetaSchema } from './meta.ts';
import { isDns1123Subdomain } from './name-rules.ts';

const networkingV1 = 'io.k8s.api.networking.v1';

export const ingressClassSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({
        controller: z.string().optional().describe('The controller that serves Ingresses of this class, e.g. skiff.io/ingress-controller; immutable.'),
        parameters: z
          .object({
            apiGroup: z.string().optional(),
            kind: z.string(),
            name: z.string(),
            scope: z.enum(['Cluster', 'Namespace']).optional(),
            namespace: z.string().optional(),
          })
          .meta({ id: `${networkingV1}.IngressClassParametersReference` })
          .optional(),
      })
      .meta({ id: `${networkingV1}.IngressClassSpec`, description: 'The controller of an IngressClass and its parameters.' })
      .default(() => ({})),
  })
  .meta({ id: `${networkingV1}.IngressClass`, description: 'An IngressClass names the controller that implements the Ingresses of that class.' });
export type IngressClass = z.infer<typeof ingressClassSchema>;

/** `example.com/path`: a DNS subdomain, a slash, then a path (Kubernetes' IsDomainPrefixedPath). */
function checkController(controller: string | undefined): FieldCause[] {
  const field = 'spec.controller';
  if (!controller) return [required(field)];
  if (controller.length > 250) return [tooLong(field, 250)];
  const slash = controller.indexOf('/');
  const domain = slash < 0 ? controller : controller.slice(0, slash);
  if (slash < 0 || isDns1123Subdomain(domain).length > 0) return [invalid(field, controller, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(controller.slice(slash + 1))) return [invalid(field, controller, 'Invalid path: must be a valid path')];
  return [];
}

function validateIngressClass(ingressClass: IngressClass): FieldCause[] {
  const causes = checkController(ingressClass.spec.controller);
  const parameters = ingressClass.spec.parameters;
  if (parameters) {
    if (!parameters.kind) causes.push(required('spec.parameters.kind'));
    if (!parameters.name) causes.push(required('spec.parameters.name'));
    if (parameters.scope === 'Namespace' && !parameters.namespace)
      causes.push(required('spec.parameters.namespace', '`parameters.scope` is set to "Namespace"'));
  }
  return causes;
}

function validateIngressClassUpdate(ingressClass: IngressClass, old: IngressClass): FieldCause[] {
  return ingressClass.spec.controller !== old.spec.controller ? [immutable('spec.controller', ingressClass.spec.controller ?? '')] : [];
}

export const ingressClassRules: AnyKindRules = anyKind<IngressClass>({
  schema: ingressClassSchema,
  nameRule: isDns1123Subdomain,
  validate: validateIngressClass,
  validateUpdate: validateIngressClassUpdate,
});
