/**
 * Which webhooks a request is sent to, as kube-apiserver decides (`admission/plugin/webhook/
 * predicates/rules`, `namespace`, `object`, `generic/webhook.go`): the configurations themselves
 * are never sent anywhere, then a webhook's namespace selector, its object selector and one of its
 * rules must all match. Pure: the namespace's labels are given.
 */
import type { AdmissionWebhook, WebhookRule } from '../../../schemas/admission-registration.ts';
import { isEmptySelector, type KubeObject, type LabelSelector, selectorMatches } from '../../../schemas/meta.ts';
import type { ResourceType } from '../../../schemas/registry.ts';

export type WebhookOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** What matching looks at in a request. */
export interface MatchedRequest {
  readonly operation: WebhookOperation;
  readonly type: ResourceType;
  /** The API version the client asked in (the type's stored version unless it asked in another). */
  readonly version: string;
  readonly subresource?: string;
  /** The request's namespace; for a Namespace itself, its name (as kube-apiserver's attributes have it). */
  readonly namespace?: string;
  readonly object?: KubeObject;
  readonly oldObject?: KubeObject;
}

/**
 * kube-apiserver never calls webhooks for requests about webhook configurations (nor admission
 * policies, which Skiff does not serve): a webhook that fails closed could otherwise never be removed.
 */
export function isExemptFromWebhooks(type: ResourceType): boolean {
  return type.group === 'admissionregistration.k8s.io';
}

function isNamespaceRequest(request: MatchedRequest): boolean {
  return request.type.group === '' && request.type.plural === 'namespaces';
}

/** `scope`: a Namespace is cluster scoped whatever its request's namespace says. */
function scopeMatches(rule: WebhookRule, request: MatchedRequest): boolean {
  switch (rule.scope) {
    case 'Namespaced':
      return !isNamespaceRequest(request) && !!request.namespace;
    case 'Cluster':
      return isNamespaceRequest(request) || !request.namespace;
    default:
      return true;
  }
}

/** `pods` matches the pods themselves, `pods/*` every subresource of pods too, `*` every resource but no subresource, `*∕*` everything. */
function resourceMatches(resources: readonly string[], resource: string, subresource: string): boolean {
  return resources.some((entry) => {
    const slash = entry.indexOf('/');
    const main = slash < 0 ? entry : entry.slice(0, slash);
    const sub = slash < 0 ? '' : entry.slice(slash + 1);
    return (main === '*' || main === resource) && (sub === '*' || sub === subresource);
  });
}

function anyOrIncludes(values: readonly string[] | undefined, value: string): boolean {
  return (values ?? []).some((v) => v === '*' || v === value);
}

export function ruleMatches(rule: WebhookRule, request: MatchedRequest): boolean {
  return (
    scopeMatches(rule, request) &&
    anyOrIncludes(rule.operations, request.operation) &&
    anyOrIncludes(rule.apiGroups, request.type.group) &&
    anyOrIncludes(rule.apiVersions, request.version) &&
    resourceMatches(rule.resources ?? [], request.type.plural, request.subresource ?? '')
  );
}

/** Whether a request is about a namespaced object, or a Namespace: the two a namespace selector judges. */
export function needsNamespaceLabels(webhook: AdmissionWebhook, request: MatchedRequest): boolean {
  if (isEmptySelector(webhook.namespaceSelector)) return false;
  return isNamespaceRequest(request) || !!request.namespace;
}

/**
 * The labels a namespace selector is matched against: a Namespace being created or updated is
 * judged by its own new labels (the stored ones are not there yet, or are about to change); every
 * other request by its namespace as stored.
 */
export function namespaceLabelsFromRequest(request: MatchedRequest): Readonly<Record<string, string>> | undefined {
  if (isNamespaceRequest(request) && !request.subresource && (request.operation === 'CREATE' || request.operation === 'UPDATE')) {
    return request.object?.metadata.labels ?? {};
  }
  return undefined;
}

function objectSelectorMatches(selector: LabelSelector, request: MatchedRequest): boolean {
  if (isEmptySelector(selector)) return true;
  const matches = (object: KubeObject | undefined) => object !== undefined && selectorMatches(selector, object.metadata.labels ?? {});
  return matches(request.object) || matches(request.oldObject);
}

/**
 * Whether `webhook` is called for `request`. `namespaceLabels` are the labels of the request's
 * namespace (see `namespaceLabelsFromRequest`); they are only read when `needsNamespaceLabels`.
 */
export function webhookMatches(webhook: AdmissionWebhook, request: MatchedRequest, namespaceLabels: Readonly<Record<string, string>> | undefined): boolean {
  if (isExemptFromWebhooks(request.type)) return false;
  if (needsNamespaceLabels(webhook, request) && !selectorMatches(webhook.namespaceSelector, namespaceLabels ?? {})) return false;
  if (!objectSelectorMatches(webhook.objectSelector, request)) return false;
  return (webhook.rules ?? []).some((rule) => ruleMatches(rule, request));
}
