/**
 * A pod as an ECS task: the task definition (what every pod of a template shares) and the
 * StartTask overrides (what differs from pod to pod). Pure, so the exact shape ECS is sent is
 * fixed by tests. The definition's family carries a hash of its content: pods of one template
 * reuse one definition, and a changed template gets a new family (ADR 130).
 */
import { createHash } from 'node:crypto';
import type { ContainerDefinition, ContainerOverride, KeyValuePair, RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { parseMilliCpu, parseQuantity } from '../../functions/core/resource-quantity.ts';
import type { LaunchSource, PodContainerLaunch, PodLaunch } from './runtime.ts';

export interface TaskDefinitionSettings {
  /** First part of every family name: the cluster's name. */
  readonly familyPrefix: string;
  /** CloudWatch Logs group of the pods' output (`awslogs` driver). */
  readonly logGroup: string;
  readonly region: string;
  /** The role ECS itself uses to read the pods' Secret and ConfigMap entries at start. */
  readonly executionRoleArn: string;
  /** The role the pods' own AWS calls use. @default - none: pods get no AWS credentials */
  readonly taskRoleArn?: string;
  /** Memory a container reserves when it requests none, in MiB. @default 64 */
  readonly defaultMemoryReservationMiB?: number;
  /**
   * The node's directory of token slots (ADR 145): a task definition names a host path
   * `<dir>/<hash>-<slot>/<n>`, a link the agent points at one pod's token directory before the
   * task starts. Needed when a pod mounts a ServiceAccount token.
   */
  readonly tokenSlotsDir?: string;
}

/** Where the stored copy of a Secret or ConfigMap is: its ARN in Secrets Manager. */
export type SourceLocations = ReadonlyMap<string, string>;

export function sourceKey(source: Pick<LaunchSource, 'kind' | 'name'>): string {
  return `${source.kind}/${source.name}`;
}

export interface PodTask {
  readonly family: string;
  /** The content hash the family ends with. */
  readonly hash: string;
  readonly definition: RegisterTaskDefinitionCommandInput;
  readonly containerOverrides: ContainerOverride[];
  /**
   * The host paths the definition's token volumes name and the pod's directories they must lead
   * to (empty when the pod mounts no token); the runtime makes each path a link to its target.
   */
  readonly tokenLinks: readonly { readonly path: string; readonly target: string }[];
  /** The slot of the token links (ADR 145); only set when there are links. */
  readonly slot?: number;
}

/** The tag of a task whose definition uses token slots: `<hash>/<slot>`, so an agent that adopts it knows the slot is taken. */
export const tokenSlotTag = 'skiff.io/token-slot';

/** ECS's ceiling for a container's stop timeout on EC2 (the agent's own default is 30 s). */
export const maxStopTimeoutSeconds = 120;

export const templateHashTag = 'skiff.io/template-hash';

/** The ECS name of a stream of one container run: `<prefix>/<container>/<task id>` (the awslogs driver's rule). */
export function logStreamName(namespace: string, containerName: string, taskId: string): string {
  return `${namespace}/${containerName}/${taskId}`;
}

/**
 * The pod's task: its definition, named by a hash of everything but the token volumes' host paths,
 * and, when the pod mounts ServiceAccount tokens, the slot `slot` of that definition (a family per
 * slot; the host paths are the slot's, so every pod that takes the slot shares the definition).
 */
export function podTask(launch: PodLaunch, settings: TaskDefinitionSettings, locations: SourceLocations, slot = 0): PodTask {
  // One volume per token directory, in the order the containers mount them.
  const tokenDirs = [...new Set(launch.containers.flatMap((container) => (container.tokenMounts ?? []).map((mount) => mount.hostDir)))];
  if (tokenDirs.length > 0 && !settings.tokenSlotsDir) throw new Error('the pod mounts a ServiceAccount token but the runtime has no token slots directory');
  const volumeName = (dir: string) => `serviceaccount-${tokenDirs.indexOf(dir)}`;
  const containerDefinitions = launch.containers.map((container) => {
    const definition = containerDefinition(launch, container, settings, locations);
    const mounts = container.tokenMounts ?? [];
    if (mounts.length === 0) return definition;
    return {
      ...definition,
      mountPoints: mounts.map((mount) => ({ sourceVolume: volumeName(mount.hostDir), containerPath: mount.mountPath, readOnly: true })),
    };
  });
  const overrides = launch.containers.map((container) => containerOverride(container)).filter((override) => override !== undefined);
  const cpuLimits = launch.containers.map((c) => parseMilliCpu(c.resources.limits.cpu));
  const memoryLimits = launch.containers.map((c) => mebibytes(c.resources.limits.memory));
  const body = {
    networkMode: 'awsvpc' as const,
    requiresCompatibilities: ['EC2' as const],
    executionRoleArn: settings.executionRoleArn,
    ...(settings.taskRoleArn ? { taskRoleArn: settings.taskRoleArn } : {}),
    containerDefinitions,
    // Task-level sizes are hard limits on EC2; they exist only when every container has one.
    ...(cpuLimits.every((v) => v !== undefined) ? { cpu: String(Math.max(128, Math.ceil((sum(cpuLimits) * 1024) / 1000))) } : {}),
    ...(memoryLimits.every((v) => v !== undefined) ? { memory: String(Math.max(6, sum(memoryLimits))) } : {}),
  };
  // The host paths depend on the hash, so the hash is of the volumes' names alone.
  const volumeNames = tokenDirs.map((dir) => volumeName(dir));
  const hash = createHash('sha256')
    .update(canonicalJson(volumeNames.length > 0 ? { ...body, volumes: volumeNames } : body))
    .digest('hex')
    .slice(0, 16);
  if (tokenDirs.length === 0) {
    const family = familyName(settings.familyPrefix, launch.pod.namespace, launch.workloadName, hash);
    return {
      family,
      hash,
      definition: { family, ...body, tags: [{ key: templateHashTag, value: hash }] },
      containerOverrides: overrides,
      tokenLinks: [],
    };
  }
  const slotDir = `${settings.tokenSlotsDir?.replace(/\/+$/, '')}/${hash}-${slot}`;
  const tokenLinks = tokenDirs.map((dir, index) => ({ path: `${slotDir}/${index}`, target: dir }));
  const family = familyName(settings.familyPrefix, launch.pod.namespace, launch.workloadName, `${hash}-s${slot}`);
  return {
    family,
    hash,
    definition: {
      family,
      ...body,
      volumes: tokenLinks.map((link, index) => ({ name: volumeNames[index], host: { sourcePath: link.path } })),
      tags: [{ key: templateHashTag, value: hash }],
    },
    containerOverrides: overrides,
    tokenLinks,
    slot,
  };
}

function containerDefinition(
  launch: PodLaunch,
  container: PodContainerLaunch,
  settings: TaskDefinitionSettings,
  locations: SourceLocations,
): ContainerDefinition {
  const environment: KeyValuePair[] = [];
  const secrets: { name: string; valueFrom: string }[] = [];
  for (const variable of container.env) {
    if (variable.origin === 'template') environment.push({ name: variable.name, value: variable.value });
    else if (variable.origin === 'secret' || variable.origin === 'configMap') {
      const arn = locations.get(sourceKey({ kind: variable.origin, name: variable.source }));
      if (!arn) throw new Error(`no stored copy of ${variable.origin} ${variable.source} for ${variable.name}`);
      // Secrets Manager's JSON-key form: ECS reads the one key at start (`arn:json-key:version-stage:version-id`).
      secrets.push({ name: variable.name, valueFrom: `${arn}:${variable.key}::` });
    }
  }
  environment.sort((a, b) => byName(a.name ?? '', b.name ?? ''));
  secrets.sort((a, b) => byName(a.name, b.name));
  const cpu = parseMilliCpu(container.resources.requests.cpu);
  const memoryLimit = mebibytes(container.resources.limits.memory);
  const memoryRequest = mebibytes(container.resources.requests.memory);
  const reservation = memoryRequest ?? (memoryLimit === undefined ? (settings.defaultMemoryReservationMiB ?? 64) : undefined);
  return {
    name: container.name,
    image: container.image,
    essential: true,
    ...(container.command ? { entryPoint: [...container.command] } : {}),
    ...(container.args && !container.argsPerPod ? { command: [...container.args] } : {}),
    ...(container.workingDir ? { workingDirectory: container.workingDir } : {}),
    ...(environment.length > 0 ? { environment } : {}),
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(container.ports.length > 0
      ? {
          portMappings: container.ports.map((port) => ({ containerPort: port.containerPort, protocol: port.protocol.toUpperCase() === 'UDP' ? 'udp' : 'tcp' })),
        }
      : {}),
    ...(cpu !== undefined ? { cpu: Math.ceil((cpu * 1024) / 1000) } : {}),
    ...(memoryLimit !== undefined ? { memory: Math.max(6, memoryLimit) } : {}),
    ...(reservation !== undefined ? { memoryReservation: Math.max(6, Math.min(reservation, memoryLimit ?? Number.POSITIVE_INFINITY)) } : {}),
    stopTimeout: Math.min(maxStopTimeoutSeconds, Math.max(0, launch.terminationGracePeriodSeconds)),
    logConfiguration: {
      logDriver: 'awslogs',
      options: { 'awslogs-group': settings.logGroup, 'awslogs-region': settings.region, 'awslogs-stream-prefix': launch.pod.namespace },
    },
  };
}

/** What differs from pod to pod: variables of the pod's own (names, fieldRef) and args that expand them. */
function containerOverride(container: PodContainerLaunch): ContainerOverride | undefined {
  const environment = container.env
    .filter((variable) => variable.origin === 'pod')
    .map((variable) => ({ name: variable.name, value: 'value' in variable ? variable.value : '' }))
    .sort((a, b) => byName(a.name, b.name));
  const command = container.args && container.argsPerPod ? [...container.args] : undefined;
  if (environment.length === 0 && !command) return undefined;
  return { name: container.name, ...(environment.length > 0 ? { environment } : {}), ...(command ? { command } : {}) };
}

/** Code-unit order: the same on every machine, whatever its locale (the definition's hash depends on it). */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function mebibytes(value: string | number | undefined): number | undefined {
  const bytes = parseQuantity(value);
  return bytes === undefined ? undefined : Math.ceil(bytes / 2 ** 20);
}

function sum(values: readonly (number | undefined)[]): number {
  return values.reduce<number>((total, value) => total + (value ?? 0), 0);
}

/** `<prefix>-<namespace>-<workload>-<hash>`, within ECS's 255 letters, digits, `-` and `_`. */
export function familyName(prefix: string, namespace: string, workload: string, hash: string): string {
  const clean = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '-');
  const head = `${clean(prefix)}-${clean(namespace)}-${clean(workload)}`.slice(0, 255 - hash.length - 1);
  return `${head}-${hash}`;
}

/** JSON with object keys sorted, so equal content hashes equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => byName(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
