/**
 * Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), which kubectl
 * sends for `kubectl create deployment|namespace|...` without falling back to JSON.
 *
 * The body is the magic prefix `k8s\0` followed by a `runtime.Unknown` envelope whose TypeMeta
 * names the kind and whose `raw` holds the object's own message. Decoding yields the object the
 * same request would have carried as JSON; anything Skiff cannot read is a 400, never a 500.
 */
import type protobuf from 'protobufjs';
import type { KubeObject } from '../../../schemas/meta.ts';
import { ApiError, BadRequestError } from '../../core/errors.ts';
import { jsonToMessage } from './json-to-wire.ts';
import { messageTypeOf, unknownEnvelope } from './kubernetes-messages.ts';
import { messageToJson } from './wire-to-json.ts';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const magic = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

/** True for `application/vnd.kubernetes.protobuf`, with or without parameters. */
export function isProtobufContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  return contentType.split(';')[0]!.trim().toLowerCase() === PROTOBUF_CONTENT_TYPE;
}

/**
 * Decodes a Kubernetes protobuf body into the JSON object the same request would have sent as
 * JSON (apiVersion and kind from the envelope's TypeMeta). Throws BadRequestError for a missing
 * magic prefix, garbage, or a kind Skiff does not decode.
 */
export function decodeProtobufObject(body: Uint8Array): KubeObject {
  if (body.length < magic.length || !magic.every((byte, index) => body[index] === byte)) {
    throw new BadRequestError('the request body is not Kubernetes protobuf: it does not start with the "k8s\\0" prefix');
  }
  const envelope = decodeMessage(unknownEnvelope(), body.subarray(magic.length), 'runtime.Unknown envelope') as unknown as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: Uint8Array;
    contentEncoding?: string;
    contentType?: string;
  };
  const apiVersion = envelope.typeMeta?.apiVersion ?? '';
  const kind = envelope.typeMeta?.kind ?? '';
  if (apiVersion === '' || kind === '') {
    throw new BadRequestError("the protobuf envelope does not name the object's apiVersion and kind");
  }
  if (envelope.contentEncoding) {
    throw new BadRequestError(`the protobuf envelope uses content encoding "${envelope.contentEncoding}", which is not supported`);
  }
  const raw = envelope.raw ?? new Uint8Array();
  if (envelope.contentType && !isProtobufContentType(envelope.contentType)) {
    if (envelope.contentType.split(';')[0]!.trim().toLowerCase() === 'application/json') return rawJsonObject(raw, apiVersion, kind);
    throw new BadRequestError(`the protobuf envelope holds "${envelope.contentType}" content, which is not supported`);
  }
  const type = messageTypeOf(apiVersion, kind);
  if (!type) {
    throw new BadRequestError(`cannot decode ${kind} (${apiVersion}) from protobuf: not a kind Skiff serves; send it as application/json`);
  }
  const json = convertToJson(type, decodeMessage(type, raw, `${kind} message`), kind);
  const metadata = type.fields.metadata && json.metadata === undefined ? { metadata: {} } : {};
  return { apiVersion, kind, ...metadata, ...json } as unknown as KubeObject;
}

/** The inverse of `decodeProtobufObject`: a JSON object as the bytes kubectl would send. */
export function encodeProtobufObject(object: KubeObject): Uint8Array {
  const { apiVersion, kind, ...fields } = object as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    throw new BadRequestError('an object to encode as protobuf needs string apiVersion and kind');
  }
  const type = messageTypeOf(apiVersion, kind);
  if (!type) throw new BadRequestError(`cannot encode ${kind} (${apiVersion}) as protobuf`);
  const raw = encodeMessage(type, jsonToMessage(type, fields, ''));
  const envelope = encodeMessage(unknownEnvelope(), { typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' });
  const bytes = new Uint8Array(magic.length + envelope.length);
  bytes.set(magic, 0);
  bytes.set(envelope, magic.length);
  return bytes;
}

function decodeMessage(type: protobuf.Type, bytes: Uint8Array, what: string): protobuf.Message {
  try {
    return type.decode(bytes);
  } catch (error) {
    throw new BadRequestError(`cannot decode the ${what} from protobuf: ${(error as Error).message}`);
  }
}

function convertToJson(type: protobuf.Type, message: protobuf.Message, kind: string): Record<string, unknown> {
  try {
    return messageToJson(type, message);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new BadRequestError(`cannot decode the ${kind} message from protobuf: ${(error as Error).message}`);
  }
}

function encodeMessage(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  try {
    return type.encode(value).finish();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new BadRequestError(`cannot encode ${type.name} as protobuf: ${(error as Error).message}`);
  }
}

function rawJsonObject(raw: Uint8Array, apiVersion: string, kind: string): KubeObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw new BadRequestError('the protobuf envelope holds JSON content that does not parse');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestError('the protobuf envelope holds JSON content that is not an object');
  }
  return { apiVersion, kind, ...(parsed as Record<string, unknown>) } as unknown as KubeObject;
}
