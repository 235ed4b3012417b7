/**
 * Bearer-token authentication as a chain, like kube-apiserver's union of token authenticators:
 * each authenticator recognises its own kind of token (the local static tokens, ServiceAccount
 * JWTs, per-node tokens, IAM sign-in on AWS) and answers with a user, or undefined when the
 * token is not one of its own or not valid. The first user found wins; every authenticated
 * user is in `system:authenticated`.
 */
import { type UserInfo, withAuthenticatedGroup } from '../authorization/user-info.ts';

/** Resolves a bearer token to a user; undefined for a token it does not accept. Throws only when it cannot tell (its backing store is down). */
export type TokenAuthenticator = (token: string) => Promise<UserInfo | undefined>;

export function chainAuthenticators(authenticators: readonly TokenAuthenticator[]): TokenAuthenticator {
  return async (token) => {
    for (const authenticate of authenticators) {
      const user = await authenticate(token);
      if (user) return withAuthenticatedGroup(user);
    }
    return undefined;
  };
}

/** The bearer token of an `Authorization` header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
