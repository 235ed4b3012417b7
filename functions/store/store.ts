/**
 * The object store contract: etcd's role, played by DynamoDB. Nothing outside
 * `functions/store/` talks to DynamoDB for objects; everything goes through `ObjectStore`.
 *
 * Semantics follow the Kubernetes storage layer:
 * - every write takes a new revision of its resource type, higher than any committed before it
 *   and than the object's own, and stamps it into `metadata.resourceVersion`; revisions are
 *   unique and ordered per type (they may skip numbers where writes failed);
 * - `uid`, `creationTimestamp`, `generation` (for the kinds that keep one, moved as the kind's
 *   `ResourceType.generation` rule says, docs/adr/204), and names from `generateName` are
 *   assigned here;
 * - deleting an object with finalizers only sets `deletionTimestamp`; an update that
 *   removes the last finalizer of such an object removes it;
 * - watch replays the change log after a revision, then follows it; a revision older
 *   than the retained log fails with `GoneError` (410 Expired).
 */

import type { KubeObject } from '../../schemas/meta.ts';
import type { ResourceType } from '../../schemas/registry.ts';

export interface ListOptions {
  /** Omit for all namespaces (or for cluster-scoped types). */
  readonly namespace?: string;
  /** Kubernetes label selector syntax: `app=web,tier!=db,env in (a,b),!legacy`. */
  readonly labelSelector?: string;
  /** Field selector: `metadata.name=x,spec.nodeName=n1,status.phase!=Running`. */
  readonly fieldSelector?: string;
  readonly limit?: number;
  /** Opaque token from a previous page's `continue`. */
  readonly continue?: string;
}

export interface ListResult {
  readonly items: KubeObject[];
  /** The type's revision when the list began. A watch from here misses nothing. */
  readonly resourceVersion: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent {
  readonly type: WatchEventType;
  /** For BOOKMARK, an object of the type's kind with only `metadata.resourceVersion`. */
  readonly object: KubeObject;
}

export interface WatchOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Start after this revision. Absent, '' or '0': first an ADDED event for every object
   * that exists now, then every change after that.
   */
  readonly resourceVersion?: string;
  /** Emit a BOOKMARK event when the watch has been quiet for a while. */
  readonly allowBookmarks?: boolean;
  /** Ends the watch (the iterator returns). */
  readonly signal: AbortSignal;
}

export interface DeleteOptions {
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  /**
   * Kubernetes graceful deletion: when > 0 the object is only marked (deletionTimestamp,
   * deletionGracePeriodSeconds) and whoever runs it finishes the deletion. 0 or absent: delete now,
   * unless finalizers hold it.
   */
  readonly gracePeriodSeconds?: number;
  /** Finalizers to add as the object is marked, e.g. `foregroundDeletion`, `orphan`. */
  readonly addFinalizers?: readonly string[];
  /**
   * Only mark the object (deletionTimestamp), even with no finalizers and no grace period: a
   * controller finishes the job (a namespace is emptied first). A later delete with
   * `gracePeriodSeconds: 0` of a marked object without finalizers removes it.
   */
  readonly mark?: boolean;
}

export interface DeleteResult {
  /** The object as it was removed, or as marked for deletion. */
  readonly object: KubeObject;
  /** true: gone now. false: marked with deletionTimestamp, waiting on finalizers or grace. */
  readonly removed: boolean;
}

export interface UpdateOptions {
  /**
   * Only write if the stored object is at this revision (ConflictError otherwise).
   * Defaults to `object.metadata.resourceVersion` when that is set; pass `null` to write
   * unconditionally.
   */
  readonly expectedResourceVersion?: string | null;
}

/** The changes of a type after a revision, as a watch from it would replay them. */
export interface ChangesSince {
  /** ADDED, MODIFIED and DELETED events in revision order (no selectors, no bookmarks). */
  readonly events: readonly WatchEvent[];
  /** Every change up to this revision is in `events`: a view brought up to date with them is as of this revision. */
  readonly resourceVersion: string;
}

/** One write of a batch, committed all together with one revision range. */
export type BatchWrite =
  | { readonly op: 'create'; readonly object: KubeObject }
  | { readonly op: 'update'; readonly object: KubeObject; readonly expectedResourceVersion?: string | null }
  | { readonly op: 'delete'; readonly namespace?: string; readonly name: string; readonly expectedResourceVersion?: string };

export interface ObjectStore {
  /** NotFoundError if missing. */
  get(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject>;
  list(type: ResourceType, options?: ListOptions): Promise<ListResult>;
  /** AlreadyExistsError if the name is taken. Returns the stored object. */
  create(type: ResourceType, object: KubeObject): Promise<KubeObject>;
  /** Replaces the object. NotFoundError if missing; ConflictError on a stale revision. */
  update(type: ResourceType, object: KubeObject, options?: UpdateOptions): Promise<KubeObject>;
  delete(type: ResourceType, namespace: string | undefined, name: string, options?: DeleteOptions): Promise<DeleteResult>;
  /**
   * Commits several writes of one type atomically (all or none), at most 25 at a time.
   * ConflictError / AlreadyExistsError / NotFoundError name the first write that failed.
   */
  batch(type: ResourceType, writes: readonly BatchWrite[]): Promise<KubeObject[]>;
  watch(type: ResourceType, options: WatchOptions): AsyncIterable<WatchEvent>;
  /** The type's latest committed revision. */
  currentRevision(type: ResourceType): Promise<string>;
  /**
   * The object as it was at `resourceVersion`, when this store read or wrote it at exactly that
   * revision lately — no read. Revisions are never reused, so it is exactly that state; whether
   * it is still current only a read or a write conditional on that revision tells.
   */
  rememberedAt?(type: ResourceType, namespace: string | undefined, name: string, resourceVersion: string): KubeObject | undefined;
  /**
   * The settled changes after `resourceVersion` (what a watch from it would replay first), or
   * undefined when there are more than `limit` (listing is then cheaper). GoneError when the log no
   * longer holds them. For a reader that keeps a view of a whole type between reads.
   */
  changesSince?(type: ResourceType, resourceVersion: string, limit: number): Promise<ChangesSince | undefined>;
}

/** The reading half of the store: what a writer that must go through admission holds directly. */
export type ObjectReader = Pick<ObjectStore, 'get' | 'list' | 'watch' | 'currentRevision' | 'rememberedAt' | 'changesSince'>;
