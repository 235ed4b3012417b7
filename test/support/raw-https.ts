/**
 * Raw HTTPS requests for tests that need control over what goes on the wire: bodies sent in
 * chunks, a Content-Length with no body behind it, a path kubectl would never send.
 *
 *   const api = await startTestApi();
 *   const answer = await rawRequest(api.url, { method: 'POST', path: '/api/v1/namespaces/default/configmaps', chunks });
 */
import https from 'node:https';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** The body as JSON, undefined when it is not. */
  readonly json: { readonly code?: number; readonly reason?: string; readonly message?: string; readonly [key: string]: unknown } | undefined;
}

export interface RawRequest {
  readonly method?: string;
  /** Path and query exactly as sent: nothing is encoded. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly token?: string;
  /** Written one after another, each as its own chunk of a chunked body. */
  readonly chunks?: readonly (Buffer | string)[];
  /** Send the headers only and never the body (with a Content-Length header: a body that never comes). */
  readonly withholdBody?: boolean;
  readonly timeoutMs?: number;
}

/** One request; resolves with the answer, or rejects when none comes within `timeoutMs`. */
export function rawRequest(baseUrl: string, request: RawRequest): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = https.request({
      host: url.hostname,
      port: url.port,
      method: request.method ?? 'GET',
      path: request.path,
      rejectUnauthorized: false,
      agent: false,
      headers: {
        accept: 'application/json',
        ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
        ...request.headers,
      },
    });
    const timer = setTimeout(() => {
      outgoing.destroy();
      reject(new Error(`no answer to ${request.method ?? 'GET'} ${request.path} within ${request.timeoutMs ?? 20_000} ms`));
    }, request.timeoutMs ?? 20_000);
    let answered = false;
    outgoing.on('response', (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(parts).toString('utf8');
        let json: RawAnswer['json'];
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        outgoing.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
    });
    // The server may answer and close while the body is still going out: the answer is what counts.
    outgoing.on('error', (error) => {
      if (answered) return;
      clearTimeout(timer);
      reject(error);
    });
    if (request.withholdBody) {
      outgoing.flushHeaders();
      return;
    }
    void (async () => {
      for (const chunk of request.chunks ?? []) {
        if (outgoing.destroyed) return;
        if (!outgoing.write(chunk)) await new Promise((drained) => outgoing.once('drain', drained));
      }
      outgoing.end();
    })();
  });
}

/** `size` bytes as 16 KiB chunks: how a client streams a large body. */
export function inChunksOf16KiB(body: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += 16 * 1024) chunks.push(body.subarray(offset, offset + 16 * 1024));
  return chunks;
}

/** A request with an optional JSON body, as a client sends it, to a test API's `url` with its `token`. */
export function jsonRequest(api: { readonly url: string; readonly token: string }, method: string, path: string, body?: unknown): Promise<RawAnswer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return rawRequest(api.url, {
    method,
    path,
    token: api.token,
    headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) },
    ...(text === undefined ? {} : { chunks: [text] }),
  });
}
