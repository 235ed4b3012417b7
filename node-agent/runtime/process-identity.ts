/**
 * Telling a container's process from another that got its PID later. A PID names a process
 * only while it lives: after it exits (or after a reboot, whose state dir says nothing true
 * about running processes) the number is handed out again, and signalling it would hit a
 * stranger's process group. Linux gives each process a start time (field 22 of
 * `/proc/<pid>/stat`, in clock ticks since boot) and each boot an id; the pair is recorded when
 * a container starts and must match before its PID is trusted.
 */
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  readonly bootId: string;
  /** Start time in clock ticks since boot, as /proc writes it. */
  readonly startTicks: string;
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The `/proc/<pid>/stat` fields after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The identity of a running process; undefined when it is gone or this is not Linux. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  const fields = statFields(pid);
  const boot = bootId();
  // Fields after the name start at field 3 (state): field 22, starttime, is index 19.
  const startTicks = fields?.[19];
  return fields && boot && startTicks ? { bootId: boot, startTicks } : undefined;
}

function signalZeroAnswers(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `pid` is still the process that was recorded (and not a zombie). Without a recorded
 * identity (records of an older agent) or without /proc, only whether the PID answers.
 */
export function isSameLiveProcess(pid: number, recorded: ProcessIdentity | undefined): boolean {
  const canTell = bootId() !== undefined;
  if (!recorded || !canTell) {
    // A zombie still answers signal 0; /proc, where there is one, tells it apart.
    return signalZeroAnswers(pid) && statFields(pid)?.[0] !== 'Z';
  }
  const fields = statFields(pid);
  if (!fields || fields[0] === 'Z') return false;
  const current = processIdentity(pid);
  return current !== undefined && current.bootId === recorded.bootId && current.startTicks === recorded.startTicks;
}
