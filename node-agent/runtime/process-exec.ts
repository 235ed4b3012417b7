/**
 * `kubectl exec` and `kubectl attach` for the process runtime: a command started beside the
 * container's process, with its streams, and the container's own output followed from its log.
 * A terminal (`-t`) comes from util-linux `script`, which runs the command on a pseudo-terminal
 * of its own; its size is set on that terminal with `stty`, so the command gets SIGWINCH as it
 * would in a container.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants } from 'node:os';
import { Readable } from 'node:stream';
import { currentHost, launchArgv, type PodView, type RunAs } from './process-isolation.ts';
import { type ExecSession, type ExecStreamOptions, ExecUnavailableError } from './runtime.ts';

const scriptPath = ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path));

/** The argv that runs `argv` as the container's user with its view of the files (as its probes run). */
export function execArgv(argv: readonly string[], runAs: RunAs | undefined, view?: PodView): string[] {
  if (argv.length === 0) throw new ExecUnavailableError('no command given');
  return runAs ? launchArgv(argv, runAs, currentHost(), view) : [...argv];
}

/** Quotes one word for `sh -c`. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

export interface SpawnExecOptions extends ExecStreamOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export function spawnExec(command: readonly string[], options: SpawnExecOptions): ExecSession {
  const [program, ...args] = command as [string, ...string[]];
  let child: ChildProcess;
  if (options.tty) {
    if (!scriptPath) throw new ExecUnavailableError('a terminal needs util-linux script (apt-get install bsdutils)');
    // -E never: the terminal itself echoes what is typed, as a container's does; -e: its exit code.
    child = spawn(scriptPath, ['-q', '-E', 'never', '-e', '-c', command.map(shellQuote).join(' '), '/dev/null'], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...options.env, TERM: options.env.TERM ?? 'xterm' },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      detached: true,
    });
  } else {
    child = spawn(program, args, {
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: options.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
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

/** The pseudo-terminal `script` made for its command: the command's stdin. */
function terminalOfChild(scriptPid: number): string | undefined {
  try {
    const children = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const pid of children) {
      const target = readlinkSync(`/proc/${pid}/fd/0`);
      if (target.startsWith('/dev/pts/')) return target;
    }
  } catch {
    // Not started yet, or already gone.
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
  async function* follow(): AsyncGenerator<Buffer> {
    const handle = await open(logPath, 'r');
    try {
      let offset = (await handle.stat()).size;
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
