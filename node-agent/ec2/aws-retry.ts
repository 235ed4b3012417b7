/**
 * Retries of AWS calls the agent makes (ECS, Secrets Manager): throttling and server errors are
 * retried with capped exponential back-off and full jitter, anything else is the caller's to
 * handle. The SDK clients are built with `maxAttempts: 1`, so this is the one retry policy and
 * tests can drive it (ADR 130).
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. @default 8 */
  readonly attempts?: number;
  /** @default 200 */
  readonly baseMs?: number;
  /** @default 10_000 */
  readonly maxMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

const throttlingNames = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
]);

interface AwsErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

export function isThrottling(error: unknown): boolean {
  const shape = (error ?? {}) as AwsErrorShape;
  if (shape.$retryable?.throttling) return true;
  if (shape.name && throttlingNames.has(shape.name)) return true;
  if (shape.$metadata?.httpStatusCode === 429) return true;
  // ECS answers some throttling as a ClientException whose message says so.
  return shape.name === 'ClientException' && /rate exceeded/i.test(shape.message ?? '');
}

export function isRetryable(error: unknown): boolean {
  if (isThrottling(error)) return true;
  const shape = (error ?? {}) as AwsErrorShape;
  const status = shape.$metadata?.httpStatusCode ?? 0;
  return status >= 500 || shape.name === 'ServerException' || shape.name === 'InternalServiceError' || shape.name === 'ServiceUnavailableException';
}

export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const attempts = policy.attempts ?? 8;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      await backOff(policy, attempt);
    }
  }
}

/** Waits before attempt `failedAttempt + 1`: full jitter over a doubling, capped delay. */
export function backOff(policy: RetryPolicy, failedAttempt: number): Promise<void> {
  const baseMs = policy.baseMs ?? 200;
  const maxMs = policy.maxMs ?? 10_000;
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = policy.random ?? Math.random;
  return sleep(Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (failedAttempt - 1))));
}
