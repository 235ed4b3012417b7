/**
 * One pod on this node: starts its containers through the runtime, restarts them by the
 * restart policy with crash-loop back-off, runs their probes, stops them on deletion, and
 * reports status. Level-triggered: every `sync` re-reads the pod and the runtime's records and
 * decides from them, so a missed or repeated signal cannot leave the pod in a wrong state.
 */
import { types } from '../schemas/registry.ts';
import { type BackOffPolicy, nextCrashCount, restartDelayMs, shouldRestart } from './back-off.ts';
import {
  CreateContainerConfigError,
  configMapValues,
  type EnvSources,
  expandReferences,
  referencedConfigMaps,
  referencedSecrets,
  resolveEnv,
  secretValues,
} from './env.ts';
import type { EventRecorder } from './event-recorder.ts';
import { isConflict, isNotFound, type KubeClient } from './kube-client.ts';
import { type ContainerReport, type ContainerState, computePodStatus, statusDigest } from './pod-status.ts';
import type { AgentPod, Container, Probe } from './pod-view.ts';
import { firstProbeAtMs, initialProbeState, nextProbeState, type ProbeKind, type ProbeState } from './probe-state.ts';
import { runProbe } from './prober.ts';
import { type ContainerRecord, type ContainerRuntime, ImagePullError } from './runtime/runtime.ts';

export interface PodWorkerContext {
  readonly runtime: ContainerRuntime;
  readonly client: KubeClient;
  readonly events: EventRecorder;
  readonly nodeName: string;
  readonly hostIP: string;
  readonly backOff: BackOffPolicy;
  /** The pod's address: the same one again for a pod that already has one. */
  allocatePodIp(uid: string): string;
  releasePodIp(uid: string): void;
  /** The worker is done: its pod is deleted and its containers are gone. */
  onFinished(uid: string): void;
  log(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

interface ContainerSlot {
  readonly name: string;
  current?: ContainerRecord;
  previous?: ContainerRecord;
  restartCount: number;
  crashes: number;
  /** The exited record whose restart was already decided. */
  decidedExitId?: string;
  nextStartAtMs?: number;
  waiting?: { readonly reason: string; readonly message?: string };
  imageID: string;
  pullFailures: number;
  pulled: boolean;
  probes: Record<ProbeKind, ProbeState>;
  probeTimers: NodeJS.Timeout[];
  killing: boolean;
}

const probeKinds: readonly ProbeKind[] = ['startup', 'liveness', 'readiness'];

function newSlot(name: string): ContainerSlot {
  return {
    name,
    restartCount: 0,
    crashes: 0,
    imageID: '',
    pullFailures: 0,
    pulled: false,
    probes: { liveness: initialProbeState('liveness'), readiness: initialProbeState('readiness'), startup: initialProbeState('startup') },
    probeTimers: [],
    killing: false,
  };
}

export class PodWorker {
  private readonly slots = new Map<string, ContainerSlot>();
  private podIP?: string;
  private startTime?: string;
  private lastStatusJson?: string;
  /** The resourceVersion our last status write produced. */
  private lastWrittenVersion?: string;
  private syncing = false;
  private again = false;
  private wakeTimer?: NodeJS.Timeout;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private finished = false;
  /** Set when the agent stops with its containers: a start still in flight is undone. */
  private discarding = false;
  private deletedFromApi = false;

  constructor(
    private pod: AgentPod,
    private readonly context: PodWorkerContext,
  ) {
    this.adoptRecords();
  }

  get uid(): string {
    return this.pod.view.metadata.uid;
  }

  get view(): AgentPod['view'] {
    return this.pod.view;
  }

  /** The record whose log `kubectl logs` reads: the current run, or the one before it. */
  logRecord(containerName: string, previous: boolean): ContainerRecord | undefined {
    const slot = this.slots.get(containerName);
    if (!slot) return undefined;
    if (!previous) return slot.current;
    // While a crashed container waits to restart, its last run is what --previous shows.
    if (slot.current?.exit && slot.waiting) return slot.current;
    return slot.previous;
  }

  waitingReason(containerName: string): string {
    return this.slots.get(containerName)?.waiting?.reason ?? 'ContainerCreating';
  }

  update(pod: AgentPod): void {
    this.pod = pod;
    this.kick();
  }

  /** The pod is gone from the API (force-deleted): stop everything without writing back. */
  podDeleted(): void {
    this.deletedFromApi = true;
    this.kick();
  }

  kick(): void {
    if (this.finished) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    void this.syncLoop();
  }

  /** Stops timers only: containers keep running for the next agent to adopt. */
  detach(): void {
    this.finished = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    for (const slot of this.slots.values()) this.stopProbes(slot);
  }

  /** Stops the pod's containers (agent shutdown with stop-containers). */
  async stopContainers(graceMs: number): Promise<void> {
    this.discarding = true;
    this.detach();
    await Promise.all(
      [...this.slots.values()].map((slot) => (slot.current && !slot.current.exit ? this.context.runtime.stop(slot.current.id, graceMs) : undefined)),
    );
  }

  private async syncLoop(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.sync();
        } catch (error) {
          // A request cut off by the agent stopping is not a failure worth reporting.
          if (this.finished) return;
          this.context.log('error', 'pod sync failed', { pod: this.podName(), error: String(error) });
          this.wakeAt(Date.now() + 2000);
        }
      } while (this.again && !this.finished);
    } finally {
      this.syncing = false;
    }
  }

  private podName(): string {
    return `${this.pod.view.metadata.namespace}/${this.pod.view.metadata.name}`;
  }

  /** Rebuilds container slots from records a previous agent run left in the runtime. */
  private adoptRecords(): void {
    const records = this.context.runtime
      .containers()
      .filter((r) => r.pod.uid === this.uid)
      .sort((a, b) => a.attempt - b.attempt);
    for (const record of records) {
      const slot = this.slot(record.containerName);
      if (slot.current) slot.previous = slot.current;
      slot.current = record;
      slot.restartCount = record.attempt;
      slot.imageID = record.imageID;
      slot.pulled = true;
      // A run that was already over when we came back counts as decided: restart it now.
      if (record.exit) slot.crashes = 1;
    }
    if (records.length > 0) {
      this.podIP = this.context.allocatePodIp(this.uid);
      this.startTime = records[0]?.startedAt;
    }
    for (const slot of this.slots.values()) if (slot.current && !slot.current.exit) this.startProbes(slot);
  }

  private slot(name: string): ContainerSlot {
    let slot = this.slots.get(name);
    if (!slot) {
      slot = newSlot(name);
      this.slots.set(name, slot);
    }
    return slot;
  }

  private async sync(): Promise<void> {
    const view = this.pod.view;
    if (view.metadata.deletionTimestamp || this.deletedFromApi) {
      await this.terminate();
      return;
    }
    const now = Date.now();
    if (!this.podIP) this.podIP = this.context.allocatePodIp(this.uid);
    if (!this.startTime) this.startTime = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const container of view.spec.containers) {
      const slot = this.slot(container.name);
      const current = slot.current ? (this.context.runtime.container(slot.current.id) ?? slot.current) : undefined;
      slot.current = current;
      if (current && !current.exit) {
        if (current.image !== container.image && !slot.killing) this.restartForNewImage(slot, current, container);
        continue;
      }
      if (current?.exit) {
        this.stopProbes(slot);
        if (slot.decidedExitId !== current.id) {
          slot.decidedExitId = current.id;
          slot.killing = false;
          const ranForMs = Date.parse(current.exit.finishedAt) - Date.parse(current.startedAt);
          slot.crashes = nextCrashCount(slot.crashes, ranForMs, this.context.backOff);
          slot.nextStartAtMs = now + restartDelayMs(slot.crashes, this.context.backOff);
          slot.waiting = undefined;
        }
        if (!shouldRestart(view.spec.restartPolicy, current.exit.exitCode)) continue;
        if (slot.nextStartAtMs !== undefined && now < slot.nextStartAtMs) {
          this.backOff(slot, container, slot.nextStartAtMs - now);
          continue;
        }
      } else if (slot.nextStartAtMs !== undefined && now < slot.nextStartAtMs) {
        this.wakeAt(slot.nextStartAtMs);
        continue;
      }
      await this.startContainer(slot, container);
    }
    await this.pushStatus();
  }

  /** `kubectl set image` on a pod: the kubelet replaces the container, without crash back-off. */
  private restartForNewImage(slot: ContainerSlot, current: ContainerRecord, container: Container): void {
    slot.killing = true;
    slot.crashes = 0;
    this.context.events.record(this.pod.view, 'Normal', 'Killing', `Container ${container.name} definition changed, will be restarted`, container.name);
    void this.context.runtime.stop(current.id, this.pod.view.spec.terminationGracePeriodSeconds * 1000).then(() => this.kick());
  }

  private backOff(slot: ContainerSlot, container: Container, remainingMs: number): void {
    const pod = this.pod.view;
    const seconds = Math.round(restartDelayMs(slot.crashes, this.context.backOff) / 1000);
    if (slot.waiting?.reason !== 'CrashLoopBackOff') {
      slot.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${formatDuration(seconds)} restarting failed container=${container.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
      };
      this.context.events.record(
        pod,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${container.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
        container.name,
      );
    }
    this.wakeAt(Date.now() + remainingMs);
  }

  private async startContainer(slot: ContainerSlot, container: Container): Promise<void> {
    const pod = this.pod.view;
    const events = this.context.events;
    const record = this.context.runtime.kind !== 'sim';
    const launchBase = {
      image: container.image,
      ...(container.command ? { command: container.command } : {}),
      ...(container.args ? { args: container.args } : {}),
    };
    try {
      if (record && !slot.pulled) events.record(pod, 'Normal', 'Pulling', `Pulling image "${container.image}"`, container.name);
      slot.imageID = this.context.runtime.imageIdOf(launchBase);
    } catch (error) {
      if (!(error instanceof ImagePullError)) throw error;
      slot.pullFailures += 1;
      const delay = restartDelayMs(slot.pullFailures + 1, this.context.backOff);
      slot.nextStartAtMs = Date.now() + delay;
      if (slot.pullFailures === 1) {
        slot.waiting = { reason: 'ErrImagePull', message: error.message };
        events.record(pod, 'Warning', 'Failed', `Failed to pull image "${container.image}": ${error.message}`, container.name);
        events.record(pod, 'Warning', 'Failed', 'Error: ErrImagePull', container.name);
      } else {
        slot.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${container.image}": ${error.message}` };
        events.record(pod, 'Normal', 'BackOff', `Back-off pulling image "${container.image}"`, container.name);
        events.record(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', container.name);
      }
      this.wakeAt(slot.nextStartAtMs);
      return;
    }
    if (record) {
      events.record(
        pod,
        'Normal',
        'Pulled',
        slot.pulled
          ? `Container image "${container.image}" already present on machine`
          : `Successfully pulled image "${container.image}" in 0s (0s including waiting)`,
        container.name,
      );
    }
    slot.pulled = true;
    slot.pullFailures = 0;
    let env: Record<string, string>;
    try {
      env = await this.environment(container);
    } catch (error) {
      if (!(error instanceof CreateContainerConfigError)) throw error;
      slot.waiting = { reason: 'CreateContainerConfigError', message: error.message };
      events.record(pod, 'Warning', 'Failed', `Error: ${error.message}`, container.name);
      slot.nextStartAtMs = Date.now() + this.context.backOff.initialMs;
      this.wakeAt(slot.nextStartAtMs);
      return;
    }
    const restarting = slot.current !== undefined;
    const attempt = restarting ? slot.restartCount + 1 : slot.restartCount;
    const started = await this.context.runtime.start({
      pod: { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
      containerName: container.name,
      attempt,
      ...launchBase,
      ...(container.command ? { command: container.command.map((part) => expandReferences(part, env)) } : {}),
      ...(container.args ? { args: container.args.map((part) => expandReferences(part, env)) } : {}),
      env,
      ...(container.workingDir ? { workingDir: container.workingDir } : {}),
    });
    if (this.discarding) {
      await this.context.runtime.stop(started.id, 0);
      return;
    }
    if (restarting && slot.current) {
      if (slot.previous) this.context.runtime.remove(slot.previous.id);
      slot.previous = slot.current;
    }
    slot.current = started;
    slot.restartCount = attempt;
    slot.waiting = undefined;
    slot.nextStartAtMs = undefined;
    slot.probes = { liveness: initialProbeState('liveness'), readiness: initialProbeState('readiness'), startup: initialProbeState('startup') };
    if (record) {
      events.record(pod, 'Normal', 'Created', `Created container ${container.name}`, container.name);
      events.record(pod, 'Normal', 'Started', `Started container ${container.name}`, container.name);
    }
    this.startProbes(slot);
  }

  /** Variables every container gets from the agent, under what the pod sets itself. */
  private baseEnvironment(container: Container): Record<string, string> {
    const pod = this.pod.view;
    const podIP = this.podIP ?? '';
    const firstPort = container.ports[0]?.containerPort;
    return {
      HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
      POD_NAME: pod.metadata.name,
      POD_NAMESPACE: pod.metadata.namespace,
      POD_IP: podIP,
      HOST: podIP,
      ...(firstPort !== undefined ? { PORT: String(firstPort) } : {}),
    };
  }

  private async environment(container: Container): Promise<Record<string, string>> {
    const namespace = this.pod.view.metadata.namespace;
    const fetch = async (kind: 'configmaps' | 'secrets', name: string) => {
      try {
        const object = await this.context.client.get(types[kind], namespace, name);
        return kind === 'secrets' ? secretValues(object) : configMapValues(object);
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    };
    const configMaps = await Promise.all(referencedConfigMaps(container).map(async (name) => [name, await fetch('configmaps', name)] as const));
    const secrets = await Promise.all(referencedSecrets(container).map(async (name) => [name, await fetch('secrets', name)] as const));
    const sources: EnvSources = { configMaps: new Map(configMaps), secrets: new Map(secrets) };
    const facts = { podIP: this.podIP ?? '', hostIP: this.context.hostIP, nodeName: this.context.nodeName };
    return resolveEnv(this.pod.view, container, sources, facts, this.baseEnvironment(container));
  }

  // --- probes -------------------------------------------------------------------------------

  private startProbes(slot: ContainerSlot): void {
    this.stopProbes(slot);
    const container = this.pod.view.spec.containers.find((c) => c.name === slot.name);
    const current = slot.current;
    if (!container || !current || current.exit || !this.context.runtime.supportsProbes) return;
    for (const kind of probeKinds) {
      const probe = container[`${kind}Probe`];
      if (!probe) continue;
      const firstAt = firstProbeAtMs(probe, Date.parse(current.startedAt));
      this.scheduleProbe(slot, current.id, container, kind, probe, Math.max(0, firstAt - Date.now()));
    }
  }

  private scheduleProbe(slot: ContainerSlot, containerId: string, container: Container, kind: ProbeKind, probe: Probe, delayMs: number): void {
    const timer = setTimeout(() => {
      slot.probeTimers = slot.probeTimers.filter((t) => t !== timer);
      void this.probeOnce(slot, containerId, container, kind, probe).finally(() => {
        if (!this.finished && slot.current?.id === containerId && !slot.current.exit && !slot.killing) {
          this.scheduleProbe(slot, containerId, container, kind, probe, probe.periodSeconds * 1000);
        }
      });
    }, delayMs);
    slot.probeTimers.push(timer);
  }

  private async probeOnce(slot: ContainerSlot, containerId: string, container: Container, kind: ProbeKind, probe: Probe): Promise<void> {
    const gatedByStartup = kind !== 'startup' && container.startupProbe !== undefined && slot.probes.startup.result !== 'success';
    const startupDone = kind === 'startup' && slot.probes.startup.result === 'success';
    if (gatedByStartup || startupDone || slot.killing || !this.podIP) return;
    const outcome = await runProbe(probe, { podIP: this.podIP, container, containerId }, this.context.runtime);
    if (slot.current?.id !== containerId || slot.current.exit) return;
    const before = slot.probes[kind];
    const after = nextProbeState(before, probe, outcome.ok);
    slot.probes = { ...slot.probes, [kind]: after };
    const pod = this.pod.view;
    const label = `${kind[0]?.toUpperCase()}${kind.slice(1)}`;
    if (!outcome.ok) this.context.events.record(pod, 'Warning', 'Unhealthy', `${label} probe failed: ${outcome.message}`, container.name);
    if (after.result === 'failure' && (kind === 'liveness' || kind === 'startup') && !slot.killing) {
      slot.killing = true;
      this.context.events.record(pod, 'Normal', 'Killing', `Container ${container.name} failed ${kind} probe, will be restarted`, container.name);
      const graceMs = this.pod.view.spec.terminationGracePeriodSeconds * 1000;
      void this.context.runtime.stop(containerId, graceMs).then(() => this.kick());
      return;
    }
    if (after.result !== before.result) this.kick();
  }

  private stopProbes(slot: ContainerSlot): void {
    for (const timer of slot.probeTimers) clearTimeout(timer);
    slot.probeTimers = [];
  }

  // --- termination --------------------------------------------------------------------------

  private async terminate(): Promise<void> {
    const pod = this.pod.view;
    const graceSeconds = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds;
    const running = [...this.slots.values()].filter((slot) => slot.current && !slot.current.exit);
    for (const slot of this.slots.values()) this.stopProbes(slot);
    await Promise.all(
      running.map(async (slot) => {
        const current = slot.current;
        if (!current) return;
        slot.killing = true;
        if (this.context.runtime.kind !== 'sim') this.context.events.record(pod, 'Normal', 'Killing', `Stopping container ${slot.name}`, slot.name);
        slot.current = (await this.context.runtime.stop(current.id, graceSeconds * 1000)) ?? current;
      }),
    );
    if (!this.deletedFromApi) {
      // A pod that never ran here has no status worth writing on its way out.
      if ([...this.slots.values()].some((slot) => slot.current)) await this.pushStatus().catch(() => {});
      try {
        await this.context.client.delete(types.pods, pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0, uid: pod.metadata.uid });
      } catch (error) {
        if (!isNotFound(error) && !isConflict(error)) throw error;
      }
    }
    this.finish();
  }

  private finish(): void {
    this.detach();
    this.context.runtime.removePod(this.uid);
    this.context.releasePodIp(this.uid);
    this.context.events.forgetPod(this.uid);
    this.context.onFinished(this.uid);
  }

  // --- status -------------------------------------------------------------------------------

  private reports(): ContainerReport[] {
    return this.pod.view.spec.containers.map((container) => {
      const slot = this.slot(container.name);
      const current = slot.current;
      const terminatedOf = (record: ContainerRecord | undefined): ContainerState | undefined =>
        record?.exit
          ? {
              terminated: {
                exitCode: record.exit.exitCode,
                ...(record.exit.signal !== undefined ? { signal: record.exit.signal } : {}),
                reason: record.exit.reason,
                ...(record.exit.message ? { message: record.exit.message } : {}),
                startedAt: trimMillis(record.startedAt),
                finishedAt: trimMillis(record.exit.finishedAt),
                containerID: record.containerID,
              },
            }
          : undefined;
      let state: ContainerState;
      let lastState: ContainerState | undefined;
      if (current && !current.exit) {
        state = { running: { startedAt: trimMillis(current.startedAt) } };
        lastState = terminatedOf(slot.previous);
      } else if (current?.exit) {
        if (slot.waiting) {
          state = { waiting: slot.waiting };
          lastState = terminatedOf(current);
        } else {
          state = terminatedOf(current) ?? { waiting: { reason: 'ContainerCreating' } };
          lastState = terminatedOf(slot.previous);
        }
      } else {
        state = { waiting: slot.waiting ?? { reason: 'ContainerCreating' } };
      }
      const running = 'running' in state;
      const started = running && (!container.startupProbe || !this.context.runtime.supportsProbes || slot.probes.startup.result === 'success');
      const readyByProbe = !container.readinessProbe || !this.context.runtime.supportsProbes || slot.probes.readiness.result === 'success';
      return {
        name: container.name,
        image: container.image,
        imageID: slot.imageID,
        ...(current ? { containerID: current.containerID } : {}),
        state,
        ...(lastState ? { lastState } : {}),
        ready: running && started && readyByProbe && !slot.killing,
        started,
        restartCount: slot.restartCount,
      };
    });
  }

  private async pushStatus(): Promise<void> {
    const status = computePodStatus(this.pod.view, this.reports(), {
      hostIP: this.context.hostIP,
      ...(this.podIP ? { podIP: this.podIP } : {}),
      ...(this.startTime ? { startTime: this.startTime } : {}),
      now: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    const json = JSON.stringify(status);
    const untouchedSinceOurWrite = this.pod.view.metadata.resourceVersion === this.lastWrittenVersion;
    if (json === this.lastStatusJson && (untouchedSinceOurWrite || statusDigest(status) === statusDigest(this.pod.raw.status))) return;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const updated = await this.context.client.updateStatus(types.pods, { ...this.pod.raw, status });
        this.lastStatusJson = json;
        this.lastWrittenVersion = updated.metadata.resourceVersion;
        this.pod = { view: { ...this.pod.view, metadata: { ...this.pod.view.metadata, resourceVersion: updated.metadata.resourceVersion } }, raw: updated };
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        if (!isConflict(error)) throw error;
        const fresh = await this.context.client.get(types.pods, this.pod.view.metadata.namespace, this.pod.view.metadata.name);
        if (fresh.metadata.uid !== this.uid) return;
        this.pod = { view: { ...this.pod.view, metadata: { ...this.pod.view.metadata, resourceVersion: fresh.metadata.resourceVersion } }, raw: fresh };
      }
    }
    this.wakeAt(Date.now() + 1000);
  }

  private wakeAt(atMs: number): void {
    if (this.finished) return;
    if (this.wakeTimer && atMs >= this.wakeAtMs) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAtMs = atMs;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAtMs = Number.POSITIVE_INFINITY;
        this.kick();
      },
      Math.max(0, atMs - Date.now()),
    );
  }
}

function trimMillis(timestamp: string): string {
  return timestamp.replace(/\.\d{3}Z$/, 'Z');
}

/** Go's duration format for whole seconds: `10s`, `1m20s`, `5m0s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}
