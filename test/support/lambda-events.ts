/**
 * The event shapes AWS documents for the Lambda entry points the integration tests drive: an SQS
 * record of the controllers' requeue queue, an API Gateway WebSocket event and a request to a
 * function URL with `AWS_IAM` auth; and SQS answering their sends.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LambdaFunctionURLEvent, SQSRecord } from 'aws-lambda';
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

/** An IAM caller as Lambda describes it in `requestContext.authorizer.iam` of a function URL with `AWS_IAM` auth. */
export interface IamCaller {
  readonly accountId: string;
  /** E.g. `arn:aws:sts::111122223333:assumed-role/skiff-nodes/i-0abc` for an instance role's session. */
  readonly userArn: string;
  /** E.g. `AROAEXAMPLE:i-0abc`. */
  readonly userId: string;
  readonly accessKey?: string;
}

export interface FunctionUrlRequest {
  readonly body?: unknown;
  /** Added to (and over) the headers Lambda's front end sets itself. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The URL's host: `<url id>.lambda-url.<region>.on.aws`. */
  readonly host?: string;
  /** The raw query string, e.g. `limit=500&fieldSelector=a%3Db`. */
  readonly query?: string;
  /** The verified caller of a URL with `AWS_IAM` auth (`requestContext.authorizer.iam`). */
  readonly caller?: IamCaller;
  readonly sourceIp?: string;
}

/** A repeated query parameter's values joined with commas, as Lambda's `queryStringParameters` has them (`rawQueryString` keeps them apart). */
function commaJoined(query: URLSearchParams): Record<string, string> {
  const joined: Record<string, string> = {};
  for (const [name, value] of query) joined[name] = joined[name] === undefined ? value : `${joined[name]},${value}`;
  return joined;
}

/**
 * A request to a function URL as Lambda hands it over (payload format 2.0): `rawPath`,
 * `rawQueryString`, lower-case headers, `requestContext.http`, and the verified IAM caller in
 * `requestContext.authorizer.iam` when one is given.
 */
export function functionUrlEvent(method: string, path: string, options: FunctionUrlRequest = {}): LambdaFunctionURLEvent {
  const host = options.host ?? 'h3artb3atexampleurlid0000000000.lambda-url.eu-west-1.on.aws';
  const urlId = host.split('.')[0] ?? '';
  const sourceIp = options.sourceIp ?? '10.0.3.17';
  const { caller } = options;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    host,
    'x-amzn-tls-version': 'TLSv1.3',
    'x-forwarded-for': sourceIp,
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers,
    ...(options.query ? { queryStringParameters: commaJoined(new URLSearchParams(options.query)) } : {}),
    requestContext: {
      accountId: caller?.accountId ?? 'anonymous',
      apiId: urlId,
      ...(caller
        ? {
            authorizer: {
              iam: {
                accessKey: caller.accessKey ?? 'ASIAEXAMPLE',
                accountId: caller.accountId,
                callerId: caller.userId,
                cognitoIdentity: null,
                principalOrgId: null,
                userArn: caller.userArn,
                userId: caller.userId,
              },
            },
          }
        : {}),
      domainName: host,
      domainPrefix: urlId,
      http: { method, path, protocol: 'HTTP/1.1', sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: `furl-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: '28/Nov/2026:23:00:00 +0000',
      timeEpoch: 1_795_906_800_000,
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  } as LambdaFunctionURLEvent;
}

/**
 * A request to a function URL with `AWS_IAM` auth from a node agent: the caller's SigV4 headers and
 * the verified caller; no `authorizer` when none is given (an event Lambda would not send for such
 * a URL, used to check the handler refuses it).
 */
export function functionUrlIamEvent(
  method: string,
  path: string,
  caller: IamCaller | undefined,
  options: { readonly body?: unknown; readonly headers?: Readonly<Record<string, string>>; readonly host?: string } = {},
): LambdaFunctionURLEvent {
  return functionUrlEvent(method, path, {
    ...options,
    ...(caller ? { caller } : {}),
    headers: {
      accept: 'application/json',
      authorization: `AWS4-HMAC-SHA256 Credential=${caller?.accessKey ?? 'ASIAEXAMPLE'}/20261128/eu-west-1/lambda/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature=${'0'.repeat(64)}`,
      'user-agent': 'skiff-node-agent/v1.32.0',
      'x-amz-date': '20261128T230000Z',
      'x-amz-security-token': 'IQoJb3JpZ2luX2VjEXAMPLE',
      ...options.headers,
    },
  });
}
