/**
 * Kubernetes' remote command protocol (`kubectl exec` and `kubectl attach`) apart from its
 * transports: the channels a client asked for, the status the error channel carries at the end
 * (kubectl turns a failure with an `ExitCode` cause into `command terminated with exit code N`
 * and exits with N), and the wiring between the channels and a runtime's exec session, with
 * back-pressure both ways.
 */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExecSession } from '../runtime/runtime.ts';

/** Channel protocols of `exec` and `attach`, newest first; v4 and v5 carry the exit code as a Status. */
export const remoteCommandV5 = 'v5.channel.k8s.io';
export const remoteCommandV4 = 'v4.channel.k8s.io';
/** Port forwarding's protocol over SPDY, and SPDY tunnelled in a WebSocket (kubectl 1.31 on). */
export const portForwardProtocol = 'portforward.k8s.io';
export const tunnelledPortForwardProtocol = 'SPDY/3.1+portforward.k8s.io';

/** What the client asked for: the exec/attach query of kube-apiserver (`stdin`, `stdout`, `stderr`, `tty`). */
export interface StreamRequest {
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
}

export function streamRequestOf(query: URLSearchParams): StreamRequest {
  const flag = (name: string) => ['true', '1'].includes(query.get(name) ?? '');
  const tty = flag('tty');
  // With a terminal there is no separate stderr: the terminal merges it into stdout.
  return { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr') && !tty, tty };
}

/** The channels of one exec or attach session, whatever carries them. */
export interface CommandChannels {
  /** The client's input; ends when the client closes it. */
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** Terminal sizes as the client sends them. */
  onResize(listener: (size: { width: number; height: number }) => void): void;
  /** Writes the final Status on the error channel and closes the session. */
  finish(status: object): Promise<void>;
  /** Resolves when the client is gone (or the session was finished). */
  readonly closed: Promise<void>;
}

/** The Status the kubelet writes at the end of a command: kubectl reads the exit code from its causes. */
export function exitStatus(exitCode: number): object {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** A Status for a session that could not run (the command could not be started). */
export function failureStatus(message: string): object {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

/** Sizes a terminal resize message may carry (`{"Width":80,"Height":24}`). */
export function parseResize(text: string): { width: number; height: number } | undefined {
  try {
    const value = JSON.parse(text) as { Width?: unknown; Height?: unknown };
    const width = Number(value.Width);
    const height = Number(value.Height);
    if (Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && width < 65536 && height < 65536) return { width, height };
  } catch {
    // Not a size: ignored, as the kubelet ignores a resize it cannot decode.
  }
  return undefined;
}

/**
 * Runs a session over its channels: input to the command, output to the client, each stream
 * paced by the slower side; at the end the exit status. The client leaving kills the command.
 */
export async function serveCommand(channels: CommandChannels, session: ExecSession): Promise<void> {
  let clientGone = false;
  void channels.closed.then(() => {
    clientGone = true;
    session.kill();
  });
  channels.onResize((size) => session.resize(size.width, size.height));
  if (channels.stdin && session.stdin) {
    // Input ends when the client closes it; the command may stop reading before that.
    void pipeline(channels.stdin, session.stdin).catch(() => undefined);
  } else channels.stdin?.resume();
  const copy = async (from: Readable | undefined, to: Writable | undefined) => {
    if (!from) return;
    if (!to) {
      from.resume();
      await once(from, 'end').catch(() => undefined);
      return;
    }
    await pipeline(from, to).catch(() => undefined);
  };
  const [exitCode] = await Promise.all([session.exited, copy(session.stdout, channels.stdout), copy(session.stderr, channels.stderr)]);
  if (clientGone) return;
  await channels.finish(exitStatus(exitCode));
}
