import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { parseTokenSecret, readSecretFromExtension, secretTokenAuthenticator } from '../../../functions/lambda/token-secret.ts';

const adminToken = 'admin-token-0123456789abcdef';
const ciToken = 'ci-token-0123456789abcdef0000';
const secret = JSON.stringify({
  tokens: [
    { token: adminToken, username: 'skiff-admin', groups: ['system:masters'] },
    { sha256: createHash('sha256').update(ciToken).digest('hex'), username: 'ci' },
  ],
});

describe('token secret', () => {
  it('finds the user of a token stored in clear or as its SHA-256 digest', async () => {
    const authenticate = secretTokenAuthenticator(async () => secret);
    assert.deepEqual(await authenticate(adminToken), { username: 'skiff-admin', groups: ['system:masters', 'system:authenticated'] });
    assert.deepEqual(await authenticate(ciToken), { username: 'ci', groups: ['system:authenticated'] });
  });

  it('knows the stack-generated admin token as skiff-admin', async () => {
    const authenticate = secretTokenAuthenticator(async () => JSON.stringify({ adminToken: adminToken }));
    assert.deepEqual(await authenticate(adminToken), { username: 'skiff-admin', groups: ['system:masters', 'system:authenticated'] });
    assert.equal(await authenticate(ciToken), undefined);
  });

  it('knows no user for an unknown or empty token', async () => {
    const authenticate = secretTokenAuthenticator(async () => secret);
    assert.equal(await authenticate('not-a-token'), undefined);
    assert.equal(await authenticate(''), undefined);
  });

  it('reads the secret once, and again only after the refresh interval', async () => {
    let reads = 0;
    let clock = 0;
    const authenticate = secretTokenAuthenticator(
      async () => {
        reads++;
        return secret;
      },
      { refreshMs: 1000, now: () => clock },
    );
    await Promise.all([authenticate(adminToken), authenticate(ciToken), authenticate('x')]);
    assert.equal(reads, 1);
    clock = 1001;
    await authenticate(adminToken);
    assert.equal(reads, 2);
  });

  it('retries a failed read on the next request instead of caching the failure', async () => {
    let reads = 0;
    const authenticate = secretTokenAuthenticator(async () => {
      reads++;
      if (reads === 1) throw new Error('extension not ready');
      return secret;
    });
    await assert.rejects(authenticate(adminToken), /extension not ready/);
    assert.equal((await authenticate(adminToken))?.username, 'skiff-admin');
  });

  const malformed: Array<[string, string]> = [
    ['not JSON', 'tokens'],
    ['no tokens', '{"tokens":[]}'],
    ['an empty object', '{}'],
    ['an entry with both token and sha256', JSON.stringify({ tokens: [{ token: adminToken, sha256: 'a'.repeat(64), username: 'x' }] })],
    ['a short digest', JSON.stringify({ tokens: [{ sha256: 'abc', username: 'x' }] })],
    ['an entry without a username', JSON.stringify({ tokens: [{ token: adminToken }] })],
  ];
  for (const [name, text] of malformed) {
    it(`rejects a secret with ${name}`, () => {
      assert.throws(() => parseTokenSecret(text));
    });
  }
});

describe('readSecretFromExtension', () => {
  it('asks the Parameters and Secrets extension for the secret with the session token', async () => {
    const seen: Array<{ url: string | undefined; token: string | string[] | undefined }> = [];
    const server = createServer((request, response) => {
      seen.push({ url: request.url, token: request.headers['x-aws-parameters-secrets-token'] });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:tokens', SecretString: secret }));
    });
    await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const text = await readSecretFromExtension('arn:aws:secretsmanager:eu-west-1:1:secret:tokens', {
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port),
        AWS_SESSION_TOKEN: 'session',
      });
      assert.equal(text, secret);
      assert.deepEqual(seen, [
        { url: `/secretsmanager/get?secretId=${encodeURIComponent('arn:aws:secretsmanager:eu-west-1:1:secret:tokens')}`, token: 'session' },
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('fails when the extension answers with an error', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(400);
      response.end('not authorized');
    });
    await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await assert.rejects(readSecretFromExtension('id', { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port) }), /HTTP 400/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
