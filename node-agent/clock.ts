/**
 * Time as the agent's pod workers see it: the current instant and timers. Injected, so the
 * rules that depend on time (back-off windows, probe periods) can be driven by a test clock
 * instead of waiting for the wall clock.
 */

/** Cancels a timer; calling it after the timer fired does nothing. */
export type CancelTimer = () => void;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once after `delayMs` (0 or less: as soon as possible). */
  after(delayMs: number, callback: () => void): CancelTimer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(delayMs, callback) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return () => clearTimeout(timer);
  },
};
