/**
 * Lambda function URL events (payload format 2.0, as HTTP API v2) as the API core's `ApiRequest`:
 * for the API's own function URL (docs/adr/147) and the node heartbeat endpoint's (docs/adr/196).
 */
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { ApiRequest } from '../api/http.ts';

/** The parts of a Lambda function URL event the API reads. */
export type FunctionUrlEvent = Pick<LambdaFunctionURLEvent, 'version' | 'rawPath' | 'rawQueryString' | 'headers' | 'cookies' | 'body' | 'isBase64Encoded'> & {
  readonly requestContext: { readonly requestId?: string; readonly http: { readonly method: string } };
};

/**
 * A function URL event: the path and query as the client sent them (`rawPath`,
 * `rawQueryString`, so repeated parameters stay repeated), headers already joined with commas,
 * cookies apart (joined back into one Cookie header).
 */
export function fromFunctionUrlEvent(event: FunctionUrlEvent, signal: AbortSignal, fallbackRequestId: string): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  if (event.cookies && event.cookies.length > 0) headers.cookie = event.cookies.join('; ');
  const body = event.body == null ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath || '/',
    query: new URLSearchParams(event.rawQueryString ?? ''),
    headers,
    body,
    signal,
    requestId: event.requestContext.requestId ?? fallbackRequestId,
  };
}
