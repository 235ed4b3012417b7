/**
 * ECS as the `ecs` runtime sees it, for tests (ECS cannot run here): an ECSClient whose calls
 * are answered by aws-sdk-client-mock from a small in-memory model that behaves as ECS is
 * documented to — task definitions with revisions, StartTask on a named container instance,
 * tasks going PROVISIONING → PENDING (network interface attached, its private IP in the
 * attachment's details) → RUNNING → STOPPED, an essential container's exit stopping its task,
 * StopTask, ListTasks by container instance / startedBy / desired status, DescribeTasks
 * answering MISSING for tasks it no longer knows. Every call stays recorded on `mock`, so tests
 * assert the exact calls and their order.
 */
import { randomBytes } from 'node:crypto';
import {
  type Attachment,
  type Container,
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  type KeyValuePair,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  StartTaskCommand,
  type StartTaskCommandInput,
  StopTaskCommand,
  type Tag,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

export interface FakeEcsOptions {
  readonly region?: string;
  readonly account?: string;
  readonly cluster?: string;
  /** Time a task spends PROVISIONING, then PENDING, before RUNNING. @default 30, 60 */
  readonly provisionMs?: number;
  readonly pendingMs?: number;
  /** Time from StopTask to STOPPED. @default 50 */
  readonly stopMs?: number;
  /** Exit code of a container stopped by StopTask. @default 143 (SIGTERM) */
  readonly stopExitCode?: number;
  /** Tasks the container instance holds at most (its network interfaces). @default 10 */
  readonly taskLimit?: number;
  /** First three octets of the pods' addresses. @default '10.0.1' */
  readonly subnetPrefix?: string;
}

interface FakeTask {
  task: Task;
  readonly definition: TaskDefinition;
  readonly createdMs: number;
  stopRequestedMs?: number;
  /** Exit codes decided before the stop (a crash), by container. */
  exits?: Map<string, { exitCode?: number; reason?: string }>;
}

export class FakeEcs {
  readonly client: ECSClient;
  readonly mock: AwsClientStub<ECSClient>;
  readonly region: string;
  readonly account: string;
  readonly cluster: string;
  readonly clusterArn: string;
  readonly containerInstanceArn: string;
  private readonly definitions = new Map<string, TaskDefinition[]>();
  private readonly tasks = new Map<string, FakeTask>();
  private readonly throttles = new Map<string, number>();
  private readonly serverErrors = new Map<string, number>();
  private readonly pullFailures = new Set<string>();
  private readonly containerInstances = new Set<string>();
  private readonly held = new Set<string>();
  private nextAddress = 10;

  constructor(private readonly options: FakeEcsOptions = {}) {
    this.region = options.region ?? 'eu-west-1';
    this.account = options.account ?? '123456789012';
    this.cluster = options.cluster ?? 'skiff';
    this.clusterArn = `arn:aws:ecs:${this.region}:${this.account}:cluster/${this.cluster}`;
    this.containerInstanceArn = `arn:aws:ecs:${this.region}:${this.account}:container-instance/${this.cluster}/${randomBytes(16).toString('hex')}`;
    this.containerInstances.add(this.containerInstanceArn);
    this.client = new ECSClient({ region: this.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    this.mock = mockClient(this.client);
    const answer =
      <T>(name: string, handler: (input: T) => object) =>
      (input: T) => {
        this.failIfScheduled(name);
        return handler(input);
      };
    this.mock
      .on(RegisterTaskDefinitionCommand)
      .callsFake(answer('RegisterTaskDefinition', (input: RegisterTaskDefinitionCommandInput) => this.register(input)));
    this.mock
      .on(DescribeTaskDefinitionCommand)
      .callsFake(answer('DescribeTaskDefinition', (input: { taskDefinition: string }) => this.describeDefinition(input.taskDefinition)));
    this.mock.on(StartTaskCommand).callsFake(answer('StartTask', (input: StartTaskCommandInput) => this.start(input)));
    this.mock.on(StopTaskCommand).callsFake(answer('StopTask', (input: { task: string }) => this.stop(input.task)));
    this.mock
      .on(DescribeTasksCommand)
      .callsFake(answer('DescribeTasks', (input: { tasks: string[]; include?: string[] }) => this.describe(input.tasks, input.include ?? [])));
    this.mock
      .on(ListTasksCommand)
      .callsFake(answer('ListTasks', (input: { containerInstance?: string; startedBy?: string; desiredStatus?: string }) => this.list(input)));
    this.mock.on(DescribeContainerInstancesCommand).callsFake(
      answer('DescribeContainerInstances', () => ({
        containerInstances: [
          {
            containerInstanceArn: this.containerInstanceArn,
            registeredResources: [
              { name: 'CPU', type: 'INTEGER', integerValue: 2048 },
              { name: 'MEMORY', type: 'INTEGER', integerValue: 3788 },
            ],
            attributes: [{ name: 'ecs.awsvpc-trunk-id', value: 'eni-0trunk' }],
            versionInfo: { agentVersion: '1.89.0' },
          },
        ],
        failures: [],
      })),
    );
  }

  /** Another node's container instance in the same cluster. */
  addContainerInstance(): string {
    const arn = `arn:aws:ecs:${this.region}:${this.account}:container-instance/${this.cluster}/${randomBytes(16).toString('hex')}`;
    this.containerInstances.add(arn);
    return arn;
  }

  /** The names of the calls made so far, in order (`StartTask`, ...). */
  callNames(options: { withoutPolling?: boolean } = {}): string[] {
    const names = this.mock.calls().map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''));
    return options.withoutPolling ? names.filter((name) => name !== 'DescribeTasks') : names;
  }

  inputsOf<T extends object>(command: new (...args: never[]) => { readonly input: T }): T[] {
    return this.mock.commandCalls(command as never).map((call) => (call.args[0] as unknown as { input: T }).input);
  }

  /** The next `times` calls of an operation fail as ECS throttles (`ThrottlingException: Rate exceeded`). */
  throttle(operation: string, times: number): void {
    this.throttles.set(operation, times);
  }

  /** The next `times` calls of an operation fail with a server error. */
  serverError(operation: string, times: number): void {
    this.serverErrors.set(operation, times);
  }

  /** Tasks with this image stop before their containers start, as a failed pull does. */
  failPulls(image: string): void {
    this.pullFailures.add(image);
  }

  /** A container of a running task exits by itself: the task stops (every container is essential). */
  exit(taskArn: string, containerName: string, exitCode: number): void {
    const fake = this.mustFind(taskArn);
    this.progress(fake, Date.now());
    fake.exits = new Map([[containerName, { exitCode }]]);
    fake.task = { ...fake.task, desiredStatus: 'STOPPED' };
    fake.stopRequestedMs = Date.now() - (this.options.stopMs ?? 50);
  }

  /** The task stays STOPPING after a StopTask until `release` (a container slow to exit). */
  hold(taskArn: string): void {
    this.held.add(taskArn);
  }

  release(taskArn: string): void {
    this.held.delete(taskArn);
  }

  /** ECS forgets a task altogether (DescribeTasks answers MISSING, StopTask not found). */
  forget(taskArn: string): void {
    this.tasks.delete(taskArn);
  }

  /** Every task, as DescribeTasks would show it now. */
  allTasks(): Task[] {
    const now = Date.now();
    return [...this.tasks.values()].map((fake) => {
      this.progress(fake, now);
      return structuredClone(fake.task);
    });
  }

  running(): Task[] {
    return this.allTasks().filter((task) => task.lastStatus !== 'STOPPED');
  }

  definitionsRegistered(): TaskDefinition[] {
    return [...this.definitions.values()].flat();
  }

  private failIfScheduled(operation: string): void {
    const throttled = this.throttles.get(operation) ?? 0;
    if (throttled > 0) {
      this.throttles.set(operation, throttled - 1);
      throw new ECSServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    }
    const failing = this.serverErrors.get(operation) ?? 0;
    if (failing > 0) {
      this.serverErrors.set(operation, failing - 1);
      throw new ECSServiceException({ name: 'ServerException', $fault: 'server', message: 'Service unavailable', $metadata: { httpStatusCode: 500 } });
    }
  }

  private register(input: RegisterTaskDefinitionCommandInput): object {
    const family = input.family ?? '';
    const revisions = this.definitions.get(family) ?? [];
    const revision = revisions.length + 1;
    const definition: TaskDefinition = {
      ...structuredClone({ ...input, tags: undefined }),
      taskDefinitionArn: `arn:aws:ecs:${this.region}:${this.account}:task-definition/${family}:${revision}`,
      revision,
      status: 'ACTIVE',
    } as TaskDefinition;
    revisions.push(definition);
    this.definitions.set(family, revisions);
    return { taskDefinition: structuredClone(definition), tags: input.tags ?? [] };
  }

  private findDefinition(reference: string): TaskDefinition | undefined {
    const name = reference.includes(':task-definition/') ? reference.slice(reference.indexOf(':task-definition/') + 17) : reference;
    const [family, revision] = name.split(':');
    const revisions = this.definitions.get(family ?? '') ?? [];
    return revision ? revisions.find((d) => d.revision === Number(revision)) : revisions.at(-1);
  }

  private describeDefinition(reference: string): object {
    const definition = this.findDefinition(reference);
    if (!definition)
      throw new ECSServiceException({
        name: 'ClientException',
        $fault: 'client',
        message: 'Unable to describe task definition.',
        $metadata: { httpStatusCode: 400 },
      });
    return { taskDefinition: structuredClone(definition) };
  }

  private start(input: StartTaskCommandInput): object {
    const instance = input.containerInstances?.[0] ?? '';
    if (input.containerInstances?.length !== 1 || !this.containerInstances.has(instance)) {
      return { tasks: [], failures: [{ arn: instance, reason: 'MISSING' }] };
    }
    const definition = this.findDefinition(input.taskDefinition ?? '');
    if (!definition)
      throw new ECSServiceException({ name: 'ClientException', $fault: 'client', message: 'TaskDefinition not found.', $metadata: { httpStatusCode: 400 } });
    if (definition.networkMode === 'awsvpc' && !input.networkConfiguration?.awsvpcConfiguration?.subnets?.length) {
      throw new ECSServiceException({
        name: 'InvalidParameterException',
        $fault: 'client',
        message: 'Network Configuration must be provided when networkMode is awsvpc.',
        $metadata: { httpStatusCode: 400 },
      });
    }
    const live = [...this.tasks.values()].filter((fake) => fake.task.lastStatus !== 'STOPPED' && fake.task.containerInstanceArn === instance);
    if (live.length >= (this.options.taskLimit ?? 10)) return { tasks: [], failures: [{ arn: this.containerInstanceArn, reason: 'RESOURCE:ENI' }] };
    const id = randomBytes(16).toString('hex');
    const taskArn = `arn:aws:ecs:${this.region}:${this.account}:task/${this.cluster}/${id}`;
    const now = new Date();
    const task: Task = {
      taskArn,
      clusterArn: this.clusterArn,
      containerInstanceArn: instance,
      taskDefinitionArn: definition.taskDefinitionArn,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      launchType: 'EC2',
      createdAt: now,
      version: 1,
      ...(input.startedBy ? { startedBy: input.startedBy } : {}),
      ...(input.overrides ? { overrides: structuredClone(input.overrides) } : {}),
      tags: structuredClone(input.tags ?? []) as Tag[],
      attachments: [
        {
          id: randomBytes(8).toString('hex'),
          type: 'ElasticNetworkInterface',
          status: 'PRECREATED',
          details: [{ name: 'subnetId', value: input.networkConfiguration?.awsvpcConfiguration?.subnets?.[0] ?? '' }],
        },
      ],
      containers: (definition.containerDefinitions ?? []).map(
        (c): Container => ({ name: c.name ?? '', image: c.image ?? '', lastStatus: 'PENDING', taskArn, containerArn: `${taskArn}/${c.name}` }),
      ),
    };
    const fake: FakeTask = { task, definition, createdMs: now.getTime() };
    this.tasks.set(taskArn, fake);
    return { tasks: [structuredClone(task)], failures: [] };
  }

  private stop(reference: string): object {
    const fake = this.tasks.get(reference) ?? [...this.tasks.values()].find((f) => f.task.taskArn?.endsWith(`/${reference}`));
    if (!fake)
      throw new ECSServiceException({
        name: 'InvalidParameterException',
        $fault: 'client',
        message: 'The referenced task was not found.',
        $metadata: { httpStatusCode: 400 },
      });
    this.progress(fake, Date.now());
    if (fake.task.desiredStatus !== 'STOPPED') {
      fake.task = { ...fake.task, desiredStatus: 'STOPPED', stoppingAt: new Date() };
      fake.stopRequestedMs = Date.now();
    }
    return { task: structuredClone(fake.task) };
  }

  private list(input: { containerInstance?: string; startedBy?: string; desiredStatus?: string }): object {
    const now = Date.now();
    const arns = [...this.tasks.values()]
      .filter((fake) => {
        this.progress(fake, now);
        if (input.containerInstance && fake.task.containerInstanceArn !== input.containerInstance) return false;
        if (input.startedBy && fake.task.startedBy !== input.startedBy) return false;
        return (input.desiredStatus ?? 'RUNNING') === fake.task.desiredStatus;
      })
      .map((fake) => fake.task.taskArn ?? '');
    return { taskArns: arns };
  }

  private describe(references: string[], include: string[]): object {
    const now = Date.now();
    const tasks: Task[] = [];
    const failures: { arn: string; reason: string }[] = [];
    for (const reference of references) {
      const fake = this.tasks.get(reference);
      if (!fake) {
        failures.push({ arn: reference, reason: 'MISSING' });
        continue;
      }
      this.progress(fake, now);
      const copy = structuredClone(fake.task);
      if (!include.includes('TAGS')) delete copy.tags;
      tasks.push(copy);
    }
    return { tasks, failures };
  }

  private mustFind(taskArn: string): FakeTask {
    const fake = this.tasks.get(taskArn);
    if (!fake) throw new Error(`fake ECS has no task ${taskArn}`);
    return fake;
  }

  /** Moves a task along its lifecycle by the time that passed. */
  private progress(fake: FakeTask, now: number): void {
    const provisionMs = this.options.provisionMs ?? 30;
    const pendingMs = this.options.pendingMs ?? 60;
    const task = fake.task;
    if (task.lastStatus === 'STOPPED') return;
    const failsPull = (task.containers ?? []).some((c) => this.pullFailures.has(c.image ?? ''));
    if (task.lastStatus === 'PROVISIONING' && now - fake.createdMs >= provisionMs) {
      fake.task = {
        ...task,
        lastStatus: 'PENDING',
        attachments: [this.attach(task.attachments?.[0])],
        connectivity: 'CONNECTED',
        connectivityAt: new Date(now),
      };
    }
    if (fake.task.lastStatus === 'PENDING' && now - fake.createdMs >= provisionMs + pendingMs && fake.task.desiredStatus === 'RUNNING') {
      if (failsPull) {
        this.finish(fake, now, 'TaskFailedToStart', 'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref', true);
        return;
      }
      fake.task = {
        ...fake.task,
        lastStatus: 'RUNNING',
        startedAt: new Date(now),
        pullStartedAt: new Date(now),
        pullStoppedAt: new Date(now),
        containers: (fake.task.containers ?? []).map((c) => ({
          ...c,
          lastStatus: 'RUNNING',
          runtimeId: randomBytes(32).toString('hex'),
          imageDigest: `sha256:${randomBytes(32).toString('hex')}`,
          networkInterfaces: [{ attachmentId: fake.task.attachments?.[0]?.id, privateIpv4Address: this.addressOf(fake.task) }],
        })),
      };
    }
    const held = this.held.has(fake.task.taskArn ?? '');
    if (!held && fake.task.desiredStatus === 'STOPPED' && fake.stopRequestedMs !== undefined && now - fake.stopRequestedMs >= (this.options.stopMs ?? 50)) {
      const crashed = fake.exits !== undefined;
      this.finish(
        fake,
        now,
        crashed ? 'EssentialContainerExited' : 'UserInitiated',
        crashed ? 'Essential container in task exited' : 'Task stopped by user',
        false,
      );
    } else if (fake.task.desiredStatus === 'STOPPED' && fake.task.lastStatus !== 'STOPPED' && fake.task.lastStatus !== 'STOPPING') {
      fake.task = { ...fake.task, lastStatus: fake.task.lastStatus === 'RUNNING' ? 'STOPPING' : fake.task.lastStatus };
    }
  }

  private finish(fake: FakeTask, now: number, stopCode: Task['stopCode'], reason: string, pull: boolean): void {
    const ran = fake.task.startedAt !== undefined;
    fake.task = {
      ...fake.task,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode,
      stoppedReason: reason,
      stoppedAt: new Date(now),
      executionStoppedAt: new Date(now),
      attachments: (fake.task.attachments ?? []).map((a) => ({ ...a, status: 'DELETED' })),
      containers: (fake.task.containers ?? []).map((c) => {
        const decided = fake.exits?.get(c.name ?? '');
        if (pull) return { ...c, lastStatus: 'STOPPED', reason: reason };
        if (!ran) return { ...c, lastStatus: 'STOPPED' };
        return { ...c, lastStatus: 'STOPPED', exitCode: decided?.exitCode ?? this.options.stopExitCode ?? 143 };
      }),
    };
  }

  private attach(attachment: Attachment | undefined): Attachment {
    const address = `${this.options.subnetPrefix ?? '10.0.1'}.${this.nextAddress++}`;
    return {
      ...(attachment ?? {}),
      type: 'ElasticNetworkInterface',
      status: 'ATTACHED',
      details: [
        ...(attachment?.details ?? []).filter((d) => d.name === 'subnetId'),
        { name: 'networkInterfaceId', value: `eni-${randomBytes(8).toString('hex')}` },
        { name: 'macAddress', value: '0a:00:00:00:00:01' },
        { name: 'privateDnsName', value: `ip-${address.replaceAll('.', '-')}.${this.region}.compute.internal` },
        { name: 'privateIPv4Address', value: address },
      ] as KeyValuePair[],
    };
  }

  private addressOf(task: Task): string | undefined {
    return task.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
  }
}
