/**
 * Every DynamoDB call the store makes goes through here: each has a timeout (a hung call must
 * not hold up the writers behind it), throttling and conflicts are retried with jittered,
 * growing back-off up to a bound, and what is left becomes a typed error the API turns into a
 * Kubernetes Status: 429 TooManyRequests or 503 ServiceUnavailable, both with Retry-After.
 * Reads of single items made at the same moment are sent together as one BatchGetItem.
 */
import { type AttributeValue, BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ServiceUnavailableError, TooManyRequestsError } from '../core/errors.ts';

export interface CallOptions {
  /** The caller gives up (a watch ends): the call is abandoned and its error thrown as is. */
  readonly signal?: AbortSignal;
  /**
   * Sending it again after a timeout or a server error cannot do harm: reads, conditional puts,
   * transactions with a client request token. Throttled calls are always retried: DynamoDB did
   * nothing with them.
   */
  readonly idempotent: boolean;
}

export interface DynamoDbCallsOptions {
  /** Longest wait for one call, SDK retries included. @default 5000 */
  readonly callTimeoutMs?: number;
  /** Attempts of a throttled, conflicting or (idempotent) failed call before giving up. @default 8 */
  readonly maxAttempts?: number;
}

export type FailureKind = 'throttled' | 'conflict' | 'unavailable' | 'other';

/** Sends commands with a timeout, retrying what is safe to retry; the one way the store reaches DynamoDB. */
export interface DynamoDbCalls {
  readonly client: DynamoDBClient;
  /**
   * Runs `call` (one SDK `send`, given the abort signal to pass on) with a timeout; again, after
   * back-off, while it is throttled, conflicts, or fails in a way that is safe to retry.
   */
  run<T>(what: string, call: (abortSignal: AbortSignal) => Promise<T>, options: CallOptions): Promise<T>;
  /** Jittered, growing back-off before attempt `attempt` (0-based) of a retry. */
  backOff(attempt: number, signal?: AbortSignal): Promise<void>;
  readonly maxAttempts: number;
}

const throttledNames = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);
const unavailableNames = new Set([
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'NetworkingError',
]);
/** Attempts of an idempotent call that timed out or met a server error. */
const unavailableAttempts = 2;
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);

/** What kind of failure a DynamoDB error is: the retry policy and the Status depend on it. */
export function failureKind(error: unknown): FailureKind {
  if (!(error instanceof Error)) return 'other';
  if (throttledNames.has(error.name)) return 'throttled';
  if (error.name === 'TransactionConflictException' || error.name === 'TransactionInProgressException') return 'conflict';
  if (unavailableNames.has(error.name) || error.name === 'AbortError') return 'unavailable';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && networkCodes.has(code)) return 'unavailable';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return 'unavailable';
  return 'other';
}

/** The Status a failure kind becomes once the store stops retrying. */
export function exhausted(kind: FailureKind, what: string, cause: unknown): Error {
  if (kind === 'throttled') return new TooManyRequestsError(`the object store is throttling requests (${what}); please try again`, 1, { cause });
  if (kind === 'conflict') return new TooManyRequestsError(`too many concurrent writes to the object store (${what}); please try again`, 1, { cause });
  if (kind === 'unavailable') return new ServiceUnavailableError(`the object store did not answer in time (${what}); please try again`, 1, { cause });
  return cause instanceof Error ? cause : new Error(String(cause));
}

export function createDynamoDbCalls(client: DynamoDBClient, options: DynamoDbCallsOptions = {}): DynamoDbCalls {
  const timeoutMs = options.callTimeoutMs ?? 5000;
  const maxAttempts = options.maxAttempts ?? 8;

  async function backOff(attempt: number, signal?: AbortSignal): Promise<void> {
    const ceiling = Math.min(1000, 20 * 2 ** attempt);
    await new Promise<void>((done) => {
      const timer = setTimeout(finish, Math.random() * ceiling);
      function finish(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        done();
      }
      signal?.addEventListener('abort', finish, { once: true });
    });
  }

  return {
    client,
    maxAttempts,
    backOff,
    async run<T>(what: string, call: (abortSignal: AbortSignal) => Promise<T>, callOptions: CallOptions): Promise<T> {
      for (let attempt = 0; ; attempt++) {
        // A timer that keeps the process alive while the call is out (AbortSignal.timeout's does not).
        const timeout = new AbortController();
        const timer = setTimeout(() => timeout.abort(new DOMException(`${what} took longer than ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
        const abortSignal = callOptions.signal ? AbortSignal.any([callOptions.signal, timeout.signal]) : timeout.signal;
        try {
          return await call(abortSignal);
        } catch (error) {
          if (callOptions.signal?.aborted) throw error;
          const kind = timeout.signal.aborted ? 'unavailable' : failureKind(error);
          const retriable = kind === 'throttled' || kind === 'conflict' || (kind === 'unavailable' && callOptions.idempotent);
          if (!retriable) throw kind === 'unavailable' ? new OutcomeUnknownError(what, error) : error;
          // A backend that does not answer is tried a few times; throttling and conflicts clear with patience.
          if (attempt + 1 >= (kind === 'unavailable' ? unavailableAttempts : maxAttempts)) {
            throw kind === 'unavailable' && !callOptions.idempotent ? new OutcomeUnknownError(what, error) : exhausted(kind, what, error);
          }
          await backOff(attempt, callOptions.signal);
        } finally {
          clearTimeout(timer);
        }
      }
    },
  };
}

/**
 * A write that timed out or met a server error: it may or may not have been applied. The caller
 * finds out by reading (the store's writes leave a trace it can look for).
 */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
  constructor(what: string, cause: unknown) {
    super(`${what}: no answer, the write may or may not have been applied`, { cause });
  }
}

type Key = Record<string, AttributeValue>;

/** Reads single items by key, strongly consistent; reads asked for in the same tick share one BatchGetItem per 100 keys. */
export interface ItemReader {
  get(key: Key, signal?: AbortSignal): Promise<Record<string, AttributeValue> | undefined>;
}

const batchGetLimit = 100;

export function createItemReader(calls: DynamoDbCalls, table: string, keyAttributes: readonly [string, string]): ItemReader {
  interface Waiting {
    readonly key: Key;
    readonly id: string;
    resolve(item: Record<string, AttributeValue> | undefined): void;
    reject(error: unknown): void;
  }
  let waiting: Waiting[] = [];
  let scheduled = false;

  const idOf = (key: Key): string => keyAttributes.map((name) => JSON.stringify(key[name] ?? null)).join('\u0000');

  async function fetchChunk(chunk: readonly Waiting[]): Promise<void> {
    const unique = new Map<string, Key>();
    for (const entry of chunk) unique.set(entry.id, entry.key);
    const found = new Map<string, Record<string, AttributeValue>>();
    let keys = [...unique.values()];
    for (let attempt = 0; keys.length > 0; attempt++) {
      const requested = keys;
      const output = await calls.run(
        'BatchGetItem',
        (abortSignal) => calls.client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: requested, ConsistentRead: true } } }), { abortSignal }),
        { idempotent: true },
      );
      for (const item of output.Responses?.[table] ?? []) found.set(idOf(item), item);
      keys = output.UnprocessedKeys?.[table]?.Keys ?? [];
      if (keys.length === 0) break;
      // Unprocessed keys are DynamoDB's throttling of a batch.
      if (attempt + 1 >= calls.maxAttempts) throw exhausted('throttled', 'BatchGetItem', undefined);
      await calls.backOff(attempt);
    }
    for (const entry of chunk) entry.resolve(found.get(entry.id));
  }

  function flush(): void {
    scheduled = false;
    const batch = waiting;
    waiting = [];
    for (let i = 0; i < batch.length; i += batchGetLimit) {
      const chunk = batch.slice(i, i + batchGetLimit);
      fetchChunk(chunk).catch((error: unknown) => {
        for (const entry of chunk) entry.reject(error);
      });
    }
  }

  return {
    get(key, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        waiting.push({ key, id: idOf(key), resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
