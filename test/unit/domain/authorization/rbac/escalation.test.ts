import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactString, covers, escalationMessage } from '../../../../../functions/domain/authorization/rbac/escalation.ts';
import type { PolicyRule } from '../../../../../schemas/rbac.ts';

const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
  ...(resourceNames ? { resourceNames } : {}),
});

describe('covers: may a user holding these rules grant those', () => {
  const cases: [string, PolicyRule[], PolicyRule[], boolean][] = [
    ['the same rule', [rule(['get', 'list'], [''], ['pods'])], [rule(['get'], [''], ['pods'])], true],
    ['a verb not held', [rule(['get'], [''], ['pods'])], [rule(['get', 'delete'], [''], ['pods'])], false],
    ['a resource not held', [rule(['get'], [''], ['pods'])], [rule(['get'], [''], ['secrets'])], false],
    ['everything under *', [rule(['*'], ['*'], ['*'])], [rule(['delete'], ['apps'], ['deployments/scale'])], true],
    ['a subresource held through */sub', [rule(['get'], ['apps'], ['*/scale'])], [rule(['get'], ['apps'], ['deployments/scale'])], true],
    ['a resource is not its subresource', [rule(['get'], [''], ['pods'])], [rule(['get'], [''], ['pods/log'])], false],
    ['pieces held by different rules', [rule(['get'], [''], ['pods']), rule(['list'], [''], ['pods'])], [rule(['get', 'list'], [''], ['pods'])], true],
    ['a named object from an unrestricted rule', [rule(['get'], [''], ['secrets'])], [rule(['get'], [''], ['secrets'], ['db'])], true],
    ['every object from a named rule', [rule(['get'], [''], ['secrets'], ['db'])], [rule(['get'], [''], ['secrets'])], false],
    ['a path under a held prefix', [{ verbs: ['get'], nonResourceURLs: ['/logs/*'] }], [{ verbs: ['get'], nonResourceURLs: ['/logs/kubelet'] }], true],
    ['a path not held', [{ verbs: ['get'], nonResourceURLs: ['/logs'] }], [{ verbs: ['get'], nonResourceURLs: ['/metrics'] }], false],
    ['nothing requested', [], [], true],
  ];
  for (const [description, owned, requested, expected] of cases) {
    it(`${expected ? 'covers' : 'does not cover'} ${description}`, () => assert.equal(covers(owned, requested).covered, expected));
  }

  it('reports the missing pieces one verb and resource at a time', () => {
    assert.deepEqual(covers([rule(['get'], [''], ['pods'])], [rule(['get', 'delete'], ['', 'apps'], ['pods'])]).missing, [
      rule(['delete'], [''], ['pods']),
      rule(['get'], ['apps'], ['pods']),
      rule(['delete'], ['apps'], ['pods']),
    ]);
  });
});

describe('escalationMessage', () => {
  it("prints kube-apiserver's message with the missing rules compacted and sorted", () => {
    const missing = [
      rule(['get'], [''], ['secrets']),
      rule(['list'], [''], ['secrets']),
      rule(['get'], [''], ['nodes']),
      { verbs: ['get'], nonResourceURLs: ['/metrics'] },
    ];
    assert.equal(
      escalationMessage({ username: 'alice', groups: ['dev', 'system:authenticated'] }, missing),
      'user "alice" (groups=["dev" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
        '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}\n' +
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}\n' +
        '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
    );
  });

  it('prints resource names when a rule has them', () => {
    assert.equal(compactString(rule(['get'], [''], ['secrets'], ['db'])), '{APIGroups:[""], Resources:["secrets"], ResourceNames:["db"], Verbs:["get"]}');
  });
});
