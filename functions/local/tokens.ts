/**
 * Bearer tokens of the local cluster, random and kept in `<data-dir>/tokens.json` (mode 0600):
 * the admin's (`skiff-admin` in `system:masters`), made at first start, and one per node, made
 * when the host first starts (joins) that node's agent, which authenticates as
 * `system:node:<name>` in `system:nodes` (docs/adr/123); and the NetworkPolicy enforcers' one,
 * shared by the agents in namespace mode (docs/adr/209). Tokens are compared by SHA-256 digest
 * in constant time; the tokens themselves are never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { TokenAuthenticator } from '../domain/authentication/token-authenticators.ts';
import {
  AUTHENTICATED,
  NETWORK_POLICY_AGENT_USER,
  NETWORK_POLICY_AGENTS_GROUP,
  NODES_GROUP,
  nodeUsername,
  SYSTEM_MASTERS,
  type UserInfo,
} from '../domain/authorization/user-info.ts';

const tokensFileSchema = z.object({
  admin: z.string().min(16),
  /** Node name → token. */
  nodes: z.record(z.string(), z.string().min(16)).default({}),
  /** The NetworkPolicy enforcers' token; made when missing (a data dir from before it). */
  networkPolicy: z.string().min(16).optional(),
});
type TokensFile = z.infer<typeof tokensFileSchema>;

const digest = (token: string) => createHash('sha256').update(token).digest();
const newToken = () => randomBytes(32).toString('base64url');

export class LocalTokens {
  private readonly known: { digest: Buffer; user: UserInfo }[] = [];
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly tokens: TokensFile & { networkPolicy: string },
  ) {
    this.known.push({ digest: digest(tokens.admin), user: { username: 'skiff-admin', groups: [SYSTEM_MASTERS, AUTHENTICATED] } });
    this.known.push({
      digest: digest(tokens.networkPolicy),
      user: { username: NETWORK_POLICY_AGENT_USER, groups: [NETWORK_POLICY_AGENTS_GROUP, AUTHENTICATED] },
    });
    for (const [name, token] of Object.entries(tokens.nodes)) this.remember(name, token);
  }

  /** The data dir's tokens, made on first use. A shared node token of an older data dir is dropped. */
  static async open(dataDir: string): Promise<LocalTokens> {
    const file = join(dataDir, 'tokens.json');
    const stored = existsSync(file) ? tokensFileSchema.safeParse(JSON.parse(await readFile(file, 'utf8'))) : undefined;
    const read: TokensFile = stored?.success ? stored.data : { admin: newToken(), nodes: {} };
    const tokens = { ...read, networkPolicy: read.networkPolicy ?? newToken() };
    const local = new LocalTokens(file, tokens);
    await local.save();
    return local;
  }

  get admin(): string {
    return this.tokens.admin;
  }

  /** The token of `name`'s agent; made and saved the first time the node joins. */
  async joinNode(name: string): Promise<string> {
    const existing = this.tokens.nodes[name];
    if (existing) return existing;
    const token = newToken();
    this.tokens.nodes[name] = token;
    this.remember(name, token);
    await this.save();
    return token;
  }

  /** The token of the agents' NetworkPolicy watches (user `system:skiff:network-policy-agent`). */
  get networkPolicy(): string {
    return this.tokens.networkPolicy;
  }

  nodeToken(name: string): string | undefined {
    return this.tokens.nodes[name];
  }

  authenticator(): TokenAuthenticator {
    return async (token) => {
      const presented = digest(token);
      let found: UserInfo | undefined;
      // Compared with every entry, so the time taken does not tell which one matched.
      for (const entry of this.known) if (timingSafeEqual(entry.digest, presented) && !found) found = entry.user;
      return found;
    };
  }

  private remember(name: string, token: string): void {
    this.known.push({ digest: digest(token), user: { username: nodeUsername(name), groups: [NODES_GROUP, AUTHENTICATED] } });
  }

  private save(): Promise<void> {
    const text = `${JSON.stringify(this.tokens, null, 2)}\n`;
    this.writing = this.writing.then(() => writeFile(this.file, text, { mode: 0o600 }));
    return this.writing;
  }
}
