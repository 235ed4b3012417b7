/**
 * The node heartbeat Lambda (docs/adr/196): behind a function URL with `AWS_IAM` auth, so Lambda
 * itself checks each request's SigV4 signature and that the caller may invoke it (the nodes'
 * instance role) before this runs; the caller arrives in `requestContext.authorizer.iam`
 * (payload format 2.0). It is mapped to a Kubernetes user through the cluster's
 * `kube-system/aws-auth`, as a sign-in token is (an instance role's session name is the instance
 * ID: `system:node:<instance id>`), and the request is served by the heartbeat core: a node's
 * own Lease renewal or its own Node status, nothing else.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createHeartbeatEndpoint, type HeartbeatHandler } from '../api/heartbeat.ts';
import { canonicalArn } from '../domain/authentication/aws-iam-token.ts';
import { type IamIdentityMapping, mapIamIdentity, storedIamIdentityMapping } from '../domain/authentication/iam-identity-mapping.ts';
import type { UserInfo } from '../domain/authorization/user-info.ts';
import type { Log } from '../logging/log.ts';
import { clusterAuthorizer } from './cluster-authentication.ts';
import { type FunctionUrlEvent, fromFunctionUrlEvent } from './function-url-events.ts';
import { lambdaLog, logger, once, storeFromEnvironment } from './lambda-runtime.ts';

/** A function URL event of an `AWS_IAM` URL: the signer as Lambda authenticated it. */
export type HeartbeatEvent = FunctionUrlEvent & {
  readonly requestContext: FunctionUrlEvent['requestContext'] & {
    readonly authorizer?: { readonly iam?: { readonly accountId?: string; readonly userArn?: string; readonly userId?: string } };
  };
};

/** The answer of a buffered function URL (payload format 2.0). */
export interface HeartbeatResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: false;
}

export interface HeartbeatLambda {
  readonly endpoint: HeartbeatHandler;
  readonly mapping: () => Promise<IamIdentityMapping>;
  readonly log: Log;
}

/** The Kubernetes user of the IAM caller, or undefined when aws-auth maps nobody to it. */
export async function callerOf(event: HeartbeatEvent, mapping: () => Promise<IamIdentityMapping>, log?: Log): Promise<UserInfo | undefined> {
  const iam = event.requestContext.authorizer?.iam;
  if (!iam?.userArn) return undefined;
  const { canonicalArn: canonical, sessionName } = canonicalArn(iam.userArn);
  const accountId = iam.accountId ?? /^arn:[^:]+:(?:sts|iam)::(\d{12}):/.exec(iam.userArn)?.[1] ?? '';
  const user = mapIamIdentity({ arn: iam.userArn, canonicalArn: canonical, accountId, ...(sessionName ? { sessionName } : {}) }, await mapping());
  if (!user) log?.info('heartbeat caller refused', { reason: `${canonical} is not mapped to a user in kube-system/aws-auth` });
  return user;
}

export async function handleHeartbeatEvent(event: HeartbeatEvent, context: Pick<Context, 'awsRequestId'>, lambda: HeartbeatLambda): Promise<HeartbeatResult> {
  const request = fromFunctionUrlEvent(event, new AbortController().signal, context.awsRequestId);
  const response = await lambda.endpoint(request, await callerOf(event, lambda.mapping, lambda.log));
  const body = response.body === undefined ? '' : typeof response.body === 'string' ? response.body : response.body.toString('utf8');
  return { statusCode: response.status, headers: { ...response.headers }, body, isBase64Encoded: false };
}

const fromEnvironment = once((): HeartbeatLambda => {
  const store = storeFromEnvironment();
  const log = lambdaLog('heartbeat');
  return {
    endpoint: createHeartbeatEndpoint({ store, authorizer: clusterAuthorizer(store), log }),
    mapping: storedIamIdentityMapping(store, { onProblem: (problem) => log.warn('aws-auth entry ignored', { problem }) }),
    log,
  };
});

export const handler = middy<HeartbeatEvent, HeartbeatResult>()
  .use(injectLambdaContext(logger))
  .handler((event, context) => handleHeartbeatEvent(event, context, fromEnvironment()));
