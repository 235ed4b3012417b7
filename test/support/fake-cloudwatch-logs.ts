/**
 * CloudWatch Logs' GetLogEvents for tests (it cannot run here): a CloudWatchLogsClient answered by
 * aws-sdk-client-mock from in-memory streams, as the API is documented — events in time order,
 * `startTime`/`endTime` bounds, `startFromHead` (false: the newest page), `limit` (at most
 * 10,000), `nextForwardToken`/`nextBackwardToken` (the same token back at the end of the
 * stream), ResourceNotFoundException for a stream or group that does not exist.
 */
import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  GetLogEventsCommand,
  type GetLogEventsCommandInput,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

export class FakeCloudWatchLogs {
  readonly client: CloudWatchLogsClient;
  readonly mock: AwsClientStub<CloudWatchLogsClient>;
  private readonly streams = new Map<string, OutputLogEvent[]>();

  constructor(readonly logGroup: string) {
    this.client = new CloudWatchLogsClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    this.mock = mockClient(this.client);
    this.mock.on(GetLogEventsCommand).callsFake((input: GetLogEventsCommandInput) => this.getLogEvents(input));
  }

  /** The awslogs driver shipping lines of a container run: one event per line. */
  append(stream: string, lines: readonly string[], timestampMs = Date.now()): void {
    const events = this.streams.get(stream) ?? [];
    for (const message of lines) events.push({ timestamp: timestampMs, message, ingestionTime: timestampMs });
    this.streams.set(stream, events);
  }

  inputs(): GetLogEventsCommandInput[] {
    return this.mock.commandCalls(GetLogEventsCommand).map((call) => call.args[0].input);
  }

  private getLogEvents(input: GetLogEventsCommandInput): object {
    if (input.logGroupName !== this.logGroup) throw this.notFound('The specified log group does not exist.');
    const all = this.streams.get(input.logStreamName ?? '');
    if (!all) throw this.notFound('The specified log stream does not exist.');
    const events = all.filter(
      (e) => (input.startTime === undefined || (e.timestamp ?? 0) >= input.startTime) && (input.endTime === undefined || (e.timestamp ?? 0) < input.endTime),
    );
    const limit = Math.min(input.limit ?? 10_000, 10_000);
    let from: number;
    let to: number;
    const token = input.nextToken;
    if (token?.startsWith('f/')) {
      from = Number(token.slice(2));
      to = Math.min(events.length, from + limit);
    } else if (token?.startsWith('b/')) {
      to = Number(token.slice(2));
      from = Math.max(0, to - limit);
    } else if (input.startFromHead) {
      from = 0;
      to = Math.min(events.length, limit);
    } else {
      to = events.length;
      from = Math.max(0, to - limit);
    }
    return {
      events: events.slice(from, to).map((e) => ({ ...e })),
      // At the end of the stream the forward token is the one given (CloudWatch's documented end signal).
      nextForwardToken: token?.startsWith('f/') && from === to ? token : `f/${to}`,
      nextBackwardToken: `b/${from}`,
    };
  }

  private notFound(message: string): CloudWatchLogsServiceException {
    return new CloudWatchLogsServiceException({ name: 'ResourceNotFoundException', $fault: 'client', message, $metadata: { httpStatusCode: 400 } });
  }
}
