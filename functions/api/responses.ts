/** Building `ApiResponse`s: JSON bodies, Status errors, Tables when the client asks for them, YAML when it prefers it. */
import { stringify as stringifyYaml } from 'yaml';
import { toStatus } from '../core/errors.ts';
import type { ApiResponse } from './http.ts';
import { parseAccept } from './printers/accept-header.ts';

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

const YAML_TYPE = 'application/yaml';

/**
 * True when the first media range of the Accept header that the server can answer is
 * `application/yaml`: kube-apiserver negotiates JSON, YAML and protobuf in the client's order
 * (Skiff answers a protobuf preference with JSON, which every such client also accepts).
 * A range that asks for another representation (`as=Table`, aggregated discovery) is left to
 * the code that serves it.
 */
export function prefersYaml(accept: string | undefined): boolean {
  for (const range of parseAccept(accept)) {
    if (range.parameters.has('as')) return false;
    if (range.type === YAML_TYPE) return true;
    if (range.type === 'application/json' || range.type === 'application/vnd.kubernetes.protobuf' || range.type === 'application/*' || range.type === '*/*')
      return false;
  }
  return false;
}

/**
 * A complete JSON response (an object, a list, a Status error) re-encoded as YAML when the client
 * prefers it, as kube-apiserver's YAML serializer writes it: keys in sorted order (it marshals
 * through a Go map), strings YAML 1.1 would read as something else quoted. Streams (watches,
 * logs) and bodies of other types are left as they are: kube-apiserver has no YAML watch encoding.
 */
export function asYamlWhenPreferred(accept: string | undefined, response: ApiResponse): ApiResponse {
  if (typeof response.body !== 'string' || response.headers['content-type'] !== 'application/json' || !prefersYaml(accept)) return response;
  const body = stringifyYaml(JSON.parse(response.body), { sortMapEntries: true, version: '1.1', lineWidth: 0, indentSeq: false, aliasDuplicateObjects: false });
  return { ...response, headers: { ...response.headers, 'content-type': YAML_TYPE }, body };
}
