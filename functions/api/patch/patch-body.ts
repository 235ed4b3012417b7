/** Recognising a PATCH request's media type and decoding its body. */
import { BadRequestError } from '../../core/errors.ts';
import { parseJsonWithin, parseYamlWithin } from '../request-body.ts';
import { isJsonObject } from './json-value.ts';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const mediaTypes: Readonly<Record<string, PatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/**
 * The patch type named by a Content-Type header, parameters (`; charset=utf-8`) ignored.
 * Undefined for anything else; the caller answers 415.
 */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType ? mediaTypes[mediaType] : undefined;
}

/**
 * Decodes a patch body: JSON for json/merge/strategic, YAML (of which JSON is a subset) for apply.
 * A body that does not decode, or decodes to the wrong shape, is a 400 as in Kubernetes.
 */
export function parsePatchBody(patchType: PatchType, body: Buffer | string): unknown {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') {
    throw new BadRequestError(patchType === 'apply' ? 'error decoding YAML: the request body is empty' : 'error decoding patch: the request body is empty');
  }
  if (patchType === 'apply') {
    const decoded = parseYamlWithin(text, 'error decoding YAML');
    if (!isJsonObject(decoded)) {
      throw new BadRequestError(`error decoding YAML: the apply configuration must be an object, got ${describe(decoded)}`);
    }
    return decoded;
  }
  const decoded = parseJsonWithin(text, 'error decoding patch');
  if (patchType === 'json') {
    if (!Array.isArray(decoded)) {
      throw new BadRequestError(`json: cannot unmarshal ${describe(decoded)} into Go value of type jsonpatch.Patch`);
    }
  } else if (!isJsonObject(decoded)) {
    throw new BadRequestError(
      `error decoding patch: a ${patchType === 'merge' ? 'merge' : 'strategic merge'} patch must be a JSON object, got ${describe(decoded)}`,
    );
  }
  return decoded;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
