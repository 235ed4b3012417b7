/**
 * The local cluster's ServiceAccount signing key: a random seed made at first start in
 * `<data-dir>/pki/service-account-key.seed` (mode 0600), so tokens stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ServiceAccountKeySource, signingKeyFromSeed } from '../domain/authentication/service-account-tokens.ts';

export async function localServiceAccountKeys(dataDir: string): Promise<ServiceAccountKeySource> {
  const dir = join(dataDir, 'pki');
  const file = join(dir, 'service-account-key.seed');
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
  const key = signingKeyFromSeed((await readFile(file, 'utf8')).trim());
  return { signingKey: async () => key, verificationKeys: async () => [key] };
}
