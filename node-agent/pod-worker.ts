/**
 * One pod on this node: carries out what `planContainerActions` decides (start, restart with
 * crash-loop back-off, stop on a changed image or a failed probe, stop everything on deletion),
 * runs the containers' probes, and reports status. Level-triggered: every `sync` re-reads the
 * pod and the runtime's records and plans from them, so a missed or repeated signal cannot
 * leave the pod in a wrong state.
 */
import { kubeTime } from '../functions/core/kube-time.ts';
import { SERVICE_ACCOUNT_MOUNT_PATH } from '../functions/domain/pods/service-account-volume.ts';
import type { Log } from '../functions/logging/log.ts';
import type { KubeObject } from '../schemas/meta.ts';
import { types } from '../schemas/registry.ts';
import { type BackOffPolicy, restartDelayMs } from './back-off.ts';
import { type CancelTimer, type Clock, systemClock } from './clock.ts';
import { ContainerProbes } from './container-probes.ts';
import {
  CreateContainerConfigError,
  configMapValues,
  type EnvSources,
  expandReferences,
  isSensitiveOrigin,
  referencedConfigMaps,
  referencedSecrets,
  referencedVariables,
  resolveEnv,
  resolveEnvDetailed,
  secretValues,
} from './env.ts';
import type { EventRecorder } from './event-recorder.ts';
import { isConflict, isNotFound, type KubeClient } from './kube-client.ts';
import { type ContainerAction, type ContainerSnapshot, type ExitDecision, freshProbeStates, initialized, planContainerActions } from './pod-actions.ts';
import { computePodStatus, containerReports, statusDigest } from './pod-status.ts';
import { type PodUnitActions, planPodUnitActions } from './pod-unit-actions.ts';
import { type AgentPod, type Container, parsePod } from './pod-view.ts';
import type { ProbeKind, ProbeState } from './probe-state.ts';
import { type ProbeOutcome, runProbe } from './prober.ts';
import {
  ContainerConfigError,
  type ContainerRecord,
  type ContainerRuntime,
  ImagePullError,
  type LaunchSource,
  type LaunchVariable,
  type PodContainerLaunch,
  PodSandboxError,
} from './runtime/runtime.ts';
import { type ServiceAccountVolumes, TokenVolumeError } from './service-account-volume.ts';
import { type KeyedData, mountsOf, podUnitRefusal, refreshableVolumes, securityOf, type VolumeDataSource, volumesFor } from './volume-sources.ts';

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
  /** The worker is done: its pod is deleted and its containers are gone (their records and logs are the agent's to remove). */
  onFinished(uid: string): void;
  readonly log: Log;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Fills the pods' ServiceAccount token volumes (container runtimes). */
  readonly serviceAccountVolumes?: ServiceAccountVolumes;
  /** Where in-cluster clients reach the API: `KUBERNETES_SERVICE_HOST` and `_PORT`. */
  readonly apiServer?: { readonly host: string; readonly port: string };
  /**
   * Until when a deleted pod keeps serving because some Ready node's ClusterIP rules or NodePort
   * proxy may still send it new connections (namespace mode, docs/adr/170); undefined once none
   * may, or at `deadlineMs`.
   */
  serviceRoutingHold?(podIP: string, nowMs: number, deadlineMs: number): number | undefined;
  /** How often running pods' ConfigMap, Secret, downwardAPI and projected files are read again. @default 10000 */
  readonly volumeRefreshMs?: number;
}

/** How often a running pod's file volumes are read again (the kubelet's sync period is a minute; Skiff is quicker). */
export const defaultVolumeRefreshMs = 10_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The worker's own record of a container: the snapshot it plans from, plus pull bookkeeping and the run's probes. */
interface ContainerSlot extends Mutable<Omit<ContainerSnapshot, 'probes'>> {
  pullFailures: number;
  pulled: boolean;
  probes?: ContainerProbes;
  /** Pod runtimes: the run whose start (Pulled, Created, Started) was announced. */
  announcedId?: string;
}

function newSlot(name: string): ContainerSlot {
  return { name, restartCount: 0, crashes: 0, imageID: '', pullFailures: 0, pulled: false, killing: false };
}

function snapshotOf(slot: ContainerSlot): ContainerSnapshot {
  const { pullFailures: _pullFailures, pulled: _pulled, probes, announcedId: _announcedId, ...rest } = slot;
  return { ...rest, probes: probes?.states ?? freshProbeStates() };
}

/** A run seen exited for the first time: its restart is decided, the stop (if one was asked) is over. */
function recordExit(slot: ContainerSlot, exit: ExitDecision): void {
  slot.decidedExitId = exit.containerId;
  slot.killing = false;
  slot.crashes = exit.crashes;
  slot.nextStartAtMs = exit.nextStartAtMs;
  slot.waiting = undefined;
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
  private readonly clock: Clock;
  private cancelWake?: CancelTimer;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private finished = false;
  /** Set when the agent stops with its containers: a start still in flight is undone. */
  private discarding = false;
  private deletedFromApi = false;
  /** Termination waits for the pod's load balancers to drain it (docs/adr/094-zero-downtime-targets.md). */
  private holding = false;
  /** When the running containers' file volumes are next read again (`refreshVolumes`). */
  private nextVolumeRefreshAtMs = 0;
  /** Pod runtimes: placements that failed in a row (no network interface free...). */
  private sandboxFailures = 0;

  constructor(
    private pod: AgentPod,
    private readonly context: PodWorkerContext,
  ) {
    this.clock = context.clock ?? systemClock;
    this.adoptRecords();
  }

  get uid(): string {
    return this.pod.view.metadata.uid;
  }

  get view(): AgentPod['view'] {
    return this.pod.view;
  }

  /** The pod's address (port forwarding dials it); undefined before the pod has one. */
  get address(): string | undefined {
    return this.podIP;
  }

  /** The runtime starts the pod's containers together (an ECS task) and gives the pod its IP. */
  private get podUnit(): boolean {
    return this.context.runtime.unit === 'pod';
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
    const waiting = this.slots.get(containerName)?.waiting?.reason;
    if (waiting) return waiting;
    const view = this.pod.view;
    const appContainer = view.spec.containers.some((c) => c.name === containerName);
    return appContainer && !initialized(view, [...this.slots.values()].map(snapshotOf)) ? 'PodInitializing' : 'ContainerCreating';
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
    this.cancelWake?.();
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
          this.context.log.error('pod sync failed', { pod: this.podName(), error: String(error) });
          this.wakeAt(this.clock.now() + 2000);
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
      this.podIP = this.podUnit ? records.findLast((r) => r.podIP)?.podIP : this.context.allocatePodIp(this.uid);
      const first = records[0];
      if (first) this.startTime = kubeTime(Date.parse(first.startedAt));
    }
    for (const slot of this.slots.values()) {
      if (!slot.current || slot.current.exit || slot.current.creating) continue;
      slot.announcedId = slot.current.id;
      this.startProbes(slot);
    }
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
    const deleting = view.metadata.deletionTimestamp !== undefined || this.deletedFromApi;
    const now = this.clock.now();
    if (!deleting) {
      if (!this.podIP && !this.podUnit) this.podIP = this.context.allocatePodIp(this.uid);
      if (!this.startTime) this.startTime = kubeTime(now);
      for (const container of [...view.spec.initContainers, ...view.spec.containers, ...view.spec.ephemeralContainers]) {
        const slot = this.slot(container.name);
        if (slot.current) slot.current = this.context.runtime.container(slot.current.id) ?? slot.current;
      }
    }
    if (this.podUnit) {
      const unitPlan = planPodUnitActions(
        view,
        [...this.slots.values()].map((slot) => ({ ...snapshotOf(slot), pullFailures: slot.pullFailures })),
        now,
        { backOff: this.context.backOff, podGone: this.deletedFromApi },
      );
      if (unitPlan.type === 'hold') return this.hold(unitPlan.untilMs);
      if (unitPlan.type === 'terminate') {
        await this.terminate(unitPlan.graceSeconds, unitPlan.containersToStop);
        return;
      }
      await this.carryOutUnit(unitPlan, now);
      this.refuseEphemeralContainers();
      await this.pushStatus();
      return;
    }
    const snapshots = [...this.slots.values()].map(snapshotOf);
    const plan = planContainerActions(view, snapshots, now, { backOff: this.context.backOff, podGone: this.deletedFromApi });
    if (plan.type === 'hold') return this.hold(plan.untilMs);
    if (plan.type === 'terminate') {
      // Every node's ClusterIP rules and NodePort proxy follow the pod's endpoint going: until they
      // all have, new connections may still come, so SIGTERM waits (never past the deletion's
      // deadline), as a preStop would (docs/adr/170).
      const deadline = view.metadata.deletionTimestamp ? Date.parse(view.metadata.deletionTimestamp) : Number.NaN;
      const routed =
        !this.deletedFromApi && this.podIP && Number.isFinite(deadline) && now < deadline
          ? this.context.serviceRoutingHold?.(this.podIP, now, deadline)
          : undefined;
      if (routed !== undefined && Number.isFinite(deadline) && now < deadline) return this.hold(Math.min(routed, deadline));
      await this.terminate(plan.graceSeconds, plan.containersToStop);
      return;
    }
    for (const { name, exit, action } of plan.containers) {
      const slot = this.slot(name);
      const container = containerNamed(view, name);
      if (!container) continue;
      if (slot.current?.exit) this.stopProbes(slot);
      if (exit) recordExit(slot, exit);
      await this.carryOut(slot, container, action);
    }
    await this.refreshVolumes(now);
    await this.pushStatus();
  }

  /**
   * Every `volumeRefreshMs` while containers run: their ConfigMap, Secret, downwardAPI and
   * projected files are read again and rewritten where they changed, as the kubelet's sync does.
   */
  private async refreshVolumes(now: number): Promise<void> {
    const runtime = this.context.runtime;
    if (!runtime.refreshVolumes) return;
    const view = this.pod.view;
    const running = [...view.spec.initContainers, ...view.spec.containers, ...view.spec.ephemeralContainers].filter((container) => {
      const current = this.slots.get(container.name)?.current;
      return current !== undefined && !current.exit;
    });
    const names = new Set(running.flatMap((container) => container.volumeMounts.map((mount) => mount.name)));
    if (!view.spec.volumes.some((volume) => names.has(volume.name) && (volume.configMap || volume.secret || volume.downwardAPI || volume.projected))) return;
    const period = this.context.volumeRefreshMs ?? defaultVolumeRefreshMs;
    if (now < this.nextVolumeRefreshAtMs) {
      this.wakeAt(this.nextVolumeRefreshAtMs);
      return;
    }
    this.nextVolumeRefreshAtMs = now + period;
    const changed = runtime.refreshVolumes(
      { namespace: view.metadata.namespace, name: view.metadata.name, uid: view.metadata.uid },
      await refreshableVolumes(view, names, this.volumeData()),
    );
    if (changed.length > 0) this.context.log.info('pod volumes updated', { pod: this.podName(), volumes: changed });
    this.wakeAt(this.nextVolumeRefreshAtMs);
  }

  private async carryOut(slot: ContainerSlot, container: Container, action: ContainerAction): Promise<void> {
    const pod = this.pod.view;
    switch (action.type) {
      case 'keep':
      case 'done':
        return;
      case 'kill':
        slot.killing = true;
        if (action.resetBackOff) slot.crashes = 0;
        this.stopProbes(slot);
        this.context.events.record(pod, 'Normal', 'Killing', action.message, container.name);
        void this.context.runtime.stop(action.containerId, action.graceSeconds * 1000).then(() => this.kick());
        return;
      case 'backOff':
        if (action.entering) {
          slot.waiting = action.waiting;
          this.context.events.record(
            pod,
            'Warning',
            'BackOff',
            `Back-off restarting failed container ${container.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
            container.name,
          );
        }
        this.wakeAt(action.untilMs);
        return;
      case 'wait':
        this.wakeAt(action.untilMs);
        return;
      case 'start':
        await this.startContainer(slot, container);
        return;
    }
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
      slot.nextStartAtMs = this.clock.now() + delay;
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
    const restarting = slot.current !== undefined;
    const attempt = restarting ? slot.restartCount + 1 : slot.restartCount;
    let started: ContainerRecord;
    try {
      const env = await this.environment(container);
      started = await this.context.runtime.start({
        pod: { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
        containerName: container.name,
        attempt,
        ...launchBase,
        ...(container.command ? { command: container.command.map((part) => expandReferences(part, env)) } : {}),
        ...(container.args ? { args: container.args.map((part) => expandReferences(part, env)) } : {}),
        env,
        ...(container.workingDir ? { workingDir: container.workingDir } : {}),
        ...(this.podIP ? { podIP: this.podIP } : {}),
        ...(pod.spec.subdomain ? { subdomain: pod.spec.subdomain } : {}),
        ...(pod.spec.initContainers.some((c) => c.name === container.name) ? { init: true } : {}),
        volumes: await volumesFor(pod, container, this.volumeData(), await this.tokenVolumes(container)),
        mounts: mountsOf(container),
        security: securityOf(pod, container),
        // stdinOnce (kubectl run -i) would need the container's stdin to end with the first attach's
        // input, which the kept-open FIFO never does: such a container reads /dev/null, as before
        // (docs/adr/208), so a piped `kubectl run -i` ends instead of waiting for ever.
        ...(container.stdin && !container.stdinOnce ? { stdin: true } : {}),
        ...(container.tty ? { tty: true } : {}),
      });
    } catch (error) {
      // What the pod asks for cannot be given (a missing Secret, a user the runtime cannot run
      // as): the container waits with the reason, as the kubelet's CreateContainerConfigError.
      if (!(error instanceof CreateContainerConfigError) && !(error instanceof ContainerConfigError)) throw error;
      slot.waiting = { reason: 'CreateContainerConfigError', message: error.message };
      events.record(pod, 'Warning', 'Failed', `Error: ${error.message}`, container.name);
      slot.nextStartAtMs = this.clock.now() + this.context.backOff.initialMs;
      this.wakeAt(slot.nextStartAtMs);
      return;
    }
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
    if (record) {
      events.record(pod, 'Normal', 'Created', `Created container ${container.name}`, container.name);
      events.record(pod, 'Normal', 'Started', `Started container ${container.name}`, container.name);
    }
    this.startProbes(slot);
  }

  // --- pod runtimes (ecs): the containers start and stop together -----------------------------

  /** Carries out a unit plan: kills, exit and pull decisions, back-off, and the unit's (re)start. */
  private async carryOutUnit(plan: Exclude<PodUnitActions, { type: 'terminate' | 'hold' }>, now: number): Promise<void> {
    const pod = this.pod.view;
    const address = [...this.slots.values()].map((slot) => slot.current?.podIP).find((ip) => ip !== undefined);
    if (address) this.podIP = address;
    if (plan.type === 'running') {
      for (const { name, action } of plan.containers) {
        const slot = this.slot(name);
        const container = pod.spec.containers.find((c) => c.name === name);
        const current = slot.current;
        if (!container || !current || current.exit) continue;
        if (!current.creating && slot.announcedId !== current.id) this.announceStart(slot, container, current);
        if (action.type === 'kill') await this.carryOut(slot, container, action);
      }
      return;
    }
    for (const { name, exit, pull, action } of plan.containers) {
      const slot = this.slot(name);
      const container = pod.spec.containers.find((c) => c.name === name);
      if (!container) continue;
      // The next run starts with fresh probe results: a liveness failure of this run must not
      // kill the next one while its task is still being created.
      this.stopProbes(slot);
      slot.probes = undefined;
      if (exit) recordExit(slot, exit);
      if (pull) {
        slot.decidedExitId = pull.containerId;
        slot.killing = false;
        slot.pullFailures = pull.pullFailures;
        slot.nextStartAtMs = pull.nextStartAtMs;
        slot.waiting = pull.waiting;
        const events = this.context.events;
        if (pull.pullFailures === 1) {
          events.record(pod, 'Warning', 'Failed', `Failed to pull image "${container.image}": ${pull.waiting.message ?? ''}`, name);
          events.record(pod, 'Warning', 'Failed', 'Error: ErrImagePull', name);
        } else {
          events.record(pod, 'Normal', 'BackOff', `Back-off pulling image "${container.image}"`, name);
          events.record(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', name);
        }
      }
      if (action.type === 'backOff') await this.carryOut(slot, container, action);
    }
    if (plan.startAtMs === undefined) return;
    if (plan.startAtMs > now) {
      this.wakeAt(plan.startAtMs);
      return;
    }
    await this.startPodUnit();
  }

  /**
   * A pod runtime runs the pod as one unit (an ECS task), which cannot take another container
   * once it runs: each ephemeral container waits, saying why, with one Event (docs/adr/208).
   */
  private refuseEphemeralContainers(): void {
    const pod = this.pod.view;
    for (const container of pod.spec.ephemeralContainers) {
      const slot = this.slot(container.name);
      if (slot.waiting) continue;
      const message = `ephemeral containers are not supported by the ${this.context.runtime.kind} runtime: a running task cannot take another container`;
      slot.waiting = { reason: 'CreateContainerError', message };
      this.context.events.record(pod, 'Warning', 'Failed', `Error: ${message}`, container.name);
    }
  }

  /** The unit's containers run: the Events the kubelet writes when a container starts, and its probes. */
  private announceStart(slot: ContainerSlot, container: Container, current: ContainerRecord): void {
    const pod = this.pod.view;
    const events = this.context.events;
    slot.announcedId = current.id;
    slot.waiting = undefined;
    if (current.imageID) slot.imageID = current.imageID;
    events.record(
      pod,
      'Normal',
      'Pulled',
      slot.pulled ? `Container image "${container.image}" already present on machine` : `Successfully pulled image "${container.image}"`,
      container.name,
    );
    slot.pulled = true;
    slot.pullFailures = 0;
    events.record(pod, 'Normal', 'Created', `Created container ${container.name}`, container.name);
    events.record(pod, 'Normal', 'Started', `Started container ${container.name}`, container.name);
    this.startProbes(slot);
  }

  private async startPodUnit(): Promise<void> {
    const pod = this.pod.view;
    const events = this.context.events;
    const slots = pod.spec.containers.map((container) => this.slot(container.name));
    const startPod = this.context.runtime.startPod?.bind(this.context.runtime);
    if (!startPod) throw new Error(`runtime ${this.context.runtime.kind} runs pods as a unit but has no startPod`);
    let launches: { containers: PodContainerLaunch[]; sources: LaunchSource[] };
    try {
      launches = await this.podContainerLaunches();
    } catch (error) {
      if (!(error instanceof CreateContainerConfigError)) throw error;
      events.record(pod, 'Warning', 'Failed', `Error: ${error.message}`);
      const retryAt = this.clock.now() + this.context.backOff.initialMs;
      for (const slot of slots) {
        slot.waiting = { reason: 'CreateContainerConfigError', message: error.message };
        slot.nextStartAtMs = retryAt;
      }
      this.wakeAt(retryAt);
      return;
    }
    for (const slot of slots) {
      if (!slot.pulled && slot.pullFailures === 0) {
        const image = pod.spec.containers.find((c) => c.name === slot.name)?.image ?? '';
        events.record(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, slot.name);
      }
    }
    // A unit whose containers ran before starts as a restart; one that only failed to pull does not.
    const ran = slots.some((slot) => slot.current && !slot.current.exit?.pullFailed);
    const base = Math.max(0, ...slots.map((slot) => slot.restartCount));
    let records: readonly ContainerRecord[];
    try {
      records = await startPod({
        pod: { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
        workloadName: workloadNameOf(this.pod.raw.metadata.generateName, pod.metadata.name),
        attempt: ran ? base + 1 : base,
        containers: launches.containers,
        terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds,
        sources: launches.sources,
      });
    } catch (error) {
      if (!(error instanceof PodSandboxError)) throw error;
      this.sandboxFailures += 1;
      events.record(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${error.message}`);
      const retryAt = this.clock.now() + Math.max(1000, restartDelayMs(this.sandboxFailures + 1, this.context.backOff));
      for (const slot of slots) slot.nextStartAtMs = retryAt;
      this.wakeAt(retryAt);
      return;
    }
    this.sandboxFailures = 0;
    if (this.discarding) {
      await Promise.all(records.map((record) => this.context.runtime.stop(record.id, 0)));
      return;
    }
    for (const record of records) {
      const slot = this.slot(record.containerName);
      // While the image is pulled again, the container still shows why it waits (as the kubelet's do).
      const repulling = slot.current?.exit?.pullFailed === true;
      if (slot.current && slot.current.id !== record.id) {
        if (slot.current.exit?.pullFailed) this.context.runtime.remove(slot.current.id);
        else {
          if (slot.previous) this.context.runtime.remove(slot.previous.id);
          slot.previous = slot.current;
        }
      }
      slot.current = record;
      slot.restartCount = record.attempt;
      if (!repulling) slot.waiting = undefined;
      slot.nextStartAtMs = undefined;
      if (record.podIP) this.podIP = record.podIP;
      const container = pod.spec.containers.find((c) => c.name === record.containerName);
      if (container && !record.creating && !record.exit && slot.announcedId !== record.id) this.announceStart(slot, container, record);
    }
  }

  /**
   * Every container's launch with its environment sorted by where each value comes from, and the
   * Secrets and ConfigMaps whose values go by reference (ADR 131). A Secret or ConfigMap value
   * that would have to be copied into plain text (expanded into another variable, the command or
   * the args) is refused.
   */
  private async podContainerLaunches(): Promise<{ containers: PodContainerLaunch[]; sources: LaunchSource[] }> {
    const pod = this.pod.view;
    // What this runtime cannot give the pod is said, never dropped (ADR 084).
    const refusal = podUnitRefusal(pod, this.context.runtime.kind);
    if (refusal) throw new CreateContainerConfigError(refusal);
    const namespace = pod.metadata.namespace;
    const objects = new Map<string, { kind: 'secret' | 'configMap'; object: KubeObject }>();
    const fetch = async (kind: 'configmaps' | 'secrets', name: string) => {
      try {
        const object = await this.context.client.get(types[kind], namespace, name);
        const sourceKind = kind === 'secrets' ? 'secret' : 'configMap';
        objects.set(`${sourceKind}/${name}`, { kind: sourceKind, object });
        return kind === 'secrets' ? secretValues(object) : configMapValues(object);
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    };
    const facts = { podIP: this.podIP ?? '', hostIP: this.context.hostIP, nodeName: this.context.nodeName };
    const containers: PodContainerLaunch[] = [];
    const used = new Set<string>();
    for (const container of pod.spec.containers) {
      const configMaps = await Promise.all(referencedConfigMaps(container).map(async (name) => [name, await fetch('configmaps', name)] as const));
      const secrets = await Promise.all(referencedSecrets(container).map(async (name) => [name, await fetch('secrets', name)] as const));
      const sources: EnvSources = { configMaps: new Map(configMaps), secrets: new Map(secrets) };
      const { env, origins } = resolveEnvDetailed(pod, container, sources, facts, this.baseEnvironment(container));
      const variables: LaunchVariable[] = [];
      for (const [name, value] of Object.entries(env)) {
        const origin = origins[name];
        if (origin?.kind === 'derived') {
          throw new CreateContainerConfigError(
            `variable ${name} expands ${origin.from.join(', ')}, which come from a Secret or ConfigMap: on ECS their values are passed by reference only and cannot be copied into another variable`,
          );
        }
        if (origin?.kind === 'secret' || origin?.kind === 'configMap') {
          variables.push({ name, origin: origin.kind, source: origin.source, key: origin.key });
          used.add(`${origin.kind}/${origin.source}`);
        } else variables.push({ name, value, origin: origin?.kind ?? 'pod' });
      }
      const expand = (parts: readonly string[] | undefined, what: string) => {
        if (!parts) return { parts: undefined, perPod: false };
        const referenced = parts.flatMap((part) => referencedVariables(part, env));
        const sensitive = [...new Set(referenced.filter((name) => isSensitiveOrigin(origins[name])))];
        if (sensitive.length > 0) {
          throw new CreateContainerConfigError(
            `the ${what} of container ${container.name} expands ${sensitive.join(', ')}, which come from a Secret or ConfigMap: on ECS their values are passed by reference only`,
          );
        }
        return { parts: parts.map((part) => expandReferences(part, env)), perPod: referenced.some((name) => origins[name]?.kind === 'pod') };
      };
      const command = expand(container.command, 'command');
      const args = expand(container.args, 'args');
      // The ServiceAccount token directories the agent keeps fresh, mounted where the container expects them.
      const tokens = await this.tokenVolumes(container);
      containers.push({
        name: container.name,
        image: container.image,
        ...(command.parts ? { command: command.parts } : {}),
        ...(args.parts ? { args: args.parts, ...(args.perPod ? { argsPerPod: true } : {}) } : {}),
        ...(container.workingDir ? { workingDir: container.workingDir } : {}),
        env: variables,
        ports: container.ports.map((port) => ({ containerPort: port.containerPort, protocol: port.protocol })),
        resources: container.resources,
        ...(tokens.size > 0 ? { tokenMounts: [...tokens].map(([mountPath, hostDir]) => ({ hostDir, mountPath })) } : {}),
      });
    }
    const sources: LaunchSource[] = [];
    for (const key of used) {
      const found = objects.get(key);
      if (!found) continue;
      sources.push({
        kind: found.kind,
        name: key.slice(key.indexOf('/') + 1),
        uid: found.object.metadata.uid ?? '',
        resourceVersion: found.object.metadata.resourceVersion ?? '',
        data: found.kind === 'secret' ? secretValues(found.object) : configMapValues(found.object),
      });
    }
    return { containers, sources };
  }

  /** Variables every container gets from the agent, under what the pod sets itself. */
  private baseEnvironment(container: Container): Record<string, string> {
    const pod = this.pod.view;
    // Every container finds the API as Kubernetes tells it, from the `kubernetes` Service's variables.
    const api = this.context.apiServer;
    const kubernetesService: Record<string, string> = api
      ? { KUBERNETES_SERVICE_HOST: api.host, KUBERNETES_SERVICE_PORT: api.port, KUBERNETES_SERVICE_PORT_HTTPS: api.port }
      : {};
    // Pod runtimes run real images: they get what Kubernetes gives, not the stand-ins' HOST and PORT.
    if (this.podUnit) return { HOSTNAME: pod.spec.hostname ?? pod.metadata.name, ...kubernetesService };
    const podIP = this.podIP ?? '';
    const firstPort = container.ports[0]?.containerPort;
    return {
      ...kubernetesService,
      HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
      POD_NAME: pod.metadata.name,
      POD_NAMESPACE: pod.metadata.namespace,
      POD_IP: podIP,
      HOST: podIP,
      ...(firstPort !== undefined ? { PORT: String(firstPort) } : {}),
    };
  }

  /** ConfigMaps and Secrets of the pod's namespace as bytes per key, for volumes. */
  private volumeData(): VolumeDataSource {
    const namespace = this.pod.view.metadata.namespace;
    const read = async (kind: 'configmaps' | 'secrets', name: string): Promise<KeyedData> => {
      let object: KubeObject;
      try {
        object = await this.context.client.get(types[kind], namespace, name);
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
      const data = new Map<string, Buffer>();
      const fields = object as { data?: Record<string, string>; binaryData?: Record<string, string> };
      for (const [key, value] of Object.entries(fields.data ?? {})) data.set(key, Buffer.from(value, kind === 'secrets' ? 'base64' : 'utf8'));
      for (const [key, value] of Object.entries(fields.binaryData ?? {})) data.set(key, Buffer.from(value, 'base64'));
      return data;
    };
    const claimedDirectory = async (claimName: string) => {
      let claim: KubeObject;
      try {
        claim = await this.context.client.get(types.persistentvolumeclaims, namespace, claimName);
      } catch (error) {
        if (isNotFound(error)) return { error: `persistentvolumeclaim "${claimName}" not found` };
        throw error;
      }
      const volumeName = (claim.spec as { volumeName?: string } | undefined)?.volumeName;
      if (!volumeName || (claim.status as { phase?: string } | undefined)?.phase !== 'Bound')
        return { error: `persistentvolumeclaim "${claimName}" is not bound` };
      const volume = await this.context.client.get(types.persistentvolumes, undefined, volumeName);
      const spec = (volume.spec ?? {}) as { local?: { path?: string }; hostPath?: { path?: string } };
      const path = spec.local?.path ?? spec.hostPath?.path;
      if (!path) return { error: `persistentvolume "${volumeName}" has no local or hostPath source this node can mount` };
      return { path };
    };
    return { configMap: (name) => read('configmaps', name), secret: (name) => read('secrets', name), claimedDirectory };
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
    const env = resolveEnv(this.pod.view, container, sources, facts, this.baseEnvironment(container));
    const serviceAccountDir = (await this.tokenVolumes(container)).get(SERVICE_ACCOUNT_MOUNT_PATH);
    return serviceAccountDir ? { ...env, SKIFF_SERVICEACCOUNT_DIR: serviceAccountDir } : env;
  }

  /**
   * The directories of the ServiceAccount token volumes the container mounts, filled and kept
   * fresh, by mount path: a process container has no mount namespace to find them at
   * /var/run/secrets/kubernetes.io/serviceaccount (ADR 122), so they are among its volumes (ADR 084).
   */
  private async tokenVolumes(container: Container): Promise<ReadonlyMap<string, string>> {
    const volumes = this.context.serviceAccountVolumes;
    if (!volumes) return new Map();
    try {
      return await volumes.prepare(this.pod.raw, container.name);
    } catch (error) {
      if (error instanceof TokenVolumeError) throw new CreateContainerConfigError(`MountVolume.SetUp failed for the ServiceAccount volume: ${error.message}`);
      throw error;
    }
  }

  // --- probes -------------------------------------------------------------------------------

  /** Probes for the slot's current run (fresh results), when the runtime has something to probe. */
  private startProbes(slot: ContainerSlot): void {
    this.stopProbes(slot);
    slot.probes = undefined;
    const container = this.pod.view.spec.containers.find((c) => c.name === slot.name);
    const current = slot.current;
    const podIP = this.podIP;
    if (!container || !current || current.exit || current.creating || !podIP || !this.context.runtime.supportsProbes) return;
    slot.probes = new ContainerProbes({
      container,
      startedAtMs: Date.parse(current.startedAt),
      clock: this.clock,
      run: (probe) => runProbe(probe, { podIP, container, containerId: current.id }, this.context.runtime),
      onResult: (kind, outcome, before, after) => this.probeResult(container, kind, outcome, before, after),
    });
  }

  /** A failed attempt is an Unhealthy Event; a changed result is planned on (restart, Ready) at once. */
  private probeResult(container: Container, kind: ProbeKind, outcome: ProbeOutcome, before: ProbeState, after: ProbeState): void {
    const label = `${kind[0]?.toUpperCase()}${kind.slice(1)}`;
    if (!outcome.ok) this.context.events.record(this.pod.view, 'Warning', 'Unhealthy', `${label} probe failed: ${outcome.message}`, container.name);
    if (after.result !== before.result) this.kick();
  }

  private stopProbes(slot: ContainerSlot): void {
    slot.probes?.stop();
  }

  // --- termination --------------------------------------------------------------------------

  /** A deleted pod a load balancer still routes to keeps serving; any change of the pod, or `untilMs`, looks again. */
  private hold(untilMs: number): void {
    if (!this.holding)
      this.context.log.info("pod held until its load balancers and every node's proxies let it go", {
        pod: this.podName(),
        until: new Date(untilMs).toISOString(),
      });
    this.holding = true;
    this.wakeAt(untilMs);
  }

  private async terminate(graceSeconds: number, containersToStop: readonly { readonly name: string; readonly containerId: string }[]): Promise<void> {
    const pod = this.pod.view;
    for (const slot of this.slots.values()) this.stopProbes(slot);
    await Promise.all(
      containersToStop.map(async ({ name, containerId }) => {
        const slot = this.slot(name);
        slot.killing = true;
        if (this.context.runtime.kind !== 'sim') this.context.events.record(pod, 'Normal', 'Killing', `Stopping container ${name}`, name);
        slot.current = (await this.context.runtime.stop(containerId, graceSeconds * 1000)) ?? slot.current;
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
    // The agent removes the containers' records and logs (after a while: a `kubectl logs` that
    // found the pod a moment ago is still answered).
    this.context.releasePodIp(this.uid);
    this.context.events.forgetPod(this.uid);
    this.context.onFinished(this.uid);
  }

  // --- status -------------------------------------------------------------------------------

  private async pushStatus(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const snapshots = [...this.slots.values()].map(snapshotOf);
      const reports = containerReports(this.pod.view, snapshots, this.context.runtime.supportsProbes);
      const initReports = containerReports(this.pod.view, snapshots, this.context.runtime.supportsProbes, 'initContainers');
      const ephemeralReports = containerReports(this.pod.view, snapshots, this.context.runtime.supportsProbes, 'ephemeralContainers');
      const status = computePodStatus(
        this.pod.view,
        reports,
        {
          hostIP: this.context.hostIP,
          ...(this.podIP ? { podIP: this.podIP } : {}),
          ...(this.startTime ? { startTime: this.startTime } : {}),
          now: kubeTime(this.clock.now()),
        },
        initReports,
        ephemeralReports,
      );
      const json = JSON.stringify(status);
      const untouchedSinceOurWrite = this.pod.view.metadata.resourceVersion === this.lastWrittenVersion;
      if (json === this.lastStatusJson && (untouchedSinceOurWrite || statusDigest(status) === statusDigest(this.pod.raw.status))) return;
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
        // Someone else wrote the pod (a load balancer's target-health condition, the node
        // lifecycle controller): the next attempt computes the status from what they wrote.
        const parsed = parsePod(fresh);
        this.pod =
          'error' in parsed
            ? { view: { ...this.pod.view, metadata: { ...this.pod.view.metadata, resourceVersion: fresh.metadata.resourceVersion } }, raw: fresh }
            : parsed;
      }
    }
    this.wakeAt(this.clock.now() + 1000);
  }

  private wakeAt(atMs: number): void {
    if (this.finished) return;
    if (this.cancelWake && atMs >= this.wakeAtMs) return;
    this.cancelWake?.();
    this.wakeAtMs = atMs;
    this.cancelWake = this.clock.after(atMs - this.clock.now(), () => {
      this.cancelWake = undefined;
      this.wakeAtMs = Number.POSITIVE_INFINITY;
      this.kick();
    });
  }
}

/** The container of the pod by that name: an app, init or ephemeral one. */
function containerNamed(view: AgentPod['view'], name: string): Container | undefined {
  const { containers, initContainers, ephemeralContainers } = view.spec;
  return containers.find((c) => c.name === name) ?? initContainers.find((c) => c.name === name) ?? ephemeralContainers.find((c) => c.name === name);
}

/** A ReplicaSet's pods share a generateName (`web-5d8f7c9b4b-`): what their shared definitions are called after. */
function workloadNameOf(generateName: string | undefined, name: string): string {
  return generateName?.replace(/-+$/, '') || name;
}
