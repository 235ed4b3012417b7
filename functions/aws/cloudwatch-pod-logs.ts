/**
 * `kubectl logs` on AWS: containers' output is where ECS's `awslogs` driver put it, one log
 * stream per container run, `<namespace>/<container>/<task id>` in the cluster's pod log group.
 * The run is found from the pod's status (`containerID` `ecs://<task id>/<container>`, the
 * previous run's in `lastState.terminated`), so the API needs no way to the node (ADR 134).
 *
 * `--tail` reads the newest events backwards from the stream's end, `--since`/`--since-time`
 * start the read at that instant, `--timestamps` prefixes each line with its event's time,
 * `--limit-bytes` cuts the output, and `-f` polls for new events until the run ends (the pod
 * shows another run or a terminated state), the client goes away or the Lambda's time is up.
 */
import { type CloudWatchLogsClient, GetLogEventsCommand, type GetLogEventsCommandOutput, type OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { BadRequestError, NotFoundError } from '../core/errors.ts';
import type { PodLogRequest, PodLogSource } from '../domain/pods/pod-logs.ts';

export interface CloudWatchPodLogsOptions {
  readonly client: CloudWatchLogsClient;
  readonly logGroup: string;
  /** How often a follow asks for new events. @default 1000 */
  readonly pollMs?: number;
  /** How often a follow checks whether the run has ended. @default 5000 */
  readonly runCheckMs?: number;
  readonly now?: () => number;
}

interface ContainerStatus {
  readonly name?: string;
  readonly containerID?: string;
  readonly state?: { readonly waiting?: { readonly reason?: string }; readonly running?: unknown; readonly terminated?: unknown };
  readonly lastState?: { readonly terminated?: { readonly containerID?: string } };
}

/** The most events GetLogEvents answers at once. */
const pageLimit = 10_000;

export function logStreamOf(namespace: string, container: string, containerID: string): string | undefined {
  const match = /^ecs:\/\/([0-9a-zA-Z-]+)\/(.+)$/.exec(containerID);
  if (!match || match[2] !== container) return undefined;
  return `${namespace}/${container}/${match[1]}`;
}

function statusOf(pod: PodLogRequest['pod'], container: string): ContainerStatus | undefined {
  const statuses = ((pod.status ?? {}) as { containerStatuses?: ContainerStatus[] }).containerStatuses ?? [];
  return statuses.find((status) => status.name === container);
}

/** The run whose output is asked for, as the kubelet picks it: the current one, or the one before. */
function runOf(request: PodLogRequest): string {
  const podName = request.pod.metadata.name ?? '';
  const status = statusOf(request.pod, request.container);
  if (request.previous) {
    const previous = status?.lastState?.terminated?.containerID;
    if (!previous)
      throw new NotFoundError(
        { resource: 'pods', group: '', name: podName },
        `previous terminated container "${request.container}" in pod "${podName}" not found`,
      );
    return previous;
  }
  const waiting = status?.state?.waiting?.reason;
  // In CrashLoopBackOff the last run's output is what `kubectl logs` shows; other waits have none yet.
  if (!status?.containerID || (waiting !== undefined && waiting !== 'CrashLoopBackOff')) {
    throw new BadRequestError(`container "${request.container}" in pod "${podName}" is waiting to start: ${waiting ?? 'ContainerCreating'}`);
  }
  return status.containerID;
}

export function cloudWatchPodLogSource(options: CloudWatchPodLogsOptions): PodLogSource {
  const now = options.now ?? Date.now;
  return async (request) => {
    const namespace = request.pod.metadata.namespace ?? 'default';
    const containerID = runOf(request);
    const stream = logStreamOf(namespace, request.container, containerID);
    if (!stream) throw new BadRequestError(`container "${request.container}" runs as ${containerID}, not as an ECS task: no CloudWatch log stream to read`);
    const startTime = request.sinceSeconds !== undefined ? now() - request.sinceSeconds * 1000 : request.sinceTimeMs;
    const read = (input: { nextToken?: string; startFromHead: boolean; limit?: number }) =>
      getEvents(
        options.client,
        { logGroupName: options.logGroup, logStreamName: stream, ...(startTime !== undefined ? { startTime } : {}), ...input },
        request.signal,
      );
    // The first page comes before the response starts, so a missing group or a refusal is an error status.
    const first =
      request.tailLines === 0 ? undefined : request.tailLines !== undefined ? await readTail(read, request.tailLines) : await read({ startFromHead: true });
    return lines(first, read, request, options, containerID);
  };
}

type Reader = (input: { nextToken?: string; startFromHead: boolean; limit?: number }) => Promise<Page>;

interface Page {
  readonly events: readonly OutputLogEvent[];
  readonly nextForwardToken?: string;
  readonly nextBackwardToken?: string;
  /** The stream does not exist (yet): the container has written nothing. */
  readonly missing?: boolean;
}

async function getEvents(client: CloudWatchLogsClient, input: ConstructorParameters<typeof GetLogEventsCommand>[0], signal: AbortSignal): Promise<Page> {
  let output: GetLogEventsCommandOutput;
  try {
    output = await client.send(new GetLogEventsCommand(input), { abortSignal: signal });
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return { events: [], missing: true };
    throw error;
  }
  return {
    events: output.events ?? [],
    ...(output.nextForwardToken ? { nextForwardToken: output.nextForwardToken } : {}),
    ...(output.nextBackwardToken ? { nextBackwardToken: output.nextBackwardToken } : {}),
  };
}

/** The newest `count` events: pages read backwards from the end, oldest first in the result. */
async function readTail(read: Reader, count: number): Promise<Page> {
  const newest = await read({ startFromHead: false, limit: Math.min(count, pageLimit) });
  let events = [...newest.events];
  let backward = newest.nextBackwardToken;
  while (events.length < count && backward) {
    const older = await read({ nextToken: backward, startFromHead: false, limit: Math.min(count - events.length, pageLimit) });
    if (older.events.length === 0 || older.nextBackwardToken === backward) break;
    events = [...older.events, ...events];
    backward = older.nextBackwardToken;
  }
  return { ...newest, events: events.slice(-count) };
}

async function* lines(
  first: Page | undefined,
  read: Reader,
  request: PodLogRequest,
  options: CloudWatchPodLogsOptions,
  containerID: string,
): AsyncGenerator<string> {
  let budget = request.limitBytes ?? Number.POSITIVE_INFINITY;
  /** Formats events, cut at the byte limit; false once the limit is reached. */
  const emit = function* (events: readonly OutputLogEvent[]): Generator<string, boolean> {
    for (const event of events) {
      if (budget <= 0) return false;
      const message = event.message ?? '';
      let line = `${request.timestamps ? `${new Date(event.timestamp ?? 0).toISOString()} ` : ''}${message}${message.endsWith('\n') ? '' : '\n'}`;
      const bytes = Buffer.byteLength(line);
      if (bytes > budget) line = Buffer.from(line).subarray(0, budget).toString('utf8');
      budget -= Math.min(bytes, budget);
      yield line;
    }
    return budget > 0;
  };
  let token: string | undefined;
  if (first) {
    if (!(yield* emit(first.events))) return;
    token = first.nextForwardToken;
  }
  // Without --tail the whole stream is read from the head, page after page.
  if (request.tailLines === undefined) {
    while (token && !request.signal.aborted) {
      const page = await read({ nextToken: token, startFromHead: true });
      if (!(yield* emit(page.events))) return;
      if (page.events.length === 0 || page.nextForwardToken === token) break;
      token = page.nextForwardToken;
    }
  }
  if (!request.follow) return;
  const pollMs = options.pollMs ?? 1000;
  const runCheckMs = options.runCheckMs ?? 5000;
  let lastCheck = Date.now();
  let ending = false;
  while (!request.signal.aborted) {
    await pause(pollMs, request.signal);
    if (request.signal.aborted) return;
    const page = token ? await read({ nextToken: token, startFromHead: true }) : await read({ startFromHead: true });
    if (!(yield* emit(page.events))) return;
    if (page.nextForwardToken) token = page.nextForwardToken;
    if (ending) return;
    if (Date.now() - lastCheck >= runCheckMs) {
      lastCheck = Date.now();
      // One more read after the run ended picks up what the driver shipped last.
      if (await runEnded(request, containerID)) ending = true;
    }
  }
}

async function runEnded(request: PodLogRequest, containerID: string): Promise<boolean> {
  if (!request.currentPod) return false;
  const pod = await request.currentPod();
  if (!pod || pod.metadata.uid !== request.pod.metadata.uid) return true;
  const status = statusOf(pod, request.container);
  return status?.containerID !== containerID || status.state?.running === undefined;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
