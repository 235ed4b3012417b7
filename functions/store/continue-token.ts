/** The opaque `continue` token of paged lists: the list's revision and the last key examined. */
import { z } from 'zod';
import { BadRequestError } from '../core/errors.ts';
import { namespacePrefix } from './object-lifecycle.ts';

const tokenSchema = z.object({ rv: z.string().regex(/^\d+$/), after: z.string() });

export interface ContinuePosition {
  readonly rv: string;
  readonly after: string;
}

export function encodeContinue(position: ContinuePosition): string {
  return Buffer.from(JSON.stringify({ rv: position.rv, after: position.after }), 'utf8').toString('base64url');
}

export function decodeContinue(token: string): ContinuePosition {
  try {
    return tokenSchema.parse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
  } catch {
    throw new BadRequestError('continue key is not valid: it must be a token returned by a previous list of this resource');
  }
}

/** False for a token of another namespace's list: it must be refused (400), not run. */
export const continueIsWithin = (position: ContinuePosition, namespace: string | undefined): boolean =>
  namespace === undefined || position.after.startsWith(namespacePrefix(namespace));
