/**
 * Keeping the RBAC policy in the store as Kubernetes keeps it: the bootstrap ClusterRoles and
 * ClusterRoleBindings created when missing and brought up to date (missing rules, subjects,
 * labels and annotations added, nothing of the user's removed) unless the user set
 * `rbac.authorization.kubernetes.io/autoupdate: "false"` on them; and aggregated ClusterRoles
 * rewritten from the roles they select. Conflicting writers (two hosts starting at once) retry
 * from a fresh read.
 */
import type { KubeObject } from '../../../../schemas/meta.ts';
import { type ClusterRole, type ClusterRoleBinding, clusterRoleBindingSchema, clusterRoleSchema } from '../../../../schemas/rbac.ts';
import { types } from '../../../../schemas/registry.ts';
import { sameJson } from '../../../../schemas/structural-equality.ts';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../../core/errors.ts';
import { getIfExists, listAll } from '../../../store/list-all.ts';
import type { ObjectReader, ObjectStore } from '../../../store/store.ts';
import { planAggregation } from './aggregation.ts';
import { AUTOUPDATE_ANNOTATION, bootstrapClusterRoleBindings, bootstrapClusterRoles } from './bootstrap-policy.ts';
import { covers } from './escalation.ts';

export function asClusterRole(object: KubeObject): ClusterRole {
  return clusterRoleSchema.parse(object);
}

export function asClusterRoleBinding(object: KubeObject): ClusterRoleBinding {
  return clusterRoleBindingSchema.parse(object);
}

const isRetryable = (error: unknown) => error instanceof ConflictError || error instanceof AlreadyExistsError || error instanceof NotFoundError;

async function withRetries(step: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!isRetryable(error) || attempt >= 5) throw error;
    }
  }
}

function mergedMaps(expected: Readonly<Record<string, string>> | undefined, existing: Readonly<Record<string, string>> | undefined) {
  return { ...expected, ...existing };
}

/** The stored role with what the bootstrap version adds; undefined when nothing is missing. */
export function reconcileClusterRole(existing: KubeObject, expected: ClusterRole): KubeObject | undefined {
  const current = asClusterRole(existing);
  if (current.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'false') return undefined;
  // Aggregated roles get their rules from the aggregation, not from the bootstrap list.
  const missingRules = expected.aggregationRule ? [] : (expected.rules ?? []).filter((rule) => !covers(current.rules ?? [], [rule]).covered);
  const rules = [...(current.rules ?? []), ...missingRules];
  const selectors = [...(current.aggregationRule?.clusterRoleSelectors ?? [])];
  for (const selector of expected.aggregationRule?.clusterRoleSelectors ?? [])
    if (!selectors.some((known) => sameJson(known, selector))) selectors.push(selector);
  const labels = mergedMaps(expected.metadata.labels, current.metadata.labels);
  const annotations = mergedMaps(expected.metadata.annotations, current.metadata.annotations);
  const next = {
    ...existing,
    metadata: { ...existing.metadata, labels, annotations },
    rules,
    ...(selectors.length > 0 ? { aggregationRule: { clusterRoleSelectors: selectors } } : {}),
  };
  return sameJson(next, existing) ? undefined : next;
}

/** The stored binding with the bootstrap subjects it lacks; undefined when nothing is missing. */
export function reconcileClusterRoleBinding(existing: KubeObject, expected: ClusterRoleBinding): KubeObject | undefined {
  const current = asClusterRoleBinding(existing);
  if (current.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'false') return undefined;
  const subjects = [...(current.subjects ?? [])];
  for (const subject of expected.subjects ?? []) {
    if (!subjects.some((known) => known.kind === subject.kind && known.name === subject.name && (known.namespace ?? '') === (subject.namespace ?? ''))) {
      subjects.push(subject);
    }
  }
  const next = {
    ...existing,
    metadata: {
      ...existing.metadata,
      labels: mergedMaps(expected.metadata.labels, current.metadata.labels),
      annotations: mergedMaps(expected.metadata.annotations, current.metadata.annotations),
    },
    subjects,
  };
  return sameJson(next, existing) ? undefined : next;
}

async function ensureClusterRole(store: ObjectStore, expected: ClusterRole): Promise<void> {
  await withRetries(async () => {
    const existing = await getIfExists(store, types.clusterroles, undefined, expected.metadata.name ?? '');
    if (!existing) {
      await store.create(types.clusterroles, expected as KubeObject);
      return;
    }
    const next = reconcileClusterRole(existing, expected);
    if (next) await store.update(types.clusterroles, next);
  });
}

async function ensureClusterRoleBinding(store: ObjectStore, expected: ClusterRoleBinding): Promise<void> {
  await withRetries(async () => {
    const name = expected.metadata.name ?? '';
    const existing = await getIfExists(store, types.clusterrolebindings, undefined, name);
    if (!existing) {
      await store.create(types.clusterrolebindings, expected as KubeObject);
      return;
    }
    const current = asClusterRoleBinding(existing);
    const autoupdate = current.metadata.annotations?.[AUTOUPDATE_ANNOTATION] !== 'false';
    if (autoupdate && !sameJson(current.roleRef, expected.roleRef)) {
      // roleRef is immutable: a binding pointing elsewhere is replaced, as Kubernetes' reconciliation does.
      await store.delete(types.clusterrolebindings, undefined, name, { preconditions: { uid: existing.metadata.uid ?? '' } });
      await store.create(types.clusterrolebindings, expected as KubeObject);
      return;
    }
    const next = reconcileClusterRoleBinding(existing, expected);
    if (next) await store.update(types.clusterrolebindings, next);
  });
}

/** Writes `role` over `original` (the stored version it was made from). */
export type ClusterRoleWriter = (role: KubeObject, original: KubeObject) => Promise<unknown>;

/**
 * Rewrites every aggregated ClusterRole whose rules are out of date. Returns how many changed.
 * `write` defaults to a store update (the start-up reconciliation); the controller passes its admission path.
 */
export async function applyAggregation(store: ObjectReader & Partial<Pick<ObjectStore, 'update'>>, write?: ClusterRoleWriter): Promise<number> {
  const writeRole: ClusterRoleWriter =
    write ??
    ((role) => {
      if (!store.update) throw new Error('applyAggregation needs a writer');
      return store.update(types.clusterroles, role);
    });
  let changedCount = 0;
  await withRetries(async () => {
    const stored = await listAll(store, types.clusterroles);
    const byName = new Map(stored.map((object) => [object.metadata.name ?? '', object]));
    const changed = planAggregation(stored.map(asClusterRole));
    for (const role of changed) {
      const original = byName.get(role.metadata.name ?? '');
      if (original) await writeRole({ ...original, rules: role.rules ?? [] }, original);
    }
    changedCount = changed.length;
  });
  return changedCount;
}

/** Creates or updates the bootstrap policy, then the aggregated roles (kube-apiserver's RBAC post-start hook). */
export async function reconcileBootstrapPolicy(store: ObjectStore): Promise<void> {
  for (const role of bootstrapClusterRoles) await ensureClusterRole(store, role);
  for (const binding of bootstrapClusterRoleBindings) await ensureClusterRoleBinding(store, binding);
  await applyAggregation(store);
}
