import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePatchBody, patchTypeOf } from '../../../../functions/api/patch/index.ts';
import { isApiError } from '../../../../functions/core/errors.ts';

describe('patchTypeOf', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['application/json-patch+json', 'json'],
    ['application/merge-patch+json', 'merge'],
    ['application/strategic-merge-patch+json', 'strategic'],
    ['application/apply-patch+yaml', 'apply'],
    ['application/apply-patch+yaml; charset=utf-8', 'apply'],
    ['Application/Merge-Patch+JSON', 'merge'],
    ['application/json', undefined],
    ['text/plain', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [contentType, expected] of cases) {
    it(`maps ${JSON.stringify(contentType)} to ${String(expected)}`, () => {
      assert.equal(patchTypeOf(contentType), expected);
    });
  }
});

describe('parsePatchBody', () => {
  it('decodes JSON bodies from a Buffer', () => {
    assert.deepEqual(parsePatchBody('merge', Buffer.from('{"spec":{"replicas":3}}')), { spec: { replicas: 3 } });
    assert.deepEqual(parsePatchBody('json', '[{"op":"remove","path":"/a"}]'), [{ op: 'remove', path: '/a' }]);
  });

  it('decodes an apply body written as YAML', () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: "1"\n';
    assert.deepEqual(parsePatchBody('apply', yaml), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } });
  });

  it('decodes the JSON-plus-newline body kubectl sends for server-side apply', () => {
    assert.deepEqual(parsePatchBody('apply', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}\n'), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
    });
  });

  const malformed: [string, 'json' | 'merge' | 'strategic' | 'apply', string, RegExp][] = [
    ['broken JSON', 'merge', '{"spec":', /^error decoding patch: /],
    ['broken JSON in a strategic patch', 'strategic', '{nope}', /^error decoding patch: /],
    ['a JSON patch that is not a list', 'json', '{"op":"add"}', /cannot unmarshal object into Go value of type jsonpatch.Patch/],
    ['a merge patch that is a list', 'merge', '[1]', /must be a JSON object, got array/],
    ['an empty body', 'strategic', '  ', /empty/],
    ['broken YAML', 'apply', 'a: [1,\n', /^error decoding YAML: /],
    ['YAML with two documents', 'apply', 'a: 1\n---\nb: 2\n', /^error decoding YAML: /],
    ['an apply body that is a scalar', 'apply', '42', /must be an object/],
  ];
  for (const [what, patchType, body, message] of malformed) {
    it(`answers 400 BadRequest for ${what}`, () => {
      assert.throws(
        () => parsePatchBody(patchType, body),
        (error: unknown) => isApiError(error, 400) && error.reason === 'BadRequest' && message.test(error.message),
      );
    });
  }
});
