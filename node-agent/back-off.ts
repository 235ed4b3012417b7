/**
 * Crash-loop back-off as the kubelet applies it: the first restart is immediate, then the
 * delay starts at 10 s and doubles up to 5 minutes. A container that ran for twice the
 * maximum before exiting starts over, so a long-lived service that crashes once a day is
 * not held back for five minutes.
 */
export interface BackOffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const kubeletBackOff: BackOffPolicy = { initialMs: 10_000, maxMs: 300_000 };

/** Delay before the next start, given how many crashes in a row came before this one. */
export function restartDelayMs(consecutiveCrashes: number, policy: BackOffPolicy = kubeletBackOff): number {
  if (consecutiveCrashes <= 1) return 0;
  const delay = policy.initialMs * 2 ** (consecutiveCrashes - 2);
  return Math.min(policy.maxMs, delay);
}

/** Crashes in a row after one more exit: reset when the container had run long enough. */
export function nextCrashCount(previousCrashes: number, ranForMs: number, policy: BackOffPolicy = kubeletBackOff): number {
  return ranForMs >= 2 * policy.maxMs ? 1 : previousCrashes + 1;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return exitCode !== 0;
  return false;
}
