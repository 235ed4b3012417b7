/**
 * The remote command channels over one WebSocket (`v4.channel.k8s.io`, `v5.channel.k8s.io`), as
 * kubectl 1.30 and later speak them: every binary message starts with its channel's number —
 * 0 stdin, 1 stdout, 2 stderr, 3 the error channel (the final Status), 4 terminal resizes — and
 * v5 adds 255, with which the client says it closed a channel (its stdin).
 */
import { Readable, Writable } from 'node:stream';
import type WebSocket from 'ws';
import { type CommandChannels, parseResize, remoteCommandV5, type StreamRequest } from './remote-command.ts';

const stdinChannel = 0;
const stdoutChannel = 1;
const stderrChannel = 2;
const errorChannel = 3;
const resizeChannel = 4;
const closeChannel = 255;

export function websocketChannels(ws: WebSocket, request: StreamRequest, protocol: string): CommandChannels {
  const resizeListeners: ((size: { width: number; height: number }) => void)[] = [];
  let finished = false;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const stdin = request.stdin
    ? new Readable({
        read() {
          // The consumer wants more: let the socket deliver again.
          ws.resume();
        },
      })
    : undefined;
  ws.on('message', (data, isBinary) => {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (!isBinary || bytes.length === 0) return;
    const channel = bytes[0];
    const payload = bytes.subarray(1);
    if (channel === stdinChannel && stdin && !stdin.readableEnded) {
      // Back-pressure: no more frames are read from the socket until the command takes this.
      if (!stdin.push(Buffer.from(payload))) ws.pause();
    } else if (channel === resizeChannel) {
      const size = parseResize(payload.toString('utf8'));
      if (size) for (const listener of resizeListeners) listener(size);
    } else if (channel === closeChannel && protocol === remoteCommandV5 && payload[0] === stdinChannel) {
      stdin?.push(null);
    }
  });
  void closed.then(() => {
    if (stdin && !stdin.readableEnded) stdin.push(null);
  });
  const send = (channel: number, chunk: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      if (ws.readyState !== ws.OPEN) return reject(new Error('the client is gone'));
      ws.send(Buffer.concat([Buffer.of(channel), chunk]), { binary: true }, (error) => (error ? reject(error) : resolve()));
    });
  const output = (channel: number) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        // Sent in pieces of at most 32 KiB; the callback (more from the command) waits for the socket.
        const pieces: Buffer[] = [];
        for (let offset = 0; offset < chunk.length; offset += 32 * 1024) pieces.push(chunk.subarray(offset, offset + 32 * 1024));
        pieces.reduce((previous, piece) => previous.then(() => send(channel, piece)), Promise.resolve()).then(() => callback(), callback);
      },
    });
  return {
    ...(stdin ? { stdin } : {}),
    ...(request.stdout ? { stdout: output(stdoutChannel) } : {}),
    ...(request.stderr ? { stderr: output(stderrChannel) } : {}),
    onResize: (listener) => resizeListeners.push(listener),
    async finish(status) {
      if (finished) return;
      finished = true;
      await send(errorChannel, Buffer.from(JSON.stringify(status))).catch(() => undefined);
      ws.close(1000);
    },
    closed,
  };
}
