/** Building `ApiResponse`s: JSON bodies, Status errors, Tables when the client asks for them. */
import { toStatus } from '../core/errors.ts';
import type { ApiResponse } from './http.ts';

const JSON_TYPE = 'application/json';

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(error: unknown): ApiResponse {
  const status = toStatus(error);
  const retryAfter = status.details?.retryAfterSeconds;
  return jsonResponse(status.code, status, retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {});
}

/** `Warning` headers as kube-apiserver sends them (RFC 7234 code 299). */
export function warningHeaders(warnings: readonly string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  return { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}
