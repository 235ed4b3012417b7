/**
 * More users for the local cluster: a static token file, as kube-apiserver's `--token-auth-file`.
 * `<data-dir>/tokens.csv` holds one user a line — `token,user,uid,"group1,group2"` (uid and groups
 * optional; `#` starts a comment) — and is read again whenever it changes, so a user can be added
 * while the cluster runs. Tokens are compared by SHA-256 digest in constant time and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { TokenAuthenticator } from '../domain/authentication/token-authenticators.ts';
import type { UserInfo } from '../domain/authorization/user-info.ts';

interface Entry {
  readonly digest: Buffer;
  readonly user: UserInfo;
}

/** Splits one CSV line, honouring double-quoted fields (`""` is a quote inside one). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      } else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(current);
      current = '';
    } else current += char;
  }
  fields.push(current);
  return fields.map((field) => field.trim());
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** Parses the file's text; a line with fewer than two fields is an error naming the line. */
export function parseTokenFile(text: string): Entry[] {
  const entries: Entry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [token = '', username = '', uid = '', groups = ''] = csvFields(line);
    if (token === '' || username === '') throw new Error(`tokens.csv line ${index + 1}: a token and a user name are required`);
    const groupList = groups
      .split(',')
      .map((group) => group.trim())
      .filter((group) => group !== '');
    entries.push({ digest: sha256(token), user: { username, ...(uid ? { uid } : {}), groups: groupList } });
  });
  return entries;
}

/** An authenticator over a token file that may not exist (then it knows no token). */
export function tokenFileAuthenticator(path: string): TokenAuthenticator {
  let loaded: { readonly mtimeMs: number; readonly size: number; readonly entries: readonly Entry[] } | undefined;
  function entries(): readonly Entry[] {
    let stat: { mtimeMs: number; size: number };
    try {
      stat = statSync(path);
    } catch {
      loaded = undefined;
      return [];
    }
    if (!loaded || loaded.mtimeMs !== stat.mtimeMs || loaded.size !== stat.size) {
      let parsed: readonly Entry[];
      try {
        parsed = parseTokenFile(readFileSync(path, 'utf8'));
      } catch (error) {
        // A file being edited, or a mistake in it: keep what was known, say why once.
        console.error(JSON.stringify({ level: 'WARN', message: 'token file not read', path, error: (error as Error).message }));
        parsed = loaded?.entries ?? [];
      }
      loaded = { mtimeMs: stat.mtimeMs, size: stat.size, entries: parsed };
    }
    return loaded.entries;
  }
  return async (token) => {
    const presented = sha256(token);
    let found: UserInfo | undefined;
    for (const entry of entries()) if (timingSafeEqual(entry.digest, presented) && !found) found = entry.user;
    return found;
  };
}
