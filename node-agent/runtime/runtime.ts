/**
 * The container runtime port: how the agent runs a pod's containers. `process` runs them as
 * host processes (local clusters and CI), `sim` runs nothing (scale tests); `ecs` on AWS comes
 * later behind the same interface. The agent never touches processes itself.
 */

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
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
}

export interface ContainerExit {
  readonly exitCode: number;
  readonly signal?: number;
  readonly reason: 'Completed' | 'Error';
  readonly message?: string;
  readonly finishedAt: string;
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
}

/** The image cannot be run: the kubelet reports this as ErrImagePull / ImagePullBackOff. */
export class ImagePullError extends Error {
  override name = 'ImagePullError';
}

export interface ExecResult {
  readonly exitCode: number;
  readonly output: string;
}

export interface ContainerRuntime {
  readonly kind: 'process' | 'sim';
  /** `nodeInfo.containerRuntimeVersion`. */
  readonly version: string;
  /** False for runtimes with nothing to probe: their containers are ready when running. */
  readonly supportsProbes: boolean;
  /** Checks that the image can be run, before anything is started; throws ImagePullError. */
  imageIdOf(launch: Pick<ContainerLaunch, 'image' | 'command' | 'args'>): string;
  start(launch: ContainerLaunch): Promise<ContainerRecord>;
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
  /** Called once for every container that exits (including adopted ones found gone). */
  onExit(listener: (record: ContainerRecord) => void): void;
  /** Stops watching containers; the containers themselves keep running for the next agent. */
  close(): Promise<void>;
}
