/**
 * The `process` runtime: each container is a host process group started through a tiny shell
 * shim that records the exit code in a file. Processes are detached, so they outlive the
 * agent; their records (pid, log path, exit file) are kept in the state dir, and an agent
 * restarted on the same node adopts them instead of starting duplicates (ADR 081).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { type ImageTable, resolveImage } from '../images.ts';
import { type PodNetwork, tearDownPodNetwork } from './pod-network.ts';
import { materializeVolumes, mountVariables, resolveMounts, rewriteMountPaths, writeAtomically } from './pod-volumes.ts';
import { attachToLog, execArgv, scriptPath, shellQuote, spawnExec, tarNamesAsMounted } from './process-exec.ts';
import { isSameLiveProcess, type ProcessIdentity, processIdentity } from './process-identity.ts';
import { currentHost, launchArgv, type PodView, type RunAs, runAsFor } from './process-isolation.ts';
import {
  ContainerConfigError,
  type ContainerExit,
  type ContainerLaunch,
  type ContainerRecord,
  type ContainerRuntime,
  type ExecResult,
  type ExecSession,
  type ExecStreamOptions,
  ExecUnavailableError,
  ImagePullError,
  type PodRef,
  type PodVolume,
} from './runtime.ts';

/**
 * Runs "$@" in the background and waits for it, retrying the wait when a trapped signal
 * interrupts it, then writes the exit status to the file given as $1. Its standard input is the
 * file given as $2, opened for reading and writing: /dev/null, or the FIFO of a container that
 * keeps a stdin (`stdin: true`), which then never sees its end while it runs, as a container
 * runtime keeps a container's stdin open. Trapping (rather than
 * ignoring) TERM keeps the shim alive to record the code without the child inheriting an
 * ignored signal; the agent signals the whole process group, so the child gets it directly.
 */
const shim = [
  'exit_file=$1; stdin_file=$2; shift 2',
  "trap ':' TERM INT HUP",
  '"$@" <>"$stdin_file" &',
  'child=$!',
  'while :; do wait "$child"; code=$?; kill -0 "$child" 2>/dev/null || break; done',
  // The agent's TERM reaches the shim too: its trap interrupts wait (128 + n), and the child may
  // end before kill -0 looks. Asked once more, wait gives the child's own status (127: none kept).
  'wait "$child" 2>/dev/null; again=$?; [ "$again" -ne 127 ] && code=$again',
  'echo "$code" > "$exit_file"',
  'exit "$code"',
].join('\n');

/**
 * The shim of a container in a pod's namespaces (docs/adr/136): its child is nsenter, and the
 * container is nsenter's child. When the run ends, however it ends (nsenter itself killed
 * included), whatever is left of the container's process group is killed once the code is
 * recorded, as a container's processes all go with its main one; the shim goes with them.
 */
const namespacedShim = shim.replace('exit "$code"', 'kill -KILL 0\nexit "$code"');

/**
 * The PATH a container gets unless its image or spec sets one: a container runtime's default,
 * with the directory of the Node binary the stand-in images run on.
 */
const containerPath = [...new Set([...'/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'.split(':'), dirname(process.execPath)])].join(':');

const exitSchema = z.object({
  exitCode: z.number(),
  signal: z.number().optional(),
  reason: z.enum(['Completed', 'Error']),
  message: z.string().optional(),
  finishedAt: z.string(),
});
const recordSchema = z.object({
  id: z.string(),
  containerID: z.string(),
  pod: z.object({ namespace: z.string(), name: z.string(), uid: z.string() }),
  containerName: z.string(),
  attempt: z.number(),
  image: z.string(),
  imageID: z.string(),
  startedAt: z.string(),
  pid: z.number().optional(),
  /** Who `pid` was when the container started: checked before the PID is signalled or adopted. */
  processIdentity: z.object({ bootId: z.string(), startTicks: z.string() }).optional(),
  /** Who the container runs as and where, for exec probes in its name. */
  runAs: z.object({ uid: z.number(), gid: z.number(), groups: z.array(z.number()), capabilities: z.array(z.string()) }).optional(),
  cwd: z.string().optional(),
  /** What the container does not see of the machine (an agent that is not root), for exec probes alike. */
  view: z.object({ hide: z.array(z.string()), keep: z.array(z.string()) }).optional(),
  logPath: z.string().optional(),
  /** The FIFO that is the container's stdin (`stdin: true`): what `kubectl attach -i` writes to. */
  stdinPath: z.string().optional(),
  exit: exitSchema.optional(),
});
type ProcessRecord = ContainerRecord & {
  readonly processIdentity?: ProcessIdentity;
  readonly runAs?: RunAs;
  readonly cwd?: string;
  readonly view?: PodView;
  readonly stdinPath?: string;
};
const stateSchema = z.object({ containers: z.array(recordSchema) });

export interface ProcessRuntimeOptions {
  readonly stateDir: string;
  readonly images: ImageTable;
  /** How often adopted processes (not children of this agent) are checked for exit. */
  readonly adoptedPollMs?: number;
  /** A running container's log is rotated once it reaches this size (the kubelet's containerLogMaxSize). @default 10 MiB */
  readonly containerLogMaxBytes?: number;
  /** Log files kept per container run, the current one included (the kubelet's containerLogMaxFiles). @default 5 */
  readonly containerLogMaxFiles?: number;
  /** How often log sizes are checked (the kubelet's containerLogMonitorInterval). @default 10000 */
  readonly logRotationCheckMs?: number;
  /**
   * Where pods get their own directories (home, tmp, volumes). Never inside the data dir: pods
   * must not be able to reach it. @default a folder of the system's temporary directory named
   * after the state dir
   */
  readonly podsDir?: string;
  /**
   * Folders pods must not see when the agent is not root (and so cannot keep them from pods by
   * permissions): the data dir, the user's credential folders. The state dir is always hidden.
   */
  readonly hiddenPaths?: readonly string[];
}

export const defaultContainerLogMaxBytes = 10 * 1024 * 1024;
export const defaultContainerLogMaxFiles = 5;

/**
 * Rotates a log that a process keeps writing to (opened with O_APPEND, as the runtime opens
 * them): older copies move up one (`.1` → `.2`, the last dropped), the file is copied to `.1`,
 * then truncated, so the writer goes on at its beginning. Output written between the copy and the
 * truncation is lost (logrotate's copytruncate has the same gap); the process is never touched.
 */
export function rotateLogFile(path: string, maxFiles: number): void {
  rmSync(`${path}.${maxFiles - 1}`, { force: true });
  for (let index = maxFiles - 2; index >= 1; index--) {
    if (existsSync(`${path}.${index}`)) renameSync(`${path}.${index}`, `${path}.${index + 1}`);
  }
  if (maxFiles > 1) copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
}

export class ProcessRuntime implements ContainerRuntime {
  readonly kind = 'process';
  readonly unit = 'container';
  readonly version = 'skiff-process://1';
  readonly supportsProbes = true;
  private readonly records = new Map<string, ProcessRecord>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly exitWaiters = new Map<string, (() => void)[]>();
  private readonly listeners: ((record: ContainerRecord) => void)[] = [];
  private readonly statePath: string;
  private readonly podsDir: string;
  private readonly poller: NodeJS.Timeout;
  private readonly logRotator: NodeJS.Timeout;
  private network: PodNetwork | undefined;

  constructor(private readonly options: ProcessRuntimeOptions) {
    mkdirSync(join(options.stateDir, 'logs'), { recursive: true, mode: 0o700 });
    mkdirSync(join(options.stateDir, 'exits'), { recursive: true, mode: 0o700 });
    this.statePath = join(options.stateDir, 'containers.json');
    this.podsDir = options.podsDir ?? defaultPodsDir(options.stateDir);
    // Traversable, not listable: a pod reaches its own directory (named by its uid) and no other.
    mkdirSync(this.podsDir, { recursive: true, mode: 0o711 });
    chmodSync(this.podsDir, 0o711);
    if (existsSync(this.statePath)) {
      const parsed = stateSchema.safeParse(JSON.parse(readFileSync(this.statePath, 'utf8')));
      if (parsed.success) for (const record of parsed.data.containers) this.records.set(record.id, record);
    }
    this.poller = setInterval(() => this.pollAdopted(), options.adoptedPollMs ?? 1000);
    this.poller.unref();
    this.logRotator = setInterval(() => this.rotateLogs(), options.logRotationCheckMs ?? 10_000);
    this.logRotator.unref();
    this.pollAdopted();
  }

  /**
   * Gives pods their own namespaces from now on (docs/adr/136): the agent attaches the node's
   * network once its podCIDR is known, before any pod starts.
   */
  attachNetwork(network: PodNetwork): void {
    this.network = network;
  }

  /** How the node's pods are networked. */
  get networkMode(): 'namespaces' | 'loopback' {
    return this.network ? 'namespaces' : 'loopback';
  }

  /**
   * The argv prefix that enters a pod's namespaces (network, mount, PID, UTS, IPC) in `cwd`:
   * empty in loopback mode, where a pod is a set of host processes; undefined when the pod's
   * sandbox is gone. Containers, exec probes and `kubectl exec` all start through it.
   */
  enterPodArgv(uid: string, cwd?: string): string[] | undefined {
    if (!this.network) return [];
    return this.network.enterArgv(uid, cwd);
  }

  imageIdOf(launch: Pick<ContainerLaunch, 'image' | 'command' | 'args'>): string {
    const resolved = resolveImage(this.options.images, launch.image, launch.command, launch.args);
    if (!resolved) {
      throw new ImagePullError(
        `image "${launch.image}" is not in the local image table and the container has no command; ` +
          'add it to images.json in the data dir or give the container a command',
      );
    }
    return resolved.imageID;
  }

  async start(launch: ContainerLaunch): Promise<ContainerRecord> {
    const resolved = resolveImage(this.options.images, launch.image, launch.command, launch.args);
    if (!resolved) throw new ImagePullError(`image "${launch.image}" is not in the local image table`);
    const host = currentHost();
    // Who the process runs as, and its own directories (ADR 084): throws ContainerConfigError.
    const runAs = runAsFor(launch.security, launch.podIP, host, launch.pod.uid);
    const owner = host.uid === 0 ? { uid: runAs.uid, gid: launch.security?.fsGroup ?? runAs.gid } : undefined;
    const podDir = this.podDir(launch.pod.uid);
    const containerDir = join(podDir, 'containers', launch.containerName);
    const home = join(containerDir, 'home');
    const tmp = join(containerDir, 'tmp');
    // The way down is the agent's and traversable only (0711): a pod reaches what is its own.
    for (const dir of [podDir, join(podDir, 'containers'), containerDir]) {
      mkdirSync(dir, { recursive: true, mode: 0o711 });
      chmodSync(dir, 0o711);
    }
    for (const dir of [home, tmp]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (host.uid === 0) chownSync(dir, runAs.uid, runAs.gid);
    }
    const volumePaths = materializeVolumes(join(podDir, 'volumes'), launch.volumes ?? [], owner);
    const fileVolumes = new Set((launch.volumes ?? []).filter((volume) => volume.source.kind === 'files').map((volume) => volume.name));
    const mounts = resolveMounts(launch.mounts ?? [], volumePaths, { dir: join(containerDir, 'subpaths'), volumes: fileVolumes, owner });
    const rewrite = (text: string) => rewriteMountPaths(text, mounts);
    const id = randomBytes(16).toString('hex');
    const logDir = this.logDir(launch.pod.uid, launch.pod, launch.containerName);
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const logPath = join(logDir, `${launch.attempt}.log`);
    const exitFile = this.exitFile(id);
    rmSync(exitFile, { force: true });
    // A clean environment, as a container's: nothing of the agent's own, only what a runtime
    // always sets and what the image and the pod give.
    const env: Record<string, string> = {
      PATH: containerPath,
      HOME: home,
      TMPDIR: tmp,
      ...resolved.env,
      ...Object.fromEntries(Object.entries(launch.env).map(([name, value]) => [name, rewrite(value)])),
      ...mountVariables(mounts),
    };
    const workingDir = launch.workingDir ? rewrite(launch.workingDir) : undefined;
    const cwd = workingDir && existsSync(workingDir) ? workingDir : home;
    const view: PodView = {
      hide: [this.options.stateDir, ...(this.options.hiddenPaths ?? [])],
      keep: [podDir, cwd, ...mounts.map((mount) => mount.hostPath)],
    };
    let enter: string[] = [];
    if (this.network) {
      if (!launch.podIP) throw new ContainerConfigError('the pod has no address yet');
      await this.network.ensureSandbox({
        uid: launch.pod.uid,
        namespace: launch.pod.namespace,
        name: launch.pod.name,
        ip: launch.podIP,
        hostname: launch.env.HOSTNAME ?? launch.pod.name,
        ...(launch.subdomain ? { subdomain: launch.subdomain } : {}),
        podDir,
      });
      enter = this.network.enterArgv(launch.pod.uid, cwd) ?? [];
      // emptyDir of medium Memory: a tmpfs in the pod's mount namespace (docs/adr/176); without
      // namespaces it stays a directory of the pod's own (the documented fallback).
      for (const volume of launch.volumes ?? []) {
        const path = volumePaths.get(volume.name);
        if (volume.source.kind !== 'emptyDir' || volume.source.medium !== 'Memory' || path === undefined) continue;
        try {
          await this.network.mountMemoryVolume(launch.pod.uid, path, {
            ...(volume.source.sizeLimitBytes !== undefined ? { sizeBytes: volume.source.sizeLimitBytes } : {}),
            ...(owner ? { owner } : {}),
          });
        } catch (error) {
          throw new ContainerConfigError(`MountVolume.SetUp failed for volume "${volume.name}" : ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
    // One seam for both modes: the pod's namespaces as root (ADR 136), the unprivileged view otherwise (ADR 085).
    const contained = launchArgv(resolved.argv.map(rewrite), runAs, host, view);
    // A terminal of its own (`tty: true`) comes from `script`, as for `kubectl exec -t`; made inside
    // the pod's namespaces, so the shell and its terminal share one PID namespace.
    if (launch.tty && !scriptPath) throw new ContainerConfigError('a container with tty: true needs util-linux script (apt-get install bsdutils)');
    const argv =
      launch.tty && scriptPath
        ? [...enter, scriptPath, '-q', '-E', 'never', '-e', '-c', `exec ${contained.map(shellQuote).join(' ')}`, '/dev/null']
        : [...enter, ...contained];
    if (launch.tty) env.TERM ??= 'xterm';
    const stdinPath = launch.stdin ? this.makeStdin(id) : undefined;
    const logFd = openSync(logPath, 'a', 0o600);
    let child: ChildProcess;
    try {
      // The shim stays the agent's (it writes the exit file); only the container drops to its user.
      child = spawn('/bin/sh', ['-c', this.network ? namespacedShim : shim, 'skiff-shim', exitFile, stdinPath ?? '/dev/null', ...argv], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env,
        cwd,
      });
    } finally {
      closeSync(logFd);
    }
    const pid = child.pid;
    const identity = pid !== undefined ? processIdentity(pid) : undefined;
    const record: ProcessRecord = {
      id,
      containerID: `skiff-process://${id}`,
      pod: launch.pod,
      containerName: launch.containerName,
      attempt: launch.attempt,
      image: launch.image,
      imageID: resolved.imageID,
      startedAt: new Date().toISOString(),
      ...(pid !== undefined ? { pid } : {}),
      ...(identity ? { processIdentity: identity } : {}),
      runAs,
      cwd,
      view,
      logPath,
      ...(stdinPath ? { stdinPath } : {}),
    };
    this.records.set(id, record);
    if (pid === undefined) {
      this.finish(id, { exitCode: 128, reason: 'Error', message: 'process could not be started', finishedAt: new Date().toISOString() });
      return this.records.get(id) ?? record;
    }
    this.children.set(id, child);
    child.on('exit', (code, signal) => {
      this.children.delete(id);
      const signalNumber = signal ? constants.signals[signal] : undefined;
      this.finish(id, this.exitOf(id, code ?? (signalNumber !== undefined ? 128 + signalNumber : 255), signalNumber));
    });
    child.unref();
    this.save();
    return record;
  }

  /**
   * Rewrites the pod's file volumes (ConfigMap, Secret, downwardAPI, projected) whose content
   * changed, as the kubelet's periodic sync does, with the atomic writer: running containers see
   * the new files at once. Volumes no container has made yet are left for the first start.
   */
  refreshVolumes(pod: PodRef, volumes: readonly PodVolume[]): string[] {
    const root = join(this.podDir(pod.uid), 'volumes');
    const changed: string[] = [];
    for (const volume of volumes) {
      const dir = join(root, volume.name);
      if (volume.source.kind !== 'files' || !existsSync(dir)) continue;
      const stats = statSync(dir);
      if (writeAtomically(dir, volume.source.files, currentHost().uid === 0 ? { uid: stats.uid, gid: stats.gid } : undefined)) changed.push(volume.name);
    }
    return changed;
  }

  containers(): readonly ContainerRecord[] {
    return [...this.records.values()];
  }

  container(id: string): ContainerRecord | undefined {
    return this.records.get(id);
  }

  async stop(id: string, graceMs: number): Promise<ContainerRecord | undefined> {
    const record = this.records.get(id);
    if (!record || record.exit || record.pid === undefined) return record;
    const exited = this.waitForExit(id);
    if (graceMs > 0) {
      if (!this.signal(record, 'SIGTERM')) return this.records.get(id);
      if (await withTimeout(exited, graceMs)) return this.records.get(id);
    }
    if (!this.signal(record, 'SIGKILL')) return this.records.get(id);
    await withTimeout(exited, 10_000);
    return this.records.get(id);
  }

  /** Forgets an exited container and deletes its log (a pod keeps the logs of its current and previous runs only). */
  remove(id: string): void {
    const logPath = this.records.get(id)?.logPath;
    rmSync(this.exitFile(id), { force: true });
    rmSync(this.stdinFile(id), { force: true });
    if (logPath) for (const file of logFilesOf(logPath, this.maxLogFiles())) rmSync(file, { force: true });
    this.records.delete(id);
    this.save();
  }

  private maxLogFiles(): number {
    return Math.max(1, this.options.containerLogMaxFiles ?? defaultContainerLogMaxFiles);
  }

  /** Rotates the logs of running containers that reached the size limit. */
  private rotateLogs(): void {
    const maxBytes = this.options.containerLogMaxBytes ?? defaultContainerLogMaxBytes;
    for (const record of this.records.values()) {
      if (record.exit || !record.logPath) continue;
      try {
        if (statSync(record.logPath).size >= maxBytes) rotateLogFile(record.logPath, this.maxLogFiles());
      } catch {
        // The log is gone (the pod is being removed): nothing to rotate.
      }
    }
  }

  removePod(uid: string): void {
    let dir: string | undefined;
    for (const [id, record] of this.records) {
      if (record.pod.uid !== uid) continue;
      dir = this.podLogDir(record.pod);
      rmSync(this.exitFile(id), { force: true });
      rmSync(this.stdinFile(id), { force: true });
      this.records.delete(id);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    rmSync(this.podDir(uid), { recursive: true, force: true });
    this.save();
    this.network?.removeSandbox(uid).catch(() => undefined);
  }

  /** The pod's own directory: its containers' homes and temporary directories, its volumes. */
  podDir(uid: string): string {
    return join(this.podsDir, uid);
  }

  /** Runs a command "inside" a container: with its environment and working directory. */
  exec(id: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
    const record = this.records.get(id);
    const [file, ...args] = argv;
    if (!record || record.pid === undefined || !file || (!this.children.has(id) && !isSameLiveProcess(record.pid, record.processIdentity))) {
      return Promise.resolve({ exitCode: 126, output: 'container not running' });
    }
    const env = readProcessEnvironment(record.pid) ?? {};
    // As the container's user, in its working directory: an exec probe is the container's command.
    let command: string[];
    const enter = this.enterPodArgv(record.pod.uid, record.cwd);
    if (!enter) return Promise.resolve({ exitCode: 126, output: 'the pod sandbox is gone' });
    try {
      command = [...enter, ...(record.runAs ? launchArgv([file, ...args], record.runAs, currentHost(), record.view) : [file, ...args])];
    } catch (error) {
      return Promise.resolve({ exitCode: 126, output: (error as Error).message });
    }
    const [program, ...programArgs] = command as [string, ...string[]];
    return new Promise((resolvePromise) => {
      execFile(
        program,
        programArgs,
        { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20, ...(record.cwd && existsSync(record.cwd) ? { cwd: record.cwd } : {}) },
        (error, stdout, stderr) => {
          const output = `${stdout}${stderr}`;
          if (!error) return resolvePromise({ exitCode: 0, output });
          const code = typeof error.code === 'number' ? error.code : error.killed ? 124 : 127;
          resolvePromise({ exitCode: code, output: output || error.message });
        },
      );
    });
  }

  /**
   * `kubectl exec`: a new process in the pod's namespaces with the container's environment, user,
   * view of the files and working directory (its volumes' paths rewritten as in its own command).
   */
  openExec(id: string, argv: readonly string[], options: ExecStreamOptions): ExecSession {
    const record = this.runningRecord(id);
    const env = readProcessEnvironment(record.pid!) ?? {};
    // The container's mounts, from the variables it was started with: its paths in the command
    // become the volumes' directories, as they were in its own command (ADR 084).
    const mounts = Object.entries(env)
      .filter(([name]) => /^SKIFF_MOUNT_\d+$/.test(name))
      .map(([, value]) => {
        const equals = value.indexOf('=');
        return { mountPath: value.slice(0, equals), hostPath: value.slice(equals + 1), readOnly: false };
      })
      .filter((mount) => mount.mountPath.startsWith('/') && mount.hostPath.startsWith('/'));
    // Into the pod's namespaces when it has them (ADR 136), then as its user with its view of the files (ADR 084, 085).
    const enter = this.enterPodArgv(record.pod.uid, record.cwd && existsSync(record.cwd) ? record.cwd : undefined);
    if (!enter) throw new ExecUnavailableError('the pod sandbox is gone');
    let command: string[];
    try {
      const rewritten = argv.map((arg) => rewriteMountPaths(arg, mounts));
      command = execArgv(tarNamesAsMounted(argv, rewritten, mounts), record.runAs, record.view);
    } catch (error) {
      throw new ExecUnavailableError((error as Error).message);
    }
    return spawnExec(command, { ...options, env, enter, ...(record.cwd && existsSync(record.cwd) ? { cwd: record.cwd } : {}) });
  }

  /**
   * `kubectl attach`: the container's output from now on, until it ends; with `-i`, the client's
   * input into the container's stdin FIFO when it keeps one (`stdin: true`). The FIFO is opened
   * for reading and writing, so the open never waits; closing it leaves the container's stdin open.
   */
  openAttach(id: string, options: { readonly stdin: boolean } = { stdin: false }): ExecSession {
    const record = this.runningRecord(id);
    if (!record.logPath) throw new ExecUnavailableError(`container ${record.containerName} has no output to attach to`);
    const output = attachToLog(record.logPath, () => {
      const fresh = this.records.get(id);
      return !fresh || fresh.exit !== undefined;
    });
    if (!options.stdin || !record.stdinPath || !existsSync(record.stdinPath)) return output;
    const stdin = createWriteStream(record.stdinPath, { flags: 'r+' });
    // The client's input may arrive after the container stopped reading: not an error of the session.
    stdin.on('error', () => undefined);
    void output.exited.then(() => stdin.destroy());
    return {
      ...output,
      stdin,
      kill() {
        stdin.destroy();
        output.kill();
      },
    };
  }

  /** A new FIFO for a container's stdin, the agent's own (0600): only the shim opens it for the container. */
  private makeStdin(id: string): string {
    const path = this.stdinFile(id);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    rmSync(path, { force: true });
    const made = spawnSync('mkfifo', ['-m', '600', path], { stdio: 'ignore', timeout: 5_000 });
    if (made.status !== 0) throw new ContainerConfigError('a container with stdin: true needs mkfifo (coreutils)');
    return path;
  }

  private stdinFile(id: string): string {
    return join(this.options.stateDir, 'stdin', id);
  }

  private runningRecord(id: string): ProcessRecord {
    const record = this.records.get(id);
    if (!record || record.exit || record.pid === undefined || (!this.children.has(id) && !isSameLiveProcess(record.pid, record.processIdentity))) {
      throw new ExecUnavailableError(`container not found (${record?.containerName ?? id}) or not running`);
    }
    return record;
  }

  onExit(listener: (record: ContainerRecord) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    clearInterval(this.logRotator);
    for (const child of this.children.values()) child.removeAllListeners('exit');
    this.children.clear();
    this.save();
  }

  private podLogDir(pod: ContainerRecord['pod']): string {
    return join(this.options.stateDir, 'logs', `${pod.namespace}_${pod.name}_${pod.uid}`);
  }

  private logDir(_uid: string, pod: ContainerRecord['pod'], containerName: string): string {
    return join(this.podLogDir(pod), containerName);
  }

  private exitFile(id: string): string {
    return join(this.options.stateDir, 'exits', id);
  }

  /** The code the shim recorded wins over what the shim itself exited with. */
  private exitOf(id: string, fallbackCode: number, signal?: number, message?: string): ContainerExit {
    let exitCode = fallbackCode;
    let recorded = false;
    try {
      const text = readFileSync(this.exitFile(id), 'utf8').trim();
      if (/^\d+$/.test(text)) {
        exitCode = Number(text);
        recorded = true;
      }
    } catch {
      // No file: the shim itself was killed (SIGKILL), so the fallback is the truth.
    }
    const signalNumber = recorded ? (exitCode > 128 ? exitCode - 128 : undefined) : signal;
    return {
      exitCode,
      ...(signalNumber !== undefined ? { signal: signalNumber } : {}),
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(message && !recorded ? { message } : {}),
      finishedAt: new Date().toISOString(),
    };
  }

  private finish(id: string, exit: ContainerExit): void {
    const record = this.records.get(id);
    if (!record || record.exit) return;
    const exited = { ...record, exit };
    this.records.set(id, exited);
    this.save();
    for (const waiter of this.exitWaiters.get(id) ?? []) waiter();
    this.exitWaiters.delete(id);
    for (const listener of this.listeners) listener(exited);
  }

  private waitForExit(id: string): Promise<void> {
    if (this.records.get(id)?.exit) return Promise.resolve();
    return new Promise((resolvePromise) => {
      this.exitWaiters.set(id, [...(this.exitWaiters.get(id) ?? []), resolvePromise]);
    });
  }

  /** Processes started by an earlier agent are not our children: poll them for exit. */
  private pollAdopted(): void {
    for (const record of this.records.values()) {
      if (record.exit || this.children.has(record.id) || record.pid === undefined) continue;
      if (!isSameLiveProcess(record.pid, record.processIdentity)) this.finishUnwatched(record.id);
    }
  }

  private finishUnwatched(id: string): void {
    this.finish(id, this.exitOf(id, 137, 9, 'exit status unknown: the process ended while no agent watched it'));
  }

  /**
   * Signals the container's process group. Our own child is ours for sure; a process adopted from
   * an earlier agent only if its PID still names the process that was recorded (PID reuse):
   * otherwise it is recorded as ended and nothing is signalled. False when nothing was signalled.
   */
  private signal(record: ProcessRecord, signal: NodeJS.Signals): boolean {
    const pid = record.pid;
    if (pid === undefined) return false;
    if (!this.children.has(record.id) && !isSameLiveProcess(pid, record.processIdentity)) {
      this.finishUnwatched(record.id);
      return false;
    }
    // In a pod's namespaces the group holds nsenter, which would die of SIGTERM at once and make
    // the container look finished while it still drains: a soft signal goes to the others only.
    if (this.network && signal !== 'SIGKILL') {
      for (const member of processGroupMembers(pid)) {
        if (member.comm === 'nsenter') continue;
        try {
          process.kill(member.pid, signal);
        } catch {
          // Gone meanwhile.
        }
      }
      return true;
    }
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone; the exit path records it.
      }
    }
    return true;
  }

  private save(): void {
    const temporary = `${this.statePath}.tmp`;
    writeFileSync(temporary, JSON.stringify({ containers: [...this.records.values()] }), { mode: 0o600 });
    renameSync(temporary, this.statePath);
  }
}

/** The processes of a process group, with their command names (Linux /proc). */
function processGroupMembers(group: number): { pid: number; comm: string }[] {
  const members: { pid: number; comm: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return members;
  }
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== group) continue;
      members.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // Ended while we looked.
    }
  }
  return members;
}

/** The environment a container was started with (Linux /proc); undefined elsewhere. */
function readProcessEnvironment(pid: number): Record<string, string> | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return Object.fromEntries(
      raw
        .split('\0')
        .filter(Boolean)
        .map((entry) => {
          const equals = entry.indexOf('=');
          return [entry.slice(0, equals), entry.slice(equals + 1)];
        }),
    );
  } catch {
    return undefined;
  }
}

/** Pods' directories of a node: outside its state dir (which pods must not reach), one per state dir. */
export function defaultPodsDir(stateDir: string): string {
  return join(tmpdir(), `skiff-pods-${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 16)}`);
}

/** A container run's log and its rotated copies. */
function logFilesOf(logPath: string, maxFiles: number): string[] {
  return [logPath, ...Array.from({ length: maxFiles - 1 }, (_, index) => `${logPath}.${index + 1}`)];
}

function withTimeout(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), ms);
    promise.then(() => {
      clearTimeout(timer);
      resolvePromise(true);
    });
  });
}

/**
 * Kills (SIGKILL) every container process recorded in a node's state dir. For cleaning up
 * after an agent that was itself killed: its containers outlive it by design (adoption), so
 * a test or a host that shuts the whole cluster down calls this for each node. Returns how
 * many process groups were signalled.
 */
export function killRecordedContainers(stateDir: string, podsDir = defaultPodsDir(stateDir)): number {
  // The pods' own directories (homes, emptyDirs) go with their containers: nothing is left in
  // the system's temporary directory once the node is gone (an emptyDir does not outlive the host).
  const signalled = killRecorded(stateDir);
  // The pods' sandboxes, namespaces and the node's bridge and rules (docs/adr/136).
  tearDownPodNetwork(stateDir);
  rmSync(podsDir, { recursive: true, force: true });
  return signalled;
}

function killRecorded(stateDir: string): number {
  const path = join(stateDir, 'containers.json');
  if (!existsSync(path)) return 0;
  const parsed = stateSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) return 0;
  let signalled = 0;
  for (const record of parsed.data.containers) {
    if (record.exit || record.pid === undefined || !isSameLiveProcess(record.pid, record.processIdentity)) continue;
    try {
      process.kill(-record.pid, 'SIGKILL');
      signalled += 1;
    } catch {
      // Gone between the check and the signal.
    }
  }
  return signalled;
}
