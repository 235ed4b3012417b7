/**
 * The controllers' delayed requeues on AWS (docs/adr/138): each becomes an SQS message with a
 * per-message `DelaySeconds`, sent in batches of ten; the queue's event source mapping delivers it
 * back to the controller-manager Lambda once the delay is over. A requeue is an early look, never
 * the only one (the resync passes every key each minute), so a send that fails is logged, not
 * raised: it must not make the stream batch that asked for it fail.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { type Log, silentLog } from '../logging/log.ts';

/** SQS's longest per-message delay; a requeue asked for later than that is left to the resync. */
export const maxRequeueDelaySeconds = 900;
/** Entries per SendMessageBatch, SQS's limit. */
const batchSize = 10;

/** One message to deliver later: its body and how many seconds from now. */
export interface DelayedMessage {
  readonly body: string;
  readonly delaySeconds: number;
}

export interface SqsRequeueSender {
  send(messages: readonly DelayedMessage[]): Promise<void>;
}

export function sqsRequeueSender(options: { client: SQSClient; queueUrl: string; log?: Log }): SqsRequeueSender {
  const log = options.log ?? silentLog;

  async function sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    // One more try for entries SQS failed on its side; a sender fault would fail again.
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      let failed: { Id?: string; SenderFault?: boolean; Code?: string; Message?: string }[];
      try {
        const out = await options.client.send(new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: pending }));
        failed = out.Failed ?? [];
      } catch (error) {
        log.warn('requeues not sent', { count: pending.length, error: error instanceof Error ? error.message : String(error) });
        return;
      }
      const retry = new Set(failed.filter((f) => !f.SenderFault).map((f) => f.Id));
      for (const f of failed) if (f.SenderFault || attempt === 1) log.warn('requeue not sent', { id: f.Id, code: f.Code, message: f.Message });
      pending = pending.filter((entry) => retry.has(entry.Id));
    }
  }

  return {
    async send(messages) {
      const entries: SendMessageBatchRequestEntry[] = [];
      for (const message of messages) {
        const delay = Math.max(0, Math.ceil(message.delaySeconds));
        if (delay > maxRequeueDelaySeconds) continue;
        entries.push({ Id: String(entries.length), MessageBody: message.body, DelaySeconds: delay });
      }
      for (let start = 0; start < entries.length; start += batchSize) await sendBatch(entries.slice(start, start + batchSize));
    },
  };
}
