/**
 * `/readyz`, `/healthz` and `/livez` as kube-apiserver answers them: `ok` when every check
 * passes; otherwise HTTP 500 with one line per check (`[+]ping ok`, `[-]dynamodb failed: reason
 * withheld`) and `readyz check failed`. `?verbose` lists the checks when all pass too, `?exclude=`
 * leaves checks out, and `/readyz/<check>` runs one. The reasons stay out of the answer (it is
 * public); the host logs them.
 */
import { NotFoundError } from '../core/errors.ts';
import type { ApiResponse } from './http.ts';

export interface HealthCheck {
  readonly name: string;
  /** Resolves when healthy; rejects (or does not settle before `signal` aborts) when not. */
  check(signal: AbortSignal): Promise<void>;
}

export type HealthEndpoint = 'healthz' | 'readyz' | 'livez';

/** How long one check may take before it counts as failed. */
export const HEALTH_CHECK_TIMEOUT_MS = 3000;

const text = (status: number, body: string): ApiResponse => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  body,
});

async function passes(check: HealthCheck, timeoutMs: number): Promise<boolean> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`${check.name} check did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([check.check(controller.signal), expired]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export async function answerHealth(
  endpoint: HealthEndpoint,
  checks: readonly HealthCheck[],
  query: URLSearchParams,
  only?: string,
  timeoutMs = HEALTH_CHECK_TIMEOUT_MS,
): Promise<ApiResponse> {
  const all: readonly HealthCheck[] = [{ name: 'ping', check: async () => {} }, ...checks];
  if (only !== undefined) {
    const check = all.find((c) => c.name === only);
    if (!check) throw new NotFoundError({ resource: '', group: '', name: only }, 'the server could not find the requested resource');
    return (await passes(check, timeoutMs)) ? text(200, 'ok') : text(500, `internal server error: ${only} check failed\n`);
  }
  const excluded = new Set(query.getAll('exclude').flatMap((value) => value.split(',')));
  const results = await Promise.all(
    all.filter((check) => !excluded.has(check.name)).map(async (check) => ({ name: check.name, ok: await passes(check, timeoutMs) })),
  );
  const failed = results.some((result) => !result.ok);
  if (!failed && !query.has('verbose')) return text(200, 'ok');
  const lines = results.map((result) => (result.ok ? `[+]${result.name} ok` : `[-]${result.name} failed: reason withheld`));
  return text(failed ? 500 : 200, `${lines.join('\n')}\n${endpoint} check ${failed ? 'failed' : 'passed'}\n`);
}
