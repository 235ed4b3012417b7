/**
 * A small typed Kubernetes client for the node agent: the agent talks to the API server only
 * through this, over HTTPS, trusting the kubeconfig's CA and sending its bearer token (given, or
 * from an exec credential plugin). When the kubeconfig names a watch channel, `listAndWatch` of
 * the types it serves goes over that one WebSocket (watch-channel.ts, docs/adr/073); otherwise
 * watches are read as newline-delimited JSON and resumed from the last resourceVersion seen, and
 * a `410 Gone` (history compacted) makes `listAndWatch` relist, as client-go's reflector does.
 */
import http from 'node:http';
import https from 'node:https';
import type { Log } from '../functions/logging/log.ts';
import type { KubeObject } from '../schemas/meta.ts';
import type { ResourceType } from '../schemas/registry.ts';
import { apiVersionOf } from '../schemas/registry.ts';
import { ExecTokenSource } from './exec-credential.ts';
import { HeartbeatEndpoint, type RequestSigner } from './heartbeat-endpoint.ts';
import { isGone, KubeApiError, type ListOptions, type ListWatchHandlers, type ObjectList, type WatchEvent } from './kube-api.ts';
import type { ClusterCredentials } from './kubeconfig.ts';
import { WatchChannel } from './watch-channel.ts';

export type PatchType = 'merge' | 'strategic' | 'json';

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

export {
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  KubeApiError,
  type ListOptions,
  type ListWatchHandlers,
  type ObjectList,
  type WatchEvent,
  type WatchEventType,
} from './kube-api.ts';

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly uid?: string;
}

interface RequestOptions extends CallOptions {
  readonly query?: Record<string, string | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
}

/** Per call: a deadline shorter than the client's, or a signal that cancels the call. */
export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * How long the agent waits on the API. A call that gets no complete answer within `requestMs`
 * fails (and is retried when that is safe); a watch that hears nothing, not even a bookmark
 * (the server sends one a minute on a quiet watch), for `watchIdleMs` is taken for dead and
 * started again from the last resourceVersion seen.
 */
export interface KubeClientTimeouts {
  /** @default 30000 */
  readonly requestMs: number;
  /** @default 150000 */
  readonly watchIdleMs: number;
  /** Attempts of a call that may be retried. @default 3 */
  readonly attempts: number;
}

const defaultTimeouts: KubeClientTimeouts = { requestMs: 30_000, watchIdleMs: 150_000, attempts: 3 };

/** No complete answer from the API within the deadline. */
export class KubeTimeoutError extends Error {
  override name = 'KubeTimeoutError';
}

/** Errors of a request that never reached the server: repeating it cannot do anything twice. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * Whether a call may be repeated after an answer that did not come: reads, and writes whose
 * repetition cannot change more than the first (a PUT conditional on a resourceVersion gets 409,
 * a DELETE gets 404, both of which callers handle). Creates and patches are repeated only when
 * they never left this machine.
 */
function repeatable(method: string, body: unknown): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE') return true;
  if (method === 'PUT') return Boolean((body as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion);
  return false;
}

export class KubeClient {
  private readonly agent: http.Agent;
  private readonly base: URL;
  private readonly tokens?: ExecTokenSource;
  /** The watch channel, when the kubeconfig names one. */
  readonly channel: WatchChannel | undefined;
  /** The node heartbeat endpoint (docs/adr/196), when the kubeconfig names one. */
  readonly heartbeat: HeartbeatEndpoint | undefined;
  private readonly log: Log | undefined;

  private readonly timeouts: KubeClientTimeouts;

  constructor(
    private readonly credentials: ClusterCredentials,
    private readonly userAgent = 'skiff-node-agent/v1.32.0',
    options: Partial<KubeClientTimeouts> & {
      readonly log?: Log;
      readonly onLeaseError?: (nodeName: string, error: KubeApiError) => void;
      /** Signs the heartbeat endpoint's requests (tests); by default AWS credentials when it takes AWS_IAM. */
      readonly heartbeatSigner?: RequestSigner;
    } = {},
  ) {
    const { log, onLeaseError, heartbeatSigner, ...timeouts } = options;
    this.log = log;
    this.timeouts = { ...defaultTimeouts, ...timeouts };
    this.base = new URL(credentials.server);
    if (!credentials.token && credentials.exec) this.tokens = new ExecTokenSource(credentials.exec);
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...(credentials.caPem ? { ca: credentials.caPem } : {}) })
        : new http.Agent({ keepAlive: true });
    this.channel = credentials.watchChannel
      ? new WatchChannel({
          url: credentials.watchChannel,
          ...(credentials.caPem ? { caPem: credentials.caPem } : {}),
          token: () => this.token(),
          rest: { list: (type, listOptions) => this.list(type, listOptions), get: (type, namespace, name) => this.get(type, namespace, name) },
          ...(log ? { log } : {}),
          ...(onLeaseError ? { onLeaseError } : {}),
        })
      : undefined;
    this.heartbeat = credentials.heartbeat
      ? new HeartbeatEndpoint({
          config: credentials.heartbeat,
          ...(credentials.caPem ? { caPem: credentials.caPem } : {}),
          token: () => this.token(),
          ...(heartbeatSigner ? { signer: heartbeatSigner } : {}),
          userAgent,
        })
      : undefined;
  }

  /**
   * A node's write on its clock — its Lease renewal, its Node's status (docs/adr/196): a PUT as
   * `update` makes, sent to the heartbeat endpoint when the kubeconfig names one. A Kubernetes
   * answer from it is the answer (409 for a stale resourceVersion, 404 for a Lease that is gone:
   * the caller handles them as from the API); if the endpoint fails otherwise, the write goes
   * through the API at once and the endpoint is left alone for a minute.
   */
  async heartbeatUpdate<T extends KubeObject>(type: ResourceType, object: T, subresource?: 'status', call: CallOptions = {}): Promise<T> {
    const name = object.metadata.name;
    if (this.heartbeat?.usable() && name) {
      const path = KubeClient.path(type, object.metadata.namespace, name, subresource);
      // Half the call's time (at least 2 s, at most 10 s): what is left is the API's if the endpoint does not answer.
      const timeoutMs = Math.min(10_000, Math.max(2_000, (call.timeoutMs ?? this.timeouts.requestMs) / 2));
      try {
        return (await this.heartbeat.put(
          path,
          { ...object, apiVersion: apiVersionOf(type), kind: type.kind },
          {
            timeoutMs,
            ...(call.signal ? { signal: call.signal } : {}),
          },
        )) as T;
      } catch (error) {
        if (call.signal?.aborted) throw error;
        if (error instanceof KubeApiError && (error.code === 409 || error.code === 404)) throw error;
        this.heartbeat.failed();
        this.log?.warn('heartbeat endpoint failed: this write and those of the next minute go through the API', { path, error: String(error) });
      }
    }
    return this.update(type, object, subresource, call);
  }

  /** The bearer token to send: the kubeconfig's, or the exec plugin's current one. */
  async token(): Promise<string | undefined> {
    return this.credentials.token ?? (await this.tokens?.token());
  }

  /** The path of a type's collection or one of its objects: `/api/v1/namespaces/ns/pods/p/status`. */
  static path(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
    const root = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
    const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    const object = name ? `/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}` : '';
    return `${root}${ns}/${type.plural}${object}`;
  }

  async get<T extends KubeObject = KubeObject>(type: ResourceType, namespace: string | undefined, name: string, call: CallOptions = {}): Promise<T> {
    return (await this.request('GET', KubeClient.path(type, namespace, name), call)) as T;
  }

  async list<T extends KubeObject = KubeObject>(type: ResourceType, options: ListOptions = {}): Promise<ObjectList<T>> {
    const query = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    return (await this.request('GET', KubeClient.path(type, options.namespace), { query })) as ObjectList<T>;
  }

  async create<T extends KubeObject>(type: ResourceType, object: T, call: CallOptions = {}): Promise<T> {
    const body = { ...object, apiVersion: apiVersionOf(type), kind: type.kind };
    return (await this.request('POST', KubeClient.path(type, object.metadata.namespace), { ...call, body })) as T;
  }

  /** POSTs a body to a subresource of one object (`serviceaccounts/<name>/token`) and returns the answer. */
  async createSubresource(type: ResourceType, namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<KubeObject> {
    return (await this.request('POST', KubeClient.path(type, namespace, name, subresource), { body })) as KubeObject;
  }

  /** PUT of the object (or of its `/status` when `subresource` is 'status'); 409 when stale. */
  async update<T extends KubeObject>(type: ResourceType, object: T, subresource?: 'status', call: CallOptions = {}): Promise<T> {
    const name = object.metadata.name;
    if (!name) throw new Error('update needs metadata.name');
    const path = KubeClient.path(type, object.metadata.namespace, name, subresource);
    return (await this.request('PUT', path, { ...call, body: object })) as T;
  }

  async updateStatus<T extends KubeObject>(type: ResourceType, object: T): Promise<T> {
    return this.update(type, object, 'status');
  }

  async patch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    subresource?: 'status',
  ): Promise<T> {
    const path = KubeClient.path(type, namespace, name, subresource);
    return (await this.request('PATCH', path, { body: patch, contentType: patchContentTypes[patchType] })) as T;
  }

  async delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
      ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
    };
    await this.request('DELETE', KubeClient.path(type, namespace, name), { body });
  }

  /**
   * Streams watch events from `resourceVersion` until the server ends the response or `signal`
   * aborts. An in-stream ERROR event is thrown as a KubeApiError (410 when expired).
   */
  async *watch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    options: ListOptions & { readonly resourceVersion?: string; readonly timeoutSeconds?: number },
    signal?: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const query = {
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: options.resourceVersion,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      timeoutSeconds: String(options.timeoutSeconds ?? 300),
    };
    // The watch ends when the caller aborts, or when the server has been silent too long.
    const idle = new AbortController();
    const watchSignal = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
    let idleTimer = setTimeout(() => idle.abort(), this.timeouts.requestMs);
    const heard = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => idle.abort(new KubeTimeoutError(`watch of ${type.plural}: nothing from the API server for ${this.timeouts.watchIdleMs} ms`)),
        this.timeouts.watchIdleMs,
      );
    };
    let response: http.IncomingMessage;
    try {
      response = await this.open('GET', KubeClient.path(type, options.namespace), { query, signal: watchSignal });
    } catch (error) {
      clearTimeout(idleTimer);
      if (idle.signal.aborted && !signal?.aborted)
        throw new KubeTimeoutError(`watch of ${type.plural}: no answer from the API server within ${this.timeouts.requestMs} ms`);
      throw error;
    }
    heard();
    if ((response.statusCode ?? 0) >= 300) {
      clearTimeout(idleTimer);
      throw errorFromBody(response.statusCode ?? 0, await readAll(response));
    }
    let buffered = '';
    try {
      for await (const chunk of response) {
        heard();
        buffered += (chunk as Buffer).toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (!line) continue;
          const event = JSON.parse(line) as { type: string; object: KubeObject };
          if (event.type === 'ERROR') {
            const status = event.object as unknown as { code?: number; reason?: string; message?: string };
            throw new KubeApiError(status.code ?? 500, status.reason ?? 'InternalError', status.message ?? 'watch error');
          }
          yield event as WatchEvent<T>;
        }
      }
      if (idle.signal.aborted && !signal?.aborted) throw idle.signal.reason;
    } catch (error) {
      if (signal?.aborted) return;
      if (idle.signal.aborted) throw idle.signal.reason ?? error;
      throw error;
    } finally {
      clearTimeout(idleTimer);
      response.destroy();
    }
  }

  /**
   * The reflector loop: list, then watch from the list's resourceVersion, resuming each watch
   * from the last version seen; relists on 410 and backs off (1 s doubling to 30 s) on errors.
   * Runs until `signal` aborts.
   */
  async listAndWatch<T extends KubeObject>(
    type: ResourceType,
    options: ListOptions & { readonly timeoutSeconds?: number },
    handlers: ListWatchHandlers<T>,
    signal: AbortSignal,
  ): Promise<void> {
    if (this.channel && WatchChannel.serves(type)) {
      const { timeoutSeconds: _timeout, ...listOptions } = options;
      return this.channel.listAndWatch(type, listOptions, handlers, signal);
    }
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const list = await this.list<T>(type, { ...options });
          resourceVersion = list.metadata.resourceVersion ?? '0';
          handlers.onList(list.items, resourceVersion);
        }
        for await (const event of this.watch<T>(type, { ...options, resourceVersion }, signal)) {
          failures = 0;
          const version = event.object.metadata?.resourceVersion;
          if (version) resourceVersion = version;
          if (event.type !== 'BOOKMARK') handlers.onEvent(event);
        }
      } catch (error) {
        if (signal.aborted) return;
        if (isGone(error)) {
          resourceVersion = undefined;
          continue;
        }
        handlers.onError?.(error);
        failures += 1;
        await abortableDelay(Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5)), signal);
      }
    }
  }

  /** Ends pooled keep-alive connections and the watch channel so a stopping agent leaves no sockets behind. */
  close(): void {
    this.channel?.close();
    this.heartbeat?.close();
    this.agent.destroy();
  }

  /**
   * One call with a deadline; retried with a short back-off (0.2 s, 0.4 s...) when it timed out,
   * failed on the way or got 429/5xx, as long as repeating it is safe (`repeatable`).
   */
  private async request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.timeouts.requestMs;
    const safe = repeatable(method, options.body);
    for (let attempt = 1; ; attempt++) {
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(new KubeTimeoutError(`${method} ${path}: no answer from the API server within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
      try {
        const { status, text } = await this.exchange(method, path, { ...options, signal });
        if (status >= 300) {
          const error = errorFromBody(status, text);
          if (safe && (status === 429 || status >= 500) && attempt < this.timeouts.attempts) {
            await abortableDelay(retryDelayMs(attempt), options.signal ?? new AbortController().signal);
            continue;
          }
          throw error;
        }
        return text ? JSON.parse(text) : undefined;
      } catch (error) {
        if (error instanceof KubeApiError || options.signal?.aborted) throw error;
        const failure = deadline.signal.aborted ? (deadline.signal.reason as Error) : error;
        const code = (error as { code?: string }).code;
        const again = attempt < this.timeouts.attempts && (safe || (code !== undefined && notSentCodes.has(code)));
        if (!again) throw failure;
        await abortableDelay(retryDelayMs(attempt), options.signal ?? new AbortController().signal);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Sends the request and reads the whole answer (within `options.signal`). */
  private async exchange(method: string, path: string, options: RequestOptions): Promise<{ status: number; text: string }> {
    let response = await this.open(method, path, options);
    if (response.statusCode === 401 && this.tokens) {
      // A plugin token the server no longer honours: fetch a fresh one and try once more.
      response.resume();
      this.tokens.invalidate();
      response = await this.open(method, path, options);
    }
    return { status: response.statusCode ?? 0, text: await readAll(response) };
  }

  /**
   * The URL of an API path under the server URL, keeping the server's own path: behind API
   * Gateway the API lives under its stage (`https://x.execute-api…/cluster`), which
   * `new URL('/api/v1/…', base)` would drop.
   */
  static url(server: URL, path: string): URL {
    const url = new URL(server.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    url.search = '';
    url.hash = '';
    return url;
  }

  private async open(method: string, path: string, options: RequestOptions): Promise<http.IncomingMessage> {
    const url = KubeClient.url(this.base, path);
    const token = await this.token();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(body.length);
    }
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolvePromise, reject) => {
      const request = transport.request(url, { method, headers, agent: this.agent, ...(options.signal ? { signal: options.signal } : {}) }, resolvePromise);
      request.on('error', reject);
      request.end(body);
    });
  }
}

function readAll(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => {
      ended = true;
      resolvePromise(Buffer.concat(chunks).toString('utf8'));
    });
    response.on('error', reject);
    // Cut off (a deadline, a dropped connection) without an error event: still not an answer.
    response.on('close', () => {
      if (!ended) reject(new Error('the connection closed before the answer was complete'));
    });
  });
}

function errorFromBody(code: number, text: string): KubeApiError {
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string; code?: number };
    return new KubeApiError(status.code ?? code, status.reason ?? 'Unknown', status.message ?? text);
  } catch {
    return new KubeApiError(code, 'Unknown', text.slice(0, 500) || `HTTP ${code}`);
  }
}

function retryDelayMs(attempt: number): number {
  return 200 * 2 ** (attempt - 1);
}

export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolvePromise) => {
    if (signal.aborted) return resolvePromise();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolvePromise();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
