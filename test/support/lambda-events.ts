/**
 * The event shapes AWS documents for the Lambda entry points the integration tests drive: an SQS
 * record of the controllers' requeue queue and an API Gateway WebSocket event; and SQS answering their sends.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { WebSocketEvent } from '../../functions/watch/websocket-events.ts';

export const requeueQueueArn = 'arn:aws:sqs:eu-west-1:123456789012:skiff-ControllerRequeue';

/** One message of the requeue queue, as SQS hands it to Lambda: first received now, sent 15 s ago. */
export function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `AQEB${messageId}handle`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now() - 15_000),
      SenderId: 'AROAEXAMPLE:skiff-controllers',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '00000000000000000000000000000000',
    eventSource: 'aws:sqs',
    eventSourceARN: requeueQueueArn,
    awsRegion: 'eu-west-1',
  };
}

/** Resets a mocked SQS client to one that accepts every message of every batch sent to it. */
export function acceptEveryMessageBatch(sqs: AwsClientStub<SQSClient>): void {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: '0' })),
    Failed: [],
  }));
}

/** A WebSocket API event; a connect or disconnect takes its route key from its type, a message the one given. */
export function webSocketEvent(
  connectionId: string,
  eventType: WebSocketEvent['requestContext']['eventType'],
  extra: Partial<WebSocketEvent> = {},
  routeKey = '$default',
): WebSocketEvent {
  return {
    requestContext: {
      routeKey: eventType === 'CONNECT' ? '$connect' : eventType === 'DISCONNECT' ? '$disconnect' : routeKey,
      eventType,
      connectionId,
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      stage: 'cluster',
      requestId: `r-${Math.random()}`,
    },
    isBase64Encoded: false,
    ...extra,
  };
}
