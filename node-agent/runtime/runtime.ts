import type { Readable, Writable } from 'node:stream';

/**
 * The container runtime port: how the agent runs a pod's containers. `process` runs them as
 * host processes (local clusters and CI), `sim` runs nothing (scale tests), `ecs` runs each pod
 * as one ECS task on the node's own container instance (AWS). The agent never touches
 * processes or tasks itself.
 *
 * Runtimes come in two units. A `container` runtime starts, stops and restarts each container
 * on its own (`start`). A `pod` runtime starts a pod's containers together (`startPod`), as one
 * ECS task holds them all: a restart restarts the whole pod, and the pod's IP comes from the
 * runtime (the task's network interface) rather than from the agent (ADR 130).
 */

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/**
 * A pod volume as the agent resolved it, for the runtime to provide: an empty directory, a set
 * of files (a ConfigMap's or Secret's keys), or a path of the host. The process runtime makes
 * directories of them (docs/adr/084); other runtimes may refuse what they cannot provide.
 */
export type VolumeSource =
  /**
   * An empty directory; `medium: 'Memory'` asks for a tmpfs (mounted in the pod's mount namespace
   * where the pod has one, docs/adr/176), at most `sizeLimitBytes` big when given.
   */
  | { readonly kind: 'emptyDir'; readonly medium?: 'Memory'; readonly sizeLimitBytes?: number }
  | { readonly kind: 'files'; readonly files: readonly { readonly path: string; readonly content: Buffer; readonly mode: number }[] }
  | { readonly kind: 'hostPath'; readonly path: string }
  /** A directory of the pod the agent fills and keeps up to date itself (ServiceAccount tokens). */
  | { readonly kind: 'directory'; readonly path: string }
  /** A persistent volume's directory: made when missing, outliving the pod, handed to the pod's user. */
  | { readonly kind: 'persistent'; readonly path: string };

export interface PodVolume {
  readonly name: string;
  readonly source: VolumeSource;
}

/** Where a container sees a volume (or a part of it, `subPath`). */
export interface VolumeMountSpec {
  readonly volume: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly: boolean;
}

/** The pod's and the container's securityContext, merged as the kubelet merges them (container wins). */
export interface SecuritySpec {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly supplementalGroups: readonly number[];
  readonly fsGroup?: number;
  readonly privileged?: boolean;
  readonly addCapabilities: readonly string[];
  readonly dropCapabilities: readonly string[];
}

/** The container cannot be created as specified (the kubelet's CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

export interface ContainerLaunch {
  readonly pod: PodRef;
  readonly containerName: string;
  /** 0 for the first run, then the restart count: names log files and keeps `--previous`. */
  readonly attempt: number;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  /** The container's environment as the pod defines it; the image's defaults go under it. */
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  /** An init container: it runs to completion before the app containers (the sim runtime completes it at once). */
  readonly init?: boolean;
  /** The pod's address (the process runtime derives the pod's own user id from it). */
  readonly podIP?: string;
  /** `spec.subdomain`: the pod's hosts file names it `<hostname>.<subdomain>.<ns>.svc.<domain>`. */
  readonly subdomain?: string;
  /** Every volume of the pod, and where this container sees which. */
  readonly volumes?: readonly PodVolume[];
  readonly mounts?: readonly VolumeMountSpec[];
  readonly security?: SecuritySpec;
  /** `stdin: true`: the container keeps a standard input open that `kubectl attach -i` writes to. */
  readonly stdin?: boolean;
  /** `tty: true`: the container runs on a pseudo-terminal of its own (`kubectl debug -it`). */
  readonly tty?: boolean;
}

export interface ContainerExit {
  readonly exitCode: number;
  readonly signal?: number;
  readonly reason: 'Completed' | 'Error' | 'OOMKilled';
  readonly message?: string;
  readonly finishedAt: string;
  /** The container never ran because its image could not be pulled (ErrImagePull). */
  readonly pullFailed?: boolean;
}

export interface ContainerRecord {
  /** Runtime-local id. */
  readonly id: string;
  /** `<runtime>://<id>`, what `containerStatuses[].containerID` shows. */
  readonly containerID: string;
  readonly pod: PodRef;
  readonly containerName: string;
  readonly attempt: number;
  readonly image: string;
  readonly imageID: string;
  readonly startedAt: string;
  readonly pid?: number;
  readonly logPath?: string;
  readonly exit?: ContainerExit;
  /** Still being created (an ECS task not yet RUNNING): reported as ContainerCreating, not probed. */
  readonly creating?: boolean;
  /** The pod's address as a `pod` runtime assigned it (the task's network interface). */
  readonly podIP?: string;
}

/** A variable of a container's environment, with where its value came from. */
export type LaunchVariable =
  | {
      readonly name: string;
      readonly value: string;
      /** `template`: written in the pod spec as is; `pod`: differs from pod to pod (names, fieldRef). */
      readonly origin: 'template' | 'pod';
    }
  | {
      readonly name: string;
      /** The value lives in a Secret or ConfigMap: a `pod` runtime passes it by reference, never in plain text. */
      readonly origin: 'secret' | 'configMap';
      readonly source: string;
      readonly key: string;
    };

/** The data of a Secret or ConfigMap a container's environment refers to, read at start. */
export interface LaunchSource {
  readonly kind: 'secret' | 'configMap';
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly data: Readonly<Record<string, string>>;
}

export interface PodContainerLaunch {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  /** The args expand variables that differ from pod to pod (`$(POD_NAME)`): they cannot be shared by a template. */
  readonly argsPerPod?: boolean;
  readonly workingDir?: string;
  readonly env: readonly LaunchVariable[];
  readonly ports: readonly { readonly containerPort: number; readonly protocol: string }[];
  readonly resources: {
    readonly requests: Readonly<Record<string, string | number>>;
    readonly limits: Readonly<Record<string, string | number>>;
  };
  /**
   * The ServiceAccount token volumes the container mounts: the node's directory the agent keeps
   * the token, `ca.crt` and `namespace` in (refreshed before expiry), and where the container
   * sees it (`/var/run/secrets/kubernetes.io/serviceaccount`).
   */
  readonly tokenMounts?: readonly { readonly hostDir: string; readonly mountPath: string }[];
}

/** Everything a `pod` runtime needs to start a pod's containers as one unit. */
export interface PodLaunch {
  readonly pod: PodRef;
  /** What the pod's shared definitions are called after: its generateName without the dash, or its name. */
  readonly workloadName: string;
  /** 0 for the first run, then the number of restarts: every container's restartCount. */
  readonly attempt: number;
  readonly containers: readonly PodContainerLaunch[];
  readonly terminationGracePeriodSeconds: number;
  readonly sources: readonly LaunchSource[];
}

/** The runtime could not place the pod (no free network interface, the ECS agent gone...). */
export class PodSandboxError extends Error {
  override name = 'PodSandboxError';
}

/** The image cannot be run: the kubelet reports this as ErrImagePull / ImagePullBackOff. */
export class ImagePullError extends Error {
  override name = 'ImagePullError';
}

export interface ExecResult {
  readonly exitCode: number;
  readonly output: string;
}

/** How `kubectl exec` wants its command run. */
export interface ExecStreamOptions {
  /** A terminal: stdout and stderr become one stream, and the size can change (`resize`). */
  readonly tty: boolean;
  /** The client sends input; without it the command's stdin is empty. */
  readonly stdin: boolean;
}

/** A command running in a container for `kubectl exec` (or a view of the container for `attach`). */
export interface ExecSession {
  /** Where the client's input goes; undefined without `stdin`. */
  readonly stdin: Writable | undefined;
  readonly stdout: Readable;
  /** Undefined with a terminal (its output is all on stdout). */
  readonly stderr: Readable | undefined;
  /** The terminal's new size, in characters. */
  resize(width: number, height: number): void;
  /** The command's exit code once it has ended and its output has been read. */
  readonly exited: Promise<number>;
  /** Ends the command (the client went away). */
  kill(): void;
}

/** The container cannot take an exec or attach now (not running, gone): the kubelet's 4xx. */
export class ExecUnavailableError extends Error {
  override name = 'ExecUnavailableError';
}

export interface ContainerRuntime {
  readonly kind: 'process' | 'sim' | 'ecs';
  /** How containers start: alone (`start`) or a whole pod at once (`startPod`). */
  readonly unit: 'container' | 'pod';
  /** `nodeInfo.containerRuntimeVersion`. */
  readonly version: string;
  /** False for runtimes with nothing to probe: their containers are ready when running. */
  readonly supportsProbes: boolean;
  /** Checks that the image can be run, before anything is started; throws ImagePullError. */
  imageIdOf(launch: Pick<ContainerLaunch, 'image' | 'command' | 'args'>): string;
  /** Starts one container (`container` runtimes). */
  start(launch: ContainerLaunch): Promise<ContainerRecord>;
  /**
   * Starts every container of a pod as one unit (`pod` runtimes): resolves with a record per
   * container, usually still `creating`. Throws PodSandboxError when the pod cannot be placed.
   */
  startPod?(launch: PodLaunch): Promise<readonly ContainerRecord[]>;
  /** Every container the runtime knows, including ones found from a previous agent run. */
  containers(): readonly ContainerRecord[];
  container(id: string): ContainerRecord | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exited record. */
  stop(id: string, graceMs: number): Promise<ContainerRecord | undefined>;
  /** Forgets an exited container (its log stays until `removePod`). */
  remove(id: string): void;
  /** Forgets every container of a pod and deletes its logs. */
  removePod(uid: string): void;
  exec(id: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult>;
  /**
   * Starts `argv` in the container's context with streams (`kubectl exec`): the seam where a
   * runtime enters the pod's namespaces. Throws ExecUnavailableError when the container is not
   * running. Absent on runtimes that cannot (the API answers that exec is not supported there).
   */
  openExec?(id: string, argv: readonly string[], options: ExecStreamOptions): ExecSession;
  /**
   * Streams the container's own output from now on (`kubectl attach`), until it ends; with
   * `stdin`, the client's input goes to the container's standard input, when it keeps one.
   */
  openAttach?(id: string, options?: { readonly stdin: boolean }): ExecSession;
  /** Called once for every container that exits (including adopted ones found gone). */
  onExit(listener: (record: ContainerRecord) => void): void;
  /** Called when a record changes other than by exiting (a `pod` runtime's task running, getting its IP). */
  onUpdate?(listener: (record: ContainerRecord) => void): void;
  /**
   * Rewrites a running pod's file volumes whose content changed (a ConfigMap or Secret updated,
   * the pod's labels for downwardAPI); returns the names of those rewritten. Absent: the runtime
   * gives a container its files once, at start.
   */
  refreshVolumes?(pod: PodRef, volumes: readonly PodVolume[]): string[];
  /** Stops watching containers; the containers themselves keep running for the next agent. */
  close(): Promise<void>;
}
