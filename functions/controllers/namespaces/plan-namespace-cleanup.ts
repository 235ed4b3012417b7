/**
 * What emptying a Terminating namespace takes next, as a pure function of the namespace and
 * what is still in it: which objects to delete (and how), and whether the namespace can go.
 */

import type { KubeObject } from '../../../schemas/meta.ts';
import { type ResourceType, types } from '../../../schemas/registry.ts';
import type { DeleteOptions } from '../../store/store.ts';

export interface NamespaceContent {
  readonly type: ResourceType;
  readonly object: KubeObject;
}

export interface NamespaceCleanupPlan {
  /** Objects to delete now, in order; each kind's deletion adds its own defaults (graceful pods). */
  readonly delete: readonly { readonly type: ResourceType; readonly object: KubeObject; readonly options: DeleteOptions }[];
  /** Objects already on their way out (grace period, finalizers): the namespace waits for them. */
  readonly waitingFor: number;
  /** Nothing left but events: remove them and the namespace. */
  readonly removeNamespace: boolean;
}

/** Workload owners first, so their controllers stop replacing what is deleted next. */
const ownersFirst = [types.deployments.id, types.replicasets.id];

export function planNamespaceCleanup(namespace: KubeObject | undefined, content: readonly NamespaceContent[]): NamespaceCleanupPlan {
  if (!namespace?.metadata.deletionTimestamp) return { delete: [], waitingFor: 0, removeNamespace: false };
  const rest = content.filter((c) => c.type.id !== types.events.id);
  const rank = (c: NamespaceContent) => (ownersFirst.includes(c.type.id) ? 0 : 1);
  const toDelete = rest
    .filter((c) => !c.object.metadata.deletionTimestamp)
    .sort((a, b) => rank(a) - rank(b))
    .map(({ type, object }) => ({ type, object, options: deleteOptionsFor(object) }));
  const waitingFor = rest.length - toDelete.length;
  return { delete: toDelete, waitingFor, removeNamespace: rest.length === 0 };
}

function deleteOptionsFor(object: KubeObject): DeleteOptions {
  return object.metadata.uid ? { preconditions: { uid: object.metadata.uid } } : {};
}
