/** A `Clock` that moves only when a test moves it: timers fire in time order as it advances. */
import type { CancelTimer, Clock } from '../../node-agent/clock.ts';

interface Timer {
  readonly atMs: number;
  readonly order: number;
  readonly callback: () => void;
}

export class ManualClock implements Clock {
  private timers: Timer[] = [];
  private scheduled = 0;

  constructor(private nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  after(delayMs: number, callback: () => void): CancelTimer {
    const timer: Timer = { atMs: this.nowMs + Math.max(0, delayMs), order: this.scheduled++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (also ones set by
   * the callbacks), and lets the promises they start settle before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.atMs <= end).sort((a, b) => a.atMs - b.atMs || a.order - b.order)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.nowMs = due.atMs;
      due.callback();
    }
    this.nowMs = end;
    await settle();
  }
}

/** Lets pending promise callbacks run (a few turns: chains of awaits). */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}
