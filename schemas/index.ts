/**
 * Admission by schema: parse a request body of a served type, drop (or refuse) unknown fields,
 * apply Kubernetes' defaults, and validate, producing the object the store should write.
 */

import type { z } from 'zod';
import { BadRequestError, InvalidError } from '../functions/core/errors.ts';
import {
  localSubjectAccessReviewRules,
  selfSubjectAccessReviewRules,
  selfSubjectReviewRules,
  selfSubjectRulesReviewRules,
  subjectAccessReviewRules,
  tokenReviewRules,
} from './access-reviews.ts';
import { mutatingWebhookConfigurationRules, validatingWebhookConfigurationRules } from './admission-registration.ts';
import { configMapRules } from './config-map.ts';
import { controllerRevisionRules } from './controller-revision.ts';
import { cronJobRules } from './cron-job.ts';
import { customResourceRules } from './custom-resource.ts';
import { customResourceDefinitionRules } from './custom-resource-definition.ts';
import { daemonSetRules } from './daemon-set.ts';
import { deploymentRules } from './deployment.ts';
import { endpointSliceRules } from './endpoint-slice.ts';
import { endpointsRules } from './endpoints.ts';
import { eventRules } from './event.ts';
import { type FieldCause, immutable } from './field-errors.ts';
import { horizontalPodAutoscalerRules } from './horizontal-pod-autoscaler.ts';
import { ingressRules } from './ingress.ts';
import { ingressClassRules } from './ingress-class.ts';
import { jobRules } from './job.ts';
import type { AnyKindRules } from './kind-rules.ts';
import { leaseRules } from './lease.ts';
import type { KubeObject } from './meta.ts';
import { validateObjectMeta } from './meta.ts';
import { namespaceRules } from './namespace.ts';
import { networkPolicyRules } from './network-policy.ts';
import { nodeRules } from './node.ts';
import { podRules } from './pod.ts';
import { podDisruptionBudgetRules } from './pod-disruption-budget.ts';
import { priorityClassRules } from './priority-class.ts';
import { clusterRoleBindingRules, clusterRoleRules, roleBindingRules, roleRules } from './rbac.ts';
import { apiVersionOf, type ResourceType, types } from './registry.ts';
import { replicaSetRules } from './replica-set.ts';
import { replicationControllerRules } from './replication-controller.ts';
import { nodeMetricsRules, podMetricsRules } from './resource-metrics.ts';
import { limitRangeRules, resourceQuotaRules } from './resource-quota.ts';
import { secretRules } from './secret.ts';
import { serviceRules } from './service.ts';
import { serviceAccountRules } from './service-account.ts';
import { statefulSetRules } from './stateful-set.ts';
import { persistentVolumeClaimRules, persistentVolumeRules, storageClassRules } from './storage.ts';
import { prune } from './structural-schema.ts';
import { unknownFields } from './unknown-fields.ts';
import { causesOf } from './zod-causes.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface AdmitOptions {
  readonly operation: 'create' | 'update';
  /** The stored object, for update validation (immutable fields). */
  readonly old?: KubeObject;
  /** What to do with fields the schema does not declare. Default `Warn`, as in Kubernetes 1.27+. */
  readonly fieldValidation?: FieldValidation;
  /**
   * Mutating admission: changes the defaulted object before it is validated, as kube-apiserver
   * runs its mutating admission plugins between defaulting and validation (the per-kind
   * strategies of `functions/domain/admission/` add what needs cluster settings here).
   */
  readonly prepare?: (object: KubeObject) => KubeObject;
  /**
   * A status update (`old` given, everything but the status taken from it): judged on its
   * status alone, as kube-apiserver's status strategies validate only the status. Failing
   * fields elsewhere, which are the stored object's and not the writer's to answer for, do not
   * refuse it, and the update rules (immutable fields) are not run: nothing they compare changes.
   */
  readonly statusOnly?: boolean;
  /**
   * An update through a subresource that writes one part of the object (`ephemeralcontainers`):
   * the kind's rules for that subresource judge it in place of its update rules.
   */
  readonly subresource?: string;
}

export interface Admitted {
  readonly object: KubeObject;
  readonly warnings: string[];
}

const rulesById: ReadonlyMap<string, AnyKindRules> = new Map([
  [types.namespaces.id, namespaceRules],
  [types.nodes.id, nodeRules],
  [types.pods.id, podRules],
  [types.services.id, serviceRules],
  [types.endpoints.id, endpointsRules],
  [types.configmaps.id, configMapRules],
  [types.secrets.id, secretRules],
  [types.events.id, eventRules],
  [types.deployments.id, deploymentRules],
  [types.replicasets.id, replicaSetRules],
  [types.replicationcontrollers.id, replicationControllerRules],
  [types.resourcequotas.id, resourceQuotaRules],
  [types.limitranges.id, limitRangeRules],
  [types.daemonsets.id, daemonSetRules],
  [types.statefulsets.id, statefulSetRules],
  [types.persistentvolumes.id, persistentVolumeRules],
  [types.persistentvolumeclaims.id, persistentVolumeClaimRules],
  [types.storageclasses.id, storageClassRules],
  [types.controllerrevisions.id, controllerRevisionRules],
  [types.horizontalpodautoscalers.id, horizontalPodAutoscalerRules],
  [types.jobs.id, jobRules],
  [types.cronjobs.id, cronJobRules],
  [types.leases.id, leaseRules],
  [types.ingresses.id, ingressRules],
  [types.ingressclasses.id, ingressClassRules],
  [types.networkpolicies.id, networkPolicyRules],
  [types.priorityclasses.id, priorityClassRules],
  [types.mutatingwebhookconfigurations.id, mutatingWebhookConfigurationRules],
  [types.validatingwebhookconfigurations.id, validatingWebhookConfigurationRules],
  [types.customresourcedefinitions.id, customResourceDefinitionRules],
  [types.endpointslices.id, endpointSliceRules],
  [types.serviceaccounts.id, serviceAccountRules],
  [types.poddisruptionbudgets.id, podDisruptionBudgetRules],
  [types.roles.id, roleRules],
  [types.rolebindings.id, roleBindingRules],
  [types.clusterroles.id, clusterRoleRules],
  [types.clusterrolebindings.id, clusterRoleBindingRules],
  [types.nodemetrics.id, nodeMetricsRules],
  [types.podmetrics.id, podMetricsRules],
  [types.selfsubjectreviews.id, selfSubjectReviewRules],
  [types.tokenreviews.id, tokenReviewRules],
  [types.localsubjectaccessreviews.id, localSubjectAccessReviewRules],
  [types.selfsubjectaccessreviews.id, selfSubjectAccessReviewRules],
  [types.selfsubjectrulesreviews.id, selfSubjectRulesReviewRules],
  [types.subjectaccessreviews.id, subjectAccessReviewRules],
]);

function rulesOf(type: ResourceType): AnyKindRules {
  if (type.custom) return customResourceRules(type.custom);
  const rules = rulesById.get(type.id);
  if (!rules) throw new Error(`no schema for resource type ${type.id}`);
  return rules;
}

/** The zod schema of a served type's objects (for OpenAPI generation). */
export function schemaOf(type: ResourceType): z.ZodType {
  return rulesOf(type).schema;
}

/** JSON `null` means "not set" for Kubernetes' optional fields; zod's optional means absent. */
function withoutNulls(value: unknown): unknown {
  // Most bodies hold no null member: they are handed on as they are, not copied (every write's
  // body, and an update's stored object, pass here).
  return holdsNullMember(value) ? copyWithoutNulls(value) : value;
}

function holdsNullMember(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsNullMember);
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const member = (value as Record<string, unknown>)[key];
    if (member === null || holdsNullMember(member)) return true;
  }
  return false;
}

function copyWithoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyWithoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, copyWithoutNulls(v)]),
  );
}

function withoutNullMetadata(object: Record<string, unknown>): Record<string, unknown> {
  return object.metadata === undefined || object.metadata === null ? object : { ...object, metadata: withoutNulls(object.metadata) };
}

function checkTypeMeta(type: ResourceType, body: Record<string, unknown>): void {
  const expectedVersion = apiVersionOf(type);
  const { apiVersion, kind } = body;
  if (apiVersion !== undefined && apiVersion !== '' && apiVersion !== expectedVersion) {
    throw new BadRequestError(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${expectedVersion})`);
  }
  if (kind !== undefined && kind !== '' && kind !== type.kind) {
    throw new BadRequestError(`the kind in the data (${String(kind)}) does not match the expected kind (${type.kind})`);
  }
}

function nameOf(object: { metadata?: { name?: string; generateName?: string } }): string {
  return object.metadata?.name ?? object.metadata?.generateName ?? '';
}

/**
 * Parse, default and validate a request body of `type`. Sets apiVersion/kind when missing;
 * throws BadRequestError when apiVersion/kind name another type, or (with `Strict`) when the
 * body has unknown fields; throws InvalidError (422) with every failing field.
 */
export function admit(type: ResourceType, body: unknown, options: AdmitOptions): Admitted {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError(`the body of the request must be a JSON object of kind ${type.kind}`);
  }
  checkTypeMeta(type, body as Record<string, unknown>);
  const rules = rulesOf(type);
  // A custom resource is pruned to its version's schema (kube-apiserver keeps JSON nulls where the schema allows them).
  const pruned = type.custom ? prune(type.custom.schema, body) : undefined;
  const input = (pruned ? withoutNullMetadata(pruned.value as Record<string, unknown>) : withoutNulls(body)) as Record<string, unknown>;
  const ref = { kind: type.kind, group: type.group, name: nameOf(input) };

  const unknown = [...(pruned?.pruned ?? []), ...unknownFields(rules.schema, input)];
  const fieldValidation = options.fieldValidation ?? 'Warn';
  if (unknown.length > 0 && fieldValidation === 'Strict') {
    throw new BadRequestError(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
  }
  const warnings = fieldValidation === 'Warn' ? unknown.map((f) => `unknown field "${f}"`) : [];

  const parsed = rules.schema.safeParse(input, { reportInput: true });
  if (!parsed.success) throw new InvalidError(ref, causesOf(parsed.error));
  // The stored object, parsed and defaulted as the new one is, for the update rules and the
  // defaults that read it. A status update runs no update rules: unless its kind's defaults read
  // the stored object, parsing it again would go unused (docs/adr/201).
  const readsOld = options.operation === 'update' && options.old && (!options.statusOnly || rules.defaultsFromStored);
  const oldParsed = readsOld ? rules.schema.safeParse(withoutNulls(options.old)) : undefined;
  const old = oldParsed?.success ? defaultsOf(rules, oldParsed.data, undefined) : undefined;
  const withDefaults = defaultsOf(rules, parsed.data, old);
  // The hook returns the same kind it is given: a pod with tolerations added is still a pod.
  const defaulted = options.prepare ? (options.prepare(withDefaults as KubeObject) as typeof withDefaults) : withDefaults;

  const causes: FieldCause[] = [
    // The review kinds are never stored, so they need no name.
    ...(type.persisted ? validateObjectMeta(defaulted.metadata, { namespaced: type.namespaced, nameRule: rules.nameRule }) : []),
    ...(rules.validate?.(defaulted) ?? []),
  ];
  if (options.operation === 'create') causes.push(...(rules.validateCreate?.(defaulted) ?? []));
  if (old && !options.statusOnly) {
    if (old.metadata.name && defaulted.metadata.name !== old.metadata.name) causes.push(immutable('metadata.name', defaulted.metadata.name ?? ''));
    const subresourceRules = options.subresource !== undefined ? rules.validateSubresourceUpdate?.[options.subresource] : undefined;
    if (options.subresource !== undefined && !subresourceRules) throw new Error(`no update rules for the ${options.subresource} subresource of ${type.id}`);
    causes.push(...((subresourceRules ?? rules.validateUpdate)?.(defaulted, old) ?? []));
  }
  const refusing = options.statusOnly ? causes.filter((cause) => isStatusField(cause.field)) : causes;
  if (refusing.length > 0) throw new InvalidError(ref, refusing);

  const { apiVersion: _apiVersion, kind: _kind, metadata, ...rest } = defaulted;
  // Cluster-scoped objects have no namespace; the apiserver clears one sent by mistake.
  const { namespace: _namespace, ...clusterMetadata } = metadata;
  const object = { apiVersion: apiVersionOf(type), kind: type.kind, metadata: type.namespaced ? metadata : clusterMetadata, ...rest } as KubeObject;
  return { object, warnings };
}

type KindObject = Parameters<NonNullable<AnyKindRules['defaults']>>[0];

function defaultsOf(rules: AnyKindRules, object: KindObject, old: KindObject | undefined): KindObject {
  if (rules.defaultsFromStored) return rules.defaultsFromStored(object, old);
  return rules.defaults ? rules.defaults(object) : object;
}

function isStatusField(field: string): boolean {
  return field === 'status' || field.startsWith('status.') || field.startsWith('status[');
}
