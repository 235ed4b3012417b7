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

/**
 * Pods a view holds at most. Past it the process lists every pass, as it did before views: a
 * view is held between passes, and a large one held in the one-process control plane's heap slows
 * everything else there (docs/adr/198 saw lists of 20,000 and 40,000 pods slow down under
 * snapshots of whole types).
 */
export const maxViewPods = 20_000;

/** One view per store: tests and hosts with several stores never share one. */
const views = new WeakMap<ObjectReader, PodView>();

const keyOf = (pod: KubeObject): string => `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;

async function listPods(store: ObjectReader): Promise<PodList> {
  // Not held beside the new list while it is read.
  views.delete(store);
  const { items, resourceVersion } = await listComplete(store, types.pods);
  if (items.length <= maxViewPods) views.set(store, { pods: new Map(items.map((pod) => [keyOf(pod), pod])), revision: resourceVersion });
  return { items, revision: resourceVersion };
}

/**
 * The view brought up to date from the change log, or undefined when it could not be (the caller
 * lists). Changes are applied only to the view as it was when they were asked for: a pass and a
 * resync of one process may read at once, and an older answer must not undo a newer one.
 */
async function caughtUp(store: ObjectReader, view: PodView): Promise<PodList | undefined> {
  if (!store.changesSince) return undefined;
  for (;;) {
    const from = view.revision;
    let changes: Awaited<ReturnType<NonNullable<ObjectReader['changesSince']>>>;
    try {
      changes = await store.changesSince(types.pods, from, Math.max(minCatchUp, view.pods.size));
    } catch (error) {
      if (error instanceof GoneError) return undefined;
      throw error;
    }
    if (!changes) return undefined;
    if (view.revision !== from) continue;
    for (const event of changes.events) {
      if (event.type === 'DELETED') view.pods.delete(keyOf(event.object));
      else if (event.type === 'ADDED' || event.type === 'MODIFIED') view.pods.set(keyOf(event.object), event.object);
    }
    view.revision = changes.resourceVersion;
    if (view.pods.size > maxViewPods) views.delete(store);
    return { items: [...view.pods.values()], revision: view.revision };
  }
}

/** Every pod, at a revision from which nothing is missing: the view brought up to date, or a list. */
export async function readPods(store: ObjectReader): Promise<PodList> {
  const view = views.get(store);
  return (view && (await caughtUp(store, view))) ?? listPods(store);
}

/**
 * Every pod with every change up to `revision` (a revision the store reported as settled): the
 * pods given back as they are when they are already there, otherwise brought up to it, or listed again.
 */
export async function readPodsThrough(store: ObjectReader, pods: PodList, revision: string): Promise<PodList> {
  if (pods.revision === revision) return pods;
  const view = views.get(store);
  const current = view && (await caughtUp(store, view));
  return current && Number(current.revision) >= Number(revision) ? current : listPods(store);
}
