/**
 * The server side of SPDY/3.1 framing as Kubernetes' clients use it (the Go `spdystream` package
 * under client-go): streams opened by the client with SYN_STREAM and a header block, accepted
 * with an empty SYN_REPLY, DATA frames both ways, FIN to half-close, RST_STREAM to abort, PINGs
 * echoed. There is no HTTP inside (no `:method` or `:path`), and no SPDY flow control:
 * spdystream neither sends nor honours WINDOW_UPDATE, so back-pressure is the TCP connection's,
 * as with the kubelet. Header blocks are zlib-compressed with the dictionary of the SPDY/3
 * specification, one compression context per direction for the whole connection.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';

/** The SPDY/3 header compression dictionary: length-prefixed words, then a tail of common text. */
const dictionaryWords = [
  'options',
  'head',
  'post',
  'put',
  'delete',
  'trace',
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'connection',
  'content-base',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'pragma',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'warning',
  'www-authenticate',
  'method',
  'get',
  'status',
  '200 OK',
  'version',
  'HTTP/1.1',
  'url',
  'public',
  'set-cookie',
  'keep-alive',
  'origin',
];
const dictionaryTail =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const spdyDictionary: Buffer = Buffer.concat([
  ...dictionaryWords.map((word) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(word.length);
    return Buffer.concat([length, Buffer.from(word, 'latin1')]);
  }),
  Buffer.from(dictionaryTail, 'latin1'),
]);

const version = 3;
const frameType = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
const flagFin = 0x01;
/** RST_STREAM status codes. */
const refusedStream = 3;
const cancel = 5;
/** Header blocks and data frames larger than this are refused (a header block) or split (data). */
const maxHeaderBlockBytes = 64 * 1024;
const dataFrameBytes = 32 * 1024;
/** A frame longer than this ends the connection: nothing kubectl sends comes close. */
const maxFrameBytes = 1 << 20;

/** Encodes SPDY/3 name/value pairs (before compression). */
export function encodeHeaderBlock(headers: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  const entries = Object.entries(headers);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [name, value] of entries) {
    for (const text of [name.toLowerCase(), value]) {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** Decodes SPDY/3 name/value pairs; a value with NULs holds several values (joined with ", "). */
export function decodeHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let offset = 0;
  const readText = (): string => {
    if (offset + 4 > block.length) throw new Error('truncated header block');
    const length = block.readUInt32BE(offset);
    offset += 4;
    if (offset + length > block.length) throw new Error('truncated header block');
    const text = block.subarray(offset, offset + length).toString('utf8');
    offset += length;
    return text;
  };
  if (block.length < 4) throw new Error('truncated header block');
  const count = block.readUInt32BE(0);
  offset = 4;
  for (let index = 0; index < count; index++) {
    const name = readText().toLowerCase();
    headers[name] = readText().split('\0').join(', ');
  }
  return headers;
}

function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | version, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags & 0xff) << 24) | body.length, 4);
  return Buffer.concat([head, body]);
}

function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([head, data]);
}

/** Runs zlib over one header block at a time on a context kept for the whole connection. */
class HeaderCodec {
  private output: Buffer[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly zlib: Inflate | Deflate) {
    zlib.on('data', (chunk: Buffer) => this.output.push(chunk));
    zlib.on('error', () => undefined);
  }

  run(block: Buffer): Promise<Buffer> {
    const result = this.queue.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const failed = (error: Error) => reject(error);
          this.zlib.once('error', failed);
          this.zlib.write(block);
          this.zlib.flush(constants.Z_SYNC_FLUSH, () => {
            this.zlib.off('error', failed);
            const bytes = Buffer.concat(this.output);
            this.output = [];
            if (bytes.length > maxHeaderBlockBytes) reject(new Error('header block too large'));
            else resolve(bytes);
          });
        }),
    );
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.zlib.destroy();
  }
}

/** One SPDY stream: what the client sends is read from it, what is written goes to the client. */
export class SpdyStream extends Duplex {
  private remoteClosed = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    this.session.resumeReading();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.session.sendData(this.id, Buffer.alloc(0), true, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.remoteClosed || !this.writableFinished) this.session.reset(this.id, cancel);
    this.session.forget(this.id);
    callback(error);
  }

  /** Data from the client; false when the reader wants no more for now. */
  receive(data: Buffer, fin: boolean): boolean {
    let more = true;
    if (data.length > 0) more = this.push(data);
    if (fin) this.closeRemote();
    return more;
  }

  closeRemote(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.push(null);
    if (this.writableFinished) this.session.forget(this.id);
  }
}

export interface SpdySessionOptions {
  /** Streams the client may hold open at once; more are refused (RST_STREAM REFUSED_STREAM). */
  readonly maxStreams: number;
}

/**
 * A SPDY/3.1 connection on an upgraded socket (or any duplex: a WebSocket's, for tunnelled port
 * forwarding). Emits `stream` for each stream the client opens (accept it with `reply`) and
 * `close` once the connection is gone.
 */
export class SpdySession extends EventEmitter {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflater = new HeaderCodec(createInflate({ dictionary: spdyDictionary }));
  private readonly deflater = new HeaderCodec(createDeflate({ dictionary: spdyDictionary }));
  private pending: Buffer = Buffer.alloc(0);
  /** Frames are handled in order; header blocks are decompressed on the way. */
  private work: Promise<void> = Promise.resolve();
  /** Frames sent in order, SYN_REPLYs compressed on the way. */
  private outgoing: Promise<void> = Promise.resolve();
  private closed = false;
  private paused = false;

  constructor(
    private readonly socket: Duplex,
    private readonly options: SpdySessionOptions,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.once('close', () => this.shutdown());
    socket.once('end', () => this.shutdown());
    socket.on('error', () => this.shutdown());
  }

  /** Accepts a stream the client opened: an empty SYN_REPLY, as the kubelet sends. */
  reply(stream: SpdyStream): void {
    this.enqueue(async () => {
      const block = await this.deflater.run(encodeHeaderBlock({}));
      const body = Buffer.alloc(4);
      body.writeUInt32BE(stream.id & 0x7fffffff);
      this.write(controlFrame(frameType.synReply, 0, Buffer.concat([body, block])));
    });
  }

  /** Sends data (split into frames), then calls back once the socket took it (back-pressure). */
  sendData(streamId: number, data: Buffer, fin: boolean, callback: (error?: Error | null) => void): void {
    if (this.closed) {
      callback(new Error('the connection is closed'));
      return;
    }
    // Behind any SYN_REPLY still being compressed: a stream's reply always precedes its data.
    this.enqueue(async () => {
      let flushed = true;
      if (data.length === 0) flushed = this.write(dataFrame(streamId, fin ? flagFin : 0, data));
      for (let offset = 0; offset < data.length; offset += dataFrameBytes) {
        const last = offset + dataFrameBytes >= data.length;
        flushed = this.write(dataFrame(streamId, last && fin ? flagFin : 0, data.subarray(offset, offset + dataFrameBytes)));
      }
      if (flushed || this.closed) callback();
      else this.socket.once('drain', () => callback());
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.outgoing = this.outgoing.then(step).catch(() => this.destroy());
  }

  reset(streamId: number, status: number): void {
    const body = Buffer.alloc(8);
    body.writeUInt32BE(streamId & 0x7fffffff, 0);
    body.writeUInt32BE(status, 4);
    // In order with the replies and data already queued: never before the stream's SYN_REPLY.
    this.enqueue(async () => {
      this.write(controlFrame(frameType.rstStream, 0, body));
    });
  }

  forget(streamId: number): void {
    this.streams.delete(streamId);
  }

  /** A stream's reader wants more: read from the socket again. */
  resumeReading(): void {
    if (this.paused && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  destroy(): void {
    this.socket.destroy();
    this.shutdown();
  }

  /** Ends the connection after what was written has been sent. */
  end(): void {
    this.socket.end();
  }

  private write(bytes: Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams.values()) stream.destroy();
    this.streams.clear();
    this.inflater.close();
    this.deflater.close();
    this.emit('close');
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const length = this.pending.readUInt32BE(4) & 0xffffff;
      if (length > maxFrameBytes) {
        this.destroy();
        return;
      }
      if (this.pending.length < 8 + length) break;
      const frame = this.pending.subarray(0, 8 + length);
      this.pending = this.pending.subarray(8 + length);
      this.work = this.work.then(() => this.handleFrame(frame)).catch(() => this.destroy());
    }
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = frame[4]!;
    const body = frame.subarray(8);
    if ((frame[0]! & 0x80) === 0) {
      const stream = this.streams.get(frame.readUInt32BE(0) & 0x7fffffff);
      if (!stream) return;
      // Back-pressure: a reader that is full stops the socket until it reads again.
      if (!stream.receive(Buffer.from(body), (flags & flagFin) !== 0) && !this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    const type = frame.readUInt16BE(2);
    switch (type) {
      case frameType.synStream: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflater.run(body.subarray(10)));
        if (this.streams.size >= this.options.maxStreams || this.streams.has(id) || id % 2 === 0) {
          this.reset(id, refusedStream);
          return;
        }
        const stream = new SpdyStream(this, id, headers);
        this.streams.set(id, stream);
        this.emit('stream', stream);
        if ((flags & flagFin) !== 0) stream.closeRemote();
        return;
      }
      case frameType.headers:
        // Keeps the compression context in step; the headers themselves mean nothing here.
        await this.inflater.run(body.subarray(4));
        return;
      case frameType.rstStream: {
        const stream = this.streams.get(body.readUInt32BE(0) & 0x7fffffff);
        this.streams.delete(body.readUInt32BE(0) & 0x7fffffff);
        stream?.destroy();
        return;
      }
      case frameType.ping:
        // The client's pings (odd ids) come back unchanged.
        if ((body.readUInt32BE(0) & 1) === 1) this.write(controlFrame(frameType.ping, 0, Buffer.from(body)));
        return;
      case frameType.goAway:
        this.end();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, and SYN_REPLY (we never open streams): nothing to do.
        return;
    }
  }
}
