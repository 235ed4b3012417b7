/** JSON patch, RFC 6902, with errors reported the way the Kubernetes API server reports them. */

import type { Operation } from 'fast-json-patch';
import fastJsonPatch from 'fast-json-patch';
import { ApiError, BadRequestError, RequestEntityTooLargeError } from '../../core/errors.ts';
import { cloneJson, type JsonValue } from './json-value.ts';

/** The API server's limit on operations in one JSON patch. */
const maxOperations = 10_000;

/**
 * How much `copy` operations may add to an object, in bytes of JSON, summed over the patch:
 * kube-apiserver's `JSONPatchMaxCopyBytes` (3 MiB). Without it a few dozen copies of a copy
 * double the object each time and exhaust the heap (docs/adr/125).
 */
export const MAX_PATCH_COPY_BYTES = 3 * 1024 * 1024;

/** Errors that mean the patch document itself is malformed (400), not that it does not fit (422). */
const malformedPatchErrors = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

/**
 * A well-formed JSON patch that cannot be applied (missing path, failed `test`). Kubernetes answers
 * 422 Invalid with a generic message; the specific reason goes in a cause so it is not lost.
 */
export class JsonPatchApplyError extends ApiError {
  override name = 'JsonPatchApplyError';
  constructor(detail: string) {
    super(422, 'Invalid', 'the server rejected our request due to an error in our request', { causes: [{ message: detail }] });
  }
}

export function applyJsonPatch(document: JsonValue, operations: readonly unknown[]): JsonValue {
  if (operations.length > maxOperations) {
    throw new RequestEntityTooLargeError(`The allowed maximum operations in a JSON patch is ${maxOperations}, got ${operations.length}`);
  }
  // fast-json-patch links patch values into the result; copy them so the caller's patch stays apart.
  const ownOperations = cloneJson(operations) as Operation[];
  let copiedBytes = 0;
  try {
    let result = cloneJson(document);
    ownOperations.forEach((operation, index) => {
      if (typeof operation === 'object' && operation !== null && operation.op === 'copy' && typeof operation.from === 'string') {
        copiedBytes += copySize(result, operation.from);
        if (copiedBytes > MAX_PATCH_COPY_BYTES) {
          throw new JsonPatchApplyError(
            `Unable to complete the copy, the accumulated size increase of copy is ${copiedBytes}, exceeding the limit ${MAX_PATCH_COPY_BYTES} (operation ${index})`,
          );
        }
      }
      // The validator is given the operation's own index, so errors name it (applyOperation alone says 0).
      const validate = (op: Operation, _at: number, document: JsonValue, existingPath: string) => fastJsonPatch.validator(op, index, document, existingPath);
      result = fastJsonPatch.applyOperation(result, operation, validate, true, true, index).newDocument;
    });
    return result;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    // fast-json-patch refuses paths through `__proto__` or `constructor/prototype` with a TypeError.
    if (error instanceof TypeError && error.message.startsWith('JSON-Patch:')) throw new JsonPatchApplyError(error.message);
    if (error instanceof fastJsonPatch.JsonPatchError) {
      const detail = describePatchError(error);
      if (malformedPatchErrors.has(error.name)) throw new BadRequestError(detail);
      throw new JsonPatchApplyError(detail);
    }
    throw error;
  }
}

/** Bytes of JSON the value at `from` takes; 0 when there is none (the operation then fails on its own). */
function copySize(document: JsonValue, from: string): number {
  let value: unknown;
  try {
    value = fastJsonPatch.getValueByPointer(document, from);
  } catch {
    return 0;
  }
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value));
}

function describePatchError(error: InstanceType<typeof fastJsonPatch.JsonPatchError>): string {
  const operation: unknown = error.operation;
  const summary =
    typeof operation === 'object' && operation !== null
      ? ` (operation ${error.index ?? 0}: ${JSON.stringify({ op: (operation as Record<string, unknown>).op, path: (operation as Record<string, unknown>).path })})`
      : error.index !== undefined
        ? ` (operation ${error.index})`
        : '';
  const message = error.message.split('\n')[0] ?? error.message;
  return `${message}${summary}`;
}
