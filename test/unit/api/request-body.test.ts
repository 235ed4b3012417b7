import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeObjectBody,
  jsonNestingExceeds,
  MAX_JSON_DEPTH,
  MAX_REQUEST_BYTES,
  parseYamlWithin,
  readRequestBody,
  yamlFlowNestingExceeds,
} from '../../../functions/api/request-body.ts';
import { isApiError } from '../../../functions/core/errors.ts';

/** A body arriving in chunks, counting how many the reader pulled. */
function arriving(chunks: readonly Buffer[]): { body: AsyncIterable<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  return {
    body: (async function* () {
      for (const chunk of chunks) {
        pulled++;
        yield chunk;
      }
    })(),
    pulled: () => pulled,
  };
}

const status = (code: number) => (error: unknown) => isApiError(error, code);

describe('readRequestBody', () => {
  it('reads a body of exactly the limit', async () => {
    const { body } = arriving([Buffer.alloc(6), Buffer.alloc(4)]);
    assert.equal((await readRequestBody(body, undefined, 10)).length, 10);
  });

  it('stops at the chunk that passes the limit with 413 and reads nothing after it', async () => {
    const source = arriving([Buffer.alloc(6), Buffer.alloc(5), Buffer.alloc(5), Buffer.alloc(5)]);
    await assert.rejects(readRequestBody(source.body, undefined, 10), (error: unknown) => isApiError(error, 413) && /limit is/.test((error as Error).message));
    assert.equal(source.pulled(), 2);
  });

  it('refuses a Content-Length over the limit before reading anything', async () => {
    const source = arriving([Buffer.alloc(1)]);
    await assert.rejects(readRequestBody(source.body, '10000000'), status(413));
    assert.equal(source.pulled(), 0);
  });

  it('refuses a Content-Length that is not a number with 400', async () => {
    await assert.rejects(readRequestBody(Buffer.alloc(0), 'ten'), status(400));
  });

  it('holds a complete body (API Gateway) to the same limit', async () => {
    await assert.rejects(readRequestBody(Buffer.alloc(MAX_REQUEST_BYTES + 1), undefined), status(413));
    assert.equal((await readRequestBody(Buffer.alloc(MAX_REQUEST_BYTES), undefined)).length, MAX_REQUEST_BYTES);
  });
});

describe('nesting limits', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('counts JSON nesting outside strings only', () => {
    assert.equal(jsonNestingExceeds(Buffer.from(nested(MAX_JSON_DEPTH)), MAX_JSON_DEPTH), false);
    assert.equal(jsonNestingExceeds(Buffer.from(nested(MAX_JSON_DEPTH + 1)), MAX_JSON_DEPTH), true);
    assert.equal(jsonNestingExceeds(Buffer.from(JSON.stringify({ a: '[[[[[[', b: '\\"[[[' })), 3), false);
  });

  it('refuses 200,000-deep JSON with 400 without recursing into it', () => {
    assert.throws(
      () => decodeObjectBody(Buffer.from(nested(200_000)), 'application/json'),
      (error: unknown) => isApiError(error, 400) && /exceeded max depth of 1000/.test(String(error)),
    );
  });

  it('refuses deep YAML flow collections before the YAML parser sees them', () => {
    assert.equal(yamlFlowNestingExceeds(`a: ${nested(MAX_JSON_DEPTH + 1)}`, MAX_JSON_DEPTH), true);
    assert.throws(() => parseYamlWithin(`a: ${nested(200_000)}`, 'error decoding YAML'), status(400));
  });

  it('refuses YAML that decodes deeper than the limit with 400', () => {
    // Compact block sequences (`- - - x`) nest without a single bracket.
    assert.deepEqual(parseYamlWithin('- - - x\n', 'error decoding YAML'), [[['x']]]);
    assert.throws(
      () => parseYamlWithin(`${'- '.repeat(MAX_JSON_DEPTH + 1)}x\n`, 'error decoding YAML'),
      (error: unknown) => isApiError(error, 400) && /exceeded max depth of 1000|call stack/.test(String(error)),
    );
  });

  it('still decodes ordinary YAML and JSON', () => {
    assert.deepEqual(parseYamlWithin('a: [1, {b: c}]\n', 'error decoding YAML'), { a: [1, { b: 'c' }] });
    assert.deepEqual(decodeObjectBody(Buffer.from('{"kind":"ConfigMap","data":{"k":"[v]"}}'), 'application/json'), { kind: 'ConfigMap', data: { k: '[v]' } });
  });
});
