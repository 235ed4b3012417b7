import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapIamIdentity, parseIamIdentityMapping } from '../../../../functions/domain/authentication/iam-identity-mapping.ts';

const roleSession = (role: string, session?: string) => ({
  arn: `arn:aws:sts::111122223333:assumed-role/${role}/${session ?? 'x'}`,
  canonicalArn: `arn:aws:iam::111122223333:role/${role}`,
  accountId: '111122223333',
  ...(session ? { sessionName: session } : {}),
});

describe('aws-auth mapping', () => {
  const { mapping, problems } = parseIamIdentityMapping({
    mapRoles: `
- rolearn: arn:aws:iam::111122223333:role/teams/Developers
  username: dev:{{SessionName}}
  groups: [team-a]
- rolearn: arn:aws:iam::111122223333:role/Raw
  username: raw:{{SessionNameRaw}}@{{AccountID}}
- rolearn: 42
- userarn: misplaced
`,
    mapUsers: `
- userarn: arn:aws:iam::111122223333:user/Alice
`,
  });

  it('reads entries and reports the ones it cannot use', () => {
    assert.equal(mapping.roles.length, 2);
    assert.equal(mapping.users.length, 1);
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /^mapRoles\[2\]/);
  });

  it('matches a role session to its role, ignoring the path of the mapped ARN and case', () => {
    assert.deepEqual(mapIamIdentity(roleSession('developers', 'bob@example.com'), mapping), {
      username: 'dev:bob-example.com',
      groups: ['team-a', 'system:authenticated'],
    });
  });

  it('expands SessionNameRaw and AccountID', () => {
    assert.deepEqual(mapIamIdentity(roleSession('Raw', 'bob@example.com'), mapping)?.username, 'raw:bob@example.com@111122223333');
  });

  it('uses the ARN as username when none is given, and maps users by their exact ARN', () => {
    const alice = { arn: 'arn:aws:iam::111122223333:user/alice', canonicalArn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333' };
    assert.deepEqual(mapIamIdentity(alice, mapping), { username: 'arn:aws:iam::111122223333:user/alice', groups: ['system:authenticated'] });
  });

  it('maps nobody it does not name, and nobody whose template needs a session it lacks', () => {
    assert.equal(mapIamIdentity(roleSession('Other', 's'), mapping), undefined);
    const role = {
      arn: 'arn:aws:iam::111122223333:role/teams/Developers',
      canonicalArn: 'arn:aws:iam::111122223333:role/teams/Developers',
      accountId: '111122223333',
    };
    assert.equal(mapIamIdentity(role, mapping), undefined);
  });

  it('reads a missing or empty ConfigMap as no entries', () => {
    assert.deepEqual(parseIamIdentityMapping(undefined), { mapping: { roles: [], users: [] }, problems: [] });
    assert.deepEqual(parseIamIdentityMapping({ mapRoles: 'not: [a list' }).mapping.roles, []);
  });
});
