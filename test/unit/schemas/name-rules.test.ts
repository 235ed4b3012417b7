import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectorMatches } from '../../../schemas/meta.ts';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, isLabelValue, isPortName, isQualifiedName, type NameRule } from '../../../schemas/name-rules.ts';
import { fieldPath } from '../../../schemas/zod-causes.ts';

const table: [string, NameRule, string, boolean][] = [
  ['DNS-1123 label', isDns1123Label, 'web-1', true],
  ['DNS-1123 label', isDns1123Label, '1web', true],
  ['DNS-1123 label', isDns1123Label, 'web.1', false],
  ['DNS-1123 label', isDns1123Label, '-web', false],
  ['DNS-1123 label', isDns1123Label, 'Web', false],
  ['DNS-1123 label', isDns1123Label, 'a'.repeat(63), true],
  ['DNS-1123 label', isDns1123Label, 'a'.repeat(64), false],
  ['DNS-1123 subdomain', isDns1123Subdomain, 'web.example.com', true],
  ['DNS-1123 subdomain', isDns1123Subdomain, 'web..com', false],
  ['DNS-1123 subdomain', isDns1123Subdomain, 'Bad_Name', false],
  ['DNS-1123 subdomain', isDns1123Subdomain, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
  ['DNS-1123 subdomain', isDns1123Subdomain, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, false],
  ['DNS-1035 label', isDns1035Label, 'web', true],
  ['DNS-1035 label', isDns1035Label, '1web', false],
  ['qualified name', isQualifiedName, 'app', true],
  ['qualified name', isQualifiedName, 'app.kubernetes.io/name', true],
  ['qualified name', isQualifiedName, 'My_Key.v2', true],
  ['qualified name', isQualifiedName, '/name', false],
  ['qualified name', isQualifiedName, 'example.com/', false],
  ['qualified name', isQualifiedName, 'a/b/c', false],
  ['qualified name', isQualifiedName, 'Example.com/name', false],
  ['qualified name', isQualifiedName, '_app', false],
  ['label value', isLabelValue, '', true],
  ['label value', isLabelValue, 'v1.2_3-x', true],
  ['label value', isLabelValue, 'v1 ', false],
  ['label value', isLabelValue, 'a'.repeat(64), false],
  ['port name', isPortName, 'http', true],
  ['port name', isPortName, 'http-alt', true],
  ['port name', isPortName, '8080', false],
  ['port name', isPortName, 'http--alt', false],
  ['port name', isPortName, 'a-very-long-port-name', false],
];

describe('name rules', () => {
  for (const [rule, check, value, valid] of table) {
    it(`${valid ? 'accepts' : 'rejects'} ${JSON.stringify(value.length > 20 ? `${value.slice(0, 12)}…(${value.length})` : value)} as a ${rule}`, () => {
      assert.equal(check(value).length === 0, valid, check(value).join('; '));
    });
  }
});

describe('label selector matching', () => {
  const labels = { app: 'web', tier: 'front' };
  const cases: [string, Parameters<typeof selectorMatches>[0], boolean][] = [
    ['matchLabels subset', { matchLabels: { app: 'web' } }, true],
    ['matchLabels mismatch', { matchLabels: { app: 'api' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    ['NotIn on a missing key', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
  ];
  for (const [name, selector, matches] of cases) {
    it(`${matches ? 'matches' : 'does not match'} with ${name}`, () => {
      assert.equal(selectorMatches(selector, labels), matches);
    });
  }
});

describe('field paths of zod issues', () => {
  const cases: [PropertyKey[], string][] = [
    [['spec', 'replicas'], 'spec.replicas'],
    [['spec', 'template', 'spec', 'containers', 0, 'image'], 'spec.template.spec.containers[0].image'],
    [['metadata', 'labels', 'app.kubernetes.io/name'], 'metadata.labels[app.kubernetes.io/name]'],
    [['data', 'config.yaml'], 'data[config.yaml]'],
  ];
  for (const [path, field] of cases) {
    it(`writes ${JSON.stringify(path)} as ${field}`, () => {
      assert.equal(fieldPath(path), field);
    });
  }
});
