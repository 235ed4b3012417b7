import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isApiError } from '../../../functions/core/errors.ts';
import { labelSelectorFromObject, labelSelectorString, parseLabelSelector } from '../../../functions/core/label-selector.ts';

describe('parseLabelSelector', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod', replicas: '3' };
  const cases: readonly [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['env in (prod,staging)', true],
    ['env in (dev)', false],
    ['env notin (dev, staging)', true],
    ['env notin (prod)', false],
    ['missing notin (x)', true],
    ['missing in (x)', false],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    [' app = web , !legacy ', true],
    ['replicas>2', true],
    ['replicas<3', false],
    ['example.com/team', false],
    ['app=', false],
  ];
  for (const [selector, expected] of cases) {
    it(`${expected ? 'matches' : 'does not match'} ${JSON.stringify(selector)}`, () => {
      assert.equal(parseLabelSelector(selector).matches(labels), expected);
    });
  }

  it('matches an empty value with "key="', () => {
    assert.equal(parseLabelSelector('app=').matches({ app: '' }), true);
  });

  it('treats absent labels as an empty set', () => {
    assert.equal(parseLabelSelector('!app').matches(undefined), true);
    assert.equal(parseLabelSelector('app').matches(undefined), false);
  });

  const bad = ['app in (', 'app in ()', '=web', 'app=web,', 'app=w b', 'a b', '!', 'app==(x)', 'Bad_Prefix.COM/app=x', 'app notin x', 'replicas>x'];
  for (const selector of bad) {
    it(`rejects ${JSON.stringify(selector)} with a 400`, () => {
      assert.throws(
        () => parseLabelSelector(selector),
        (error) => isApiError(error, 400),
      );
    });
  }

  it('writes the canonical string, sorted by key', () => {
    assert.equal(parseLabelSelector('tier in (b,a),app=web,!legacy,env').toString(), 'app=web,env,!legacy,tier in (a,b)');
  });
});

describe('labelSelectorFromObject', () => {
  it('combines matchLabels and matchExpressions', () => {
    const selector = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(selector.matches({ app: 'web', env: 'prod' }), true);
    assert.equal(selector.matches({ app: 'web', env: 'prod', legacy: 'y' }), false);
    assert.equal(selector.matches({ app: 'web', env: 'dev' }), false);
  });

  it('selects everything for {} and nothing for an absent selector', () => {
    assert.equal(labelSelectorFromObject({}).matches({ any: 'x' }), true);
    assert.equal(labelSelectorFromObject(undefined).matches({ any: 'x' }), false);
  });

  it('converts to the string form kubectl -l takes', () => {
    assert.equal(labelSelectorString({ matchLabels: { app: 'web', tier: 'front' } }), 'app=web,tier=front');
    assert.equal(labelSelectorString({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] }), 'env notin (dev)');
  });

  it('round-trips through the string syntax', () => {
    const object = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'Exists' }] };
    const reparsed = parseLabelSelector(labelSelectorString(object));
    assert.deepEqual(reparsed.toString(), labelSelectorFromObject(object).toString());
  });

  const bad = [
    { matchExpressions: [{ key: 'env', operator: 'In', values: [] }] },
    { matchExpressions: [{ key: 'env', operator: 'Exists', values: ['x'] }] },
    { matchExpressions: [{ key: 'env', operator: 'Equals', values: ['x'] }] },
    { matchLabels: { 'bad key': 'x' } },
  ];
  for (const selector of bad) {
    it(`rejects ${JSON.stringify(selector)} with a 400`, () => {
      assert.throws(
        () => labelSelectorFromObject(selector),
        (error) => isApiError(error, 400),
      );
    });
  }
});
