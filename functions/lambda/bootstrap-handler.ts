/**
 * The cluster's bootstrap, a CloudFormation custom resource run on every `cdk deploy` that
 * changes it: the namespaces every cluster has (`default`, `kube-system`, `kube-public`,
 * `kube-node-lease`), Kubernetes' default RBAC roles and bindings, and the IAM mapping
 * `kube-system/aws-auth` with the administrators and node roles the stack declares (entries added
 * by hand are kept). Idempotent: a second run changes
 * nothing. Deleting the stack leaves the cluster's state alone (the tables are retained).
 *
 * A Lambda-backed custom resource answers CloudFormation itself, with a PUT of the result to the
 * presigned `ResponseURL` — also when it fails, or the stack would wait an hour.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { z } from 'zod';
import { ensureSystemNamespaces } from '../controllers/namespaces/system-namespaces.ts';
import { type DeclaredIamEntries, ensureIamIdentityMapping } from '../domain/authentication/iam-identity-mapping.ts';
import { reconcileBootstrapPolicy } from '../domain/authorization/rbac/reconcile-policy.ts';
import { ensureSystemPriorityClasses } from '../domain/scheduling/system-priority-classes.ts';
import type { ObjectStore } from '../store/store.ts';
import { lambdaLog, logger, once, storeFromEnvironment } from './lambda-runtime.ts';

const arnList = z
  .union([z.array(z.string()), z.string()])
  .optional()
  .transform((value) => (value === undefined ? [] : [value].flat().filter((arn) => arn.trim() !== '')));

/** The resource's properties (CloudFormation passes every value as a string or a list of strings). */
export const bootstrapProperties = z.object({
  /** IAM users or roles that become cluster administrators (group system:masters). */
  AdminPrincipalArns: arnList,
  /** IAM roles of the nodes' instance profiles: their sessions become system:node:<instance id>. */
  NodeRoleArns: arnList,
});

/** The aws-auth entries the stack declares: administrators, then nodes. */
export function declaredEntries(properties: z.infer<typeof bootstrapProperties>): DeclaredIamEntries {
  const roles: { rolearn: string; username: string; groups: string[] }[] = [];
  const users: { userarn: string; username: string; groups: string[] }[] = [];
  for (const arn of properties.AdminPrincipalArns) {
    const user = /^arn:[^:]+:iam::\d{12}:user\/(?:.*\/)?([^/]+)$/.exec(arn);
    if (user) users.push({ userarn: arn, username: user[1] ?? arn, groups: ['system:masters'] });
    else roles.push({ rolearn: arn, username: 'admin:{{SessionName}}', groups: ['system:masters'] });
  }
  for (const arn of properties.NodeRoleArns) roles.push({ rolearn: arn, username: 'system:node:{{SessionName}}', groups: ['system:nodes'] });
  return { roles, users };
}

export async function bootstrapCluster(store: ObjectStore, properties: z.infer<typeof bootstrapProperties>): Promise<void> {
  await ensureSystemNamespaces(store);
  await ensureSystemPriorityClasses(store);
  // Kubernetes' default roles and bindings, so RBAC answers from the first request on (the resync keeps them reconciled).
  await reconcileBootstrapPolicy(store);
  await ensureIamIdentityMapping(store, declaredEntries(properties));
}

export type Respond = (url: string, body: CloudFormationCustomResourceResponse) => Promise<void>;

/** PUT of the response to the presigned S3 URL; the signature covers no content type. */
export const respondToCloudFormation: Respond = async (url, body) => {
  const text = JSON.stringify(body);
  const response = await fetch(url, { method: 'PUT', body: text, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(text)) } });
  if (!response.ok) throw new Error(`CloudFormation's response URL answered HTTP ${response.status}`);
};

export async function handleBootstrapEvent(
  event: CloudFormationCustomResourceEvent,
  deps: { readonly store: () => ObjectStore; readonly respond?: Respond; readonly log?: ReturnType<typeof lambdaLog> },
): Promise<CloudFormationCustomResourceResponse> {
  const physicalResourceId = event.RequestType === 'Create' ? `${event.StackId.split('/')[1] ?? 'skiff'}-bootstrap` : event.PhysicalResourceId;
  let response: CloudFormationCustomResourceResponse;
  try {
    if (event.RequestType !== 'Delete') {
      const properties = bootstrapProperties.parse(event.ResourceProperties);
      await bootstrapCluster(deps.store(), properties);
    }
    response = {
      Status: 'SUCCESS',
      PhysicalResourceId: physicalResourceId,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
  } catch (error) {
    deps.log?.error('bootstrap failed', { error: error instanceof Error ? error.message : String(error) });
    response = {
      Status: 'FAILED',
      Reason: `bootstrap failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 1000),
      PhysicalResourceId: physicalResourceId,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    };
  }
  await (deps.respond ?? respondToCloudFormation)(event.ResponseURL, response);
  return response;
}

const store = once(() => storeFromEnvironment());
const log = once(() => lambdaLog('bootstrap'));

export const handler = middy<CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse>()
  .use(injectLambdaContext(logger))
  .handler((event) => handleBootstrapEvent(event, { store, log: log() }));
