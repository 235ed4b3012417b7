/**
 * The `ecs` runtime: each pod is one ECS task on this node's own container instance
 * (`StartTask` with `containerInstances`, no ECS scheduler involved), in `awsvpc` mode so the
 * pod has its own VPC address. Task definitions come from the pod (`ecs-task-definition.ts`) and
 * are reused while the template is unchanged; Secret and ConfigMap values go by reference
 * (`secrets-manager-sources.ts`). Tasks are found again after an agent restart by their
 * `startedBy` (the pod's uid) and tags, so a restarted agent adopts them and never starts a
 * second task for a pod. Task state is read with DescribeTasks: every second while a task is
 * changing state, every ten seconds when all are steady (ADR 130).
 */
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type Attachment,
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import type { Log } from '../../functions/logging/log.ts';
import { backOff, isRetryable, isThrottling, type RetryPolicy, withRetry } from '../ec2/aws-retry.ts';
import { type PodTask, podTask, type TaskDefinitionSettings, tokenSlotTag } from './ecs-task-definition.ts';
import type { ContainerExit, ContainerLaunch, ContainerRecord, ContainerRuntime, ExecResult, PodLaunch, PodRef } from './runtime.ts';
import { PodSandboxError } from './runtime.ts';
import type { EnvSourceStore } from './secrets-manager-sources.ts';

export const podUidTag = 'skiff.io/pod-uid';
export const podNamespaceTag = 'skiff.io/pod-namespace';
export const podNameTag = 'skiff.io/pod-name';
export const attemptTag = 'skiff.io/attempt';
export const nodeTag = 'skiff.io/node';

export interface EcsRuntimeOptions {
  readonly client: ECSClient;
  readonly cluster: string;
  /** This node's container instance: every task starts here. */
  readonly containerInstanceArn: string;
  readonly nodeName: string;
  /** Subnets and security groups of the pods' network interfaces. */
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly taskDefinitions: TaskDefinitionSettings;
  readonly sources: EnvSourceStore;
  /** DescribeTasks interval while a task changes state, and when all are steady. @default { busy: 1000, idle: 10000 } */
  readonly pollMs?: { readonly busy?: number; readonly idle?: number };
  /** How long past its grace period a stopping task is waited for. @default 30000 */
  readonly stopMarginMs?: number;
  readonly retry?: RetryPolicy;
  /** Runs a command in a running container (exec probes). @default `docker exec` on the node */
  readonly execInContainer?: (runtimeId: string, argv: readonly string[], timeoutMs: number) => Promise<ExecResult>;
  /** The ECS container agent's version, for `nodeInfo.containerRuntimeVersion`. */
  readonly agentVersion?: string;
  readonly log?: Log;
}

interface TaskState {
  readonly arn: string;
  readonly id: string;
  readonly pod: PodRef;
  readonly attempt: number;
  /** Container names and images as launched (a description may lack them early on). */
  readonly containers: readonly { readonly name: string; readonly image: string }[];
  /** The token slot the task's definition uses (ADR 145), `<hash>/<slot>`: taken while the task lives. */
  readonly tokenSlot?: string;
  described?: Task;
  /** Stopped for good: nothing more to read. */
  final: boolean;
  /** ECS no longer knows the task (DescribeTasks answers MISSING, StopTask not found). */
  gone?: boolean;
  stopping?: Promise<void>;
}

const creatingStatuses = new Set(['PROVISIONING', 'PENDING', 'ACTIVATING']);

export class EcsRuntime implements ContainerRuntime {
  readonly kind = 'ecs';
  readonly unit = 'pod';
  readonly version: string;
  readonly supportsProbes = true;
  private readonly tasks = new Map<string, TaskState>();
  private readonly records = new Map<string, ContainerRecord>();
  private readonly runtimeIds = new Map<string, string>();
  private readonly exitListeners: ((record: ContainerRecord) => void)[] = [];
  private readonly updateListeners: ((record: ContainerRecord) => void)[] = [];
  private readonly finalWaiters = new Map<string, (() => void)[]>();
  private readonly definitions = new Map<string, Promise<string>>();
  /** Token slots taken by pods being started (not yet in `tasks`). */
  private readonly reservedSlots = new Set<string>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private closed = false;

  private constructor(private readonly options: EcsRuntimeOptions) {
    this.version = `ecs://${options.agentVersion ?? 'unknown'}`;
  }

  /** A runtime that has already adopted the tasks a previous agent left on this container instance. */
  static async create(options: EcsRuntimeOptions): Promise<EcsRuntime> {
    const runtime = new EcsRuntime(options);
    await runtime.adopt();
    runtime.schedule();
    return runtime;
  }

  imageIdOf(): string {
    // ECS pulls the image when the task starts; its digest is known once the container runs.
    return '';
  }

  async start(launch: ContainerLaunch): Promise<ContainerRecord> {
    throw new Error(`the ecs runtime starts whole pods (startPod), not container ${launch.containerName} alone`);
  }

  async startPod(launch: PodLaunch): Promise<readonly ContainerRecord[]> {
    // One live task per pod, whatever happened before: never a duplicate.
    const live = [...this.tasks.values()].find((state) => state.pod.uid === launch.pod.uid && !state.final);
    if (live) return this.recordsOf(live);
    const locations = await this.options.sources.store(launch.pod.namespace, launch.sources);
    let task = podTask(launch, this.options.taskDefinitions, locations);
    let tokenSlot: string | undefined;
    let described: Task;
    try {
      if (task.tokenLinks.length > 0) {
        // The lowest slot of this definition no live task of the node holds: its host paths
        // become links to this pod's token directories before the task's containers are made.
        const slot = this.freeSlot(task.hash);
        tokenSlot = `${task.hash}/${slot}`;
        this.reservedSlots.add(tokenSlot);
        task = podTask(launch, this.options.taskDefinitions, locations, slot);
        for (const link of task.tokenLinks) pointLink(link.path, link.target);
      }
      const definitionArn = await this.definitionArn(task);
      described = await this.startTask(launch, task, definitionArn, tokenSlot);
    } finally {
      if (tokenSlot) this.reservedSlots.delete(tokenSlot);
    }
    const state: TaskState = {
      arn: described.taskArn ?? '',
      id: taskIdOf(described.taskArn ?? ''),
      pod: launch.pod,
      attempt: launch.attempt,
      containers: launch.containers.map((c) => ({ name: c.name, image: c.image })),
      ...(tokenSlot ? { tokenSlot } : {}),
      described,
      final: false,
    };
    this.tasks.set(state.id, state);
    this.apply(state, described);
    this.schedule(this.busyMs());
    return this.recordsOf(state);
  }

  containers(): readonly ContainerRecord[] {
    return [...this.records.values()];
  }

  container(id: string): ContainerRecord | undefined {
    return this.records.get(id);
  }

  /** The Docker id of a running container (ECS's `runtimeId`): where its stats and exec go. */
  runtimeIdOf(id: string): string | undefined {
    return this.runtimeIds.get(id);
  }

  async stop(id: string, graceMs: number): Promise<ContainerRecord | undefined> {
    const state = this.tasks.get(taskIdOfRecord(id));
    if (!state || state.final) return this.records.get(id);
    if (!state.stopping) state.stopping = this.stopTask(state, graceMs);
    await state.stopping;
    return this.records.get(id);
  }

  remove(id: string): void {
    this.records.delete(id);
    this.runtimeIds.delete(id);
    const taskId = taskIdOfRecord(id);
    const state = this.tasks.get(taskId);
    if (state?.final && ![...this.records.keys()].some((key) => taskIdOfRecord(key) === taskId)) this.tasks.delete(taskId);
  }

  removePod(uid: string): void {
    for (const [id, record] of this.records) {
      if (record.pod.uid !== uid) continue;
      this.records.delete(id);
      this.runtimeIds.delete(id);
    }
    for (const [taskId, state] of this.tasks) if (state.pod.uid === uid && state.final) this.tasks.delete(taskId);
  }

  async exec(id: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
    const runtimeId = this.runtimeIds.get(id);
    if (!runtimeId) return { exitCode: 1, output: 'the container is not running' };
    return (this.options.execInContainer ?? dockerExec)(runtimeId, argv, timeoutMs);
  }

  onExit(listener: (record: ContainerRecord) => void): void {
    this.exitListeners.push(listener);
  }

  onUpdate(listener: (record: ContainerRecord) => void): void {
    this.updateListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const waiters of this.finalWaiters.values()) for (const wake of waiters) wake();
    this.finalWaiters.clear();
  }

  /** Reads every task now instead of at the next tick (tests, and the agent after a watch event). */
  async refresh(): Promise<void> {
    const open = [...this.tasks.values()].filter((state) => !state.final);
    for (let index = 0; index < open.length; index += 100) {
      const chunk = open.slice(index, index + 100);
      const response = await withRetry(
        () => this.options.client.send(new DescribeTasksCommand({ cluster: this.options.cluster, tasks: chunk.map((state) => state.arn) })),
        this.options.retry,
      );
      for (const task of response.tasks ?? []) {
        const state = this.tasks.get(taskIdOf(task.taskArn ?? ''));
        if (state) this.apply(state, task);
      }
      for (const failure of response.failures ?? []) {
        if (failure.reason !== 'MISSING') continue;
        const state = this.tasks.get(taskIdOf(failure.arn ?? ''));
        if (state && !state.final) this.markGone(state, 'the task is gone from ECS');
      }
    }
  }

  // --- task definitions and StartTask ---------------------------------------------------------

  /** The definition of this content: one this agent registered, one that already exists, or a new one. */
  private definitionArn(task: PodTask): Promise<string> {
    let pending = this.definitions.get(task.family);
    if (!pending) {
      pending = this.findOrRegister(task);
      this.definitions.set(task.family, pending);
      pending.catch(() => this.definitions.delete(task.family));
    }
    return pending;
  }

  private async findOrRegister(task: PodTask): Promise<string> {
    try {
      const found = await withRetry(() => this.options.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.family })), this.options.retry);
      const arn = found.taskDefinition?.taskDefinitionArn;
      if (arn && found.taskDefinition?.status === 'ACTIVE') return arn;
    } catch (error) {
      // A family nobody registered yet is a ClientException; anything else is a real failure.
      if ((error as { name?: string }).name !== 'ClientException') throw error;
    }
    const registered = await withRetry(() => this.options.client.send(new RegisterTaskDefinitionCommand(task.definition)), this.options.retry);
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new PodSandboxError(`ECS registered no task definition for ${task.family}`);
    this.options.log?.info('task definition registered', { family: task.family, arn });
    return arn;
  }

  /** The lowest slot of a definition hash that no live task and no start in progress holds. */
  private freeSlot(hash: string): number {
    const taken = new Set(this.reservedSlots);
    for (const state of this.tasks.values()) if (state.tokenSlot && !state.final) taken.add(state.tokenSlot);
    let slot = 0;
    while (taken.has(`${hash}/${slot}`)) slot += 1;
    return slot;
  }

  private async startTask(launch: PodLaunch, task: PodTask, definitionArn: string, tokenSlot?: string): Promise<Task> {
    const input = {
      cluster: this.options.cluster,
      taskDefinition: definitionArn,
      containerInstances: [this.options.containerInstanceArn],
      // The pod's uid (36 characters, ECS's limit): ListTasks finds a pod's tasks by it.
      startedBy: launch.pod.uid,
      networkConfiguration: { awsvpcConfiguration: { subnets: [...this.options.subnets], securityGroups: [...this.options.securityGroups] } },
      ...(task.containerOverrides.length > 0 ? { overrides: { containerOverrides: task.containerOverrides } } : {}),
      tags: [
        { key: podUidTag, value: launch.pod.uid },
        { key: podNamespaceTag, value: launch.pod.namespace },
        { key: podNameTag, value: launch.pod.name },
        { key: attemptTag, value: String(launch.attempt) },
        { key: nodeTag, value: this.options.nodeName },
        ...(tokenSlot ? [{ key: tokenSlotTag, value: tokenSlot }] : []),
      ],
    };
    const attempts = this.options.retry?.attempts ?? 8;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await this.options.client.send(new StartTaskCommand(input));
        const failures = response.failures ?? [];
        if (failures.length > 0) {
          throw new PodSandboxError(failures.map((f) => [f.reason, f.detail].filter(Boolean).join(': ')).join('; ') || 'ECS could not start the task');
        }
        const started = response.tasks?.[0];
        if (!started?.taskArn) throw new PodSandboxError('ECS started no task');
        return started;
      } catch (error) {
        if (attempt >= attempts || !isRetryable(error)) throw error;
        // A server error may come after the task was made: look before starting another.
        if (!isThrottling(error)) {
          const existing = await this.findStartedTask(launch.pod.uid);
          if (existing) return existing;
        }
        await backOff(this.options.retry ?? {}, attempt);
      }
    }
  }

  private async findStartedTask(podUid: string): Promise<Task | undefined> {
    const listed = await withRetry(
      () =>
        this.options.client.send(
          new ListTasksCommand({
            cluster: this.options.cluster,
            containerInstance: this.options.containerInstanceArn,
            startedBy: podUid,
            desiredStatus: 'RUNNING',
          }),
        ),
      this.options.retry,
    );
    const arns = listed.taskArns ?? [];
    if (arns.length === 0) return undefined;
    const described = await withRetry(
      () => this.options.client.send(new DescribeTasksCommand({ cluster: this.options.cluster, tasks: arns, include: ['TAGS'] })),
      this.options.retry,
    );
    return described.tasks?.[0];
  }

  // --- stopping -------------------------------------------------------------------------------

  private async stopTask(state: TaskState, graceMs: number): Promise<void> {
    try {
      await withRetry(
        () =>
          this.options.client.send(
            new StopTaskCommand({ cluster: this.options.cluster, task: state.arn, reason: `Stopped by the Skiff node agent on ${this.options.nodeName}` }),
          ),
        this.options.retry,
      );
    } catch (error) {
      if (!isTaskNotFound(error)) throw error;
      this.markGone(state, 'the task was already gone from ECS');
      return;
    }
    this.schedule(this.busyMs());
    await this.waitFinal(state, graceMs + (this.options.stopMarginMs ?? 30_000));
  }

  private waitFinal(state: TaskState, timeoutMs: number): Promise<void> {
    if (state.final || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.finalWaiters.get(state.id) ?? [];
      waiters.push(done);
      this.finalWaiters.set(state.id, waiters);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private markGone(state: TaskState, message: string): void {
    state.gone = true;
    const finishedAt = new Date().toISOString();
    const described: Task = {
      ...(state.described ?? {}),
      taskArn: state.arn,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stoppedReason: message,
      stoppedAt: new Date(finishedAt),
      containers: (state.described?.containers ?? state.containers).map((c) => ({ ...c, lastStatus: 'STOPPED', exitCode: undefined, reason: message })),
    };
    this.apply(state, described);
  }

  // --- reading task state ---------------------------------------------------------------------

  private async adopt(): Promise<void> {
    const arns = new Set<string>();
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      let nextToken: string | undefined;
      do {
        const page = await withRetry(
          () =>
            this.options.client.send(
              new ListTasksCommand({
                cluster: this.options.cluster,
                containerInstance: this.options.containerInstanceArn,
                desiredStatus,
                ...(nextToken ? { nextToken } : {}),
              }),
            ),
          this.options.retry,
        );
        for (const arn of page.taskArns ?? []) arns.add(arn);
        nextToken = page.nextToken;
      } while (nextToken);
    }
    const all = [...arns];
    for (let index = 0; index < all.length; index += 100) {
      const response = await withRetry(
        () => this.options.client.send(new DescribeTasksCommand({ cluster: this.options.cluster, tasks: all.slice(index, index + 100), include: ['TAGS'] })),
        this.options.retry,
      );
      for (const task of response.tasks ?? []) {
        const tags = new Map((task.tags ?? []).map((tag) => [tag.key ?? '', tag.value ?? '']));
        const uid = tags.get(podUidTag);
        if (!uid || !task.taskArn) continue;
        const state: TaskState = {
          arn: task.taskArn,
          id: taskIdOf(task.taskArn),
          pod: { uid, namespace: tags.get(podNamespaceTag) ?? '', name: tags.get(podNameTag) ?? '' },
          attempt: Number(tags.get(attemptTag) ?? '0') || 0,
          containers: (task.containers ?? []).map((c) => ({ name: c.name ?? '', image: c.image ?? '' })),
          ...(tags.get(tokenSlotTag) ? { tokenSlot: tags.get(tokenSlotTag) } : {}),
          final: false,
        };
        this.tasks.set(state.id, state);
        this.apply(state, task, false);
      }
    }
    if (this.tasks.size > 0) this.options.log?.info('adopted ECS tasks', { tasks: this.tasks.size });
  }

  /** Takes a fresh description of a task into the records, telling listeners what changed. */
  private apply(state: TaskState, task: Task, notify = true): void {
    state.described = task;
    const stopped = task.lastStatus === 'STOPPED';
    const creating = creatingStatuses.has(task.lastStatus ?? 'PROVISIONING');
    const podIP = podIpOf(task.attachments ?? []);
    const startedAt = toIso(task.startedAt ?? task.createdAt) ?? new Date().toISOString();
    const byName = new Map((task.containers ?? []).map((c) => [c.name ?? '', c]));
    const names = state.containers.length > 0 ? state.containers : (task.containers ?? []).map((c) => ({ name: c.name ?? '', image: c.image ?? '' }));
    for (const { name, image } of names) {
      const container = byName.get(name);
      const id = `${state.id}/${name}`;
      const before = this.records.get(id);
      const exit = stopped || container?.lastStatus === 'STOPPED' ? exitOf(task, container, this.options) : undefined;
      const record: ContainerRecord = {
        id,
        containerID: `ecs://${state.id}/${name}`,
        pod: state.pod,
        containerName: name,
        attempt: state.attempt,
        image: container?.image ?? image,
        imageID: container?.imageDigest ? `${container.image ?? image}@${container.imageDigest}` : '',
        startedAt,
        ...(exit ? { exit } : {}),
        ...(creating && !exit ? { creating: true } : {}),
        ...(podIP ? { podIP } : {}),
      };
      if (container?.runtimeId && !exit) this.runtimeIds.set(id, container.runtimeId);
      else if (exit) this.runtimeIds.delete(id);
      if (before && JSON.stringify(before) === JSON.stringify(record)) continue;
      this.records.set(id, record);
      if (!notify) continue;
      if (exit && !before?.exit) for (const listener of this.exitListeners) listener(record);
      else for (const listener of this.updateListeners) listener(record);
    }
    if (stopped) {
      state.final = true;
      for (const wake of this.finalWaiters.get(state.id) ?? []) wake();
      this.finalWaiters.delete(state.id);
    }
  }

  private recordsOf(state: TaskState): ContainerRecord[] {
    return state.containers.map((c) => this.records.get(`${state.id}/${c.name}`)).filter((record) => record !== undefined);
  }

  private busyMs(): number {
    return this.options.pollMs?.busy ?? 1000;
  }

  private schedule(delayMs?: number): void {
    if (this.closed) return;
    const open = [...this.tasks.values()].filter((state) => !state.final);
    const busy = open.some((state) => creatingStatuses.has(state.described?.lastStatus ?? 'PROVISIONING') || state.described?.desiredStatus === 'STOPPED');
    const delay = delayMs ?? (busy ? this.busyMs() : (this.options.pollMs?.idle ?? 10_000));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      await this.refresh();
    } catch (error) {
      this.options.log?.warn('reading ECS tasks failed', { error: String(error) });
    } finally {
      this.polling = false;
      this.schedule();
    }
  }
}

/** What ECS knows about the node's container instance: its size and whether ENI trunking is on. */
export interface ContainerInstanceFacts {
  /** CPU units ECS registered (1024 per vCPU). */
  readonly cpuUnits: number;
  readonly memoryMiB: number;
  readonly trunking: boolean;
  readonly agentVersion?: string;
}

export async function describeContainerInstance(
  client: ECSClient,
  cluster: string,
  containerInstanceArn: string,
  retry?: RetryPolicy,
): Promise<ContainerInstanceFacts> {
  const response = await withRetry(() => client.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: [containerInstanceArn] })), retry);
  const instance = response.containerInstances?.[0];
  if (!instance) throw new Error(`ECS does not know container instance ${containerInstanceArn} in cluster ${cluster}`);
  const resource = (name: string) => instance.registeredResources?.find((r) => r.name === name)?.integerValue ?? 0;
  return {
    cpuUnits: resource('CPU'),
    memoryMiB: resource('MEMORY'),
    // ECS adds this attribute to container instances it gave a trunk interface.
    trunking: (instance.attributes ?? []).some((attribute) => attribute.name === 'ecs.awsvpc-trunk-id'),
    ...(instance.versionInfo?.agentVersion ? { agentVersion: instance.versionInfo.agentVersion } : {}),
  };
}

function exitOf(task: Task, container: NonNullable<Task['containers']>[number] | undefined, _options: EcsRuntimeOptions): ContainerExit {
  const finishedAt = toIso(task.stoppedAt ?? task.executionStoppedAt) ?? new Date().toISOString();
  // The container's own reason ("OutOfMemoryError...", "CannotPullContainerError..."); the task's
  // stoppedReason ("Essential container in task exited") says nothing a pod's status should show.
  const reasonText = container?.reason ?? '';
  const pullFailed = /CannotPullContainerError|pull image manifest/i.test(`${reasonText} ${task.stoppedReason ?? ''}`);
  const exitCode = container?.exitCode ?? (pullFailed ? 0 : 137);
  const oom = /OutOfMemory/i.test(reasonText);
  return {
    exitCode,
    reason: oom ? 'OOMKilled' : exitCode === 0 && !pullFailed ? 'Completed' : 'Error',
    ...(reasonText && (exitCode !== 0 || pullFailed) ? { message: reasonText } : {}),
    finishedAt,
    ...(pullFailed ? { pullFailed: true } : {}),
  };
}

function podIpOf(attachments: readonly Attachment[]): string | undefined {
  for (const attachment of attachments) {
    if (attachment.type !== 'ElasticNetworkInterface') continue;
    const address = attachment.details?.find((detail) => detail.name === 'privateIPv4Address')?.value;
    if (address) return address;
  }
  return undefined;
}

function isTaskNotFound(error: unknown): boolean {
  const shape = error as { name?: string; message?: string };
  return (
    (shape.name === 'InvalidParameterException' || shape.name === 'ClientException') && /not found|does not exist|could not be found/i.test(shape.message ?? '')
  );
}

export function taskIdOf(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

function taskIdOfRecord(id: string): string {
  return id.slice(0, id.indexOf('/'));
}

function toIso(date: Date | string | undefined): string | undefined {
  if (date === undefined) return undefined;
  const parsed = date instanceof Date ? date : new Date(date);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

function dockerExec(runtimeId: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile('docker', ['exec', runtimeId, ...argv], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ exitCode: code, output: `${stdout}${stderr}` });
    });
  });
}

/**
 * Makes `path` a symbolic link to `target`, replacing what is there in one rename (a link of an
 * earlier pod of the slot, or a directory Docker made when the path did not exist). Docker
 * resolves the link when it makes the container's bind mount, so a task keeps its pod's
 * directory even after the slot's link is pointed at another pod's.
 */
function pointLink(path: string, target: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  symlinkSync(target, temporary);
  try {
    const existing = lstatSync(path, { throwIfNoEntry: false });
    if (existing?.isDirectory()) rmSync(path, { recursive: true, force: true });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
