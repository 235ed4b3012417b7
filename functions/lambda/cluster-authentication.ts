/**
 * How a deployed cluster authenticates and authorizes, for every entry point that takes a
 * bearer token (the API, the watch channel): docs/adr/072. The authenticators of the request
 * pipeline's chain (docs/adr/120), asked in this order, and the one authorizer both ask.
 */
import { awsIamAuthenticator, fetchSts } from '../domain/authentication/aws-iam-token.ts';
import { storedIamIdentityMapping } from '../domain/authentication/iam-identity-mapping.ts';
import type { TokenAuthenticator } from '../domain/authentication/token-authenticators.ts';
import { type Authorizer, superuserAuthorizer, unionAuthorizer } from '../domain/authorization/authorizer.ts';
import { nodeAuthorizer } from '../domain/authorization/node-authorizer.ts';
import { storePolicySource } from '../domain/authorization/rbac/policy.ts';
import { rbacAuthorizer } from '../domain/authorization/rbac/rbac-authorizer.ts';
import type { Log } from '../logging/log.ts';
import type { ObjectStore } from '../store/store.ts';
import { readSecretFromExtension, secretTokenAuthenticator } from './token-secret.ts';

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/**
 * IAM sign-in (`k8s-aws-v1.` tokens, checked with STS, mapped through `kube-system/aws-auth`),
 * and the static tokens of the secret only when the stack enabled that break-glass
 * (`TOKEN_SECRET_ARN` set).
 */
export function clusterAuthenticators(store: ObjectStore, env: NodeJS.ProcessEnv, log: Log): TokenAuthenticator[] {
  const authenticators: TokenAuthenticator[] = [
    awsIamAuthenticator({
      clusterId: required(env, 'CLUSTER_ID'),
      region: required(env, 'AWS_REGION'),
      callSts: fetchSts,
      mapping: storedIamIdentityMapping(store, { onProblem: (problem) => log.warn('aws-auth entry ignored', { problem }) }),
      onRefused: (reason) => log.info('IAM token refused', { reason }),
    }),
  ];
  const secretId = env.TOKEN_SECRET_ARN;
  if (secretId) authenticators.push(secretTokenAuthenticator(() => readSecretFromExtension(secretId)));
  return authenticators;
}

/**
 * The authorizer of the API and of the watch channel's subscriptions and Lease renewals: members
 * of system:masters, the nodes' rules, then RBAC over the cluster's roles and bindings.
 */
export function clusterAuthorizer(store: ObjectStore): Authorizer {
  return unionAuthorizer([superuserAuthorizer, nodeAuthorizer(store), rbacAuthorizer(storePolicySource(store))]);
}
