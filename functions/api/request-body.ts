/**
 * Decoding of request bodies by Content-Type: JSON, YAML and Kubernetes protobuf.
 * Patch bodies are decoded by the patch engine, which knows their media types.
 */
import { parse as parseYaml } from 'yaml';
import { BadRequestError, RequestEntityTooLargeError, UnsupportedMediaTypeError } from '../core/errors.ts';
import { decodeProtobufObject, isProtobufContentType } from './protobuf/index.ts';

/** kube-apiserver's limit on request bodies. */
export const MAX_REQUEST_BYTES = 3 * 1024 * 1024;

export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
}

export function checkBodySize(body: Buffer): void {
  if (body.length > MAX_REQUEST_BYTES) {
    throw new RequestEntityTooLargeError(`Request entity too large: limit is ${MAX_REQUEST_BYTES}`);
  }
}

/** The object in a create/update body. */
export function decodeObjectBody(body: Buffer, contentType: string | undefined): unknown {
  checkBodySize(body);
  const mediaType = mediaTypeOf(contentType);
  if (isProtobufContentType(mediaType)) return decodeProtobufObject(body);
  if (body.length === 0) throw new BadRequestError('the request body is empty');
  if (mediaType === 'application/json' || mediaType === '*/*') return parseJson(body);
  if (mediaType === 'application/yaml' || mediaType === 'application/x-yaml' || mediaType === 'text/yaml') {
    try {
      return parseYaml(body.toString('utf8'));
    } catch (error) {
      throw new BadRequestError(`error decoding YAML: ${(error as Error).message}`);
    }
  }
  throw new UnsupportedMediaTypeError(mediaType);
}

/** An optional JSON body, such as DeleteOptions on DELETE. */
export function decodeOptionalJson(body: Buffer, contentType: string | undefined): unknown {
  if (body.length === 0) return undefined;
  const mediaType = mediaTypeOf(contentType);
  if (isProtobufContentType(mediaType)) return decodeProtobufObject(body);
  return parseJson(body);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BadRequestError(`error decoding request body as JSON: ${(error as Error).message}`);
  }
}
