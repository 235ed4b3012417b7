import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyJsonPatch, MAX_PATCH_COPY_BYTES } from '../../../../functions/api/patch/json-patch.ts';
import { isApiError } from '../../../../functions/core/errors.ts';

describe('JSON patch limits', () => {
  it('refuses copies of copies once they would add more than 3 MiB, with 422, before the object grows past it', () => {
    const operations: unknown[] = [{ op: 'add', path: '/a', value: { seed: 'x'.repeat(100) } }];
    for (let i = 0; i < 30; i++) operations.push({ op: 'copy', from: '/a', path: `/a/c${i}` });
    assert.throws(
      () => applyJsonPatch({}, operations),
      (error: unknown) =>
        isApiError(error, 422) &&
        /accumulated size increase of copy is \d+, exceeding the limit 3145728 \(operation \d+\)/.test(
          JSON.stringify((error as { details?: unknown }).details),
        ),
    );
  });

  it('applies copies that stay under the limit', () => {
    const result = applyJsonPatch({ a: 'x'.repeat(1000) }, [
      { op: 'copy', from: '/a', path: '/b' },
      { op: 'copy', from: '/a', path: '/c' },
    ]);
    assert.deepEqual(Object.keys(result as object), ['a', 'b', 'c']);
  });

  it('counts the JSON size of what is copied', () => {
    const value = 'y'.repeat(MAX_PATCH_COPY_BYTES / 2);
    assert.doesNotThrow(() => applyJsonPatch({ a: value }, [{ op: 'copy', from: '/a', path: '/b' }]));
    assert.throws(
      () =>
        applyJsonPatch({ a: value }, [
          { op: 'copy', from: '/a', path: '/b' },
          { op: 'copy', from: '/a', path: '/c' },
        ]),
      (error: unknown) => isApiError(error, 422),
    );
  });

  it('refuses more than 10,000 operations with 413', () => {
    assert.throws(
      () =>
        applyJsonPatch(
          {},
          Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/x', value: 1 })),
        ),
      (error: unknown) => isApiError(error, 413),
    );
  });

  it('keeps reporting the failing operation by its index', () => {
    assert.throws(
      () =>
        applyJsonPatch({ a: 1 }, [
          { op: 'test', path: '/a', value: 1 },
          { op: 'remove', path: '/missing' },
        ]),
      (error: unknown) => isApiError(error, 422) && /operation 1/.test(JSON.stringify((error as { details?: unknown }).details)),
    );
  });
});
