/**
 * What a list or a watch with a namespace, a label selector and a field selector lets through,
 * and the event a change becomes for such a watcher. Pure: every store adapter uses the same
 * rules, so selectors behave the same whatever holds the objects.
 */

import { parseFieldSelector, selectableFields } from '../../schemas/field-selector.ts';
import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';
import { parseLabelSelector } from '../core/label-selector.ts';
import type { WatchEvent } from './store.ts';

/** Labels and selectable fields of an object before a change: what watch filters need. */
export interface Projection {
  readonly labels: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, string>>;
}

export const changeEventTypes = ['ADDED', 'MODIFIED', 'DELETED'] as const;
export type ChangeEventType = (typeof changeEventTypes)[number];

/** One committed change of the log, as a watch replays it. */
export interface ChangeRecord {
  readonly typeId: string;
  readonly revision: number;
  readonly type: ChangeEventType;
  /** The object after the change; for DELETED its last state, stamped with the deleting revision. */
  readonly object: KubeObject;
  /** Labels and fields before a MODIFIED or a DELETED, so a selective watch can tell an object leaving its view. */
  readonly prior?: Projection;
  /** Epoch seconds after which the entry counts as compacted. */
  readonly retainedUntil: number;
}

export interface ObjectMatcher {
  /** Some selector narrows the result. */
  readonly filtered: boolean;
  inNamespace(object: KubeObject): boolean;
  matches(object: KubeObject): boolean;
  /** Labels and fields only: namespace is checked with `inNamespace`. */
  matchesProjection(projection: Projection): boolean;
}

export function projection(type: ResourceType, object: KubeObject): Projection {
  return { labels: { ...(object.metadata.labels ?? {}) }, fields: selectableFields(type, object) };
}

/** BadRequestError (400) for a selector that does not parse or names a field the kind cannot select by. */
export function objectMatcher(
  type: ResourceType,
  namespace: string | undefined,
  labelSelector: string | undefined,
  fieldSelector: string | undefined,
): ObjectMatcher {
  const labels = parseLabelSelector(labelSelector);
  const fields = parseFieldSelector(type, fieldSelector);
  const filtered = labels.requirements.length > 0 || fields.requirements.length > 0;
  const matchesProjection = (p: Projection): boolean => labels.matches(p.labels) && fields.matches(p.fields);
  const inNamespace = (object: KubeObject): boolean => namespace === undefined || object.metadata.namespace === namespace;
  const matches = (object: KubeObject): boolean =>
    inNamespace(object) && labels.matches(object.metadata.labels) && (fields.requirements.length === 0 || fields.matches(selectableFields(type, object)));
  return { filtered, inNamespace, matches, matchesProjection };
}

/**
 * The event a watcher with these selectors sees for a change: an object that stops matching is
 * DELETED for it, one that starts matching is ADDED, as Kubernetes' watch cache does. `current`,
 * the changed object's `projection`, is for a caller that matches one change against many
 * watchers: their selectors then read the object's labels and fields once, not once each.
 */
export function watchEvent(change: ChangeRecord, matcher: ObjectMatcher, current?: Projection): WatchEvent | undefined {
  if (!matcher.inNamespace(change.object)) return undefined;
  const matchesNow = current ? matcher.matchesProjection(current) : matcher.matches(change.object);
  const matchedBefore = change.prior ? matcher.matchesProjection(change.prior) : matchesNow;
  if (change.type === 'ADDED') return matchesNow ? { type: 'ADDED', object: change.object } : undefined;
  // A watcher that saw the object must hear it go, even if its last update moved it out of view.
  if (change.type === 'DELETED') return matchesNow || matchedBefore ? { type: 'DELETED', object: change.object } : undefined;
  if (matchesNow) return { type: matchedBefore ? 'MODIFIED' : 'ADDED', object: change.object };
  return matchedBefore ? { type: 'DELETED', object: change.object } : undefined;
}
