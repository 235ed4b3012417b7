/**
 * Watch events as channel messages, within API Gateway's 128 KB per message: an object too large
 * travels as a reference the client GETs; a deletion too large keeps only the metadata the
 * client needs to forget the object.
 */
import type { KubeObject } from '../../schemas/meta.ts';
import { type EventMessage, maxMessageBytes, type ServerMessage } from '../../schemas/watch-channel.ts';
import type { Status } from '../core/errors.ts';
import type { WatchEvent } from '../store/store.ts';

/** Room for the envelope and the JSON escaping of a message that is near the limit. */
const limit = maxMessageBytes - 1024;

const fits = (text: string): boolean => Buffer.byteLength(text, 'utf8') <= limit;

export function eventMessage(id: string, event: Pick<WatchEvent, 'type' | 'object'>, options: { readonly catchUp?: boolean } = {}): string {
  if (event.type === 'BOOKMARK') throw new Error('bookmarks are sent as synced messages');
  const catchUp = options.catchUp ? { catchUp: true as const } : {};
  const whole: EventMessage = { type: 'event', id, event: { type: event.type, object: event.object }, ...catchUp };
  const text = JSON.stringify(whole);
  if (fits(text)) return text;
  const { metadata } = event.object;
  if (event.type === 'DELETED') {
    const trimmed: KubeObject = { apiVersion: event.object.apiVersion, kind: event.object.kind, metadata };
    const smaller = JSON.stringify({ ...whole, event: { type: event.type, object: trimmed } });
    if (fits(smaller)) return smaller;
    const identity = {
      name: metadata.name,
      ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
      ...(metadata.uid ? { uid: metadata.uid } : {}),
      ...(metadata.resourceVersion ? { resourceVersion: metadata.resourceVersion } : {}),
    };
    return JSON.stringify({
      ...whole,
      event: { type: event.type, object: { apiVersion: event.object.apiVersion, kind: event.object.kind, metadata: identity } },
    });
  }
  const reference: EventMessage = {
    type: 'event',
    id,
    ...catchUp,
    event: { type: event.type, object: null },
    ref: { ...(metadata.namespace ? { namespace: metadata.namespace } : {}), name: metadata.name ?? '', resourceVersion: metadata.resourceVersion ?? '' },
  };
  return JSON.stringify(reference);
}

export function syncedMessage(id: string, resourceVersion: string): string {
  return JSON.stringify({ type: 'synced', id, resourceVersion } satisfies ServerMessage);
}

export function errorMessage(status: Status, id?: string): string {
  return JSON.stringify({ type: 'error', ...(id !== undefined ? { id } : {}), status });
}
