/**
 * User impersonation (`kubectl --as`, `--as-group`, `--as-uid`): the `Impersonate-*` headers
 * turn the request into one made by another user, when the real user may `impersonate` each
 * part of that identity, checked and built as kube-apiserver's impersonation filter does.
 */
import { BadRequestError } from '../../core/errors.ts';
import { type Authorizer, forbiddenError, resourceAttributes } from './authorizer.ts';
import { ANONYMOUS_USER, AUTHENTICATED, parseServiceAccountUsername, serviceAccountGroups, UNAUTHENTICATED, type UserInfo } from './user-info.ts';

export interface ImpersonationRequest {
  readonly username?: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

const extraPrefix = 'impersonate-extra-';

function splitHeader(value: string | undefined): string[] {
  if (value === undefined) return [];
  // Hosts join repeated headers with ", " (HTTP's rule); group names do not contain commas.
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** The impersonation a request asks for (header names in lower case), or undefined when it asks for none. */
export function impersonationOf(headers: Readonly<Record<string, string | undefined>>): ImpersonationRequest | undefined {
  const username = headers['impersonate-user'];
  const uid = headers['impersonate-uid'];
  const groups = splitHeader(headers['impersonate-group']);
  const extra: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(extraPrefix) || value === undefined) continue;
    // The key is percent-encoded in the header name, lower-cased, as Kubernetes defines it.
    const key = decodeURIComponent(name.slice(extraPrefix.length)).toLowerCase();
    extra[key] = splitHeader(value);
  }
  if (username === undefined && uid === undefined && groups.length === 0 && Object.keys(extra).length === 0) return undefined;
  return { ...(username !== undefined ? { username } : {}), ...(uid !== undefined ? { uid } : {}), groups, extra };
}

/**
 * The user the request runs as: `requester` may impersonate each requested part or the request
 * fails with kube-apiserver's 403 (`users "bob" is forbidden: User "alice" cannot impersonate
 * resource "users" in API group "" at the cluster scope`); groups, uid or extras without a user
 * are a 400.
 */
export async function impersonate(authorizer: Authorizer, requester: UserInfo, request: ImpersonationRequest): Promise<UserInfo> {
  const { username } = request;
  if (username === undefined || username === '') {
    throw new BadRequestError('impersonation requested groups, uid or extra fields without impersonating a user');
  }
  const checks = [];
  const serviceAccount = parseServiceAccountUsername(username);
  if (serviceAccount) {
    checks.push(
      resourceAttributes(requester, { verb: 'impersonate', resource: 'serviceaccounts', namespace: serviceAccount.namespace, name: serviceAccount.name }),
    );
  } else {
    checks.push(resourceAttributes(requester, { verb: 'impersonate', resource: 'users', name: username }));
  }
  for (const group of request.groups) checks.push(resourceAttributes(requester, { verb: 'impersonate', resource: 'groups', name: group }));
  if (request.uid !== undefined) {
    checks.push(resourceAttributes(requester, { verb: 'impersonate', resource: 'uids', apiGroup: 'authentication.k8s.io', name: request.uid }));
  }
  for (const [key, values] of Object.entries(request.extra)) {
    for (const value of values) {
      checks.push(
        resourceAttributes(requester, { verb: 'impersonate', resource: 'userextras', subresource: key, apiGroup: 'authentication.k8s.io', name: value }),
      );
    }
  }
  for (const attributes of checks) {
    const decision = await authorizer.authorize(attributes);
    if (decision.verdict !== 'allow') throw forbiddenError(attributes, decision.reason);
  }

  let groups = [...request.groups];
  if (serviceAccount && groups.length === 0) groups = [...serviceAccountGroups(serviceAccount.namespace)];
  if (username !== ANONYMOUS_USER) {
    if (!groups.includes(AUTHENTICATED) && !groups.includes(UNAUTHENTICATED)) groups.push(AUTHENTICATED);
  } else if (!groups.includes(UNAUTHENTICATED)) groups.push(UNAUTHENTICATED);
  return {
    username,
    groups,
    ...(request.uid !== undefined ? { uid: request.uid } : {}),
    ...(Object.keys(request.extra).length > 0 ? { extra: request.extra } : {}),
  };
}
