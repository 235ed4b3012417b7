import './fake-lambda-runtime.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import type { ApiHandler, ApiRequest, ApiResponse } from '../../../functions/api/http.ts';
import { createApiLambdaHandler, type RestProxyEvent, toApiRequest, toStreamingResult } from '../../../functions/lambda/api-handler.ts';
import { lambdaLog } from '../../../functions/lambda/lambda-runtime.ts';
import { logLines } from '../../support/log-lines.ts';
import { FakeResponseStream } from './fake-lambda-runtime.ts';

function event(overrides: Partial<RestProxyEvent> = {}): RestProxyEvent {
  return {
    httpMethod: 'GET',
    path: '/api/v1/namespaces/default/pods',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1' },
    ...overrides,
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function lambdaContext(remainingMs = 60_000): Context {
  return { awsRequestId: 'aws-req', getRemainingTimeInMillis: () => remainingMs } as unknown as Context;
}

/** Runs the streaming handler the way the runtime does and returns what reached the stream. */
async function invoke(core: ApiHandler, proxyEvent: RestProxyEvent, context = lambdaContext()): Promise<FakeResponseStream> {
  const handler = createApiLambdaHandler(() => core) as unknown as (e: RestProxyEvent, s: FakeResponseStream, c: Context) => Promise<void>;
  const stream = new FakeResponseStream();
  await handler(proxyEvent, stream, context);
  return stream;
}

describe('toApiRequest', () => {
  const signal = new AbortController().signal;

  it('takes the method, path and request id', () => {
    const request = toApiRequest(event({ httpMethod: 'patch', path: '/apis/apps/v1/namespaces/default/deployments/web' }), signal);
    assert.equal(request.method, 'PATCH');
    assert.equal(request.path, '/apis/apps/v1/namespaces/default/deployments/web');
    assert.equal(request.requestId, 'req-1');
    assert.equal(request.signal, signal);
  });

  it('falls back to the Lambda request id', () => {
    assert.equal(toApiRequest(event({ requestContext: {} }), signal, 'aws-req').requestId, 'aws-req');
  });

  const queries: Array<[string, Partial<RestProxyEvent>, string]> = [
    [
      'keeps every value of a repeated parameter',
      { multiValueQueryStringParameters: { labelSelector: ['app=web'], fieldSelector: ['a=1', 'b=2'] } },
      'labelSelector=app%3Dweb&fieldSelector=a%3D1&fieldSelector=b%3D2',
    ],
    [
      'reads single-valued parameters when no multi-value map is given',
      { queryStringParameters: { watch: 'true', resourceVersion: '12' } },
      'watch=true&resourceVersion=12',
    ],
    ['has no parameters when none were sent', {}, ''],
  ];
  for (const [name, overrides, expected] of queries) {
    it(`query: ${name}`, () => {
      assert.equal(toApiRequest(event(overrides), signal).query.toString(), expected);
    });
  }

  it('lower-cases header names and joins repeated headers', () => {
    const request = toApiRequest(
      event({
        headers: { Accept: 'application/json', Authorization: 'Bearer t', 'X-Multi': 'b' },
        multiValueHeaders: { Accept: ['application/json'], 'X-Multi': ['a', 'b'] },
      }),
      signal,
    );
    assert.deepEqual(request.headers, { accept: 'application/json', authorization: 'Bearer t', 'x-multi': 'a, b' });
  });

  const bodies: Array<[string, Partial<RestProxyEvent>, Buffer]> = [
    [
      'decodes a base64 body byte for byte (protobuf)',
      { body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff]).toString('base64'), isBase64Encoded: true },
      Buffer.from([0x6b, 0x38, 0x73, 0x00, 0xff]),
    ],
    ['keeps a text body as UTF-8', { body: '{"metadata":{"name":"é"}}' }, Buffer.from('{"metadata":{"name":"é"}}')],
    ['gives an empty body when there is none', { body: null }, Buffer.alloc(0)],
  ];
  for (const [name, overrides, expected] of bodies) {
    it(`body: ${name}`, () => {
      assert.deepEqual(toApiRequest(event(overrides), signal).body, expected);
    });
  }
});

describe('toStreamingResult', () => {
  it('starts with an empty chunk so the prelude is written at once, then the body', async () => {
    const result = toStreamingResult({ status: 201, headers: { 'content-type': 'application/json' }, body: '{"kind":"Pod"}' });
    assert.equal(result.statusCode, 201);
    assert.deepEqual(result.headers, { 'content-type': 'application/json' });
    const chunks: Buffer[] = [];
    for await (const chunk of result.body) chunks.push(chunk as Buffer);
    assert.deepEqual(
      chunks.map((c) => c.toString()),
      ['', '{"kind":"Pod"}'],
    );
  });

  it('runs onEnd once the body is written', async () => {
    let ended = 0;
    const result = toStreamingResult(
      {
        status: 200,
        headers: {},
        stream: (async function* () {
          yield 'a';
          yield Buffer.from('b');
        })(),
      },
      () => ended++,
    );
    const chunks: string[] = [];
    for await (const chunk of result.body) chunks.push((chunk as Buffer).toString());
    assert.deepEqual(chunks, ['', 'a', 'b']);
    assert.equal(ended, 1);
  });
});

describe('API Lambda handler', () => {
  it('writes the status and headers, then the body, then ends', async () => {
    let seen: ApiRequest | undefined;
    const stream = await invoke(
      async (request) => {
        seen = request;
        return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"kind":"PodList"}' };
      },
      event({ headers: { Accept: 'application/json' } }),
    );
    assert.equal(seen?.headers.accept, 'application/json');
    assert.equal(stream.contentType, 'application/vnd.awslambda.http-integration-response');
    assert.deepEqual(stream.events, [
      { kind: 'prelude', prelude: { statusCode: 200, headers: { 'content-type': 'application/json' } } },
      { kind: 'chunk', text: '{"kind":"PodList"}' },
      { kind: 'end' },
    ]);
  });

  it('still sends the status and headers for a response without a body', async () => {
    const stream = await invoke(async () => ({ status: 204, headers: {} }), event({ httpMethod: 'DELETE' }));
    assert.deepEqual(stream.events, [{ kind: 'prelude', prelude: { statusCode: 204, headers: {} } }, { kind: 'end' }]);
  });

  it('sends a watch response head before the first event, then each event as it comes', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const watch: ApiResponse = {
      status: 200,
      headers: { 'content-type': 'application/json' },
      stream: (async function* () {
        await gate;
        yield '{"type":"ADDED"}\n';
        yield '{"type":"MODIFIED"}\n';
      })(),
    };
    const handler = createApiLambdaHandler(() => async () => watch) as unknown as (e: RestProxyEvent, s: FakeResponseStream, c: Context) => Promise<void>;
    const stream = new FakeResponseStream();
    const done = handler(event({ queryStringParameters: { watch: 'true' } }), stream, lambdaContext());
    await waitFor(() => stream.events.length > 0, 'the response head');
    assert.deepEqual(stream.events, [{ kind: 'prelude', prelude: { statusCode: 200, headers: { 'content-type': 'application/json' } } }]);
    release?.();
    await done;
    assert.deepEqual(stream.events.slice(1), [
      { kind: 'chunk', text: '{"type":"ADDED"}\n' },
      { kind: 'chunk', text: '{"type":"MODIFIED"}\n' },
      { kind: 'end' },
    ]);
  });

  it('aborts the request signal shortly before the invocation would time out, ending a watch', async () => {
    let signal: AbortSignal | undefined;
    const core: ApiHandler = async (request) => {
      signal = request.signal;
      return {
        status: 200,
        headers: {},
        stream: (async function* () {
          yield 'first\n';
          await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve(), { once: true }));
        })(),
      };
    };
    const stream = await invoke(core, event(), lambdaContext(2050));
    assert.equal(signal?.aborted, true);
    assert.deepEqual(stream.events.slice(1), [{ kind: 'chunk', text: 'first\n' }, { kind: 'end' }]);
  });

  it('gives the API’s log the invocation’s context (injectLambdaContext)', async () => {
    const log = lambdaLog('api');
    const context = { ...lambdaContext(), functionName: 'skiff-api' } as Context;
    const entries = await logLines(() =>
      invoke(
        async () => {
          log.info('request', { status: 200 });
          return { status: 200, headers: {}, body: 'ok' };
        },
        event(),
        context,
      ),
    );
    const entry = entries.find((e) => e.message === 'request');
    assert.deepEqual(
      { component: entry?.component, status: entry?.status, function_name: entry?.function_name, function_request_id: entry?.function_request_id },
      { component: 'api', status: 200, function_name: 'skiff-api', function_request_id: 'aws-req' },
    );
  });

  it('aborts the request signal once a complete response is written', async () => {
    let signal: AbortSignal | undefined;
    await invoke(async (request) => {
      signal = request.signal;
      return { status: 200, headers: {}, body: 'ok' };
    }, event());
    assert.equal(signal?.aborted, true);
  });
});

/** A client that stopped reading: the first write is taken, the rest wait forever. */
class StalledResponseStream extends FakeResponseStream {
  private taken = 0;
  constructor() {
    super({ highWaterMark: 1024 });
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.taken++ === 0) super._write(chunk, encoding, callback);
  }
}

describe('back-pressure on the Lambda response stream', () => {
  it('pulls no more from a watch than the stream can hold while the client does not read', async () => {
    let pulled = 0;
    const core: ApiHandler = async () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      stream: (async function* () {
        for (let i = 0; i < 10_000; i++) {
          pulled++;
          yield `${JSON.stringify({ type: 'ADDED', object: { kind: 'ConfigMap', data: { padding: 'x'.repeat(1000) } } })}\n`;
        }
      })(),
    });
    const handler = createApiLambdaHandler(() => core) as unknown as (e: RestProxyEvent, s: FakeResponseStream, c: Context) => Promise<void>;
    const stream = new StalledResponseStream();
    const done = handler(event({ queryStringParameters: { watch: 'true' } }), stream, lambdaContext()).catch(() => undefined);
    // Let the pipeline run until it stops pulling: many turns of the event loop with no progress.
    let last = -1;
    let quietTurns = 0;
    while (quietTurns < 200) {
      await new Promise((resolve) => setImmediate(resolve));
      quietTurns = pulled === last ? quietTurns + 1 : 0;
      last = pulled;
    }
    assert.ok(pulled > 0, 'the watch started');
    assert.ok(pulled < 100, `pulled ${pulled} of 10,000 events while nothing was read`);
    stream.destroy();
    await done;
  });
});
