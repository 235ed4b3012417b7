/**
 * The API core's view of HTTP: hosts (the Lambda handler behind API Gateway, the local
 * HTTPS server) turn their requests into `ApiRequest` and write `ApiResponse` back.
 * Nothing here knows about Lambda or Node's http module.
 */

export interface ApiRequest {
  readonly method: string;
  /** Path without the query string, e.g. `/apis/apps/v1/namespaces/default/deployments`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /**
   * The body: complete (API Gateway hands it over whole) or still arriving (the local HTTPS
   * server). The core reads it only after authentication, and never past the request limit.
   */
  readonly body: RequestBody;
  /** Aborted when the client goes away (ends watches and log follows). */
  readonly signal: AbortSignal;
  readonly requestId: string;
}

export type RequestBody = Buffer | AsyncIterable<Uint8Array>;

/** A request whose body has been read (within the limit): what the resource verbs see. */
export interface ReadRequest extends ApiRequest {
  readonly body: Buffer;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** A complete body... */
  readonly body?: string | Buffer;
  /**
   * ...or a stream (watch, `logs -f`). The host must send the status line and headers
   * at once, then each chunk as it comes, and end the response when the iterator ends.
   */
  readonly stream?: AsyncIterable<string | Buffer>;
  /**
   * ...or an upgraded connection (`exec`, `attach`, `port-forward`): the request was authorized
   * and the host passes the upgrade on to this node endpoint, then copies bytes both ways.
   * Only hosts that can hold an upgraded connection get one (docs/adr/140).
   */
  readonly upgrade?: { readonly url: string; readonly headers: Readonly<Record<string, string>> };
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>;
