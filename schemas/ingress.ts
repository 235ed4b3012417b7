/** `networking.k8s.io/v1` Ingress: host and path rules to Service backends. */
import { z } from 'zod';
import { child, type FieldCause, forbidden, index, invalid, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, conditionSchema, int32, kindField, mergedBy, objectMetaSchema } from './meta.ts';
import { checkName, isDns1035Label, isDns1123Subdomain } from './name-rules.ts';
import { loadBalancerIngressSchema } from './service.ts';

const networkingV1 = 'io.k8s.api.networking.v1';

const ingressBackend = z
  .object({
    service: z
      .object({
        name: z.string(),
        port: z
          .object({ name: z.string().optional(), number: int32.optional() })
          .meta({ id: `${networkingV1}.ServiceBackendPort` })
          .optional(),
      })
      .meta({ id: `${networkingV1}.IngressServiceBackend` })
      .optional(),
    resource: z.object({ apiGroup: z.string().optional(), kind: z.string(), name: z.string() }).optional(),
  })
  .meta({ id: `${networkingV1}.IngressBackend` });
type IngressBackend = z.infer<typeof ingressBackend>;

export const pathTypes = ['Exact', 'Prefix', 'ImplementationSpecific'] as const;

const httpIngressPath = z
  .object({ path: z.string().optional(), pathType: z.enum(pathTypes).optional(), backend: ingressBackend })
  .meta({ id: `${networkingV1}.HTTPIngressPath` });

export const ingressSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    spec: z
      .object({
        ingressClassName: z.string().optional(),
        defaultBackend: ingressBackend.optional(),
        tls: z
          .array(z.object({ hosts: z.array(z.string()).optional(), secretName: z.string().optional() }).meta({ id: `${networkingV1}.IngressTLS` }))
          .optional(),
        rules: z
          .array(
            z
              .object({
                host: z.string().optional(),
                http: z
                  .object({ paths: z.array(httpIngressPath) })
                  .meta({ id: `${networkingV1}.HTTPIngressRuleValue` })
                  .optional(),
              })
              .meta({ id: `${networkingV1}.IngressRule` }),
          )
          .optional(),
      })
      .meta({ id: `${networkingV1}.IngressSpec`, description: 'The rules, TLS and default backend of an Ingress.' })
      .default(() => ({})),
    status: z
      .object({
        loadBalancer: z
          .object({ ingress: z.array(loadBalancerIngressSchema.omit({ ipMode: true })).optional() })
          .meta({ id: `${networkingV1}.IngressLoadBalancerStatus` })
          .prefault({}),
        // Not in Kubernetes' IngressStatus: where Skiff's controller reports what it cannot serve (docs/adr/095-ingress-as-alb-rules.md).
        conditions: mergedBy(conditionSchema, 'type').optional(),
      })
      .meta({ id: `${networkingV1}.IngressStatus` })
      // Always sent as kube-apiserver sends it: `{"loadBalancer": {}}` at least.
      .prefault({}),
  })
  .meta({ id: `${networkingV1}.Ingress`, description: 'An Ingress routes HTTP traffic by host and path to Services.' });
export type Ingress = z.infer<typeof ingressSchema>;

function validateBackend(backend: IngressBackend, field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (backend.service && backend.resource) causes.push(invalid(field, '', 'cannot set both resource and service backends'));
  if (!backend.service && !backend.resource) causes.push(invalid(field, '', 'resource or service backend is required'));
  const service = backend.service;
  if (service) {
    const at = child(field, 'service');
    if (!service.name) causes.push(required(child(at, 'name')));
    else causes.push(...checkName(child(at, 'name'), service.name, isDns1035Label));
    const port = service.port;
    if (!port || (!port.name && port.number === undefined)) causes.push(required(child(at, 'port'), 'port name or number is required'));
    else if (port.name && port.number !== undefined) causes.push(invalid(child(at, 'port'), port, 'cannot set both port name & port number'));
    else if (port.number !== undefined && (port.number < 1 || port.number > 65535))
      causes.push(invalid(child(child(at, 'port'), 'number'), port.number, 'must be between 1 and 65535, inclusive'));
  }
  return causes;
}

function validateIngress(ingress: Ingress): FieldCause[] {
  const spec = ingress.spec;
  const causes: FieldCause[] = [];
  if (!spec.defaultBackend && (spec.rules ?? []).length === 0) causes.push(invalid('spec.rules', [], 'either `defaultBackend` or `rules` must be specified'));
  if (spec.defaultBackend) causes.push(...validateBackend(spec.defaultBackend, 'spec.defaultBackend'));
  (spec.rules ?? []).forEach((rule, i) => {
    const at = index('spec.rules', i);
    if (rule.host) {
      const host = rule.host.startsWith('*.') ? rule.host.slice(2) : rule.host;
      causes.push(...checkName(child(at, 'host'), rule.host, () => isDns1123Subdomain(host)));
    }
    (rule.http?.paths ?? []).forEach((path, j) => {
      const field = index(child(child(at, 'http'), 'paths'), j);
      if (!path.pathType) causes.push(required(child(field, 'pathType'), 'pathType must be specified'));
      if ((path.pathType === 'Exact' || path.pathType === 'Prefix') && !(path.path ?? '').startsWith('/')) {
        causes.push(invalid(child(field, 'path'), path.path ?? '', 'must be an absolute path'));
      }
      if (path.pathType === 'ImplementationSpecific' && path.path && !path.path.startsWith('/')) {
        causes.push(invalid(child(field, 'path'), path.path, 'must be an absolute path'));
      }
      causes.push(...validateBackend(path.backend, child(field, 'backend')));
    });
  });
  (spec.tls ?? []).forEach((tls, i) => {
    if (tls.secretName) causes.push(...checkName(child(index('spec.tls', i), 'secretName'), tls.secretName, isDns1123Subdomain));
  });
  if (spec.ingressClassName) causes.push(...checkName('spec.ingressClassName', spec.ingressClassName, isDns1123Subdomain));
  if (ingress.metadata.annotations?.['kubernetes.io/ingress.class'] && spec.ingressClassName) {
    causes.push(forbidden('spec.ingressClassName', 'can not be set when the class field is also set'));
  }
  return causes;
}

export const ingressRules: AnyKindRules = anyKind<Ingress>({ schema: ingressSchema, nameRule: isDns1123Subdomain, validate: validateIngress });
