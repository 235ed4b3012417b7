/**
 * The fan-out (docs/adr/073): a batch of the change log's stream records becomes watch events
 * posted to every subscribed connection, each connection getting its events in the batch's
 * order. A connection that is gone is forgotten (its client reconnects and catches up); any
 * other failure to post fails the record it was for, so the batch is delivered again from there
 * (the client drops what it already has, by resourceVersion).
 */

import { typeById } from '../../schemas/registry.ts';
import { channelTypes } from '../../schemas/watch-channel.ts';
import { type Log, silentLog } from '../logging/log.ts';
import { type ChangeStreamRecordLike, parseChangeStreamRecord, watchMatcher } from '../store/change-stream.ts';
import { type ChangeRecord, type ObjectMatcher, projection, watchEvent } from '../store/object-matcher.ts';
import type { ChannelRegistry, Subscription } from './channel-registry.ts';
import { type ConnectionPoster, GoneConnectionError } from './connection-poster.ts';
import { eventMessage } from './event-messages.ts';

export interface FanOutDependencies {
  readonly registry: ChannelRegistry;
  readonly poster: ConnectionPoster;
  readonly log?: Log;
  /** Connections posted to at once. @default 16 */
  readonly concurrency?: number;
}

export interface FanOutResult {
  /** Indexes (into the batch) of records whose events could not all be posted. */
  readonly failed: readonly number[];
  readonly posted: number;
  readonly goneConnections: number;
}

const channelTypeIds = new Set<string>(channelTypes.map((type) => type.id));

/** `changes[i]` is the i-th record of the batch, undefined for a record that is no change entry. */
export async function fanOut(changes: readonly (ChangeRecord | undefined)[], deps: FanOutDependencies): Promise<FanOutResult> {
  const log = deps.log ?? silentLog;
  const typeIds = [...new Set(changes.flatMap((change) => (change && channelTypeIds.has(change.typeId) ? [change.typeId] : [])))];
  const subscribers = new Map<string, { subscription: Subscription; matcher: ObjectMatcher }[]>();
  await Promise.all(
    typeIds.map(async (typeId) => {
      const type = typeById(typeId);
      const compiled = [];
      for (const subscription of await deps.registry.subscriptionsOf(typeId)) {
        try {
          compiled.push({ subscription, matcher: watchMatcher(type, subscription) });
        } catch (error) {
          log.warn('subscription with a bad selector skipped', { connectionId: subscription.connectionId, id: subscription.id, error: String(error) });
        }
      }
      subscribers.set(typeId, compiled);
    }),
  );

  /** Per connection, in batch order: which record each message is for. */
  const outgoing = new Map<string, { record: number; message: string }[]>();
  changes.forEach((change, record) => {
    if (!change) return;
    const watchers = subscribers.get(change.typeId) ?? [];
    // Every node watches its pods by a field selector: the pod's fields are read once for all of
    // them, not once per node (docs/adr/201).
    const current = watchers.length > 1 ? projection(typeById(change.typeId), change.object) : undefined;
    for (const { subscription, matcher } of watchers) {
      const event = watchEvent(change, matcher, current);
      if (!event) continue;
      const queue = outgoing.get(subscription.connectionId) ?? [];
      queue.push({ record, message: eventMessage(subscription.id, event) });
      outgoing.set(subscription.connectionId, queue);
    }
  });

  const failed = new Set<number>();
  let posted = 0;
  let goneConnections = 0;
  const connections = [...outgoing.entries()];
  let next = 0;
  const worker = async () => {
    while (next < connections.length) {
      const entry = connections[next++];
      if (!entry) break;
      const [connectionId, messages] = entry;
      for (const { record, message } of messages) {
        try {
          await deps.poster.post(connectionId, message);
          posted++;
        } catch (error) {
          if (error instanceof GoneConnectionError) {
            goneConnections++;
            await deps.registry.removeConnection(connectionId).catch((removeError: unknown) => {
              log.warn('could not forget a gone connection', { connectionId, error: String(removeError) });
            });
          } else {
            log.warn('posting to a connection failed; the record will be delivered again', { connectionId, error: String(error) });
            failed.add(record);
          }
          // The rest of this connection's events wait: for a failure they come again with the
          // retried batch; a gone connection catches up when its client reconnects.
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? 16, connections.length)) }, worker));
  return { failed: [...failed].sort((a, b) => a - b), posted, goneConnections };
}

export interface FanOutHandlerDependencies {
  readonly registry: ChannelRegistry;
  readonly poster: ConnectionPoster;
  readonly log?: Log;
}

/**
 * A batch of the change log's stream in Lambda's shape (the local host builds the same):
 * fanned out, with the records that failed reported by SequenceNumber.
 */
export async function handleChangeStreamEvent(
  event: { readonly Records: readonly (ChangeStreamRecordLike & { readonly dynamodb?: { readonly SequenceNumber?: string } })[] },
  deps: FanOutHandlerDependencies,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const result = await fanOut(event.Records.map(parseChangeStreamRecord), deps);
  return {
    batchItemFailures: result.failed.map((index) => {
      const sequenceNumber = event.Records[index]?.dynamodb?.SequenceNumber;
      if (!sequenceNumber) throw new Error(`stream record ${index} failed and has no dynamodb.SequenceNumber to report`);
      return { itemIdentifier: sequenceNumber };
    }),
  };
}
