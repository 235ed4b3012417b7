import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDefaults, type JsonSchemaProps, prune, validateCrdSchema, validateValue } from '../../../schemas/structural-schema.ts';

const schema: JsonSchemaProps = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['color'],
      properties: {
        color: { type: 'string', enum: ['red', 'blue'] },
        replicas: { type: 'integer', minimum: 1, maximum: 10, default: 1 },
        name: { type: 'string', minLength: 3, maxLength: 5, pattern: '^[a-z]+$' },
        ratio: { type: 'number', minimum: 0, exclusiveMinimum: true, multipleOf: 0.5 },
        size: { 'x-kubernetes-int-or-string': true },
        tags: { type: 'array', maxItems: 2, minItems: 1, items: { type: 'string' } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'integer' } } },
        template: {
          type: 'object',
          'x-kubernetes-embedded-resource': true,
          'x-kubernetes-preserve-unknown-fields': true,
        },
        nested: { type: 'object', default: {}, properties: { mode: { type: 'string', default: 'auto' } } },
        maybe: { type: 'string', nullable: true },
      },
    },
    status: { type: 'object', properties: { ready: { type: 'boolean' } } },
  },
};

describe('custom resource values against their schema', () => {
  const cases: { name: string; spec: Record<string, unknown>; expect: [string, string, string][] }[] = [
    { name: 'a valid object has no causes', spec: { color: 'red', replicas: 3, size: '50%', tags: ['a'] }, expect: [] },
    { name: 'a required field missing', spec: {}, expect: [['spec.color', 'FieldValueRequired', 'Required value']] },
    {
      name: 'a value outside the enum',
      spec: { color: 'pink' },
      expect: [['spec.color', 'FieldValueNotSupported', 'Unsupported value: "pink": supported values: "red", "blue"']],
    },
    {
      name: 'a string where an integer is declared',
      spec: { color: 'red', replicas: 'three' },
      expect: [['spec.replicas', 'FieldValueTypeInvalid', 'Invalid value: "string": spec.replicas in body must be of type integer: "string"']],
    },
    {
      name: 'a fraction where an integer is declared',
      spec: { color: 'red', replicas: 1.5 },
      expect: [['spec.replicas', 'FieldValueTypeInvalid', 'Invalid value: "number": spec.replicas in body must be of type integer: "number"']],
    },
    {
      name: 'above the maximum',
      spec: { color: 'red', replicas: 11 },
      expect: [['spec.replicas', 'FieldValueInvalid', 'Invalid value: 11: spec.replicas in body should be less than or equal to 10']],
    },
    {
      name: 'below the minimum',
      spec: { color: 'red', replicas: 0 },
      expect: [['spec.replicas', 'FieldValueInvalid', 'Invalid value: 0: spec.replicas in body should be greater than or equal to 1']],
    },
    {
      name: 'at an exclusive minimum, not a multiple',
      spec: { color: 'red', ratio: 0 },
      expect: [['spec.ratio', 'FieldValueInvalid', 'Invalid value: 0: spec.ratio in body should be greater than 0']],
    },
    {
      name: 'not a multiple',
      spec: { color: 'red', ratio: 0.7 },
      expect: [['spec.ratio', 'FieldValueInvalid', 'spec.ratio in body should be a multiple of 0.5']],
    },
    {
      name: 'a string too short and off the pattern',
      spec: { color: 'red', name: 'A1' },
      expect: [
        ['spec.name', 'FieldValueInvalid', 'Invalid value: "A1": spec.name in body should be at least 3 chars long'],
        ['spec.name', 'FieldValueInvalid', 'Invalid value: "A1": spec.name in body should match \'^[a-z]+$\''],
      ],
    },
    {
      name: 'a string too long',
      spec: { color: 'red', name: 'abcdef' },
      expect: [['spec.name', 'FieldValueTooLong', 'Too long: may not be more than 5 bytes']],
    },
    {
      name: 'int-or-string refuses a boolean',
      spec: { color: 'red', size: true },
      expect: [['spec.size', 'FieldValueTypeInvalid', 'spec.size in body must be of type integer,string: "boolean"']],
    },
    {
      name: 'too many items',
      spec: { color: 'red', tags: ['a', 'b', 'c'] },
      expect: [['spec.tags', 'FieldValueTooMany', 'Too many: 3: must have at most 2 items']],
    },
    { name: 'too few items', spec: { color: 'red', tags: [] }, expect: [['spec.tags', 'FieldValueInvalid', 'spec.tags in body should have at least 1 items']] },
    {
      name: 'an item of the wrong type',
      spec: { color: 'red', tags: [1] },
      expect: [['spec.tags[0]', 'FieldValueTypeInvalid', 'spec.tags[0] in body must be of type string: "integer"']],
    },
    {
      name: 'a map value of the wrong type',
      spec: { color: 'red', labels: { a: 1 } },
      expect: [['spec.labels.a', 'FieldValueTypeInvalid', 'spec.labels.a in body must be of type string: "integer"']],
    },
    {
      name: 'an embedded resource without kind and apiVersion',
      spec: { color: 'red', template: { spec: {} } },
      expect: [
        ['spec.template.kind', 'FieldValueRequired', 'Required value: must not be empty'],
        ['spec.template.apiVersion', 'FieldValueRequired', 'Required value: must not be empty'],
      ],
    },
    { name: 'null where nullable', spec: { color: 'red', maybe: null }, expect: [] },
  ];
  for (const { name, spec, expect } of cases) {
    it(name, () => {
      const causes = validateValue(schema, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec });
      assert.deepEqual(
        causes.map((cause) => cause.field),
        expect.map(([field]) => field),
      );
      causes.forEach((cause, i) => {
        assert.equal(cause.reason, expect[i]?.[1]);
        assert.ok(cause.message.includes(expect[i]?.[2] ?? ''), `${cause.message} should contain ${expect[i]?.[2]}`);
      });
    });
  }
});

describe('pruning unknown fields', () => {
  const cases: { name: string; input: Record<string, unknown>; kept: Record<string, unknown>; pruned: string[] }[] = [
    {
      name: 'drops fields the schema does not declare, at every level',
      input: { spec: { color: 'red', colour: 'red', nested: { mode: 'x', extra: 1 } }, extra: true },
      kept: { spec: { color: 'red', nested: { mode: 'x' } } },
      pruned: ['spec.colour', 'spec.nested.extra', 'extra'],
    },
    {
      name: 'keeps x-kubernetes-preserve-unknown-fields subtrees, pruning their declared fields only by their schema',
      input: { spec: { free: { anything: { deep: 1 }, known: 2 } } },
      kept: { spec: { free: { anything: { deep: 1 }, known: 2 } } },
      pruned: [],
    },
    {
      name: 'keeps every key of a map (additionalProperties)',
      input: { spec: { labels: { a: 'b', c: 'd' } } },
      kept: { spec: { labels: { a: 'b', c: 'd' } } },
      pruned: [],
    },
    {
      name: 'keeps the type and object metadata of the root and of embedded resources',
      input: { spec: { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { x: 1 } } } },
      kept: { spec: { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { x: 1 } } } },
      pruned: [],
    },
    {
      name: 'prunes inside array items',
      input: { spec: { tags: ['a'] }, status: { ready: true, phase: 'Up' } },
      kept: { spec: { tags: ['a'] }, status: { ready: true } },
      pruned: ['status.phase'],
    },
  ];
  for (const { name, input, kept, pruned } of cases) {
    it(name, () => {
      const base = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
      const result = prune(schema, { ...base, ...input });
      assert.deepEqual(result.value, { ...base, ...kept });
      assert.deepEqual(result.pruned, pruned);
    });
  }
});

describe('defaults', () => {
  const cases: { name: string; spec: Record<string, unknown>; expect: Record<string, unknown> }[] = [
    { name: 'fills an absent field', spec: { color: 'red' }, expect: { color: 'red', replicas: 1, nested: { mode: 'auto' } } },
    {
      name: 'keeps a value that is set',
      spec: { color: 'red', replicas: 4, nested: { mode: 'manual' } },
      expect: { color: 'red', replicas: 4, nested: { mode: 'manual' } },
    },
    { name: 'defaults inside a defaulted object', spec: { nested: {} }, expect: { nested: { mode: 'auto' }, replicas: 1 } },
    { name: 'replaces a null that is not nullable', spec: { replicas: null }, expect: { replicas: 1, nested: { mode: 'auto' } } },
  ];
  for (const { name, spec, expect } of cases) {
    it(name, () => {
      const result = applyDefaults(schema, { spec }) as { spec: Record<string, unknown> };
      assert.deepEqual(result.spec, expect);
    });
  }
});

describe('structural schema rules of a CRD', () => {
  const path = 'spec.versions[0].schema.openAPIV3Schema';
  const cases: { name: string; schema: JsonSchemaProps; expect: string[] }[] = [
    { name: 'a structural schema passes', schema, expect: [] },
    {
      name: 'a field without a type',
      schema: { type: 'object', properties: { spec: { properties: { a: { type: 'string' } } } } },
      expect: [`${path}.properties[spec].type: Required value: must not be empty for specified object fields`],
    },
    { name: 'no type at the root', schema: { properties: {} }, expect: [`${path}.type: Required value: must not be empty at the root`] },
    { name: 'a root that is not an object', schema: { type: 'string' }, expect: [`${path}.type: Invalid value: "string": must be object at the root`] },
    {
      name: 'an array without items',
      schema: { type: 'object', properties: { list: { type: 'array' } } },
      expect: [`${path}.properties[list].items: Required value: must be specified`],
    },
    {
      name: 'array items without a type',
      schema: { type: 'object', properties: { list: { type: 'array', items: { description: 'x' } } } },
      expect: [`${path}.properties[list].items.type: Required value: must not be empty for specified array items`],
    },
    {
      name: 'properties and additionalProperties together',
      schema: { type: 'object', properties: { m: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } } } },
      expect: [`${path}.properties[m].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`],
    },
    {
      name: 'metadata restricted beyond name and generateName',
      schema: { type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } },
      expect: [`${path}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`],
    },
    {
      name: 'a type under anyOf',
      schema: { type: 'object', properties: { a: { type: 'string', anyOf: [{ type: 'string' }] } } },
      expect: [`${path}.properties[a].anyOf[0].type: Forbidden: must be empty to be structural`],
    },
    {
      name: 'the int-or-string pattern under anyOf is allowed',
      schema: { type: 'object', properties: { a: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] } } },
      expect: [],
    },
    {
      name: 'an embedded resource that is not an object',
      schema: { type: 'object', properties: { t: { type: 'string', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true } } },
      expect: [`${path}.properties[t].type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true`],
    },
    {
      name: 'uniqueItems',
      schema: { type: 'object', properties: { l: { type: 'array', uniqueItems: true, items: { type: 'string' } } } },
      expect: [`${path}.properties[l].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`],
    },
  ];
  for (const { name, schema: candidate, expect } of cases) {
    it(name, () => {
      assert.deepEqual(
        validateCrdSchema(candidate, path).map((cause) => `${cause.field}: ${cause.message}`),
        expect,
      );
    });
  }
});
