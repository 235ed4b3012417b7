/**
 * The deployed API's ServiceAccount signing key, read from Secrets Manager (the SDK calls checked
 * with aws-sdk-client-mock): the current version signs, current and previous verify, the secret
 * is read once per refresh period, and a failed read is not cached.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { signingKeyFromSeed } from '../../../functions/domain/authentication/service-account-tokens.ts';
import { secretServiceAccountKeys } from '../../../functions/lambda/service-account-key-secret.ts';

const secretId = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:ServiceAccountSigningKey-abc';
const currentSeed = 'current-seed-0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEF';
const previousSeed = 'previous-seed-0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCD';
const secrets = mockClient(SecretsManagerClient);

function notFound(): ResourceNotFoundException {
  return new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS", $metadata: {} });
}

describe('the ServiceAccount key in Secrets Manager', () => {
  beforeEach(() => secrets.reset());

  it('signs with the current version and verifies with the current and the previous one', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: secretId, VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ seed: currentSeed }) });
    secrets.on(GetSecretValueCommand, { SecretId: secretId, VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: JSON.stringify({ seed: previousSeed }) });
    const keys = secretServiceAccountKeys(new SecretsManagerClient({ region: 'us-east-1' }), secretId);
    assert.equal((await keys.signingKey()).kid, signingKeyFromSeed(currentSeed).kid);
    assert.deepEqual(
      (await keys.verificationKeys()).map((key) => key.kid),
      [signingKeyFromSeed(currentSeed).kid, signingKeyFromSeed(previousSeed).kid],
    );
    assert.deepEqual(
      secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input),
      [
        { SecretId: secretId, VersionStage: 'AWSCURRENT' },
        { SecretId: secretId, VersionStage: 'AWSPREVIOUS' },
      ],
    );
  });

  it('verifies with the current version alone when the secret was never rotated', async () => {
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ seed: currentSeed }) });
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' }).rejects(notFound());
    const keys = secretServiceAccountKeys(new SecretsManagerClient({ region: 'us-east-1' }), secretId);
    assert.deepEqual(
      (await keys.verificationKeys()).map((key) => key.kid),
      [signingKeyFromSeed(currentSeed).kid],
    );
  });

  it('reads the secret again only after the refresh period', async () => {
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ seed: currentSeed }) });
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' }).rejects(notFound());
    let clock = 0;
    const keys = secretServiceAccountKeys(new SecretsManagerClient({ region: 'us-east-1' }), secretId, { refreshMs: 1000, now: () => clock });
    await keys.signingKey();
    await keys.verificationKeys();
    assert.equal(secrets.commandCalls(GetSecretValueCommand).length, 2);
    clock = 1001;
    await keys.signingKey();
    assert.equal(secrets.commandCalls(GetSecretValueCommand).length, 4);
  });

  it('fails a request when the secret cannot be read, and reads it again on the next', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ SecretString: JSON.stringify({ seed: currentSeed }) });
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' }).rejects(notFound());
    const keys = secretServiceAccountKeys(new SecretsManagerClient({ region: 'us-east-1' }), secretId);
    await assert.rejects(keys.signingKey(), /throttled/);
    assert.equal((await keys.signingKey()).kid, signingKeyFromSeed(currentSeed).kid);
  });

  it('refuses a secret without a seed', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ adminToken: 'x' }) });
    const keys = secretServiceAccountKeys(new SecretsManagerClient({ region: 'us-east-1' }), secretId);
    await assert.rejects(keys.signingKey());
  });
});
