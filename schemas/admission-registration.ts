/**
 * `admissionregistration.k8s.io/v1` ValidatingWebhookConfiguration and
 * MutatingWebhookConfiguration: the admission webhooks the API server calls on the writes their
 * rules match (`functions/domain/admission-webhooks/`, docs/adr/207). Defaults and validation are
 * kube-apiserver's (`pkg/apis/admissionregistration/v1/defaults.go`, `validation/validation.go`),
 * less CEL: `matchConditions` are refused, since Skiff cannot evaluate them.
 */
import { z } from 'zod';
import { child, duplicate as duplicateValue, type FieldCause, forbidden, index, invalid, notSupported, required } from './field-errors.ts';
import { type AnyKindRules, anyKind } from './kind-rules.ts';
import { apiVersionField, int32, kindField, labelSelectorSchema, objectMetaSchema, validateLabelSelector } from './meta.ts';
import { isDns1035Label, isDns1123Subdomain } from './name-rules.ts';

const v1 = 'io.k8s.api.admissionregistration.v1';

export const failurePolicies = ['Fail', 'Ignore'] as const;
export const matchPolicies = ['Equivalent', 'Exact'] as const;
/** The side effect classes a v1 webhook may declare (Unknown and Some are v1beta1's only). */
export const sideEffectClasses = ['None', 'NoneOnDryRun'] as const;
export const webhookOperations = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'] as const;
export const ruleScopes = ['*', 'Cluster', 'Namespaced'] as const;
export const reinvocationPolicies = ['IfNeeded', 'Never'] as const;
/** The AdmissionReview versions kube-apiserver 1.32 speaks; Skiff sends v1. */
const acceptedReviewVersions = ['v1', 'v1beta1'] as const;

const serviceReferenceSchema = z
  .object({
    namespace: z.string().describe('The namespace of the Service.'),
    name: z.string().describe('The name of the Service.'),
    path: z.string().optional().describe('The URL path requests are sent to.'),
    port: int32.default(443).describe('The Service port requests are sent to; default 443.'),
  })
  .meta({ id: `${v1}.ServiceReference`, description: 'A Service the webhook is reached through, over HTTPS.' });

const webhookClientConfigSchema = z
  .object({
    url: z.string().optional().describe('https://host[:port][/path] of the webhook; exactly one of url or service.'),
    service: serviceReferenceSchema.optional(),
    caBundle: z.string().optional().describe('Base64 PEM of the CA that signed the webhook server certificate; the system roots when absent.'),
  })
  .meta({ id: `${v1}.WebhookClientConfig`, description: 'How the API server reaches the webhook.' });

const ruleWithOperationsSchema = z
  .object({
    operations: z.array(z.string()).optional().describe('CREATE, UPDATE, DELETE, CONNECT or *.'),
    apiGroups: z.array(z.string()).optional().describe('API groups the rule matches; "" is the core group, * all.'),
    apiVersions: z.array(z.string()).optional().describe('API versions the rule matches; * all.'),
    resources: z.array(z.string()).optional().describe('Resources the rule matches: pods, pods/status, pods/*, */status, *, */*.'),
    scope: z.string().default('*').describe('Cluster, Namespaced or * (the default).'),
  })
  .meta({ id: `${v1}.RuleWithOperations`, description: 'Operations on resources a webhook is called for.' });

const matchConditionSchema = z
  .object({ name: z.string(), expression: z.string() })
  .meta({ id: `${v1}.MatchCondition`, description: 'A CEL expression a request must satisfy; not supported by Skiff.' });

const webhookFields = {
  name: z.string().describe('The fully qualified name of the webhook, e.g. imagepolicy.kubernetes.io.'),
  clientConfig: webhookClientConfigSchema,
  rules: z.array(ruleWithOperationsSchema).optional(),
  failurePolicy: z.string().default('Fail').describe('What a failed call does: Fail (the default) refuses the request, Ignore lets it through.'),
  matchPolicy: z.string().default('Equivalent').describe('Exact, or Equivalent (the default): also called for the same resource in another version.'),
  namespaceSelector: labelSelectorSchema.default(() => ({})),
  objectSelector: labelSelectorSchema.default(() => ({})),
  sideEffects: z.string().optional().describe('None or NoneOnDryRun; required.'),
  timeoutSeconds: int32.default(10).describe('How long a call may take, 1 to 30 seconds; default 10.'),
  admissionReviewVersions: z.array(z.string()).optional().describe('AdmissionReview versions the webhook accepts, preferred first; must include v1.'),
  matchConditions: z.array(matchConditionSchema).optional(),
};

const validatingWebhookSchema = z
  .object(webhookFields)
  .meta({ id: `${v1}.ValidatingWebhook`, description: 'A webhook that may refuse the requests its rules match.' });

const mutatingWebhookSchema = z
  .object({
    ...webhookFields,
    reinvocationPolicy: z.string().default('Never').describe('Never (the default) or IfNeeded; Skiff calls each webhook once.'),
  })
  .meta({ id: `${v1}.MutatingWebhook`, description: 'A webhook that may change or refuse the requests its rules match.' });

export const validatingWebhookConfigurationSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    webhooks: z.array(validatingWebhookSchema).optional(),
  })
  .meta({ id: `${v1}.ValidatingWebhookConfiguration`, description: 'Webhooks that may accept or refuse objects without changing them.' });
export type ValidatingWebhookConfiguration = z.infer<typeof validatingWebhookConfigurationSchema>;

export const mutatingWebhookConfigurationSchema = z
  .object({
    apiVersion: apiVersionField,
    kind: kindField,
    metadata: objectMetaSchema.default(() => ({})),
    webhooks: z.array(mutatingWebhookSchema).optional(),
  })
  .meta({ id: `${v1}.MutatingWebhookConfiguration`, description: 'Webhooks that may accept, refuse or change objects.' });
export type MutatingWebhookConfiguration = z.infer<typeof mutatingWebhookConfigurationSchema>;

export type ValidatingWebhook = z.infer<typeof validatingWebhookSchema>;
export type MutatingWebhook = z.infer<typeof mutatingWebhookSchema>;
export type AdmissionWebhook = ValidatingWebhook & { readonly reinvocationPolicy?: string };
export type WebhookRule = z.infer<typeof ruleWithOperationsSchema>;
export type WebhookClientConfig = z.infer<typeof webhookClientConfigSchema>;

/** Go's rendering of a string slice in a field error (`[]string{"a", "b"}`). */
function goStrings(values: readonly string[], type = 'string'): string {
  return `[]${type}{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
}

/** `IsFullyQualifiedName`: a DNS subdomain of at least three labels. */
function checkFullyQualifiedName(field: string, name: string): FieldCause[] {
  if (name === '') return [required(field)];
  const errors = isDns1123Subdomain(name);
  if (errors.length > 0) return [invalid(field, name, errors.join(','))];
  if (name.split('.').length < 3) return [invalid(field, name, 'should be a domain with at least three segments separated by dots')];
  return [];
}

function checkResources(resources: readonly string[], field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  if (resources.length === 0) causes.push(required(field, ''));
  const withWildcardSubresources = new Set<string>();
  const subresourcesOfWildcard = new Set<string>();
  let doubleWildcard = false;
  let singleWildcard = false;
  let withoutSubresource = false;
  resources.forEach((resource, i) => {
    const at = index(field, i);
    if (resource === '') {
      causes.push(required(at, ''));
      return;
    }
    if (resource === '*/*') doubleWildcard = true;
    if (resource === '*') singleWildcard = true;
    const slash = resource.indexOf('/');
    if (slash < 0) {
      withoutSubresource = resource !== '*';
      return;
    }
    const main = resource.slice(0, slash);
    const sub = resource.slice(slash + 1);
    if (withWildcardSubresources.has(main)) causes.push(invalid(at, resource, `if '${main}/*' is present, must not specify ${resource}`));
    if (subresourcesOfWildcard.has(sub)) causes.push(invalid(at, resource, `if '*/${sub}' is present, must not specify ${resource}`));
    if (sub === '*') withWildcardSubresources.add(main);
    if (main === '*') subresourcesOfWildcard.add(sub);
  });
  if (resources.length > 1 && doubleWildcard)
    causes.push(invalid(field, resources, "if '*/*' is present, must not specify other resources", goStrings(resources)));
  if (singleWildcard && withoutSubresource)
    causes.push(invalid(field, resources, "if '*' is present, must not specify other resources without subresources", goStrings(resources)));
  return causes;
}

function checkRule(rule: WebhookRule, field: string): FieldCause[] {
  const causes: FieldCause[] = [];
  const operations = rule.operations ?? [];
  if (operations.length === 0) causes.push(required(child(field, 'operations'), ''));
  if (operations.length > 1 && operations.includes('*'))
    causes.push(
      invalid(
        child(field, 'operations'),
        operations,
        "if '*' is present, must not specify other operations",
        goStrings(operations, 'admissionregistration.OperationType'),
      ),
    );
  operations.forEach((operation, i) => {
    if (!(webhookOperations as readonly string[]).includes(operation))
      causes.push(notSupported(index(child(field, 'operations'), i), operation, webhookOperations));
  });
  const groups = rule.apiGroups ?? [];
  if (groups.length === 0) causes.push(required(child(field, 'apiGroups'), ''));
  if (groups.length > 1 && groups.includes('*'))
    causes.push(invalid(child(field, 'apiGroups'), groups, "if '*' is present, must not specify other API groups", goStrings(groups)));
  const versions = rule.apiVersions ?? [];
  if (versions.length === 0) causes.push(required(child(field, 'apiVersions'), ''));
  if (versions.length > 1 && versions.includes('*'))
    causes.push(invalid(child(field, 'apiVersions'), versions, "if '*' is present, must not specify other API versions", goStrings(versions)));
  versions.forEach((version, i) => {
    if (version === '') causes.push(required(index(child(field, 'apiVersions'), i), ''));
  });
  causes.push(...checkResources(rule.resources ?? [], child(field, 'resources')));
  if (!(ruleScopes as readonly string[]).includes(rule.scope)) causes.push(notSupported(child(field, 'scope'), rule.scope, ruleScopes));
  return causes;
}

/** `ValidateWebhookURL` with https forced, as for admission webhooks. */
function checkUrl(field: string, text: string): FieldCause[] {
  const form = '; desired format: https://host[/path]';
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    return [required(field, `url must be a valid URL: ${error instanceof Error ? error.message : String(error)}${form}`)];
  }
  const causes: FieldCause[] = [];
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'https') causes.push(invalid(field, scheme, `'https' is the only allowed URL scheme${form}`));
  if (url.host === '') causes.push(invalid(field, url.host, `host must be specified${form}`));
  if (url.username !== '' || url.password !== '')
    causes.push(invalid(field, url.password ? `${url.username}:${url.password}` : url.username, 'user information is not permitted in the URL'));
  if (url.hash !== '' || text.includes('#')) causes.push(invalid(field, url.hash.replace(/^#/, ''), 'fragments are not permitted in the URL'));
  if (url.search !== '' || /\?[^#]/.test(text)) causes.push(invalid(field, url.search.replace(/^\?/, ''), 'query parameters are not permitted in the URL'));
  return causes;
}

/** `ValidateWebhookService`. */
function checkService(field: string, service: NonNullable<WebhookClientConfig['service']>): FieldCause[] {
  const causes: FieldCause[] = [];
  if (!service.name) causes.push(required(child(field, 'name'), 'service name is required'));
  if (!service.namespace) causes.push(required(child(field, 'namespace'), 'service namespace is required'));
  if (service.port < 1 || service.port > 65535)
    causes.push(invalid(child(field, 'port'), service.port, 'port is not valid: must be between 1 and 65535, inclusive'));
  const path = service.path;
  if (path === undefined || path === '' || path === '/') return causes;
  if (path === '//') return [...causes, invalid(child(field, 'path'), path, 'segment[0] may not be empty')];
  if (!path.startsWith('/')) return [...causes, invalid(child(field, 'path'), path, "must start with a '/'")];
  const segments = path.slice(1).replace(/\/$/, '').split('/');
  segments.forEach((segment, i) => {
    if (segment === '') causes.push(invalid(child(field, 'path'), path, `segment[${i}] may not be empty`));
    else {
      const errors = isDns1123Subdomain(segment);
      if (errors.length > 0) causes.push(invalid(child(field, 'path'), path, `segment[${i}]: ${errors.join(', ')}`));
    }
  });
  return causes;
}

function checkReviewVersions(versions: readonly string[], field: string, requireRecognized: boolean): FieldCause[] {
  if (versions.length === 0) return [required(field, `must specify one of ${acceptedReviewVersions.join(', ')}`)];
  const causes: FieldCause[] = [];
  const seen = new Set<string>();
  versions.forEach((version, i) => {
    if (seen.has(version)) {
      causes.push(invalid(index(field, i), version, 'duplicate version'));
      return;
    }
    seen.add(version);
    for (const error of isDns1035Label(version)) causes.push(invalid(index(field, i), version, error));
  });
  if (requireRecognized && !versions.some((v) => (acceptedReviewVersions as readonly string[]).includes(v)))
    causes.push(invalid(field, versions, `must include at least one of ${acceptedReviewVersions.join(', ')}`, goStrings(versions)));
  return causes;
}

/**
 * kube-apiserver relaxes these on an update of a configuration stored before a rule existed; every
 * configuration Skiff stores was checked with all of them, so it applies them always.
 */
interface ValidationOptions {
  readonly requireNoSideEffects: boolean;
  readonly requireRecognizedReviewVersion: boolean;
  readonly requireUniqueNames: boolean;
}

const strict: ValidationOptions = { requireNoSideEffects: true, requireRecognizedReviewVersion: true, requireUniqueNames: true };

function checkWebhook(hook: AdmissionWebhook, field: string, mutating: boolean, options: ValidationOptions): FieldCause[] {
  const causes = checkFullyQualifiedName(child(field, 'name'), hook.name);
  (hook.rules ?? []).forEach((rule, i) => {
    causes.push(...checkRule(rule, index(child(field, 'rules'), i)));
  });
  if (!(failurePolicies as readonly string[]).includes(hook.failurePolicy))
    causes.push(notSupported(child(field, 'failurePolicy'), hook.failurePolicy, failurePolicies));
  if (!(matchPolicies as readonly string[]).includes(hook.matchPolicy)) causes.push(notSupported(child(field, 'matchPolicy'), hook.matchPolicy, matchPolicies));
  const allowedSideEffects: readonly string[] = options.requireNoSideEffects ? sideEffectClasses : ['None', 'NoneOnDryRun', 'Some', 'Unknown'];
  if (hook.sideEffects === undefined) causes.push(required(child(field, 'sideEffects'), `must specify one of ${allowedSideEffects.join(', ')}`));
  else if (!allowedSideEffects.includes(hook.sideEffects)) causes.push(notSupported(child(field, 'sideEffects'), hook.sideEffects, allowedSideEffects));
  if (hook.timeoutSeconds < 1 || hook.timeoutSeconds > 30)
    causes.push(invalid(child(field, 'timeoutSeconds'), hook.timeoutSeconds, 'the timeout value must be between 1 and 30 seconds'));
  causes.push(...validateLabelSelector(hook.namespaceSelector, child(field, 'namespaceSelector')));
  causes.push(...validateLabelSelector(hook.objectSelector, child(field, 'objectSelector')));
  if (mutating && hook.reinvocationPolicy !== undefined && !(reinvocationPolicies as readonly string[]).includes(hook.reinvocationPolicy))
    causes.push(notSupported(child(field, 'reinvocationPolicy'), hook.reinvocationPolicy, reinvocationPolicies));
  const config = hook.clientConfig;
  const clientField = child(field, 'clientConfig');
  if ((config.url === undefined) === (config.service === undefined)) causes.push(required(clientField, 'exactly one of url or service is required'));
  else if (config.url !== undefined) causes.push(...checkUrl(child(clientField, 'url'), config.url));
  else if (config.service) causes.push(...checkService(child(clientField, 'service'), config.service));
  if (config.caBundle !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(config.caBundle))
    causes.push(invalid(child(clientField, 'caBundle'), '', 'must be base64-encoded PEM'));
  if ((hook.matchConditions ?? []).length > 0)
    // kube-apiserver compiles these CEL expressions; Skiff has no CEL, and calling a webhook its
    // conditions would have skipped (or skipping one they would have called) is worse than a clear no.
    causes.push(
      forbidden(child(field, 'matchConditions'), 'CEL match conditions are not supported by this server (Skiff has no CEL evaluator); remove matchConditions'),
    );
  return causes;
}

function checkConfiguration(webhooks: readonly AdmissionWebhook[], mutating: boolean, options: ValidationOptions): FieldCause[] {
  const causes: FieldCause[] = [];
  const names = new Set<string>();
  webhooks.forEach((hook, i) => {
    const field = index('webhooks', i);
    causes.push(...checkWebhook(hook, field, mutating, options));
    causes.push(...checkReviewVersions(hook.admissionReviewVersions ?? [], child(field, 'admissionReviewVersions'), options.requireRecognizedReviewVersion));
    if (options.requireUniqueNames && hook.name !== '') {
      if (names.has(hook.name)) causes.push(duplicateValue(child(field, 'name'), hook.name));
      else names.add(hook.name);
    }
  });
  return causes;
}

export const validatingWebhookConfigurationRules: AnyKindRules = anyKind<ValidatingWebhookConfiguration>({
  schema: validatingWebhookConfigurationSchema,
  nameRule: isDns1123Subdomain,
  validate: (configuration) => checkConfiguration(configuration.webhooks ?? [], false, strict),
});

export const mutatingWebhookConfigurationRules: AnyKindRules = anyKind<MutatingWebhookConfiguration>({
  schema: mutatingWebhookConfigurationSchema,
  nameRule: isDns1123Subdomain,
  validate: (configuration) => checkConfiguration(configuration.webhooks ?? [], true, strict),
});
