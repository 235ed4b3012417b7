/**
 * The deployed cluster's ServiceAccount signing key, from a Secrets Manager secret holding
 * `{"seed": "<random>"}` that the stack generates (docs/adr/122). The current version signs; the
 * current and the previous version verify, so rotating the secret keeps tokens issued just before
 * working until they expire. Read on first use and again after `refreshMs`; a failed read is
 * retried on the next request, never cached.
 */
import { GetSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { type ServiceAccountKeySource, type SigningKey, signingKeyFromSeed } from '../domain/authentication/service-account-tokens.ts';

const secretShape = z.object({ seed: z.string().min(32) });

async function keyOfStage(client: SecretsManagerClient, secretId: string, stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<SigningKey | undefined> {
  try {
    const output = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
    if (output.SecretString === undefined) throw new Error(`the service account key secret has no string value (${stage})`);
    return signingKeyFromSeed(secretShape.parse(JSON.parse(output.SecretString)).seed);
  } catch (error) {
    // A secret never rotated has no previous version.
    if (stage === 'AWSPREVIOUS' && error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

export function secretServiceAccountKeys(
  client: SecretsManagerClient,
  secretId: string,
  options: { refreshMs?: number; now?: () => number } = {},
): ServiceAccountKeySource {
  const refreshMs = options.refreshMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  let cached: { readonly keys: Promise<{ current: SigningKey; all: SigningKey[] }>; readonly at: number } | undefined;
  function keys() {
    if (!cached || now() - cached.at > refreshMs) {
      const loading = (async () => {
        const [current, previous] = await Promise.all([keyOfStage(client, secretId, 'AWSCURRENT'), keyOfStage(client, secretId, 'AWSPREVIOUS')]);
        if (!current) throw new Error('the service account key secret has no current version');
        return { current, all: previous && previous.kid !== current.kid ? [current, previous] : [current] };
      })();
      cached = { keys: loading, at: now() };
      loading.catch(() => {
        if (cached?.keys === loading) cached = undefined;
      });
    }
    return cached.keys;
  }
  return {
    signingKey: async () => (await keys()).current,
    verificationKeys: async () => (await keys()).all,
  };
}
