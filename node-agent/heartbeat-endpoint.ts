/**
 * The agent's end of the node heartbeat endpoint (docs/adr/196): the Lease renewal and the Node
 * status, sent as the same Kubernetes PUTs the API takes, to the endpoint the kubeconfig names.
 * On AWS that is a Lambda function URL with `AWS_IAM` auth: each request is signed with SigV4
 * (service `lambda`) with the node's credentials (its instance role, found by the SDK's default
 * provider chain); locally it is the host's own endpoint, and the request carries the node's
 * bearer token. An answer that is not a Kubernetes `Status` (Lambda's own 403, 429 or 502, a
 * network failure) is an `HeartbeatUnavailableError`: the caller sends the write through the API.
 */
import http from 'node:http';
import https from 'node:https';
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import { KubeApiError } from './kube-api.ts';
import type { HeartbeatEndpointConfig } from './kubeconfig.ts';

/** Headers that authenticate one request: an `authorization` header and whatever goes with it. */
export type RequestSigner = (request: {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}) => Promise<Record<string, string>>;

/** Credentials as the signer takes them: fixed, or a provider it asks (and that refreshes them). */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/** Signs for a Lambda function URL with `AWS_IAM` auth: SigV4, service `lambda`, the URL's region. */
export function awsIamSigner(region: string, credentials: SigningCredentials = fromNodeProviderChain()): RequestSigner {
  const signer = new SignatureV4({ credentials, region, service: 'lambda', sha256: Sha256 });
  return async ({ method, url, headers, body }) => {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: url.host },
      body,
    });
    return signed.headers;
  };
}

/** The endpoint did not answer as the Kubernetes API would: send the write through the API instead. */
export class HeartbeatUnavailableError extends Error {
  override name = 'HeartbeatUnavailableError';
}

export interface HeartbeatEndpointOptions {
  readonly config: HeartbeatEndpointConfig;
  /** PEM of the CA of a local endpoint; undefined: the system's roots (a function URL). */
  readonly caPem?: string;
  /** The node's bearer token, for an endpoint without `aws-iam` auth. */
  readonly token: () => Promise<string | undefined>;
  /** @default awsIamSigner(config.awsIam.region) when the endpoint takes AWS_IAM */
  readonly signer?: RequestSigner;
  readonly userAgent?: string;
  /** After a failure the endpoint is left alone this long (writes go through the API). @default 60000 */
  readonly pauseAfterFailureMs?: number;
  readonly now?: () => number;
}

export class HeartbeatEndpoint {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly signer: RequestSigner | undefined;
  private pausedUntil = 0;
  /** Writes sent and answered here, and failures that sent one through the API: for the agent's log and the tests. */
  readonly stats = { sent: 0, failures: 0 };

  constructor(private readonly options: HeartbeatEndpointOptions) {
    this.base = new URL(options.config.url);
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...(options.caPem ? { ca: options.caPem } : {}) })
        : new http.Agent({ keepAlive: true });
    this.signer = options.signer ?? (options.config.awsIam ? awsIamSigner(options.config.awsIam.region) : undefined);
  }

  /** False for a while after a failure: writes go through the API meanwhile. */
  usable(): boolean {
    return (this.options.now ?? Date.now)() >= this.pausedUntil;
  }

  /** Leaves the endpoint alone for the pause (the caller sent the write through the API). */
  failed(): void {
    this.stats.failures++;
    this.pausedUntil = (this.options.now ?? Date.now)() + (this.options.pauseAfterFailureMs ?? 60_000);
  }

  /**
   * PUTs `body` at the API path `path` under the endpoint's URL; resolves with the object the
   * API answers. A Kubernetes error answer (409 for a stale resourceVersion, 404, 403…) is a
   * KubeApiError; anything else a HeartbeatUnavailableError.
   */
  async put(path: string, body: unknown, options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {}): Promise<unknown> {
    const url = new URL(this.base.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    const bytes = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/json',
      'content-length': String(bytes.length),
      'user-agent': this.options.userAgent ?? 'skiff-node-agent/v1.32.0',
    };
    if (this.signer) Object.assign(headers, await this.signer({ method: 'PUT', url, headers, body: bytes }));
    else {
      const token = await this.options.token();
      if (token) headers.authorization = `Bearer ${token}`;
    }
    const deadline = AbortSignal.timeout(options.timeoutMs ?? 10_000);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.exchange(url, headers, bytes, signal));
    } catch (error) {
      throw new HeartbeatUnavailableError(`PUT ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new HeartbeatUnavailableError(`PUT ${path}: HTTP ${status} with a body that is not JSON`);
    }
    if (status >= 200 && status < 300) {
      this.stats.sent++;
      return parsed;
    }
    const answer = parsed as { kind?: string; code?: number; reason?: string; message?: string } | undefined;
    if (answer?.kind === 'Status') throw new KubeApiError(answer.code ?? status, answer.reason ?? 'Unknown', answer.message ?? `HTTP ${status}`);
    throw new HeartbeatUnavailableError(`PUT ${path}: HTTP ${status} ${text.slice(0, 200)}`);
  }

  close(): void {
    this.agent.destroy();
  }

  private exchange(url: URL, headers: Record<string, string>, body: Buffer, signal: AbortSignal): Promise<{ status: number; text: string }> {
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(url, { method: 'PUT', headers, agent: this.agent, signal }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(body);
    });
  }
}
