/**
 * Bearer tokens of a deployed cluster, kept in one Secrets Manager secret (docs/adr/070):
 *
 * ```json
 * { "tokens": [ { "token": "<random>", "username": "skiff-admin", "groups": ["system:masters"] },
 *               { "sha256": "<hex digest>", "username": "ci", "groups": ["system:authenticated"] } ] }
 * ```
 *
 * An entry holds either the token itself (what the stack generates, so an admin can fetch it
 * for a kubeconfig) or only its SHA-256 digest. Tokens are hashed once when the secret is
 * read and compared by digest in constant time; they are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { UserInfo } from './core/app.ts';

const tokenEntry = z
  .object({
    token: z.string().min(16).optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/)
      .optional(),
    username: z.string().min(1),
    groups: z.array(z.string()).default([]),
  })
  .refine((entry) => (entry.token === undefined) !== (entry.sha256 === undefined), { message: 'each entry needs exactly one of token or sha256' });

const tokenSecret = z.object({ tokens: z.array(tokenEntry).min(1) });

export interface KnownToken {
  readonly digest: Buffer;
  readonly user: UserInfo;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Parses the secret's JSON text into digests and users. Throws on a malformed secret. */
export function parseTokenSecret(secretString: string): readonly KnownToken[] {
  const parsed = tokenSecret.parse(JSON.parse(secretString));
  return parsed.tokens.map((entry) => ({
    digest: entry.token !== undefined ? sha256(entry.token) : Buffer.from(entry.sha256 ?? '', 'hex'),
    user: { username: entry.username, groups: [...new Set([...entry.groups, 'system:authenticated'])] },
  }));
}

/** The user a bearer token belongs to, comparing digests in constant time. */
export function findUser(known: readonly KnownToken[], token: string): UserInfo | undefined {
  const presented = sha256(token);
  let found: UserInfo | undefined;
  // Compare with every entry, so the time taken does not tell which entry matched.
  for (const entry of known) {
    if (timingSafeEqual(entry.digest, presented) && !found) found = entry.user;
  }
  return found;
}

/**
 * Reads the secret through the AWS Parameters and Secrets Lambda Extension (a layer with a
 * local HTTP endpoint and its own cache), so the function needs no Secrets Manager SDK client.
 */
export async function readSecretFromExtension(secretId: string, environment: NodeJS.ProcessEnv = process.env): Promise<string> {
  const port = environment.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
  const response = await fetch(`http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`, {
    headers: { 'X-Aws-Parameters-Secrets-Token': environment.AWS_SESSION_TOKEN ?? '' },
  });
  if (!response.ok) throw new Error(`reading the token secret failed with HTTP ${response.status}`);
  const body = z.object({ SecretString: z.string() }).parse(await response.json());
  return body.SecretString;
}

/**
 * An authenticator over the token secret, read on first use and again after `refreshMs`
 * (so a rotated token takes effect without a deployment). A failed read is retried on the
 * next request rather than cached.
 */
export function secretTokenAuthenticator(
  readSecret: () => Promise<string>,
  options: { refreshMs?: number; now?: () => number } = {},
): (token: string) => Promise<UserInfo | undefined> {
  const refreshMs = options.refreshMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  let cached: { readonly known: Promise<readonly KnownToken[]>; readonly at: number } | undefined;
  return async (token) => {
    if (!cached || now() - cached.at > refreshMs) {
      const known = readSecret().then(parseTokenSecret);
      cached = { known, at: now() };
      known.catch(() => {
        if (cached?.known === known) cached = undefined;
      });
    }
    return findUser(await cached.known, token);
  };
}
