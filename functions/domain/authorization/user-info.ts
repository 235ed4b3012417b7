/**
 * Who made a request, as authentication leaves it for authorization and admission: Kubernetes'
 * `user.Info`. The well-known names below are the ones Kubernetes' authorizers and bootstrap
 * policy key on.
 */

export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  /** Extra attributes an authenticator adds (key → values), as `user.Info.GetExtra()`. */
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** Members are allowed everything, before any authorizer is asked (kube-apiserver's privileged group). */
export const SYSTEM_MASTERS = 'system:masters';
export const AUTHENTICATED = 'system:authenticated';
export const UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS_USER = 'system:anonymous';
export const NODES_GROUP = 'system:nodes';
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
/**
 * The local cluster's NetworkPolicy enforcers (the node agents in namespace mode, docs/adr/209):
 * like a CNI's DaemonSet, they read every pod, namespace and policy, which a node may not.
 */
export const NETWORK_POLICY_AGENT_USER = 'system:skiff:network-policy-agent';
export const NETWORK_POLICY_AGENTS_GROUP = 'system:skiff:network-policy-agents';

const serviceAccountPrefix = 'system:serviceaccount:';
const nodePrefix = 'system:node:';

/** The user an anonymous request runs as. */
export const ANONYMOUS: UserInfo = { username: ANONYMOUS_USER, groups: [UNAUTHENTICATED] };

/** `system:serviceaccount:<namespace>:<name>`. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `${serviceAccountPrefix}${namespace}:${name}`;
}

/** The namespace and name of a ServiceAccount user name, or undefined for any other name. */
export function parseServiceAccountUsername(username: string): { readonly namespace: string; readonly name: string } | undefined {
  if (!username.startsWith(serviceAccountPrefix)) return undefined;
  const parts = username.slice(serviceAccountPrefix.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

/** The groups every ServiceAccount user is in: `system:serviceaccounts` and `system:serviceaccounts:<namespace>`. */
export function serviceAccountGroups(namespace: string): readonly string[] {
  return [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`];
}

/** `system:node:<name>`: the identity of one node's agent. */
export function nodeUsername(nodeName: string): string {
  return `${nodePrefix}${nodeName}`;
}

/**
 * The node a user is, when it is one (user name `system:node:<name>` and in `system:nodes`), as
 * Kubernetes' node identifier decides; undefined for everyone else.
 */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.username.startsWith(nodePrefix) || !user.groups.includes(NODES_GROUP)) return undefined;
  const name = user.username.slice(nodePrefix.length);
  return name === '' ? undefined : name;
}

/** The user with `system:authenticated` added (every authenticated user is in it), groups kept in order. */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.username === ANONYMOUS_USER || user.groups.includes(AUTHENTICATED)) return user;
  return { ...user, groups: [...user.groups, AUTHENTICATED] };
}
