/**
 * The scheduler's view of every pod of the cluster, kept between its passes in one process and
 * brought up to date from the store's change log instead of listing every pod each pass
 * (docs/adr/202). It is only ever a shortcut: a view is used only once it has every change up to
 * the revision asked for, and a process without one (a fresh Lambda instance), a store that cannot
 * read its changes, a log that no longer holds them (410) or a gap of more changes than a list
 * costs all fall back to a full list.
 */
import type { KubeObject } from '../../schemas/meta.ts';
import { types } from '../../schemas/registry.ts';
import { GoneError } from '../core/errors.ts';
import { listComplete } from '../store/list-all.ts';
import type { ObjectReader } from '../store/store.ts';

export interface PodList {
  readonly items: readonly KubeObject[];
  /** Every pod change up to this revision is in `items`. */
  readonly revision: string;
}

interface PodView {
  readonly pods: Map<string, KubeObject>;
  revision: string;
}

/**
 * Changes read from the log at most: as many as the view has pods (and at least this many). Read
 * from the table, a change costs about what a listed pod does; a process whose watches keep the
 * log's recent entries in memory (docs/adr/202) reads them for nearly nothing.
 */
const minCatchUp = 1000;

/** One view per store: tests and hosts with several stores never share one. */
const views = new WeakMap<ObjectReader, PodView>();

const keyOf = (pod: KubeObject): string => `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;

async function listPods(store: ObjectReader): Promise<PodList> {
  const { items, resourceVersion } = await listComplete(store, types.pods);
  views.set(store, { pods: new Map(items.map((pod) => [keyOf(pod), pod])), revision: resourceVersion });
  return { items, revision: resourceVersion };
}

/** Brings the view up to date from the change log; false when it could not (the caller lists). */
async function catchUp(store: ObjectReader, view: PodView): Promise<boolean> {
  if (!store.changesSince) return false;
  let changes: Awaited<ReturnType<NonNullable<ObjectReader['changesSince']>>>;
  try {
    changes = await store.changesSince(types.pods, view.revision, Math.max(minCatchUp, view.pods.size));
  } catch (error) {
    if (error instanceof GoneError) return false;
    throw error;
  }
  if (!changes) return false;
  for (const event of changes.events) {
    if (event.type === 'DELETED') view.pods.delete(keyOf(event.object));
    else if (event.type === 'ADDED' || event.type === 'MODIFIED') view.pods.set(keyOf(event.object), event.object);
  }
  view.revision = changes.resourceVersion;
  return true;
}

/** Every pod, at a revision from which nothing is missing: the view brought up to date, or a list. */
export async function readPods(store: ObjectReader): Promise<PodList> {
  const view = views.get(store);
  if (!view || !(await catchUp(store, view))) return listPods(store);
  return { items: [...view.pods.values()], revision: view.revision };
}

/**
 * Every pod with every change up to `revision` (a revision the store reported as settled): the
 * list given back as it is when it is already there, otherwise brought up to it, or listed again.
 */
export async function readPodsThrough(store: ObjectReader, pods: PodList, revision: string): Promise<PodList> {
  if (pods.revision === revision) return pods;
  const view = views.get(store);
  if (view && view.revision === pods.revision && (await catchUp(store, view)) && Number(view.revision) >= Number(revision)) {
    return { items: [...view.pods.values()], revision: view.revision };
  }
  return listPods(store);
}
