/**
 * The agent's streaming endpoints (`/exec`, `/attach`, `/portForward`) with real processes and a
 * real `ws` client speaking the channel protocol, plus a SPDY/3.1 client written against the
 * framing: authentication, protocol negotiation, exit codes, stdin's end, bounds.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { constants, createDeflate, createInflate } from 'node:zlib';
import WebSocket from 'ws';
import { type KubeletServer, startKubeletServer } from '../../../node-agent/kubelet-server.ts';
import { spawnExec } from '../../../node-agent/runtime/process-exec.ts';
import { ExecUnavailableError } from '../../../node-agent/runtime/runtime.ts';
import { encodeHeaderBlock, spdyDictionary } from '../../../node-agent/streaming/spdy-framing.ts';
import { StreamTargetError } from '../../../node-agent/streaming/streaming-server.ts';
import { waitFor } from '../../support/wait.ts';

const token = 'node-token';
let server: KubeletServer;
let idleServer: KubeletServer;
let echo: Server;
let echoPort: number;

before(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
  echoPort = (echo.address() as AddressInfo).port;
  const targets = {
    container(namespace: string, pod: string, container: string) {
      if (namespace !== 'default' || pod !== 'p') throw new StreamTargetError(404, `pod "${pod}" in namespace "${namespace}" is not on this node`);
      if (container !== 'c') throw new StreamTargetError(400, `container ${container} is not valid for pod ${pod}`);
      return {
        exec: (argv: readonly string[], options: { tty: boolean; stdin: boolean }) =>
          spawnExec(argv, { ...options, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }),
        attach: () => {
          throw new ExecUnavailableError('nothing to attach to');
        },
      };
    },
    podAddress: () => '127.0.0.1',
  };
  server = await startKubeletServer({
    address: '127.0.0.1',
    port: 0,
    token,
    logs: { find: () => undefined },
    streaming: targets,
    streamingLimits: { maxSessions: 2 },
  });
  idleServer = await startKubeletServer({
    address: '127.0.0.1',
    port: 0,
    logs: { find: () => undefined },
    streaming: targets,
    streamingLimits: { idleTimeoutMs: 300 },
  });
});

after(async () => {
  await server.close();
  await idleServer.close();
  await new Promise((resolve) => echo.close(resolve));
});

interface ChannelRun {
  readonly opened: boolean;
  readonly status?: number;
  readonly body?: string;
  readonly channels: Map<number, Buffer>;
  readonly protocol?: string;
}

/** Runs one WebSocket session to its end: what each channel carried. */
function websocketSession(
  path: string,
  options: { protocols?: string[]; auth?: string; input?: Buffer[]; closeStdin?: boolean; port?: number } = {},
): Promise<ChannelRun> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${options.port ?? server.port}${path}`, options.protocols ?? ['v5.channel.k8s.io'], {
      headers: options.auth === '' ? {} : { authorization: `Bearer ${options.auth ?? token}` },
    });
    const channels = new Map<number, Buffer>();
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ opened: false, status: response.statusCode ?? 0, body, channels }));
    });
    ws.on('open', () => {
      for (const piece of options.input ?? []) ws.send(Buffer.concat([Buffer.of(0), piece]));
      if (options.closeStdin) ws.send(Buffer.of(255, 0));
    });
    ws.on('message', (data: Buffer) => {
      const channel = data[0]!;
      channels.set(channel, Buffer.concat([channels.get(channel) ?? Buffer.alloc(0), data.subarray(1)]));
    });
    ws.on('close', () => resolve({ opened: true, channels, protocol: ws.protocol }));
    ws.on('error', () => undefined);
  });
}

const execPath = (command: string[], flags = 'stdout=true&stderr=true') =>
  `/exec/default/p/c?${command.map((c) => `command=${encodeURIComponent(c)}`).join('&')}&${flags}`;

describe('agent streaming over WebSocket (v5.channel.k8s.io)', () => {
  it('runs a command, output on its channels, the exit code as a Status on the error channel', async () => {
    const run = await websocketSession(execPath(['sh', '-c', 'echo out; echo err >&2; exit 3']));
    assert.equal(run.protocol, 'v5.channel.k8s.io');
    assert.equal(run.channels.get(1)?.toString(), 'out\n');
    assert.equal(run.channels.get(2)?.toString(), 'err\n');
    assert.deepEqual(JSON.parse(run.channels.get(3)?.toString() ?? '{}'), {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });

  it('says Success for exit code 0', async () => {
    const run = await websocketSession(execPath(['true']));
    assert.deepEqual(JSON.parse(run.channels.get(3)?.toString() ?? '{}'), { metadata: {}, status: 'Success' });
  });

  it('feeds stdin and ends it on the v5 close signal', async () => {
    const input = [Buffer.from('a'.repeat(70_000)), Buffer.from('b\n')];
    const run = await websocketSession(execPath(['wc', '-c'], 'stdin=true&stdout=true&stderr=true'), { input, closeStdin: true });
    assert.equal(run.channels.get(1)?.toString().trim(), '70002');
  });

  it('speaks v4 with a client that offers only v4', async () => {
    const run = await websocketSession(execPath(['echo', 'four']), { protocols: ['v4.channel.k8s.io'] });
    assert.equal(run.protocol, 'v4.channel.k8s.io');
    assert.equal(run.channels.get(1)?.toString(), 'four\n');
  });

  it('refuses a protocol it does not speak with 400, so kubectl falls back to SPDY', async () => {
    const run = await websocketSession(execPath(['true']), { protocols: ['v3.channel.k8s.io'] });
    assert.equal(run.opened, false);
    assert.equal(run.status, 400);
  });

  it('refuses an upgrade without the node token (401), an unknown pod (404), a bad container (400), no command (400)', async () => {
    assert.equal((await websocketSession(execPath(['true']), { auth: 'wrong' })).status, 401);
    assert.equal((await websocketSession(execPath(['true']), { auth: '' })).status, 401);
    const missing = await websocketSession('/exec/default/nope/c?command=true&stdout=true');
    assert.equal(missing.status, 404);
    assert.match(missing.body ?? '', /pod "nope" in namespace "default" is not on this node/);
    assert.equal((await websocketSession('/exec/default/p/other?command=true&stdout=true')).status, 400);
    const noCommand = await websocketSession('/exec/default/p/c?stdout=true');
    assert.equal(noCommand.status, 400);
    assert.match(noCommand.body ?? '', /at least 1 command/);
  });

  it('ends the session with a Failure Status when the command cannot start', async () => {
    const run = await websocketSession('/attach/default/p/c?stdout=true');
    const status = JSON.parse(run.channels.get(3)?.toString() ?? '{}') as { status?: string; message?: string };
    assert.equal(status.status, 'Failure');
    assert.match(status.message ?? '', /nothing to attach to/);
  });

  it('gives a terminal (tty) whose size follows the resize channel', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${execPath(['sh'], 'stdin=true&stdout=true&tty=true')}`, ['v5.channel.k8s.io'], {
      headers: { authorization: `Bearer ${token}` },
    });
    let output = '';
    ws.on('message', (data: Buffer) => {
      if (data[0] === 1) output += data.subarray(1).toString();
    });
    await new Promise((resolve) => ws.once('open', resolve));
    try {
      ws.send(Buffer.concat([Buffer.of(4), Buffer.from('{"Width":101,"Height":33}')]));
      // Asked again until the size has reached the terminal (it is set once the shell has one).
      await waitFor(
        'the terminal to have the size sent',
        () => {
          if (/33 101/.test(output)) return true;
          ws.send(Buffer.concat([Buffer.of(0), Buffer.from('stty size\n')]));
          return false;
        },
        { intervalMs: 200 },
      );
      ws.send(Buffer.concat([Buffer.of(0), Buffer.from('tty\n')]));
      await waitFor('the shell to name its terminal', () => /\/dev\/pts\/\d+/.test(output));
    } finally {
      ws.terminate();
    }
  });

  it('kills the command when the client goes away', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${execPath(['sh', '-c', 'echo $$; exec sleep 60'])}`, ['v5.channel.k8s.io'], {
      headers: { authorization: `Bearer ${token}` },
    });
    let output = '';
    ws.on('message', (data: Buffer) => {
      if (data[0] === 1) output += data.subarray(1).toString();
    });
    const pid = Number(await waitFor('the command to say its pid', () => /^\d+\n/.exec(output)?.[0]));
    assert.doesNotThrow(() => process.kill(pid, 0));
    ws.terminate();
    await waitFor('the command to be gone', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  it('holds at most maxSessions at once and answers 429 beyond', async () => {
    const sessions = [0, 1].map(
      () =>
        new Promise<WebSocket>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${server.port}${execPath(['sleep', '30'])}`, ['v5.channel.k8s.io'], {
            headers: { authorization: `Bearer ${token}` },
          });
          ws.on('open', () => resolve(ws));
        }),
    );
    const open = await Promise.all(sessions);
    try {
      const third = await websocketSession(execPath(['true']));
      assert.equal(third.status, 429);
    } finally {
      for (const ws of open) ws.terminate();
    }
    // The slots come back once the killed sessions' sockets have closed.
    await waitFor('a session slot to be free again', async () => (await websocketSession(execPath(['true']))).opened);
  });

  it('closes a session with no traffic for the idle timeout', async () => {
    const started = Date.now();
    const run = await websocketSession(execPath(['sleep', '30']), { port: idleServer.port, auth: '' });
    assert.equal(run.opened, true);
    assert.ok(Date.now() - started < 10_000, 'closed long before the command would have ended');
  });
});

/** A minimal SPDY/3 client: enough frames to open streams, send, read, as kubectl does. */
class SpdyTestClient {
  private readonly deflate = createDeflate({ dictionary: spdyDictionary });
  private readonly inflate = createInflate({ dictionary: spdyDictionary });
  private pending = Buffer.alloc(0);
  readonly data = new Map<number, Buffer>();
  readonly finished = new Set<number>();
  readonly replies = new Set<number>();
  readonly resets = new Set<number>();
  readonly pings: number[] = [];
  private nextId = 1;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 8) {
        const length = this.pending.readUInt32BE(4) & 0xffffff;
        if (this.pending.length < 8 + length) break;
        const frame = this.pending.subarray(0, 8 + length);
        this.pending = this.pending.subarray(8 + length);
        this.onFrame(frame);
      }
    });
  }

  private onFrame(frame: Buffer): void {
    const fin = (frame[4]! & 1) === 1;
    if ((frame[0]! & 0x80) === 0) {
      const id = frame.readUInt32BE(0);
      this.data.set(id, Buffer.concat([this.data.get(id) ?? Buffer.alloc(0), frame.subarray(8)]));
      if (fin) this.finished.add(id);
      return;
    }
    const type = frame.readUInt16BE(2);
    if (type === 2) {
      this.replies.add(frame.readUInt32BE(8) & 0x7fffffff);
      // Keeps the inflate context in step, as a real client must.
      this.inflate.write(frame.subarray(12));
    }
    if (type === 3) this.resets.add(frame.readUInt32BE(8) & 0x7fffffff);
    if (type === 6) this.pings.push(frame.readUInt32BE(8));
  }

  private compress(headers: Record<string, string>): Promise<Buffer> {
    return new Promise((resolve) => {
      const parts: Buffer[] = [];
      const collect = (chunk: Buffer) => parts.push(chunk);
      this.deflate.on('data', collect);
      this.deflate.write(encodeHeaderBlock(headers));
      this.deflate.flush(constants.Z_SYNC_FLUSH, () => {
        this.deflate.off('data', collect);
        resolve(Buffer.concat(parts));
      });
    });
  }

  async open(headers: Record<string, string>, fin = false): Promise<number> {
    const id = this.nextId;
    this.nextId += 2;
    const block = await this.compress(headers);
    const body = Buffer.alloc(10);
    body.writeUInt32BE(id, 0);
    this.control(1, fin ? 1 : 0, Buffer.concat([body, block]));
    return id;
  }

  control(type: number, flags: number, body: Buffer): void {
    const head = Buffer.alloc(8);
    head.writeUInt16BE(0x8003, 0);
    head.writeUInt16BE(type, 2);
    head.writeUInt32BE((flags << 24) | body.length, 4);
    this.socket.write(Buffer.concat([head, body]));
  }

  send(id: number, data: Buffer, fin = false): void {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(id, 0);
    head.writeUInt32BE(((fin ? 1 : 0) << 24) | data.length, 4);
    this.socket.write(Buffer.concat([head, data]));
  }

  ping(id: number): void {
    const body = Buffer.alloc(4);
    body.writeUInt32BE(id);
    this.control(6, 0, body);
  }
}

/** Upgrades a raw connection to SPDY/3.1 as kubectl's POST does. */
async function spdyUpgrade(path: string, protocol: string): Promise<{ client: SpdyTestClient; headers: string }> {
  const socket = connect(server.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: kubelet\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\nContent-Length: 0\r\n\r\n`,
  );
  const headers = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const rest = Buffer.from(text.slice(end + 4), 'latin1');
      if (rest.length > 0) socket.unshift(rest);
      resolve(text.slice(0, end));
    };
    socket.on('data', onData);
  });
  return { client: new SpdyTestClient(socket), headers };
}

describe('agent streaming over SPDY/3.1', () => {
  it('runs exec over streams named by streamtype, answers pings, ends with the Status', async () => {
    const { client, headers } = await spdyUpgrade(execPath(['sh', '-c', 'cat; exit 4'], 'stdin=true&stdout=true&stderr=true'), 'v4.channel.k8s.io');
    assert.match(headers, /^HTTP\/1.1 101/);
    assert.match(headers, /X-Stream-Protocol-Version: v4.channel.k8s.io/);
    const error = await client.open({ streamtype: 'error' });
    const stdin = await client.open({ streamtype: 'stdin' });
    const stdout = await client.open({ streamtype: 'stdout' }, true);
    await client.open({ streamtype: 'stderr' }, true);
    client.ping(1);
    await waitFor('the replies', () => client.replies.size === 4 && client.pings.includes(1));
    client.send(stdin, Buffer.from('x'.repeat(100_000)), true);
    await waitFor('the command to end', () => client.finished.has(error) && client.finished.has(stdout));
    assert.equal(client.data.get(stdout)?.length, 100_000);
    assert.equal(JSON.parse(client.data.get(error)?.toString() ?? '{}').details.causes[0].message, '4');
    client.socket.destroy();
  });

  it('ends a connection that announces a frame beyond its limit, and resets a stream type it does not know', async () => {
    const { client } = await spdyUpgrade('/portForward/default/p', 'portforward.k8s.io');
    const unknown = await client.open({ streamtype: 'bogus', port: String(echoPort), requestid: '9' });
    await waitFor('the reset of the unknown stream', () => client.resets.has(unknown));
    const closed = new Promise<void>((resolve) => client.socket.once('close', () => resolve()));
    const head = Buffer.alloc(8);
    head.writeUInt32BE(1, 0);
    head.writeUInt32BE(2 << 20, 4);
    client.socket.write(head);
    await closed;
  });

  it('forwards each data stream to the pod port, errors on the paired error stream', async () => {
    const { client } = await spdyUpgrade('/portForward/default/p', 'portforward.k8s.io');
    const error = await client.open({ streamtype: 'error', port: String(echoPort), requestid: '0' });
    const data = await client.open({ streamtype: 'data', port: String(echoPort), requestid: '0' });
    client.send(data, Buffer.from('hello through the pod port'));
    await waitFor('the echo', () => client.data.get(data)?.toString() === 'hello through the pod port');
    // A port nothing listens on: the error stream says why.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const error2 = await client.open({ streamtype: 'error', port: String(closedPort), requestid: '1' });
    await client.open({ streamtype: 'data', port: String(closedPort), requestid: '1' });
    await waitFor('the dial error', () => /error forwarding port \d+ to pod default\/p.*ECONNREFUSED/.test(client.data.get(error2)?.toString() ?? ''));
    assert.equal(client.data.get(error)?.toString() ?? '', '');
    client.socket.destroy();
  });
});
