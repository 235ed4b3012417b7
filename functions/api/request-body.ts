/**
 * Reading and decoding request bodies: JSON, YAML and Kubernetes protobuf, within
 * kube-apiserver's limits. Bodies are read only after authentication (app.ts), a declared
 * Content-Length over the limit is refused before a byte is read, a body that turns out longer
 * is refused as soon as it passes the limit, and nesting deeper than the decoders' cap is a 400
 * before anything recursive sees it. Patch bodies are decoded by the patch engine, which knows
 * their media types, through `parseJsonWithin`.
 */
import { parse as parseYaml } from 'yaml';
import { BadRequestError, RequestEntityTooLargeError, UnsupportedMediaTypeError } from '../core/errors.ts';
import type { RequestBody } from './http.ts';
import { decodeProtobufObject, isProtobufContentType } from './protobuf/index.ts';

/** kube-apiserver's limit on request bodies (`--max-request-bytes` default, 3 MiB). */
export const MAX_REQUEST_BYTES = 3 * 1024 * 1024;

/**
 * How deep JSON (and YAML, and the JSON inside a protobuf envelope) may nest. kube-apiserver's
 * JSON decoder stops at 10,000; Node's recursive JSON.stringify and structuredClone give out
 * between 1,000 and 5,000 levels, so Skiff stops at 1,000 (no Kubernetes object nests past a
 * few dozen; docs/adr/125).
 */
export const MAX_JSON_DEPTH = 1000;

function tooLarge(): RequestEntityTooLargeError {
  return new RequestEntityTooLargeError(`Request entity too large: limit is ${MAX_REQUEST_BYTES}`);
}

/**
 * The whole body, read from the stream until it ends or passes `limit` (413 at once, the rest
 * never read). A Content-Length over the limit is refused before reading anything.
 */
export async function readRequestBody(body: RequestBody, contentLength: string | undefined, limit = MAX_REQUEST_BYTES): Promise<Buffer> {
  if (contentLength !== undefined && contentLength !== '') {
    if (!/^\d+$/.test(contentLength.trim())) throw new BadRequestError(`invalid Content-Length ${JSON.stringify(contentLength)}`);
    if (Number(contentLength) > limit) throw tooLarge();
  }
  if (Buffer.isBuffer(body)) {
    if (body.length > limit) throw tooLarge();
    return body;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  return Buffer.concat(chunks, size);
}

export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
}

export function checkBodySize(body: Buffer): void {
  if (body.length > MAX_REQUEST_BYTES) throw tooLarge();
}

/** The object in a create/update body. */
export function decodeObjectBody(body: Buffer, contentType: string | undefined): unknown {
  checkBodySize(body);
  const mediaType = mediaTypeOf(contentType);
  if (isProtobufContentType(mediaType)) return checkedDepth(decodeProtobufObject(body), 'request body');
  if (body.length === 0) throw new BadRequestError('the request body is empty');
  if (mediaType === 'application/json' || mediaType === '*/*') return parseJsonWithin(body, 'error decoding request body as JSON');
  if (isYamlMediaType(mediaType)) return parseYamlWithin(body.toString('utf8'), 'error decoding YAML');
  throw new UnsupportedMediaTypeError(mediaType);
}

/** The YAML media types kube-apiserver decodes (`application/yaml`) and the spellings clients also send. */
export function isYamlMediaType(mediaType: string): boolean {
  return mediaType === 'application/yaml' || mediaType === 'application/x-yaml' || mediaType === 'text/yaml';
}

/** An optional JSON body, such as DeleteOptions on DELETE. */
export function decodeOptionalJson(body: Buffer, contentType: string | undefined): unknown {
  checkBodySize(body);
  if (body.length === 0) return undefined;
  const mediaType = mediaTypeOf(contentType);
  if (isProtobufContentType(mediaType)) return checkedDepth(decodeProtobufObject(body), 'request body');
  if (isYamlMediaType(mediaType)) return parseYamlWithin(body.toString('utf8'), 'error decoding YAML');
  return parseJsonWithin(body, 'error decoding request body as JSON');
}

/** JSON.parse after checking, without recursion, that the text nests at most MAX_JSON_DEPTH deep. */
export function parseJsonWithin(text: Buffer | string, what: string): unknown {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  if (jsonNestingExceeds(bytes, MAX_JSON_DEPTH)) throw new BadRequestError(`${what}: exceeded max depth of ${MAX_JSON_DEPTH}`);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new BadRequestError(`${what}: ${firstLine(error)}`);
  }
}

/**
 * YAML decoding, held to the same depth as JSON. Flow collections (`[`, `{`) are counted before
 * parsing: the YAML parser spends seconds on a few thousand levels and at ten thousand exhausts
 * the process's memory, which must never happen to the one process that runs the control plane.
 */
export function parseYamlWithin(text: string, what: string): unknown {
  if (yamlFlowNestingExceeds(text, MAX_JSON_DEPTH)) throw new BadRequestError(`${what}: exceeded max depth of ${MAX_JSON_DEPTH}`);
  let decoded: unknown;
  try {
    decoded = parseYaml(text);
  } catch (error) {
    // A RangeError here is the parser running out of stack on absurd nesting: still the client's error.
    throw new BadRequestError(`${what}: ${firstLine(error)}`);
  }
  return checkedDepth(decoded, what);
}

/**
 * True when the JSON text opens more than `max` arrays/objects inside one another. A byte scan
 * (strings and escapes skipped) so it cannot itself run out of stack.
 */
export function jsonNestingExceeds(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (inString) {
      if (byte === 0x5c) index++;
      else if (byte === 0x22) inString = false;
      continue;
    }
    if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      depth++;
      if (depth > max) return true;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return false;
}

/**
 * True when YAML flow collections could open more than `max` deep. Every bracket counts, quoted
 * or not: skipping quotes or comments would let a stray quote hide the brackets after it, and
 * over-counting only ever refuses text that opens a thousand brackets without closing them.
 */
export function yamlFlowNestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x5b || code === 0x7b) {
      depth++;
      if (depth > max) return true;
    } else if ((code === 0x5d || code === 0x7d) && depth > 0) depth--;
  }
  return false;
}

/** The depth of a decoded value, walked with an explicit stack; a 400 past MAX_JSON_DEPTH. */
function checkedDepth<T>(value: T, what: string): T {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null || ArrayBuffer.isView(current)) continue;
    if (depth + 1 > MAX_JSON_DEPTH) throw new BadRequestError(`${what}: exceeded max depth of ${MAX_JSON_DEPTH}`);
    for (const child of Array.isArray(current) ? current : Object.values(current)) pending.push([child, depth + 1]);
  }
  return value;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
