/**
 * Bearer tokens of the local cluster: an admin token and a node token, random, made at first
 * start and kept in the data dir (mode 0600). Tokens are compared by SHA-256 digest in
 * constant time; the tokens themselves are never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UserInfo } from '../domain/authorization/user-info.ts';

export interface LocalTokens {
  readonly admin: string;
  readonly node: string;
}

export async function ensureTokens(dataDir: string): Promise<LocalTokens> {
  const file = join(dataDir, 'tokens.json');
  if (!existsSync(file)) {
    const tokens: LocalTokens = { admin: randomBytes(32).toString('base64url'), node: randomBytes(32).toString('base64url') };
    await writeFile(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  }
  return JSON.parse(await readFile(file, 'utf8')) as LocalTokens;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function tokenAuthenticator(tokens: LocalTokens): (token: string) => Promise<UserInfo | undefined> {
  const known = [
    { digest: digest(tokens.admin), user: { username: 'skiff-admin', groups: ['system:masters', 'system:authenticated'] } },
    { digest: digest(tokens.node), user: { username: 'system:node', groups: ['system:nodes', 'system:authenticated'] } },
  ];
  return async (token) => {
    const presented = digest(token);
    return known.find((entry) => timingSafeEqual(entry.digest, presented))?.user;
  };
}
