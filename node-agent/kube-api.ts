/**
 * The words the node agent's API clients share: the error a failed call throws (with the server's
 * Status fields) and the shapes of lists, watch events and list-and-watch handlers. Both ways of
 * watching (kube-client.ts over HTTP, watch-channel.ts over the WebSocket channel) speak them.
 */
import type { KubeObject } from '../schemas/meta.ts';

/** A failed API call, carrying the server's Status fields. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 404;
}
export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 409;
}
export function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 409 && error.reason === 'AlreadyExists';
}
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 410;
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  readonly items: readonly T[];
  readonly metadata: { readonly resourceVersion?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  readonly type: WatchEventType;
  readonly object: T;
}

export interface ListWatchHandlers<T extends KubeObject> {
  /**
   * Called with the full set after every (re)list: the receiver replaces what it had. The
   * list's resourceVersion comes with it: the set is the type's state at that revision.
   */
  onList(items: readonly T[], resourceVersion?: string): void;
  onEvent(event: WatchEvent<T>): void;
  onError?(error: unknown): void;
}
