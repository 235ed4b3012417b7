/**
 * The probes of one container run: startup, liveness and readiness, each on its own timer
 * from `initialDelaySeconds` every `periodSeconds`, their results kept by the probe state
 * machine. Liveness and readiness wait until a startup probe, if there is one, has succeeded;
 * the startup probe stops once it has. What a result means for the container (a restart, a
 * Ready condition) is the pod worker's business: it reads `states` and hears `onResult`.
 */
import type { CancelTimer, Clock } from './clock.ts';
import { freshProbeStates } from './pod-actions.ts';
import type { Container, Probe } from './pod-view.ts';
import { firstProbeAtMs, nextProbeState, type ProbeKind, type ProbeState } from './probe-state.ts';
import type { ProbeOutcome } from './prober.ts';

export interface ContainerProbesOptions {
  readonly container: Container;
  /** When the run started: the first attempt comes `initialDelaySeconds` after it. */
  readonly startedAtMs: number;
  readonly clock: Clock;
  /** One attempt of a probe against this run. */
  run(probe: Probe): Promise<ProbeOutcome>;
  /** After every attempt that counted, with the state before and after it. */
  onResult(kind: ProbeKind, outcome: ProbeOutcome, before: ProbeState, after: ProbeState): void;
}

const probeKinds: readonly ProbeKind[] = ['startup', 'liveness', 'readiness'];

export class ContainerProbes {
  private current: Readonly<Record<ProbeKind, ProbeState>> = freshProbeStates();
  private readonly timers = new Set<CancelTimer>();
  private stopped = false;

  constructor(private readonly options: ContainerProbesOptions) {
    const { container, clock, startedAtMs } = options;
    for (const kind of probeKinds) {
      const probe = container[`${kind}Probe`];
      if (probe) this.schedule(kind, probe, Math.max(0, firstProbeAtMs(probe, startedAtMs) - clock.now()));
    }
  }

  get states(): Readonly<Record<ProbeKind, ProbeState>> {
    return this.current;
  }

  /** No more attempts, and the result of one in flight is dropped; the states stay readable. */
  stop(): void {
    this.stopped = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
  }

  private schedule(kind: ProbeKind, probe: Probe, delayMs: number): void {
    const cancel = this.options.clock.after(delayMs, () => {
      this.timers.delete(cancel);
      void this.attempt(kind, probe).finally(() => {
        if (!this.stopped) this.schedule(kind, probe, probe.periodSeconds * 1000);
      });
    });
    this.timers.add(cancel);
  }

  private async attempt(kind: ProbeKind, probe: Probe): Promise<void> {
    const startup = this.current.startup.result;
    const waitingForStartup = kind !== 'startup' && this.options.container.startupProbe !== undefined && startup !== 'success';
    const startupDone = kind === 'startup' && startup === 'success';
    if (waitingForStartup || startupDone || this.stopped) return;
    // A probe that throws instead of failing (a bug, a target Node refuses) counts as a failure.
    const outcome = await this.options.run(probe).catch((error: unknown): ProbeOutcome => ({ ok: false, message: String(error) }));
    if (this.stopped) return;
    const before = this.current[kind];
    const after = nextProbeState(before, probe, outcome.ok);
    this.current = { ...this.current, [kind]: after };
    this.options.onResult(kind, outcome, before, after);
  }
}
