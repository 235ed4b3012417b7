/**
 * `kubectl exec` and `kubectl attach` for the process runtime: a command started beside the
 * container's process, with its streams, and the container's own output followed from its log.
 * A terminal (`-t`) comes from util-linux `script`, which runs the command on a pseudo-terminal
 * of its own; its size is set on that terminal with `stty`, so the command gets SIGWINCH as it
 * would in a container.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants } from 'node:os';
import { Readable } from 'node:stream';
import { currentHost, launchArgv, type PodView, type RunAs } from './process-isolation.ts';
import { type ExecSession, type ExecStreamOptions, ExecUnavailableError } from './runtime.ts';

export const scriptPath = ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path));

/** The argv that runs `argv` as the container's user with its view of the files (as its probes run). */
export function execArgv(argv: readonly string[], runAs: RunAs | undefined, view?: PodView): string[] {
  if (argv.length === 0) throw new ExecUnavailableError('no command given');
  return runAs ? launchArgv(argv, runAs, currentHost(), view) : [...argv];
}

/**
 * `kubectl cp` out of a pod runs `tar cf - <path>`; a path under a volume was rewritten to the
 * volume's directory, so tar would name the files by that directory and kubectl would refuse
 * them ("tar contents corrupted"). GNU tar's `--transform` names them by the path the pod sees.
 * Only for `tar` commands whose arguments were rewritten; appended after the other arguments
 * (GNU tar takes options anywhere, and an old-style first argument such as `cf` must stay first).
 */
export function tarNamesAsMounted(
  original: readonly string[],
  rewritten: readonly string[],
  mounts: readonly { mountPath: string; hostPath: string }[],
): string[] {
  const program = original[0]?.split('/').pop();
  if (program !== 'tar' || original.every((arg, index) => arg === rewritten[index])) return [...rewritten];
  const asPattern = (path: string) => path.replace(/^\/+/, '').replace(/[\\.*^$[\]]/g, (char) => `\\${char}`);
  const transforms = mounts
    .filter((mount) => !mount.mountPath.includes(',') && !mount.hostPath.includes(','))
    .map(
      (mount) =>
        `--transform=s,^${asPattern(mount.hostPath.replace(/\/+$/, ''))},${mount.mountPath
          .replace(/^\/+/, '')
          .replace(/\/+$/, '')
          .replace(/[\\&]/g, (char) => `\\${char}`)},`,
    );
  return [...rewritten, ...transforms];
}

/** Quotes one word for `sh -c`. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

export interface SpawnExecOptions extends ExecStreamOptions {
  readonly env: Readonly<Record<string, string>>;
  /** The working directory, where the command runs. */
  readonly cwd?: string;
  /**
   * What enters the pod's namespaces (nsenter) before anything else: the terminal is made in
   * there too, so the shell's process group and its terminal are in one PID namespace, and the
   * working directory is changed to in there, where its path resolves.
   */
  readonly enter?: readonly string[];
}

export function spawnExec(command: readonly string[], options: SpawnExecOptions): ExecSession {
  const enter = options.enter ?? [];
  // In a pod's namespaces the directory is changed to inside them; on the host spawn does it.
  const inside = enter.length > 0 && options.cwd !== undefined;
  const spawnCwd = inside ? {} : options.cwd ? { cwd: options.cwd } : {};
  let child: ChildProcess;
  if (options.tty) {
    if (!scriptPath) throw new ExecUnavailableError('a terminal needs util-linux script (apt-get install bsdutils)');
    const line = `${inside ? `cd -- ${shellQuote(options.cwd!)} 2>/dev/null; ` : ''}exec ${command.map(shellQuote).join(' ')}`;
    // -E never: the terminal itself echoes what is typed, as a container's does; -e: its exit code.
    const [program, ...args] = [...enter, scriptPath, '-q', '-E', 'never', '-e', '-c', line, '/dev/null'] as unknown as [string, ...string[]];
    child = spawn(program, args, {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...options.env, TERM: options.env.TERM ?? 'xterm' },
      ...spawnCwd,
      detached: true,
    });
  } else {
    const wrapped = inside ? ['/bin/sh', '-c', 'cd -- "$1" 2>/dev/null; shift; exec "$@"', 'skiff-exec', options.cwd!, ...command] : command;
    const [program, ...args] = [...enter, ...wrapped] as [string, ...string[]];
    child = spawn(program, args, {
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: options.env,
      ...spawnCwd,
      detached: true,
    });
  }
  const exited = new Promise<number>((resolve) => {
    child.once('error', () => resolve(126));
    // 'close': the process ended and its output has been read to the end.
    child.once('close', (code, signal) => {
      const signalNumber = signal ? constants.signals[signal] : undefined;
      resolve(code ?? (signalNumber !== undefined ? 128 + signalNumber : 1));
    });
  });
  // The client's input may arrive after the command stopped reading: not an error of the session.
  child.stdin?.on('error', () => undefined);
  let pendingSize: { width: number; height: number } | undefined;
  let resizing = false;
  const applySize = async (): Promise<void> => {
    if (resizing) return;
    resizing = true;
    try {
      for (let attempt = 0; attempt < 40 && pendingSize && child.exitCode === null; attempt++) {
        const terminal = child.pid !== undefined ? terminalOfChild(child.pid) : undefined;
        if (!terminal) {
          await new Promise((resolve) => setTimeout(resolve, 25));
          continue;
        }
        const { width, height } = pendingSize;
        pendingSize = undefined;
        await new Promise<void>((resolve) => execFile('stty', ['-F', terminal, 'rows', String(height), 'cols', String(width)], () => resolve()));
      }
    } finally {
      resizing = false;
    }
  };
  return {
    stdin: options.stdin || options.tty ? (child.stdin ?? undefined) : undefined,
    stdout: child.stdout!,
    stderr: options.tty ? undefined : (child.stderr ?? undefined),
    resize(width, height) {
      if (!options.tty || width <= 0 || height <= 0) return;
      pendingSize = { width, height };
      void applySize();
    },
    exited,
    kill() {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}

/**
 * The pseudo-terminal `script` made for its command: the stdin of the first process below
 * `pid` (nsenter, script, the shell) that reads from one, as /proc names it, which opens the
 * same terminal whatever namespaces the process is in.
 */
function terminalOfChild(pid: number): string | undefined {
  let generation = [String(pid)];
  for (let depth = 0; depth < 4 && generation.length > 0; depth++) {
    const next: string[] = [];
    for (const member of generation) {
      try {
        if (depth > 0 && readlinkSync(`/proc/${member}/fd/0`).startsWith('/dev/pts/')) return `/proc/${member}/fd/0`;
        next.push(...readFileSync(`/proc/${member}/task/${member}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
      } catch {
        // Gone, or not started yet.
      }
    }
    generation = next;
  }
  return undefined;
}

/**
 * The container's output from the end of its log on, as it is written, until `ended()` says the
 * container has stopped and nothing more is left to read. Read in chunks on demand: a slow
 * client holds the reading back.
 */
export function attachToLog(logPath: string, ended: () => boolean, pollMs = 100): ExecSession {
  const controller = new AbortController();
  let finish: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    finish = resolve;
  });
  // The session starts now, not when its output is first read: a line the container writes in
  // answer to input sent right after attaching must not fall before the starting point.
  const startsAt = existsSync(logPath) ? statSync(logPath).size : 0;
  async function* follow(): AsyncGenerator<Buffer> {
    const handle = await open(logPath, 'r');
    try {
      let offset = startsAt;
      const buffer = Buffer.alloc(64 * 1024);
      while (!controller.signal.aborted) {
        const size = (await handle.stat()).size;
        // A rotated (truncated) log starts again at its beginning.
        if (size < offset) offset = 0;
        if (size > offset) {
          const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - offset), offset);
          offset += bytesRead;
          if (bytesRead > 0) yield Buffer.from(buffer.subarray(0, bytesRead));
          continue;
        }
        if (ended()) break;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    } finally {
      await handle.close();
      finish(0);
    }
  }
  const stdout = Readable.from(follow(), { objectMode: false });
  return {
    stdin: undefined,
    stdout,
    stderr: undefined,
    resize: () => undefined,
    exited,
    kill() {
      controller.abort();
      stdout.destroy();
      finish(0);
    },
  };
}
