/**
 * A watch, whatever holds the change log: the initial list for a watch from '' or '0', then the
 * log's settled changes after a revision, in order, through the watcher's selectors, with
 * bookmarks when quiet. Adapters provide a `ChangeSource`; this loop is the same for all of them,
 * so list-then-watch, 410 and selector rules are the same too (docs/adr/002).
 */
import type { ResourceType } from '../../schemas/registry.ts';
import { apiVersionOf } from '../../schemas/registry.ts';
import { BadRequestError } from '../core/errors.ts';
import { objectKey } from './object-lifecycle.ts';
import { type ChangeRecord, objectMatcher, watchEvent } from './object-matcher.ts';
import type { ChangesSince, ListOptions, ListResult, WatchEvent, WatchOptions } from './store.ts';

/** What one read of the change log gives a watch. */
export interface ChangePage {
  /** Committed changes after the revision asked for, in revision order. */
  readonly changes: readonly ChangeRecord[];
  /** Every revision up to here is in `changes` or was never used: the watch continues after it. */
  readonly through: number;
  /** More is ready after `through`: read again at once. */
  readonly more: boolean;
  /** Something is about to settle (a revision a writer is committing): read again this soon. */
  readonly retryInMs?: number;
}

export interface ChangeSource {
  /**
   * Settled changes after `after`. `first` marks a watch's first read, which also checks that
   * `after` is neither compacted away nor beyond the type's latest revision (GoneError, 410).
   * A later read throws GoneError when the watch fell behind the retained log.
   */
  read(type: ResourceType, after: number, first: boolean, signal: AbortSignal): Promise<ChangePage>;
  /** Calls `wake` whenever there may be something new to read; returns the unsubscribe. */
  subscribe(type: ResourceType, wake: () => void): () => void;
}

export interface WatchLoop {
  readonly source: ChangeSource;
  readonly list: (type: ResourceType, options: ListOptions) => Promise<ListResult>;
  /** How long a quiet watch waits before reading again without a wake-up. */
  readonly pollIntervalMs: number;
  /** Quiet time after which a watch with allowBookmarks sends a BOOKMARK. */
  readonly bookmarkIntervalMs: number;
  /** Ends every watch (the store closes). */
  readonly closed: AbortSignal;
}

const initialListPageSize = 500;

export async function* followChanges(loop: WatchLoop, type: ResourceType, watchOptions: WatchOptions): AsyncGenerator<WatchEvent> {
  const signal = AbortSignal.any([watchOptions.signal, loop.closed]);
  const namespace = type.namespaced ? watchOptions.namespace || undefined : undefined;
  const matcher = objectMatcher(type, namespace, watchOptions.labelSelector, watchOptions.fieldSelector);
  const requested = watchOptions.resourceVersion ?? '';
  if (requested !== '' && !/^\d+$/.test(requested)) throw new BadRequestError(`invalid resource version: "${requested}"`);

  let dirty = false;
  let wakeUp: (() => void) | undefined;
  const unsubscribe = loop.source.subscribe(type, () => {
    dirty = true;
    wakeUp?.();
  });

  try {
    let last: number;
    /** Objects the initial list already showed at a revision newer than the list's. */
    const shown = new Map<string, number>();
    if (requested === '' || requested === '0') {
      let token: string | undefined;
      let listRevision: string | undefined;
      do {
        const page = await loop.list(type, {
          ...(namespace ? { namespace } : {}),
          ...(watchOptions.labelSelector ? { labelSelector: watchOptions.labelSelector } : {}),
          ...(watchOptions.fieldSelector ? { fieldSelector: watchOptions.fieldSelector } : {}),
          limit: initialListPageSize,
          ...(token ? { continue: token } : {}),
        });
        listRevision = page.resourceVersion;
        token = page.continue;
        for (const object of page.items) {
          const revision = Number(object.metadata.resourceVersion);
          if (revision > Number(listRevision)) shown.set(objectKey(object.metadata.namespace, object.metadata.name ?? ''), revision);
          if (signal.aborted) return;
          yield { type: 'ADDED', object };
        }
      } while (token);
      last = Number(listRevision);
    } else {
      last = Number(requested);
    }

    let first = true;
    let quietSince = Date.now();
    while (!signal.aborted) {
      dirty = false;
      let page: ChangePage;
      try {
        page = await loop.source.read(type, last, first, signal);
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
      first = false;

      for (const change of page.changes) {
        const changeKey = objectKey(change.object.metadata.namespace, change.object.metadata.name ?? '');
        const shownAt = shown.get(changeKey);
        if (shownAt !== undefined) {
          if (change.revision <= shownAt) continue;
          shown.delete(changeKey);
        }
        const event = watchEvent(change, matcher);
        if (!event) continue;
        if (signal.aborted) return;
        yield event;
        quietSince = Date.now();
      }
      last = Math.max(last, page.through);
      if (page.more || dirty) continue;

      if (watchOptions.allowBookmarks && Date.now() - quietSince >= loop.bookmarkIntervalMs) {
        yield { type: 'BOOKMARK', object: { apiVersion: apiVersionOf(type), kind: type.kind, metadata: { resourceVersion: String(last) } } };
        quietSince = Date.now();
      }
      const bookmarkDue = watchOptions.allowBookmarks ? quietSince + loop.bookmarkIntervalMs - Date.now() : Number.POSITIVE_INFINITY;
      await new Promise<void>((done) => {
        const finish = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', finish);
          wakeUp = undefined;
          done();
        };
        const timer = setTimeout(finish, Math.max(0, Math.min(page.retryInMs ?? loop.pollIntervalMs, loop.pollIntervalMs, bookmarkDue)));
        signal.addEventListener('abort', finish);
        wakeUp = finish;
        if (dirty || signal.aborted) finish();
      });
    }
  } finally {
    unsubscribe();
  }
}

/**
 * The settled changes after `resourceVersion`, read page by page from the source as a watch's first
 * reads are (the same 410 rules), or undefined past `limit` changes.
 */
export async function readChangesSince(
  source: ChangeSource,
  type: ResourceType,
  resourceVersion: string,
  limit: number,
  signal: AbortSignal,
): Promise<ChangesSince | undefined> {
  if (!/^\d+$/.test(resourceVersion)) throw new BadRequestError(`invalid resource version: "${resourceVersion}"`);
  const everything = objectMatcher(type, undefined, undefined, undefined);
  const events: WatchEvent[] = [];
  let last = Number(resourceVersion);
  for (let first = true; ; first = false) {
    const page = await source.read(type, last, first, signal);
    for (const change of page.changes) {
      const event = watchEvent(change, everything);
      if (event) events.push(event);
    }
    if (events.length > limit) return undefined;
    last = Math.max(last, page.through);
    if (!page.more) return { events, resourceVersion: String(last) };
  }
}
