/**
 * A stand-in for the Lambda Node.js runtime's response streaming globals, installed before
 * `functions/lambda/api-handler.ts` loads. Like the runtime, `HttpResponseStream.from` writes the
 * JSON prelude and the 8-byte delimiter just before the first write to the stream.
 */
import { Writable } from 'node:stream';

export type StreamEvent =
  | { readonly kind: 'prelude'; readonly prelude: Record<string, unknown> }
  | { readonly kind: 'chunk'; readonly text: string }
  | { readonly kind: 'end' };

export class FakeResponseStream extends Writable {
  readonly events: StreamEvent[] = [];
  contentType: string | undefined;
  onBeforeFirstWrite: (() => void) | undefined;

  setContentType(contentType: string): void {
    this.contentType = contentType;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.onBeforeFirstWrite) {
      const prelude = this.onBeforeFirstWrite;
      this.onBeforeFirstWrite = undefined;
      prelude();
    }
    if (chunk.length > 0) this.events.push({ kind: 'chunk', text: chunk.toString('utf8') });
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.events.push({ kind: 'end' });
    callback();
  }
}

const runtime = {
  streamifyResponse: <T>(handler: T): T => handler,
  HttpResponseStream: {
    from(stream: FakeResponseStream, prelude: Record<string, unknown>): FakeResponseStream {
      stream.setContentType('application/vnd.awslambda.http-integration-response');
      stream.onBeforeFirstWrite = () => stream.events.push({ kind: 'prelude', prelude });
      return stream;
    },
  },
};

(globalThis as Record<string, unknown>).awslambda = runtime;
