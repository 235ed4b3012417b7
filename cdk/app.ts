/**
 * The Skiff CDK app: `npx cdk synth` / `npx cdk deploy`. cdk-nag's AWS Solutions checks run on
 * every synth; each suppression in the stack says why.
 *
 * Context (`-c name=value`), all optional:
 *   stackName=Skiff                       the stack, and the cluster id IAM tokens are signed for
 *   adminPrincipalArns=arn:…,arn:…        IAM users/roles that administer the cluster (aws-auth)
 *   nodeRoleArns=arn:…                    IAM roles of the nodes' instance profiles
 *   breakGlassToken=true                  also accept the static admin token of a secret
 *   reservedConcurrency=false             reserve no Lambda concurrency (accounts with a quota of 10)
 *   sourceMaps=true                       readable stack traces, slower cold starts
 *   serviceCidr=10.96.0.0/12              the service range (ClusterIPs; the kubernetes Service takes its first address)
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SkiffStack } from './skiff-stack.ts';

const app = new App();

function list(name: string): string[] {
  const value: unknown = app.node.tryGetContext(name);
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : [];
}
const flag = (name: string): boolean | undefined => {
  const value: unknown = app.node.tryGetContext(name);
  return value === undefined ? undefined : value === true || value === 'true';
};

new SkiffStack(app, app.node.tryGetContext('stackName') ?? 'Skiff', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  adminPrincipalArns: list('adminPrincipalArns'),
  nodeRoleArns: list('nodeRoleArns'),
  ...(flag('breakGlassToken') !== undefined ? { breakGlassToken: flag('breakGlassToken') } : {}),
  ...(flag('reservedConcurrency') === false ? { reservedConcurrency: false } : {}),
  ...(flag('sourceMaps') !== undefined ? { sourceMaps: flag('sourceMaps') } : {}),
  ...(typeof app.node.tryGetContext('serviceCidr') === 'string' ? { serviceCidr: app.node.tryGetContext('serviceCidr') as string } : {}),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
